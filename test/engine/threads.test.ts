// The threads engine: one worker thread per actor over one SharedArrayBuffer. Free-running
// (stress), and replaying a sim schedule step by step through the turn word.
// Needs the compiled worker: run `npx tsc -p tsconfig.json` first (npm test does).
import { describe, it, expect } from 'vitest';
import { replayThreads, runThreads } from '../../src/engine/threads.js';
import { runSim } from '../../src/engine/sim.js';
import { ReplayScheduler } from '../../src/engine/scheduler.js';
import { WaitId } from '../../src/engine/wait.js';
import { explore } from '../../src/explore/explore.js';
import { actorCount, actorDefs, modelOf } from '../../src/workload/kinds.js';
import type { VariantId } from '../../src/variants.js';
import { INVARIANT_IDS, type InvariantId } from '../../src/check/invariants.js';
import { DEFAULT_SCENARIO } from '../helpers.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { actorBase, actorReturned, mmuReaderSlot, publishedWait } from '../../src/shm/actor.js';
import { LOCK_WORDS, mmuInvalidateInProgress, mmuInvalidateInProgressAdd } from '../../src/shm/kvm.js';
import { brCanRead, mutexCanLock, rwCanRead, rwReaders } from '../../src/sync/locks.js';
import type { Shm } from '../../src/shm/state.js';

const ACTORS = actorCount(DEFAULT_SCENARIO);

/** Lock words not free (held, or a writer pending): what the old raw check `word !== 0` saw. */
const rwBusy = (s: Shm, w: number) => rwReaders(s.i32, w) !== 0 || !rwCanRead(s.i32, w);
function busyLocks(s: Shm): string[] {
  const { mmuLock, invalidateLock, slotsLock } = LOCK_WORDS;
  const held: string[] = [];
  if (s.l.mmuLock === 'percpu' ? !brCanRead(s.i32, mmuLock) : rwBusy(s, mmuLock)) held.push('mmu_lock');
  if (rwBusy(s, invalidateLock)) held.push('invalidate_lock');
  if (!mutexCanLock(s.i32, slotsLock)) held.push('slots_lock');
  return held;
}

/** The first violating schedule of a campaign, recorded under sim. */
function recordedFinding(variant: VariantId, campaign: number, invariants?: InvariantId[]) {
  const f = explore(DEFAULT_SCENARIO, { seed: campaign, schedules: 50, variant, invariants }).violations[0];
  if (!f) throw new Error(`${variant} campaign ${campaign}: no violation in 50 schedules`);
  const sim = runSim(modelOf(DEFAULT_SCENARIO), { seed: f.scheduleSeed, variant, record: true, invariants: invariants && new Set(invariants) });
  return { f, sim };
}

describe('runThreads (free-running)', () => {
  it('the correct model runs clean on default for 800 ms and ends quiescent', async () => {
    const r = await runThreads(modelOf(DEFAULT_SCENARIO), { seed: 1, variant: null, durationMs: 800 });
    expect(r.violation).toBeNull();
    expect(r.stoppedBy).toBe('duration');
    expect(r.quiescent).toBe(true);
    expect(r.workers).toBe(ACTORS);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(800);
    const t = r.stats.total;
    expect(t.faults).toBeGreaterThan(0);
    expect(t.installs).toBeGreaterThan(0);
    expect(t.punchHoles).toBeGreaterThan(0);
    expect(t.conversions).toBeGreaterThan(0);
    // Every actor did something (nobody was starved out of the run entirely).
    for (const a of r.stats.actors) expect(Object.values(a.counters).some((n) => n > 0), a.name).toBe(true);
  });

  // Bounded by operations, not time: found within 100 per actor on every seed tried; 500 is the margin.
  it('B4 shows I2 on real threads and stops the run early', async () => {
    const r = await runThreads(modelOf(DEFAULT_SCENARIO), { seed: 1, variant: 'B4', ops: 500 });
    expect(r.violation?.invariant).toBe('I2');
    expect(r.stoppedBy).toBe('violation');
    expect(r.quiescent).toBe(false); // stopped hard: no final sweep
    expect(r.violation!.actor).toBeGreaterThanOrEqual(0);
    expect(r.violation!.actor).toBeLessThan(ACTORS);
  });

  it('B8 (no remote TLB flush) shows I9 on real threads: a vCPU still caches a page the writer frees', async () => {
    const r = await runThreads(modelOf(DEFAULT_SCENARIO), { seed: 1, variant: 'B8', ops: 500 });
    expect(r.violation?.invariant).toBe('I9');
    expect(r.violation?.message).toMatch(/TLB still translates gfn \d+/);
  });

  it('ops mode finishes by itself: stoppedBy "ops", quiescent, clean', async () => {
    const r = await runThreads(modelOf(DEFAULT_SCENARIO), { seed: 2, variant: null, ops: 5 });
    expect(r.stoppedBy).toBe('ops');
    expect(r.violation).toBeNull();
    expect(r.quiescent).toBe(true);
    expect(r.stats.total.faults).toBeGreaterThan(0);
    expect(r.opsPerActor).toBe(5);
  });
});

