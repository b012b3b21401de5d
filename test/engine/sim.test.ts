// The deterministic engine: reproducibility, recorded schedules, divergence, deadlock and
// maxSteps handling, and a clean run of the correct model on both built-in scenarios.
import { fiberOf } from '../../src/engine/fiber.js';
import { describe, it, expect } from 'vitest';
import { runSim } from '../../src/engine/sim.js';
import { ReplayScheduler } from '../../src/engine/scheduler.js';
import { explore } from '../../src/explore/explore.js';
import { describeWait, tryProceed } from '../../src/engine/wait.js';
import { MMU_LOCK_RWLOCK, mmuReadLock, mmuWriteLock, mmuWriteUnlock } from '../../src/sync/ops.js';
import type { Scenario } from '../../src/scenario/types.js';
import { modelOf } from '../../src/workload/kinds.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO, drive, world } from '../helpers.js';
import { INVARIANT_IDS } from '../../src/check/invariants.js';
import { actorReturned } from '../../src/shm/actor.js';

const NO_LOCKDEP = INVARIANT_IDS.filter((id) => id !== 'LOCK_ORDER');

const PUNCH_RACE = BUILTIN_SCENARIOS['punch-race']!;

describe('runSim determinism', () => {
  it('the same seed gives the same trace hash, step count and stats', () => {
    const a = runSim(modelOf(DEFAULT_SCENARIO), { seed: 42, variant: null });
    const b = runSim(modelOf(DEFAULT_SCENARIO), { seed: 42, variant: null });
    expect(a.traceHash).toMatch(/^[0-9a-f]{8}$/);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.steps).toBe(a.steps);
    expect(a.steps).toBeGreaterThan(100);
    expect(b.stats).toEqual(a.stats);
    expect(b.violation).toEqual(a.violation);
    expect(a.decisions).toBeNull(); // not recorded unless asked
  });

  it('different seeds give different trace hashes', () => {
    const hashes = new Set([1, 2, 3, 4, 5].map((seed) => runSim(modelOf(DEFAULT_SCENARIO), { seed, variant: null }).traceHash));
    expect(hashes.size).toBe(5);
  });

  it('the same seed with a bug variant is reproducible too (violation included)', () => {
    // B4 shows I2 in the first schedules of most campaigns: take the first schedule seed that does.
    const f = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 20, variant: 'B4' }).violations[0];
    expect(f, 'B4 finds I2 in 20 schedules of campaign 1').toBeDefined();
    const a = runSim(modelOf(DEFAULT_SCENARIO), { seed: f!.scheduleSeed, variant: 'B4' });
    const b = runSim(modelOf(DEFAULT_SCENARIO), { seed: f!.scheduleSeed, variant: 'B4' });
    expect(a.violation?.invariant).toBe('I2');
    expect(b.violation).toEqual(a.violation);
    expect(b.traceHash).toBe(a.traceHash);
    expect(a.traceHash).toBe(f!.traceHash);
  });
});

