// Exploration: many sim schedules, each from a seed derived from (campaign seed, index), until
// a violation or the budget runs out. The first violation comes back with a replay token.
import type { Scenario } from '../scenario/types.js';
import type { InvariantId } from '../check/invariant-ids.js';
import type { VariantId } from '../variants.js';
import type { Violation } from './ctx.js';
import { mixSeed } from './prng.js';
import { runSim } from './sim.js';
import { addStats, emptyStats, type Stats } from './stats.js';
import { encodeToken } from './token.js';

export interface ExploreOptions {
  seed: number;
  schedules: number;
  /** the first schedule index (a shard of a campaign starts further in) */
  from?: number;
  variant: VariantId | null;
  invariants?: InvariantId[] | null;
  /** stop after this long even if schedules remain */
  timeBudgetMs?: number;
  onProgress?: (p: { done: number; steps: number; elapsedMs: number }) => void;
}

export interface Finding extends Violation {
  /** index of the schedule in the campaign */
  schedule: number;
  scheduleSeed: number;
  traceHash: string;
  replay: string;
  /** the last steps before the violation, readable */
  trace: string[];
}

export interface ExploreResult {
  schedulesRun: number;
  steps: number;
  cut: number;
  elapsedMs: number;
  violations: Finding[];
  stats: Stats;
}

export const scheduleSeed = (seed: number, i: number) => mixSeed(seed, i);

export function explore(sc: Scenario, o: ExploreOptions): ExploreResult {
  const t0 = Date.now();
  const stats = emptyStats();
  const invariants = o.invariants ? new Set(o.invariants) : undefined;
  let steps = 0;
  let cut = 0;
  const from = o.from ?? 0;
  let i = from;
  const violations: Finding[] = [];
  let lastProgress = t0;
  for (; i < from + o.schedules; i++) {
    const seed = scheduleSeed(o.seed, i);
    const r = runSim(sc, { seed, variant: o.variant, invariants, traceTail: 24 });
    steps += r.steps;
    if (r.cut) cut++;
    addStats(stats, r.stats);
    if (r.violation) {
      const replay = encodeToken({
        v: 1,
        scenario: sc,
        variant: o.variant,
        seed,
        invariants: o.invariants ?? null,
        expect: { invariant: r.violation.invariant, traceHash: r.traceHash, steps: r.steps },
      });
      violations.push({ ...r.violation, schedule: i, scheduleSeed: seed, traceHash: r.traceHash, replay, trace: r.trace });
      i++;
      break;
    }
    const now = Date.now();
    if ((i & 63) === 0) {
      if (o.timeBudgetMs !== undefined && now - t0 >= o.timeBudgetMs) {
        i++;
        break;
      }
      if (o.onProgress && now - lastProgress >= 250) {
        lastProgress = now;
        o.onProgress({ done: i + 1 - from, steps, elapsedMs: now - t0 });
      }
    }
  }
  return { schedulesRun: i - from, steps, cut, elapsedMs: Date.now() - t0, violations, stats };
}