describe('pause barriers (a full sweep on a quiescent state, mid-run)', () => {
  it.each(['rwlock', 'percpu'] as const)('every actor parks between operations: no lock held, no invalidation open, and the sweeps stay clean (mmu_lock %s)', async (mmuLock) => {
    const seen: string[] = [];
    const sc = validateScenario({ mmuLock }, DEFAULT_SCENARIO);
    const r = await runThreads(modelOf(sc), {
      seed: 3,
      variant: null,
      durationMs: 1500,
      jitter: 2,
      sweepEveryMs: 50,
      onBarrier: (s) => {
        const held = busyLocks(s);
        if (held.length) seen.push(`lock words ${held} held`);
        if (mmuInvalidateInProgress(s) !== 0) seen.push('in_progress open');
        for (let id = 0; id < s.l.nActors; id++) if (Atomics.load(s.i32, mmuReaderSlot(s, actorBase(s, id))) !== 0) seen.push(`actor ${id} holds a big-reader slot`);
        actorDefs(DEFAULT_SCENARIO).forEach((d, id) => {
          const kind = publishedWait(s, id).kind;
          const parked = kind === WaitId.Park || actorReturned(s, id);
          if (d.kind !== 'vmm' && !parked) seen.push(`${d.name} not parked (wait ${kind})`);
        });
      },
    });
    expect(seen).toEqual([]);
    expect(r.violation).toBeNull();
    expect(r.sweeps.done).toBeGreaterThan(3);
    expect(r.quiescent).toBe(true);
    expect(r.jitterSpins).toBeGreaterThan(0);
  });

  it('a barrier sweep that finds a broken state stops the run there, long before its duration', async () => {
    const r = await runThreads(modelOf(DEFAULT_SCENARIO), {
      seed: 3,
      variant: null,
      durationMs: 30_000,
      sweepEveryMs: 100,
      // an invalidation left open behind everyone's back: only a sweep can see it
      onBarrier: (s) => mmuInvalidateInProgressAdd(s, 1),
    });
    expect(r.violation?.invariant).toBe('I4');
    expect(r.violation?.message).toMatch(/^at a pause barrier .*mmu_invalidate_in_progress is 1 at quiescence/);
    expect(r.stoppedBy).toBe('violation');
    expect(r.sweeps.done).toBe(1);
  });

  it('a background actor sleeping between operations is woken to park (long --pause-ms does not stall barriers)', async () => {
    // memslot churn sleeps 20 x pauseMs = 400 s between operations: unwoken, no barrier could
    // complete (each gives up after 1 s) and the run could not end before the test's timeout.
    const r = await runThreads(modelOf(DEFAULT_SCENARIO), { seed: 3, variant: null, durationMs: 1200, pauseMs: 20_000, sweepEveryMs: 200 });
    expect(r.violation).toBeNull();
    expect(r.sweeps.done).toBeGreaterThanOrEqual(1);
    expect(r.stoppedBy).toBe('duration'); // the soft stop wakes them too
    expect(r.quiescent).toBe(true);
  });

  it('--sweep-every 0: no barrier, the final sweep only', async () => {
    const r = await runThreads(modelOf(DEFAULT_SCENARIO), { seed: 3, variant: null, durationMs: 400, sweepEveryMs: 0, onBarrier: () => expect.fail('no barrier expected') });
    expect(r.sweeps).toMatchObject({ everyMs: 0, done: 0, skipped: 0 });
    expect(r.quiescent).toBe(true);
  });
});