describe('recorded schedules', () => {
  it('record gives one decision per step, and replaying them gives the same run', () => {
    for (const sc of [DEFAULT_SCENARIO, PUNCH_RACE]) {
      const rec = runSim(modelOf(sc), { seed: 9, variant: null, record: true });
      expect(rec.decisions).not.toBeNull();
      expect(rec.decisions!.length).toBe(rec.steps);
      const actors = rec.stats.actors.length;
      expect(rec.decisions!.every((d) => Number.isInteger(d) && d >= 0 && d < actors)).toBe(true);
      // Every actor took at least one step.
      expect(new Set(rec.decisions).size).toBe(actors);

      // The actors' own PRNGs come from the seed; the interleaving comes from the schedule.
      const rep = runSim(modelOf(sc), { seed: 9, variant: null, scheduler: new ReplayScheduler(rec.decisions!) });
      expect(rep.traceHash).toBe(rec.traceHash);
      expect(rep.steps).toBe(rec.steps);
      expect(rep.stats).toEqual(rec.stats);
      expect(rep.violation).toBeNull();
    }
  });

  it('replaying a recorded violating schedule reproduces the violation', () => {
    const f = explore(DEFAULT_SCENARIO, { seed: 2, schedules: 20, variant: 'B21' }).violations[0];
    expect(f?.invariant).toBe('I8');
    const rec = runSim(modelOf(DEFAULT_SCENARIO), { seed: f!.scheduleSeed, variant: 'B21', record: true });
    const rep = runSim(modelOf(DEFAULT_SCENARIO), { seed: f!.scheduleSeed, variant: 'B21', scheduler: new ReplayScheduler(rec.decisions!) });
    expect(rep.traceHash).toBe(rec.traceHash);
    expect(rep.violation).toEqual(rec.violation);
    expect(rep.violation?.invariant).toBe('I8');
  });

  it('a forced schedule that picks an actor that cannot run throws "diverged"', () => {
    const rec = runSim(modelOf(DEFAULT_SCENARIO), { seed: 3, variant: null, record: true });
    const d = rec.decisions!;
    // vcpu0 has returned after its last step: it is not runnable any more.
    const last = d.lastIndexOf(0);
    expect(last).toBeGreaterThan(0);
    expect(last).toBeLessThan(d.length - 1);
    const forced = [...d.slice(0, last + 1), 0];
    expect(() => runSim(modelOf(DEFAULT_SCENARIO), { seed: 3, variant: null, scheduler: new ReplayScheduler(forced) })).toThrow(
      new RegExp(`schedule diverged at step ${last + 1}: actor 0 cannot run`),
    );
    // An actor id that does not exist never runs.
    expect(() => runSim(modelOf(DEFAULT_SCENARIO), { seed: 3, variant: null, scheduler: new ReplayScheduler([99]) })).toThrow(/diverged at step 0: actor 99/);
  });

  it('a schedule shorter than the run stops where it ends, without a verdict', () => {
    const rec = runSim(modelOf(DEFAULT_SCENARIO), { seed: 3, variant: null, record: true });
    const part = runSim(modelOf(DEFAULT_SCENARIO), { seed: 3, variant: null, scheduler: new ReplayScheduler(rec.decisions!.slice(0, 40)) });
    expect(part.steps).toBe(40);
    expect(part.violation).toBeNull();
    expect(part.cut).toBe(false);
  });
});

describe('deadlock detection', () => {
  it('the wait a deadlock report describes: a reader blocked behind the mmu_lock writer', () => {
    const w = world();
    const [holder, waiter] = w.ctxs;
    drive(holder!, mmuWriteLock(holder!));
    const g = mmuReadLock(waiter!);
    fiberOf(g).next(); // yields with the wait set
    expect(waiter!.wait).toBe(MMU_LOCK_RWLOCK.read);
    expect(waiter!.wait!.canProceed(w.s, waiter!)).toBe(false);
    expect(describeWait(w.s, waiter!.wait!.id, waiter!.waitArg, waiter!.waitArg2, waiter!.actorNames)).toBe('read-lock on kvm->mmu_lock (held by vcpu0)');
    mmuWriteUnlock(holder!);
    expect(waiter!.wait!.canProceed(w.s, waiter!)).toBe(true);
    expect(tryProceed(w.s, waiter!)).toBe(true);
    expect(waiter!.wait).toBeNull();
    expect(fiberOf(g).next().done).toBe(true);
  });

  it('a hang behind retrying vCPUs is DEADLOCK too, not a run cut at maxSteps: the writer they wait for cannot run', () => {
    // litmus-hwpoison-punch (an upstream inversion): the puncher and memory failure wait for each
    // other while the punch's invalidation is open, and the vCPU retries its fault behind it for ever
    const model = modelOf(BUILTIN_SCENARIOS['litmus-hwpoison-punch']!);
    let found: string | null = null;
    for (let seed = 1; seed <= 3000 && !found; seed++) {
      const r = runSim(model, { seed, variant: null, invariants: new Set(['DEADLOCK']) });
      expect(r.cut, `seed ${seed}`).toBe(false);
      if (r.violation?.message.startsWith('only actors retrying')) found = r.violation.message;
    }
    expect(found).toMatch(/^only actors retrying faults can run \(vcpu0, for \d+ steps\), behind a writer that cannot: .*puncher0 waits for folio lock/);
  });

  it('runSim reports DEADLOCK, naming who waits on what, when no live actor can run (B22: an ABBA lock order)', () => {
    // B22 unbinds the memslot (taking the gmem invalidate_lock) while still holding mmu_lock;
    // a puncher holds invalidate_lock and wants mmu_lock. Lockdep reports the inverted order
    // (LOCK_ORDER) before anything hangs; with it off, the watchdog sees the hang itself.
    const f = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 10, variant: 'B22', invariants: NO_LOCKDEP }).violations[0];
    expect(f?.invariant).toBe('DEADLOCK');
    const r = runSim(modelOf(DEFAULT_SCENARIO), { seed: f!.scheduleSeed, variant: 'B22', record: true, invariants: new Set(NO_LOCKDEP) });
    expect(r.cut).toBe(false);
    expect(r.violation?.invariant).toBe('DEADLOCK');
    expect(r.steps).toBeLessThan(DEFAULT_SCENARIO.maxSteps);
    expect(r.violation!.step).toBe(r.steps); // detected between steps: no step is taken for it
    const msg = r.violation!.message;
    expect(msg).toMatch(/^no actor can run: /);
    expect(msg).toContain('slotchurn0 waits for write-lock on filemap invalidate_lock');
    expect(msg).toMatch(/puncher0 waits for write-lock on kvm->mmu_lock/);
    // Every live actor is named, each with a yield point; one whose program returned is not.
    modelOf(DEFAULT_SCENARIO).actors.forEach((a, id) => {
      if (actorReturned(r.s, id)) expect(msg).not.toContain(`${a.name} waits`);
      else expect(msg).toMatch(new RegExp(`${a.name} waits for .+ at [\\w:-]+`));
    });
    // No sweep runs on a stuck state, and the verdict is reproducible.
    const again = runSim(modelOf(DEFAULT_SCENARIO), { seed: f!.scheduleSeed, variant: 'B22', invariants: new Set(NO_LOCKDEP) });
    expect(again.traceHash).toBe(r.traceHash);
    expect(again.violation).toEqual(r.violation);
    // Filtered out, the deadlock is not reported, and the run still stops there.
    const filtered = runSim(modelOf(DEFAULT_SCENARIO), { seed: f!.scheduleSeed, variant: 'B22', invariants: new Set(['I1', 'I2']) });
    expect(filtered.violation).toBeNull();
    expect(filtered.cut).toBe(false);
    expect(filtered.steps).toBe(r.steps);
  });

  it('the correct model does not deadlock on the schedule that deadlocks B22', () => {
    const f = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 10, variant: 'B22', invariants: NO_LOCKDEP }).violations[0]!;
    const r = runSim(modelOf(DEFAULT_SCENARIO), { seed: f.scheduleSeed, variant: null });
    expect(r.violation).toBeNull();
    expect(r.cut).toBe(false);
  });
});

