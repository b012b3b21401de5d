// explore --workers K: shards on a piscina pool find what the sequential campaign finds.
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { ExplorePool, exploreParallel, shardSize } from '../../src/explore/pool.js';
import { DEFAULT_SCENARIO } from '../../src/scenario/builtins.js';

describe('sharded explore', () => {
  // shrink: false: shrinking stops at a wall-clock budget, so on a loaded machine its result may differ between two runs; the findings as found may not
  it('finds the same first violation (schedule, invariant, trace) as one thread', async () => {
    const one = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 400, variant: 'B11', shrink: false });
    const two = await exploreParallel(DEFAULT_SCENARIO, { seed: 1, schedules: 400, variant: 'B11', shrink: false }, 2);
    expect(one.violations).toHaveLength(1);
    const [a, b] = [one.violations[0]!, two.violations[0]!];
    expect([b.schedule, b.invariant, b.traceHash, b.replay]).toEqual([a.schedule, a.invariant, a.traceHash, a.replay]);
  });

  it('a clean campaign covers the same schedules and steps', async () => {
    const one = explore(DEFAULT_SCENARIO, { seed: 3, schedules: 300, variant: null });
    const two = await exploreParallel(DEFAULT_SCENARIO, { seed: 3, schedules: 300, variant: null }, 2);
    expect(two.violations).toEqual([]);
    expect(two.schedulesRun).toBe(300);
    expect(two.steps).toBe(one.steps);
    expect(two.stats.total.faults).toBe(one.stats.total.faults);
  });

  it('a shard starts further into the campaign with the same per-index seeds', () => {
    const whole = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 200, variant: 'B11', shrink: false });
    const v = whole.violations[0]!;
    const shard = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 10, from: v.schedule, variant: 'B11', shrink: false });
    expect(shard.violations[0]?.traceHash).toBe(v.traceHash);
    expect(shard.schedulesRun).toBe(1);
  });

  it('shards: a share of what remains, 16 to 2048, never past the end', () => {
    expect(shardSize(20000, 2)).toBe(2048);
    expect(shardSize(6000, 2)).toBe(750);
    expect(shardSize(100, 2)).toBe(16);
    expect(shardSize(5, 2)).toBe(5);
  });

  it('a pool kept across campaigns gives each the one-thread findings and totals', async () => {
    const pool = new ExplorePool(2);
    try {
      const clean = explore(DEFAULT_SCENARIO, { seed: 4, schedules: 250, variant: null });
      const c = await pool.explore(DEFAULT_SCENARIO, { seed: 4, schedules: 250, variant: null });
      expect([c.schedulesRun, c.steps, c.stats.total.faults, c.violations]).toEqual([250, clean.steps, clean.stats.total.faults, []]);
      const one = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 400, variant: 'B11', shrink: false });
      const two = await pool.explore(DEFAULT_SCENARIO, { seed: 1, schedules: 400, variant: 'B11', shrink: false });
      const [a, b] = [one.violations[0]!, two.violations[0]!];
      expect([b.schedule, b.invariant, b.traceHash, b.replay]).toEqual([a.schedule, a.invariant, a.traceHash, a.replay]);
    } finally {
      await pool.close();
    }
  });
});
