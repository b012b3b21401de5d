// From a threads run to a sim replay: the step log, guided replay, tokens that carry a schedule.
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';
import { mixSeed } from '../../src/engine/prng.js';
import { runSim } from '../../src/engine/sim.js';
import { GuidedScheduler } from '../../src/engine/scheduler.js';
import { runThreads } from '../../src/engine/threads.js';
import { TOKEN_VERSION, checkedInvariants, encodeToken } from '../../src/explore/token.js';
import { modelOf } from '../../src/workload/kinds.js';
import { DEFAULT_SCENARIO } from '../../src/scenario/builtins.js';

describe('guided sim replay', () => {
  it('a guide that is an exact sim schedule gives the same run', () => {
    const a = runSim(modelOf(DEFAULT_SCENARIO), { seed: mixSeed(1, 177), variant: 'B1', record: true });
    expect(a.violation?.invariant).toBe('I1');
    const b = runSim(modelOf(DEFAULT_SCENARIO), { seed: mixSeed(1, 177), variant: 'B1', scheduler: new GuidedScheduler(a.decisions!), record: true });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.decisions).toEqual(a.decisions);
  });

  it('entries whose actor cannot run are dropped, not fatal; the run stops when the guide is used up', () => {
    const a = runSim(modelOf(DEFAULT_SCENARIO), { seed: 11, variant: null, record: true });
    const noisy: number[] = [];
    a.decisions!.forEach((d, i) => {
      noisy.push(d);
      if (i % 50 === 0) noisy.push(99, 99); // no such actor: never runnable
    });
    const b = runSim(modelOf(DEFAULT_SCENARIO), { seed: 11, variant: null, scheduler: new GuidedScheduler(noisy), record: true });
    expect(b.traceHash).toBe(a.traceHash);
    const short = runSim(modelOf(DEFAULT_SCENARIO), { seed: 11, variant: null, scheduler: new GuidedScheduler(a.decisions!.slice(0, 100)) });
    expect(short.steps).toBe(100);
  });
});

describe('the threads step log', () => {
  it('a threads violation comes with the step order up to the violating step', async () => {
    const r = await runThreads(modelOf(DEFAULT_SCENARIO), { seed: 1, variant: 'B4', ops: 500 });
    expect(r.violation?.invariant).toBe('I2');
    expect(r.recorded).not.toBeNull();
    expect(r.recorded!.length).toBe(r.violation!.step);
    const actors = DEFAULT_SCENARIO.vcpus.count + 4;
    expect(r.recorded!.every((a) => a >= 0 && a < actors)).toBe(true);
    expect(r.opsPerActor).toBe(500);
  });

  it('a clean threads run has no recording', async () => {
    const r = await runThreads(modelOf(DEFAULT_SCENARIO), { seed: 1, variant: null, durationMs: 300 });
    expect(r.violation).toBeNull();
    expect(r.recorded).toBeNull();
  });
});

describe('tokens that carry a schedule', () => {
  it('replay follows the schedule with unbounded ops (a duration-bound run), twice and on threads', async () => {
    const seed = 12345;
    // a B4 run with actors that never run out of operations, as on threads with --duration
    let found: ReturnType<typeof runSim> | null = null;
    for (let i = 0; i < 50 && !found; i++) {
      const r = runSim(modelOf(DEFAULT_SCENARIO), { seed: mixSeed(seed, i), variant: 'B4', opsOverride: Infinity, record: true });
      if (r.violation) found = r;
    }
    expect(found).not.toBeNull();
    const f = found!;
    const token = encodeToken({
      v: TOKEN_VERSION,
      scenario: DEFAULT_SCENARIO,
      variant: 'B4',
      seed: f.seed,
      invariants: checkedInvariants(null),
      expect: { invariant: f.violation!.invariant, traceHash: f.traceHash, steps: f.steps },
      schedule: f.decisions!,
      ops: null,
    });
    for (const engine of ['sim', 'sim', 'threads']) {
      const r = await cli('replay', token, '--engine', engine, '--json');
      const j = JSON.parse(r.out);
      expect(r.code, engine).toBe(1);
      expect(j.reproduced, engine).toBe(true);
      expect(j.traceHash).toBe(f.traceHash);
    }
  });
});