describe('replayThreads (a sim schedule on real threads)', () => {
  it('a clean schedule: same trace hash, steps and counters as the sim', async () => {
    const sim = runSim(modelOf(DEFAULT_SCENARIO), { seed: 7, variant: null, record: true });
    expect(sim.violation).toBeNull();
    const t = await replayThreads(modelOf(DEFAULT_SCENARIO), sim.decisions!, { seed: 7, variant: null });
    expect(t.traceHash).toBe(sim.traceHash);
    expect(t.steps).toBe(sim.steps);
    expect(t.violation).toBeNull();
    expect(t.stats).toEqual(sim.stats);
  });

  it('a B21 violation: same trace hash, invariant, actor and message', async () => {
    const { f, sim } = recordedFinding('B21', 2);
    expect(sim.violation?.invariant).toBe('I8');
    const t = await replayThreads(modelOf(DEFAULT_SCENARIO), sim.decisions!, { seed: f.scheduleSeed, variant: 'B21' });
    expect(t.traceHash).toBe(sim.traceHash);
    expect(t.steps).toBe(sim.steps);
    expect(t.violation?.invariant).toBe('I8');
    expect(t.violation?.actor).toBe(sim.violation!.actor);
    expect(t.violation?.message).toBe(sim.violation!.message);
  });

  it('a B1 violation replays to the same hash and invariant', async () => {
    const { f, sim } = recordedFinding('B1', 38);
    expect(['I1', 'I2']).toContain(sim.violation?.invariant);
    const t = await replayThreads(modelOf(DEFAULT_SCENARIO), sim.decisions!, { seed: f.scheduleSeed, variant: 'B1' });
    expect(t.traceHash).toBe(sim.traceHash);
    expect(t.violation?.invariant).toBe(sim.violation!.invariant);
  });

  it('a B22 deadlock is detected at the end of the replayed schedule', async () => {
    // Lockdep off: the hang itself, not the inverted order that predicts it.
    const noLockdep = INVARIANT_IDS.filter((id) => id !== 'LOCK_ORDER');
    const { f, sim } = recordedFinding('B22', 1, noLockdep);
    expect(sim.violation?.invariant).toBe('DEADLOCK');
    const t = await replayThreads(modelOf(DEFAULT_SCENARIO), sim.decisions!, { seed: f.scheduleSeed, variant: 'B22', invariants: noLockdep });
    expect(t.traceHash).toBe(sim.traceHash);
    expect(t.steps).toBe(sim.steps);
    expect(t.violation?.invariant).toBe('DEADLOCK');
    expect(t.violation?.message).toContain('slotchurn0 waits for write-lock on filemap invalidate_lock');
  });

  it('a schedule prefix: the threads stop where it ends, with the sim hash for that prefix', async () => {
    const a = runSim(modelOf(DEFAULT_SCENARIO), { seed: 7, variant: null, record: true });
    const t = await replayThreads(modelOf(DEFAULT_SCENARIO), a.decisions!.slice(0, 200), { seed: 7, variant: null });
    expect(t.steps).toBe(200);
    const prefix = runSim(modelOf(DEFAULT_SCENARIO), { seed: 7, variant: null, scheduler: new ReplayScheduler(a.decisions!.slice(0, 200)) });
    expect(t.traceHash).toBe(prefix.traceHash);
    expect(t.traceHash).not.toBe(a.traceHash);
  });

  // Both engines number steps from 1 (the step being taken).
  it('a violation found during a step carries the same step number on both engines', async () => {
    const { f, sim } = recordedFinding('B21', 2);
    const t = await replayThreads(modelOf(DEFAULT_SCENARIO), sim.decisions!, { seed: f.scheduleSeed, variant: 'B21' });
    expect(t.violation?.invariant).toBe('I8');
    expect(t.violation?.step).toBe(sim.violation!.step);
  });
});
