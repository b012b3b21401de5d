// The threads engine: one worker thread per actor over one SharedArrayBuffer. Free-running
// (stress), and replaying a sim schedule step by step through the turn word.
// Needs the compiled worker: run `npx tsc -p tsconfig.json` first (npm test does).
import { describe, it, expect } from 'vitest';
import { replayThreads, runThreads } from '../../src/engine/threads.js';
import { runSim } from '../../src/engine/sim.js';
import { explore } from '../../src/engine/explore.js';
import { actorDefs } from '../../src/engine/actors.js';
import type { VariantId } from '../../src/variants.js';
import { DEFAULT_SCENARIO } from '../helpers.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { Wait } from '../../src/engine/ctx.js';
import { A_MMU_READER, A_RETURNED, A_WAIT_KIND, G_IN_PROGRESS, G_INV_LOCK, G_MMU_LOCK, G_SLOTS_LOCK, actorWord } from '../../src/shm/layout.js';

const ACTORS = actorDefs(DEFAULT_SCENARIO).length;

/** The first violating schedule of a campaign, recorded under sim. */
function recordedFinding(variant: VariantId, campaign: number) {
  const f = explore(DEFAULT_SCENARIO, { seed: campaign, schedules: 50, variant }).violations[0];
  if (!f) throw new Error(`${variant} campaign ${campaign}: no violation in 50 schedules`);
  const sim = runSim(DEFAULT_SCENARIO, { seed: f.scheduleSeed, variant, record: true });
  return { f, sim };
}

describe('runThreads (free-running)', () => {
  it('the correct model runs clean on default for 800 ms and ends quiescent', async () => {
    const r = await runThreads(DEFAULT_SCENARIO, { seed: 1, variant: null, durationMs: 800 });
    expect(r.violation).toBeNull();
    expect(r.stoppedBy).toBe('duration');
    expect(r.quiescent).toBe(true);
    expect(r.workers).toBe(ACTORS);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(800);
    expect(r.elapsedMs).toBeLessThan(5000);
    const t = r.stats.total;
    expect(t.faults).toBeGreaterThan(0);
    expect(t.installs).toBeGreaterThan(0);
    expect(t.punchHoles).toBeGreaterThan(0);
    expect(t.conversions).toBeGreaterThan(0);
    // Every actor did something (nobody was starved out of the run entirely).
    for (const a of r.stats.actors) expect(Object.values(a.counters).some((n) => n > 0), a.name).toBe(true);
  });

  it('B4 shows I2 on real threads and stops the run early', async () => {
    const r = await runThreads(DEFAULT_SCENARIO, { seed: 1, variant: 'B4', durationMs: 8000 });
    expect(r.violation?.invariant).toBe('I2');
    expect(r.stoppedBy).toBe('violation');
    expect(r.quiescent).toBe(false); // stopped hard: no final sweep
    expect(r.elapsedMs).toBeLessThan(8000);
    expect(r.violation!.actor).toBeGreaterThanOrEqual(0);
    expect(r.violation!.actor).toBeLessThan(ACTORS);
  });

  it('B8 (no remote TLB flush) shows I9 on real threads: a vCPU still caches a page the writer frees', async () => {
    const r = await runThreads(DEFAULT_SCENARIO, { seed: 1, variant: 'B8', durationMs: 8000 });
    expect(r.violation?.invariant).toBe('I9');
    expect(r.violation?.message).toMatch(/TLB still translates gfn \d+/);
  });

  it('ops mode finishes by itself: stoppedBy "ops", quiescent, clean', async () => {
    const r = await runThreads(DEFAULT_SCENARIO, { seed: 2, variant: null, ops: 5 });
    expect(r.stoppedBy).toBe('ops');
    expect(r.violation).toBeNull();
    expect(r.quiescent).toBe(true);
    expect(r.stats.total.faults).toBeGreaterThan(0);
    expect(r.elapsedMs).toBeLessThan(8000);
  });
});

