// The Scheduler interface: the engine runs whichever actor the scheduler picks among the runnable
// ones, and tells it who ran and whether that step was a spin, a signal the path gives
// (ctx.spun: a fault that retries) rather than one the engine guesses.
import { describe, expect, it } from 'vitest';
import type { ActorCtx, Gen } from '../../src/engine/ctx.js';
import { Ctr } from '../../src/engine/ctx.js';
import { programActor } from '../../src/engine/model.js';
import { P } from '../../src/engine/points.js';
import { LenientScheduler, RandomScheduler, ReplayScheduler, type Scheduler } from '../../src/engine/scheduler.js';
import { runSim } from '../../src/engine/sim.js';
import { actorCounter } from '../../src/shm/actor.js';
import { modelOf } from '../../src/workload/kinds.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from '../helpers.js';

/** Round robin over the runnable actors: not one the project ships, to show the interface is enough. */
class RoundRobin implements Scheduler {
  private next_ = 0;
  readonly spins: boolean[] = [];
  next(_step: number, runnable: Int32Array, n: number): number {
    for (let k = 0; k < n; k++) if (runnable[k] >= this.next_) return runnable[k];
    return runnable[0];
  }
  after(actor: number, _steps: number, spun: boolean): void {
    this.next_ = actor + 1;
    this.spins.push(spun);
  }
}

describe('a scheduler handed to runSim', () => {
  it('decides every step: a custom round robin is followed, and its decisions replay strictly', () => {
    const model = modelOf(DEFAULT_SCENARIO);
    const rr = new RoundRobin();
    const r = runSim(model, { seed: 3, variant: null, scheduler: rr, record: true });
    expect(r.violation).toBeNull();
    expect(rr.spins).toHaveLength(r.steps);
    const again = runSim(model, { seed: 3, variant: null, scheduler: new ReplayScheduler(r.decisions!) });
    expect(again.traceHash).toBe(r.traceHash);
    // a strict replay that asks for an actor that cannot run is a divergence, not another schedule
    expect(() => runSim(model, { seed: 3, variant: null, scheduler: new ReplayScheduler([4, 4, 4, 4]) })).toThrow(/schedule diverged/);
  });

  it('the spin signal comes from the path: one spun step per fault retry', () => {
    const model = modelOf(BUILTIN_SCENARIOS['punch-race']!);
    let spins = 0;
    const counting: Scheduler = {
      inner: new RandomScheduler(5),
      next(step: number, runnable: Int32Array, n: number) {
        return this.inner.next(step, runnable, n);
      },
      after(_a: number, _s: number, spun: boolean) {
        if (spun) spins++;
      },
    } as Scheduler & { inner: Scheduler };
    const r = runSim(model, { seed: 5, variant: null, scheduler: counting });
    const retries = model.actors.reduce((n, _d, id) => n + actorCounter(r.s, id, Ctr.retries), 0);
    expect(retries).toBeGreaterThan(0);
    expect(spins).toBe(retries);
  });

  it('runs ad-hoc programs (a model of a test\'s own generators), leniently from a partial list', () => {
    const log: string[] = [];
    const step = (name: string) =>
      function* (ctx: ActorCtx): Gen {
        yield P.start;
        for (let i = 0; i < 3; i++) {
          log.push(`${name}${i}`);
          yield P['guest-access'];
        }
        void ctx;
      };
    const model = { sc: DEFAULT_SCENARIO, actors: [programActor('a', step('a')), programActor('b', step('b'))] };
    const r = runSim(model, { seed: 1, variant: null, scheduler: new LenientScheduler([1, 0, 1]), record: true });
    expect(r.violation).toBeNull();
    // after the list, no preemption: the last actor goes on while it can
    expect(log).toEqual(['b0', 'a0', 'b1', 'b2', 'a1', 'a2']);
    expect(r.decisions).toEqual([1, 0, 1, 1, 1, 0, 0, 0]);
  });
});
