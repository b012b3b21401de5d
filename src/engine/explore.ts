// Exploration: many sim schedules, each from a seed derived from (campaign seed, index), until
// a violation or the budget runs out. The first violation comes back with a replay token.
import type { Scenario } from '../scenario/types.js';
import type { InvariantId } from '../check/invariant-ids.js';
import type { VariantId } from '../variants.js';
import type { Violation } from './ctx.js';
import { mixSeed } from './prng.js';
import { runSim, type SimResult } from './sim.js';
import { actorDefs } from './actors.js';
import { pctBound, type PctParams } from './pct.js';
import { contextSwitches, shrinkSchedule } from './shrink.js';
import { addStats, emptyStats, type Stats } from './stats.js';
import { createShm } from '../shm/state.js';
import { encodeToken, type ReplaySpec } from './token.js';

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
  /** random (uniform over runnable actors, the default), pct (see pct.ts), or portfolio: even schedules random, odd ones pct with d = 2, 3, 4 in turn */
  strategy?: Strategy;
  /** pct: the bug depth d */
  depth?: number;
  /** pct: the schedule length k the change points are drawn over (default: measured, see pctK) */
  pctK?: number;
  /** run only the schedule indices i with i % count === index (a shard of the campaign; gmemsim merge combines them) */
  shard?: { index: number; count: number } | null;
  /** minimise the violating schedule before it is reported (the CLI does by default; the API does when asked) */
  shrink?: boolean;
}

export type Strategy = 'random' | 'pct' | 'portfolio';
export const PORTFOLIO_DEPTHS = [2, 3, 4];

/** PCT's parameters for a campaign, and its guarantee (portfolio: for its first depth). */
export interface PctInfo {
  n: number;
  k: number;
  depth: number;
  perRun: number;
  runsFor99: number;
}

export interface ShrinkInfo {
  originalSteps: number;
  originalSwitches: number;
  shrunkSteps: number;
  shrunkSwitches: number;
  runs: number;
  elapsedMs: number;
  /** the shrunk schedule, one line per step, with the invalidation state after it */
  steps: string[];
  /** the token of the schedule as found (the finding's `replay` is the shrunk one) */
  originalReplay: string;
}

export interface Finding extends Violation {
  /** index of the schedule in the campaign */
  schedule: number;
  scheduleSeed: number;
  traceHash: string;
  replay: string;
  /** the last steps before the violation, readable */
  trace: string[];
  /** the replay record behind `replay` (what --save writes) */
  spec: ReplaySpec;
  /** what shrinking did (null: --no-shrink) */
  shrunk: ShrinkInfo | null;
}

export interface ExploreResult {
  schedulesRun: number;
  steps: number;
  cut: number;
  elapsedMs: number;
  violations: Finding[];
  stats: Stats;
  strategy: Strategy;
  pct: PctInfo | null;
}

/**
 * A violation as reported: the schedule as found (`decisions`, replayed strictly), and when
 * `o.shrink`, the shrunk schedule with its step list; tokens and replay records for both.
 */
