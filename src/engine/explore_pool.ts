// explore --workers K: a campaign split into shards of consecutive schedule indices, run on a
// piscina pool. Each schedule depends only on (seed, index), so the findings are the sequential
// campaign's: the violation with the lowest index wins, and shards beyond it are not started.
import { Piscina } from 'piscina';
import type { Scenario } from '../scenario/types.js';
import { explore, pctK, type ExploreOptions, type ExploreResult, type Finding } from './explore.js';
import { addStats, emptyStats } from './stats.js';
import { workerScript } from './threads.js';

/** Schedules per shard: small enough to balance, large enough that dispatch costs little. */
export function shardSize(schedules: number, workers: number): number {
  return Math.max(64, Math.min(2048, Math.ceil(schedules / (workers * 8))));
}

export async function exploreParallel(sc: Scenario, o: ExploreOptions, workers: number): Promise<ExploreResult> {
  if (workers <= 1) return explore(sc, o);
  const t0 = Date.now();
  const pool = new Piscina({ filename: workerScript('explore-worker'), minThreads: workers, maxThreads: workers, atomics: 'disabled' });
  const size = shardSize(o.schedules, workers);
  const from0 = o.from ?? 0;
  const end = from0 + o.schedules;
  // PCT's k is measured once here, so every shard draws its change points over the same k
  const strategy = o.strategy ?? 'random';
  const k = strategy !== 'random' ? (o.pctK ?? pctK(sc, o.seed, o.variant)) : undefined;
  const total: ExploreResult = { schedulesRun: 0, steps: 0, cut: 0, elapsedMs: 0, violations: [], stats: emptyStats(), strategy, pct: null };
  let best: Finding | null = null;
  let next = from0;
  let done = 0;
  const shardOpts = (from: number, schedules: number): ExploreOptions => ({
    seed: o.seed,
    schedules,
    from,
    variant: o.variant,
    invariants: o.invariants,
    timeBudgetMs: o.timeBudgetMs === undefined ? undefined : Math.max(1, o.timeBudgetMs - (Date.now() - t0)),
    strategy,
    depth: o.depth,
    pctK: k,
    shrink: o.shrink,
    shard: o.shard,
  });
  const worker = async (): Promise<void> => {
    for (;;) {
      if (next >= end || (best && next > best.schedule)) return;
      if (o.timeBudgetMs !== undefined && Date.now() - t0 >= o.timeBudgetMs) return;
      const from = next;
      const n = Math.min(size, end - from);
      next += n;
      const r: ExploreResult = await pool.run({ scenario: sc, options: shardOpts(from, n) });
      total.schedulesRun += r.schedulesRun;
      total.steps += r.steps;
      total.cut += r.cut;
      total.pct = r.pct;
      addStats(total.stats, r.stats);
      const f = r.violations[0];
      if (f && (!best || f.schedule < best.schedule)) best = f;
      done += r.schedulesRun;
      o.onProgress?.({ done, steps: total.steps, elapsedMs: Date.now() - t0 });
    }
  };
  try {
    await Promise.all(Array.from({ length: workers * 2 }, worker));
  } finally {
    await pool.destroy();
  }
  total.violations = best ? [best] : [];
  total.elapsedMs = Date.now() - t0;
  return total;
}