describe('pause barriers (a full sweep on a quiescent state, mid-run)', () => {
  it.each(['rwlock', 'percpu'] as const)('every actor parks between operations: no lock held, no invalidation open, and the sweeps stay clean (mmu_lock %s)', async (mmuLock) => {
    const seen: string[] = [];
    const sc = validateScenario({ mmuLock }, DEFAULT_SCENARIO);
    const r = await runThreads(sc, {
      seed: 3,
      variant: null,
      durationMs: 1500,
      jitter: 2,
      sweepEveryMs: 50,
      onBarrier: (s) => {
        const a = s.i32;
        const held = [G_MMU_LOCK, G_INV_LOCK, G_SLOTS_LOCK].filter((w) => Atomics.load(a, w) !== 0);
        if (held.length) seen.push(`lock words ${held} held`);
        if (Atomics.load(a, G_IN_PROGRESS) !== 0) seen.push('in_progress open');
        for (let id = 0; id < s.l.nActors; id++) if (Atomics.load(a, actorWord(s.l, id, A_MMU_READER)) !== 0) seen.push(`actor ${id} holds a big-reader slot`);
        actorDefs(DEFAULT_SCENARIO).forEach((d, id) => {
          const kind = Atomics.load(a, actorWord(s.l, id, A_WAIT_KIND));
          const parked = kind === Wait.Park || Atomics.load(a, actorWord(s.l, id, A_RETURNED)) === 1;
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
    const r = await runThreads(DEFAULT_SCENARIO, {
      seed: 3,
      variant: null,
      durationMs: 30_000,
      sweepEveryMs: 100,
      // an invalidation left open behind everyone's back: only a sweep can see it
      onBarrier: (s) => Atomics.add(s.i32, G_IN_PROGRESS, 1),
    });
    expect(r.violation?.invariant).toBe('I4');
    expect(r.violation?.message).toMatch(/^at a pause barrier .*mmu_invalidate_in_progress is 1 at quiescence/);
    expect(r.stoppedBy).toBe('violation');
    expect(r.sweeps.done).toBe(1);
    expect(r.elapsedMs).toBeLessThan(10_000);
  });

  it('a background actor sleeping between operations is woken to park (long --pause-ms does not stall barriers)', async () => {
    // memslot churn sleeps 20 x pauseMs = 8 s between operations
    const r = await runThreads(DEFAULT_SCENARIO, { seed: 3, variant: null, durationMs: 1200, pauseMs: 400, sweepEveryMs: 200 });
    expect(r.violation).toBeNull();
    expect(r.sweeps.skipped).toBe(0);
    expect(r.sweeps.done).toBeGreaterThanOrEqual(3);
    // not skipped: each barrier completed inside its 1 s timeout, though the churner sleeps 8 s
    expect(r.sweeps.maxParkMs).toBeLessThan(1000);
    expect(r.elapsedMs).toBeLessThan(4000); // the soft stop wakes them too
  });

  it('--sweep-every 0: no barrier, the final sweep only', async () => {
    const r = await runThreads(DEFAULT_SCENARIO, { seed: 3, variant: null, durationMs: 400, sweepEveryMs: 0, onBarrier: () => expect.fail('no barrier expected') });
    expect(r.sweeps).toMatchObject({ everyMs: 0, done: 0, skipped: 0 });
    expect(r.quiescent).toBe(true);
  });
});

describe('replayThreads (a sim schedule on real threads)', () => {
  it('a clean schedule: same trace hash, steps and counters as the sim', async () => {
    const sim = runSim(DEFAULT_SCENARIO, { seed: 7, variant: null, record: true });
    expect(sim.violation).toBeNull();
    const t = await replayThreads(DEFAULT_SCENARIO, sim.decisions!, { seed: 7, variant: null });
    expect(t.traceHash).toBe(sim.traceHash);
    expect(t.steps).toBe(sim.steps);
    expect(t.violation).toBeNull();
    expect(t.stats).toEqual(sim.stats);
  });

  it('a B21 violation: same trace hash, invariant, actor and message', async () => {
    const { f, sim } = recordedFinding('B21', 2);
    expect(sim.violation?.invariant).toBe('I8');
    const t = await replayThreads(DEFAULT_SCENARIO, sim.decisions!, { seed: f.scheduleSeed, variant: 'B21' });
    expect(t.traceHash).toBe(sim.traceHash);
    expect(t.steps).toBe(sim.steps);
    expect(t.violation?.invariant).toBe('I8');
    expect(t.violation?.actor).toBe(sim.violation!.actor);
    expect(t.violation?.message).toBe(sim.violation!.message);
  });

  it('a B1 violation replays to the same hash and invariant', async () => {
    const { f, sim } = recordedFinding('B1', 66);
    expect(['I1', 'I2']).toContain(sim.violation?.invariant);
    const t = await replayThreads(DEFAULT_SCENARIO, sim.decisions!, { seed: f.scheduleSeed, variant: 'B1' });
    expect(t.traceHash).toBe(sim.traceHash);
    expect(t.violation?.invariant).toBe(sim.violation!.invariant);
  });

  it('a B22 deadlock is detected at the end of the replayed schedule', async () => {
    const { f, sim } = recordedFinding('B22', 1);
    expect(sim.violation?.invariant).toBe('DEADLOCK');
    const t = await replayThreads(DEFAULT_SCENARIO, sim.decisions!, { seed: f.scheduleSeed, variant: 'B22' });
    expect(t.traceHash).toBe(sim.traceHash);
    expect(t.steps).toBe(sim.steps);
    expect(t.violation?.invariant).toBe('DEADLOCK');
    expect(t.violation?.message).toContain('slotchurn0 waits for write-lock on filemap invalidate_lock');
  });

  it('a schedule prefix: the threads stop where it ends, with the sim hash for that prefix', async () => {
    const a = runSim(DEFAULT_SCENARIO, { seed: 7, variant: null, record: true });
    const t = await replayThreads(DEFAULT_SCENARIO, a.decisions!.slice(0, 200), { seed: 7, variant: null });
    expect(t.steps).toBe(200);
    const prefix = runSim(DEFAULT_SCENARIO, { seed: 7, variant: null, schedule: a.decisions!.slice(0, 200) });
    expect(t.traceHash).toBe(prefix.traceHash);
    expect(t.traceHash).not.toBe(a.traceHash);
  });

  // Both engines number steps from 1 (the step being taken).
  it('a violation found during a step carries the same step number on both engines', async () => {
    const { f, sim } = recordedFinding('B21', 2);
    const t = await replayThreads(DEFAULT_SCENARIO, sim.decisions!, { seed: f.scheduleSeed, variant: 'B21' });
    expect(t.violation?.invariant).toBe('I8');
    expect(t.violation?.step).toBe(sim.violation!.step);
  });
});