export function makeFinding(sc: Scenario, o: Pick<ExploreOptions, 'variant' | 'invariants' | 'shrink'>, index: number, seed: number, decisions: number[]): Finding {
  const invariants = o.invariants ? new Set(o.invariants) : undefined;
  const found = runSim(sc, { seed, variant: o.variant, invariants, schedule: decisions, traceTail: 24 });
  const v = found.violation;
  if (!v) throw new Error(`schedule ${index} (seed ${seed}) does not show its violation again`);
  const spec = (schedule: number[], res: SimResult): ReplaySpec => ({
    v: 1,
    scenario: sc,
    variant: o.variant,
    seed,
    invariants: o.invariants ?? null,
    expect: { invariant: res.violation?.invariant ?? null, traceHash: res.traceHash, steps: res.steps },
    schedule,
  });
  const foundSpec = spec(decisions, found);
  const originalReplay = encodeToken(foundSpec);
  const plain: Finding = { ...v, schedule: index, scheduleSeed: seed, traceHash: found.traceHash, replay: originalReplay, spec: foundSpec, trace: found.trace, shrunk: null };
  if (!o.shrink) return plain;
  const upTo = decisions.slice(0, v.step);
  const s = shrinkSchedule(sc, { seed, variant: o.variant, invariants }, upTo, v.invariant);
  const sr = runSim(sc, { seed, variant: o.variant, invariants, schedule: s.decisions, record: true, traceTail: s.decisions.length, traceState: true });
  if (sr.violation?.invariant !== v.invariant) return plain;
  const shrunkSpec = spec(s.decisions, sr);
  return {
    ...sr.violation,
    schedule: index,
    scheduleSeed: seed,
    traceHash: sr.traceHash,
    replay: encodeToken(shrunkSpec),
    spec: shrunkSpec,
    trace: sr.trace.slice(-24),
    shrunk: {
      originalSteps: upTo.length,
      originalSwitches: contextSwitches(upTo),
      shrunkSteps: s.decisions.length,
      shrunkSwitches: contextSwitches(s.decisions),
      runs: s.runs,
      elapsedMs: s.elapsedMs,
      steps: sr.trace,
      originalReplay,
    },
  };
}

/** k for PCT: the longest of a few seeded random schedules of the scenario (deterministic). */
export function pctK(sc: Scenario, seed: number, variant: VariantId | null): number {
  let k = 1;
  for (let i = 0; i < 4; i++) k = Math.max(k, runSim(sc, { seed: mixSeed(seed ^ 0x6b, i), variant }).steps);
  return k;
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
  const strategy = o.strategy ?? 'random';
  let pctInfo: PctInfo | null = null;
  if (strategy !== 'random') {
    const depth = strategy === 'pct' ? (o.depth ?? 2) : PORTFOLIO_DEPTHS[0];
    const k = o.pctK ?? pctK(sc, o.seed, o.variant);
    pctInfo = { n: actorDefs(sc).length, k, depth, ...pctBound(actorDefs(sc).length, k, depth) };
  }
  const pctFor = (i: number): PctParams | undefined => {
    if (!pctInfo) return undefined;
    if (strategy === 'pct') return { depth: pctInfo.depth, k: pctInfo.k };
    return i % 2 === 0 ? undefined : { depth: PORTFOLIO_DEPTHS[(i >> 1) % PORTFOLIO_DEPTHS.length], k: pctInfo.k };
  };
  let ran = 0;
  // One state buffer for the whole run, reset before each schedule (not one allocated per schedule).
  const shm = createShm(sc);
  for (; i < from + o.schedules; i++) {
    if (o.shard && i % o.shard.count !== o.shard.index) continue;
    ran++;
    const seed = scheduleSeed(o.seed, i);
    const pct = pctFor(i);
    // no trace tail: a violation is run again, recorded, and makeFinding builds its trace
    const r = runSim(sc, { seed, variant: o.variant, invariants, pct, shm });
    steps += r.steps;
    if (r.cut) cut++;
    addStats(stats, r.stats);
    if (r.violation) {
      // the schedule as found, recorded (the same seed and strategy take the same steps)
      const found = runSim(sc, { seed, variant: o.variant, invariants, record: true, pct });
      const finding = makeFinding(sc, o, i, seed, found.decisions!);
      violations.push(finding);
      i++;
      break;
    }
    const now = Date.now();
    if ((ran & 63) === 0) {
      if (o.timeBudgetMs !== undefined && now - t0 >= o.timeBudgetMs) {
        i++;
        break;
      }
      if (o.onProgress && now - lastProgress >= 250) {
        lastProgress = now;
        o.onProgress({ done: ran, steps, elapsedMs: now - t0 });
      }
    }
  }
  return { schedulesRun: ran, steps, cut, elapsedMs: Date.now() - t0, violations, stats, strategy, pct: pctInfo };
}