describe('maxSteps', () => {
  it('a schedule longer than maxSteps is cut, not reported', () => {
    const sc: Scenario = { ...DEFAULT_SCENARIO, maxSteps: 100 };
    const r = runSim(modelOf(sc), { seed: 1, variant: null, record: true });
    expect(r.cut).toBe(true);
    expect(r.steps).toBe(100);
    expect(r.violation).toBeNull();
    expect(r.decisions!.length).toBe(100);
    const full = runSim(modelOf(DEFAULT_SCENARIO), { seed: 1, variant: null });
    expect(full.cut).toBe(false);
    expect(full.steps).toBeGreaterThan(100);
  });

  it('explore counts cut schedules', () => {
    const r = explore({ ...DEFAULT_SCENARIO, maxSteps: 100 }, { seed: 1, schedules: 5, variant: null });
    expect(r.cut).toBe(5);
    expect(r.steps).toBe(500);
    expect(r.violations).toEqual([]);
  });
});

describe('the correct model', () => {
  it('is clean on default for 50 schedules and exercises the whole protocol', () => {
    const r = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 50, variant: null });
    expect(r.violations).toEqual([]);
    expect(r.schedulesRun).toBe(50);
    expect(r.cut).toBe(0);
    const t = r.stats.total;
    for (const c of ['faults', 'installs', 'retries', 'memoryFaultExits', 'conversions', 'punchHoles', 'invalidations', 'zaps', 'slotDeletes'] as const) {
      expect(t[c], c).toBeGreaterThan(0);
    }
  });

  it('is clean on punch-race for 50 schedules', () => {
    const r = explore(PUNCH_RACE, { seed: 1, schedules: 50, variant: null });
    expect(r.violations).toEqual([]);
    expect(r.schedulesRun).toBe(50);
    expect(r.cut).toBe(0);
    expect(r.stats.total.installs).toBeGreaterThan(0);
    expect(r.stats.total.punchHoles).toBeGreaterThan(0);
  });

  it('explore is deterministic: the same campaign finds the same schedule and token', () => {
    const a = explore(DEFAULT_SCENARIO, { seed: 66, schedules: 300, variant: 'B1' });
    const b = explore(DEFAULT_SCENARIO, { seed: 66, schedules: 300, variant: 'B1' });
    expect(a.violations).toHaveLength(1);
    const { trace: _ta, ...fa } = a.violations[0]!;
    const { trace: _tb, ...fb } = b.violations[0]!;
    expect(fb).toEqual(fa);
    expect(b.schedulesRun).toBe(a.schedulesRun);
    expect(b.steps).toBe(a.steps);
  });
});
