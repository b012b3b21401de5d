// explore --workers K: a campaign split into shards of consecutive schedule indices, run on K
// threads: this one and a piscina pool of K-1. Each schedule depends only on (seed, index), so the
// findings are the sequential campaign's: the violation with the lowest index wins, and shards
// beyond it are not started.
//
// Why this thread takes shards too: a fresh worker spends its first few hundred schedules warming
// up V8 (interpreted code while TurboFan compiles, about 1.4 s of compile-thread CPU for this code
// base). On a 2-vCPU machine that compiling takes the cores the schedules need, so every cold
// thread costs; this thread is often warm already, and one thread fewer is one warm-up fewer.
import { Piscina } from 'piscina';
import type { Scenario } from '../scenario/types.js';
import { deadlineOf, emptyResult, explore, measurePct, type ExploreOptions, type ExploreResult, type Finding, type PctLengths } from './explore.js';
import { addStats } from '../engine/stats.js';
import { budgetOver } from '../engine/budget.js';
import { workerScript } from '../engine/threads.js';
import { unionCoverage, type Coverage } from './coverage.js';

/**
 * Schedules in the next shard, given how many remain: a share of the rest (guided
 * self-scheduling), so shards are large while much remains (little dispatch cost) and small near
 * the end (the threads finish together).
 */
export function shardSize(remaining: number, workers: number): number {
  return Math.max(1, Math.min(remaining, 2048, Math.max(16, Math.ceil(remaining / (workers * 4)))));
}

/** A cold pool's first shards (schedules); each answer doubles it, up to shardSize. */
const FIRST_REMOTE_SHARD = 16;

/** Tasks each pool thread holds (one running, one queued), so it never waits for this thread's event loop. */
const TASKS_PER_WORKER = 2;

/**
 * K threads for explore campaigns (this one and K-1 pool workers). The workers stay up, and warm,
 * across campaigns until close(); exploreParallel uses a fresh one per campaign.
 */
export class ExplorePool {
  readonly workers: number;
  private pool: Piscina | null;
  /** a campaign ran on the workers already (their code is compiled) */
  private warm = false;

  constructor(workers: number) {
    this.workers = Math.max(1, Math.floor(workers));
    this.pool =
      this.workers > 1
        ? new Piscina({
            filename: workerScript('explore-worker'),
            minThreads: this.workers - 1,
            maxThreads: this.workers - 1,
            concurrentTasksPerWorker: TASKS_PER_WORKER,
            atomics: 'disabled',
          })
        : null;
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    await p?.destroy();
  }

  async explore(sc: Scenario, o: ExploreOptions): Promise<ExploreResult> {
    const pool = this.pool;
    if (!pool) {
      if (this.workers > 1) throw new Error('ExplorePool: closed');
      return explore(sc, o);
    }
    const workers = this.workers;
    const t0 = Date.now();
    const from0 = o.from ?? 0;
    const end = from0 + o.schedules;
    // One absolute deadline for every shard: a shard handed out late gets what is left, not --time afresh
    const deadline = deadlineOf(o, t0);
    const budget = { deadline, stop: o.stop };
    // PCT's k is measured once here, so every shard draws its change points over the same k
    const strategy = o.strategy ?? 'random';
    const total: ExploreResult = emptyResult(strategy);
    let k: PctLengths | undefined;
    if (strategy !== 'random') {
      const m = o.pctK ? { lengths: o.pctK, stopped: null } : measurePct(sc, o.seed, o.variant, budget);
      if (!m.lengths) return { ...total, interrupted: m.stopped, cutMeasuring: true, elapsedMs: Date.now() - t0 };
      k = m.lengths;
    }
    const coverages: Coverage[] = [];
    let best: Finding | null = null;
    let next = from0;
    let done = 0;
    const shardOpts = (from: number, schedules: number): ExploreOptions => ({
      seed: o.seed,
      schedules,
      from,
      variant: o.variant,
      invariants: o.invariants,
      deadline,
      strategy,
      depth: o.depth,
      pctK: k,
      shrink: o.shrink,
      shard: o.shard,
      stop: o.stop,
    });
    /** the next shard [from, from + n), or null when the campaign is over */
    const take = (cap = Infinity): { from: number; n: number } | null => {
      if (next >= end || (best && next > best.schedule)) return null;
      const over = budgetOver(budget);
      if (over === 'signal') total.interrupted = 'signal';
      else if (over) total.interrupted ??= 'time';
      if (over) return null;
      const from = next;
      const n = Math.min(cap, shardSize(end - from, workers));
      next += n;
      return { from, n };
    };
    const merge = (r: ExploreResult): void => {
      total.schedulesRun += r.schedulesRun;
      total.steps += r.steps;
      total.cut += r.cut;
      total.pct = r.pct;
      total.partialSteps += r.partialSteps;
      if (r.interrupted === 'signal' || (r.interrupted && !total.interrupted)) total.interrupted = r.interrupted;
      addStats(total.stats, r.stats);
      coverages.push(r.coverage);
      const f = r.violations[0];
      if (f && (!best || f.schedule < best.schedule)) best = f;
      done += r.schedulesRun;
      o.onProgress?.({ done, steps: total.steps, elapsedMs: Date.now() - t0 });
    };
    // A fresh worker runs its first schedules several times slower (interpreted while TurboFan
    // compiles): its shards start small and double with each answer, so this thread, warm, takes
    // the bulk meanwhile and no cold shard is left running at the end.
    let cap = this.warm ? Infinity : FIRST_REMOTE_SHARD;
    const remote = async (): Promise<void> => {
      for (let s = take(cap); s; s = take(cap)) {
        merge(await pool.run({ scenario: sc, options: shardOpts(s.from, s.n) }));
        cap *= 2;
      }
    };
    const local = async (): Promise<void> => {
      // Let the pool's drivers queue their first tasks before this thread blocks in a shard.
      await new Promise((r) => setImmediate(r));
      for (let s = take(); s; s = take()) {
        merge(explore(sc, shardOpts(s.from, s.n)));
        // Between shards, take in the pool's answers and hand it new tasks.
        await new Promise((r) => setImmediate(r));
      }
    };
    await Promise.all([local(), ...Array.from({ length: (workers - 1) * TASKS_PER_WORKER }, remote)]);
    this.warm = true;
    total.violations = best ? [best] : [];
    total.coverage = unionCoverage(...coverages);
    total.elapsedMs = Date.now() - t0;
    return total;
  }
}

/** One campaign on `workers` threads (a fresh pool, closed at the end). */
export async function exploreParallel(sc: Scenario, o: ExploreOptions, workers: number): Promise<ExploreResult> {
  if (workers <= 1) return explore(sc, o);
  const pool = new ExplorePool(workers);
  try {
    return await pool.explore(sc, o);
  } finally {
    await pool.close();
  }
}
