// Exploration: many sim schedules, each from a seed derived from (campaign seed, index), until
// a violation or the budget runs out. The first violation comes back with a replay token.
import type { Scenario } from '../scenario/types.js';
import type { InvariantId } from '../check/invariants.js';
import type { VariantId } from '../variants.js';
import type { Violation } from '../engine/ctx.js';
import type { Model } from '../engine/model.js';
import { mixSeed } from '../engine/prng.js';
import { edgeSlots, runSim, type SimResult } from '../engine/sim.js';
import { PctScheduler, pctBound, type PctParams } from '../engine/pct.js';
import { ReplayScheduler } from '../engine/scheduler.js';
import { StatsAcc, emptyStats, type Stats } from '../engine/stats.js';
import { createShm } from '../shm/state.js';
import { budgetOver, type Budget, type StopCause } from '../engine/budget.js';
import { modelOf } from '../workload/kinds.js';
import { contextSwitches, scenarioSize, shrinkScenario, shrinkSchedule } from './shrink.js';
import { checkedInvariants, encodeToken, type ReplaySpec } from './token.js';
import { TraceSet, emptyCoverage, transitionsOf, type Coverage } from './coverage.js';

export interface ExploreOptions {
  seed: number;
  schedules: number;
  /** the first schedule index (a shard of a campaign starts further in) */
  from?: number;
  variant: VariantId | null;
  invariants?: InvariantId[] | null;
  /** stop after this long even if schedules remain (checked inside a schedule too: a long one is cut) */
  timeBudgetMs?: number;
  /** stop at this Date.now() (the shards of one campaign share it; wins over timeBudgetMs) */
  deadline?: number;
  /** a stop word (engine/budget.ts): when set, the campaign stops at once and returns what it has */
  stop?: Int32Array;
  onProgress?: (p: { done: number; steps: number; elapsedMs: number }) => void;
  /** random (uniform over runnable actors, the default), pct (see engine/pct.ts), or portfolio: even schedules random, odd ones pct as with no depth */
  strategy?: Strategy;
  /** pct: the bug depth d; undefined (and always under portfolio): the depths of pctLadder in turn */
  depth?: number;
  /** pct: the steps each actor takes, change points are drawn over (default: measured, see pctK) */
  pctK?: PctLengths;
  /** run only the schedule indices i with i % count === index (a shard of the campaign; gmemsim merge combines them) */
  shard?: { index: number; count: number } | null;
  /** minimise the violating schedule before it is reported (the CLI does by default; the API does when asked) */
  shrink?: boolean;
}

export type Strategy = 'random' | 'pct' | 'portfolio';
/**
 * The depths PCT takes in turn when none is given: 1, 2, 4 ... change points, doubling while
 * there are at most a quarter as many as the actors' steps (on `default`, up to 256 of ~1,100:
 * nine depths, 2 to 257). Few change points find the bugs of small depth with PCT's guarantee;
 * racers that run many operations each (the vCPUs, the converter, the puncher) need many more
 * (see README). Schedule i takes pctLadder[i mod its length]: the same under any sharding.
 */
export function pctLadder(lengths: PctLengths): number[] {
  const steps = lengths.perActor.reduce((a, b) => a + b, 0);
  const ladder = [2];
  for (let c = 2; c <= steps / 4; c *= 2) ladder.push(c + 1);
  return ladder;
}

/** PCT's parameters for a campaign, and its guarantee (no fixed depth: for d = 2, in the schedules that take it). */
export interface PctInfo {
  n: number;
  /** the longest schedule measured (steps, all actors) */
  k: number;
  /** the most steps one actor took */
  kMax: number;
  /** the fixed depth, or null: the depths of pctLadder in turn */
  depth: number | null;
  /** the depths schedules take (the fixed one alone, or the ladder) */
  depths: number[];
  /** the depth the bound below is for */
  boundDepth: number;
  /** the share of the campaign's schedules that take boundDepth */
  share: number;
  perRun: number;
  runsFor99: number;
}

/** What PCT draws its change points over: steps per actor (a change point is an actor and one of its steps). */
export interface PctLengths {
  /** the longest schedule (all actors) */
  k: number;
  /** per actor, the most steps it took */
  perActor: number[];
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
  /** actors and their operations (see scenarioSize) before and after; the shrunk scenario is in the token */
  originalActors: number;
  shrunkActors: number;
  originalOps: number;
  shrunkOps: number;
  /** the scenario reductions that kept the violation, e.g. "vcpus.count 4 → 1" */
  scenarioChanges: string[];
  /** shrinking stopped early: a signal, or its own limit (4,000 runs, 10 s); the result still shows the violation, it may not be the smallest */
  cutBy: 'signal' | 'limit' | null;
}

export interface Finding extends Violation {
  /** the violating actor's name (in the shrunk scenario when shrunk) */
  actorName: string;
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
  /** why the campaign stopped before its schedules were done: --time ran out, or a signal (null: it was not cut short) */
  interrupted: StopCause | null;
  /** steps of the schedule under way when it was cut (not counted in schedulesRun), 0 if none */
  partialSteps: number;
  /** the budget ran out while PCT measured the schedule lengths (pctK), so no schedule ran */
  cutMeasuring: boolean;
  /** the yield-point transitions and distinct schedules the campaign reached (coverage.ts) */
  coverage: Coverage;
}

/**
 * A violation as reported: the schedule as found (`decisions`, replayed strictly), and when
 * `o.shrink`, the shrunk schedule with its step list; tokens and replay records for both.
 */
export function makeFinding(sc: Scenario, o: Pick<ExploreOptions, 'variant' | 'invariants' | 'shrink'>, index: number, seed: number, decisions: number[], stop?: Int32Array): Finding {
  const invariants = o.invariants ? new Set(o.invariants) : undefined;
  const model = modelOf(sc);
  const found = runSim(model, { seed, variant: o.variant, invariants, scheduler: new ReplayScheduler(decisions), traceTail: 24 });
  const v = found.violation;
  if (!v) throw new Error(`schedule ${index} (seed ${seed}) does not show its violation again`);
  const spec = (schedule: number[], res: SimResult, scenario = sc): ReplaySpec => ({
    v: 2,
    scenario,
    variant: o.variant,
    seed,
    invariants: checkedInvariants(o.invariants),
    expect: { invariant: res.violation?.invariant ?? null, traceHash: res.traceHash, steps: res.steps },
    schedule,
  });
  const foundSpec = spec(decisions, found);
  const originalReplay = encodeToken(foundSpec);
  const nameIn = (m: Model, id: number) => m.actors[id]?.name ?? `actor ${id}`;
  const plain: Finding = { ...v, actorName: nameIn(model, v.actor), schedule: index, scheduleSeed: seed, traceHash: found.traceHash, replay: originalReplay, spec: foundSpec, trace: found.trace, shrunk: null };
  if (!o.shrink) return plain;
  const upTo = decisions.slice(0, v.step);
  // Shrinking has its own limits, not what is left of --time: a violation found late is still
  // shrunk. A signal stops it (the best so far is reported, and says so).
  const over: Budget = { stop };
  const s = shrinkSchedule(sc, { seed, variant: o.variant, invariants }, upTo, v.invariant, { runs: SHRINK_RUNS, ms: SHRINK_MS, over });
  // then fewer actors and operations, with what is left of the limits
  const z = shrinkScenario(sc, { seed, variant: o.variant, invariants }, s.decisions, v.invariant, { runs: Math.max(200, SHRINK_RUNS - s.runs), ms: Math.max(1000, SHRINK_MS - s.elapsedMs), over });
  const cutBy = budgetOver(over) === 'signal' ? 'signal' : s.exhausted || z.exhausted ? 'limit' : null;
  const small = z.scenario;
  const smallModel = modelOf(small);
  const sr = runSim(smallModel, { seed, variant: o.variant, invariants, scheduler: new ReplayScheduler(z.decisions), record: true, traceTail: z.decisions.length, traceState: true });
  if (sr.violation?.invariant !== v.invariant) return plain;
  const shrunkSpec = spec(z.decisions, sr, small);
  const [before, after] = [scenarioSize(sc), scenarioSize(small)];
  return {
    ...sr.violation,
    actorName: nameIn(smallModel, sr.violation.actor),
    schedule: index,
    scheduleSeed: seed,
    traceHash: sr.traceHash,
    replay: encodeToken(shrunkSpec),
    spec: shrunkSpec,
    trace: sr.trace.slice(-24),
    shrunk: {
      originalSteps: upTo.length,
      originalSwitches: contextSwitches(upTo),
      shrunkSteps: z.decisions.length,
      shrunkSwitches: contextSwitches(z.decisions),
      runs: s.runs + z.runs,
      elapsedMs: s.elapsedMs + z.elapsedMs,
      steps: sr.trace,
      originalReplay,
      originalActors: before.actors,
      shrunkActors: after.actors,
      originalOps: before.ops,
      shrunkOps: after.ops,
      scenarioChanges: z.changes,
      cutBy,
    },
  };
}

/** What one shrink may spend (schedule, then scenario, together). */
export const SHRINK_RUNS = 4000;
export const SHRINK_MS = 10_000;

// Measured with no checks: a violation early in a measuring run must not shorten the lengths
// the change points are drawn over (B5's LOCK_HELD fires in the first steps).
const NO_CHECKS: ReadonlySet<InvariantId> = new Set();

/** PCT's lengths: the most steps of each actor (and of the whole schedule) over a few seeded random schedules (deterministic). */
export function pctK(sc: Scenario, seed: number, variant: VariantId | null): PctLengths {
  return measurePct(sc, seed, variant).lengths!;
}

/**
 * pctK under a budget: lengths null if the budget ran out before the measuring was done (fewer
 * runs would give other lengths, so other schedules than the same campaign uncut).
 */
export function measurePct(sc: Scenario, seed: number, variant: VariantId | null, budget?: Budget): { lengths: PctLengths | null; stopped: StopCause | null } {
  const model = modelOf(sc);
  const n = model.actors.length;
  let k = 1;
  const perActor: number[] = new Array(n).fill(1);
  for (let i = 0; i < PCT_MEASURE_RUNS; i++) {
    const over = budgetOver(budget);
    if (over !== null) return { lengths: null, stopped: over };
    const mine = new Array(n).fill(0);
    const r = runSim(model, { seed: mixSeed(seed ^ 0x6b, i), variant, invariants: NO_CHECKS, budget, onStep: (_step, actor) => mine[actor]++ });
    if (r.stopped) return { lengths: null, stopped: r.stopped };
    k = Math.max(k, r.steps);
    for (let a = 0; a < n; a++) perActor[a] = Math.max(perActor[a], mine[a]);
  }
  return { lengths: { k, perActor }, stopped: null };
}

const PCT_MEASURE_RUNS = 4;

/** The campaign's PCT parameters and the bound it guarantees (pct with a fixed depth: for it; else for d = 2, in its share of the schedules). */
export function pctInfoFor(strategy: Strategy, depth: number | null, lengths: PctLengths): PctInfo {
  const n = lengths.perActor.length;
  const kMax = Math.max(...lengths.perActor);
  const depths = depth === null ? pctLadder(lengths) : [depth];
  const boundDepth = depths[0];
  const share = (strategy === 'portfolio' ? 0.5 : 1) / depths.length;
  const b = pctBound(n, n * kMax, boundDepth);
  const perRun = b.perRun * share;
  const runsFor99 = perRun >= 1 ? 1 : Math.ceil(Math.log(0.01) / Math.log(1 - perRun));
  return { n, k: lengths.k, kMax, depth, depths, boundDepth, share, perRun, runsFor99 };
}

export const scheduleSeed = (seed: number, i: number) => mixSeed(seed, i);

export function explore(sc: Scenario, o: ExploreOptions): ExploreResult {
  const t0 = Date.now();
  const invariants = o.invariants ? new Set(o.invariants) : undefined;
  let steps = 0;
  let cut = 0;
  const from = o.from ?? 0;
  let i = from;
  const violations: Finding[] = [];
  let lastProgress = t0;
  const budget: Budget = { deadline: deadlineOf(o, t0), stop: o.stop };
  let interrupted: StopCause | null = null;
  let partialSteps = 0;
  const strategy = o.strategy ?? 'random';
  let pctInfo: PctInfo | null = null;
  let lengths: PctLengths | null = null;
  if (strategy !== 'random') {
    const m = o.pctK ? { lengths: o.pctK, stopped: null } : measurePct(sc, o.seed, o.variant, budget);
    if (!m.lengths) return { ...emptyResult(strategy), interrupted: m.stopped, cutMeasuring: true, elapsedMs: Date.now() - t0 };
    lengths = m.lengths;
    pctInfo = pctInfoFor(strategy, strategy === 'pct' ? (o.depth ?? null) : null, lengths);
  }
  const pctFor = (i: number): PctParams | undefined => {
    if (!lengths) return undefined;
    if (strategy === 'portfolio' && i % 2 === 0) return undefined;
    const j = strategy === 'portfolio' ? i >> 1 : i;
    return { depth: pctInfo!.depths[j % pctInfo!.depths.length], k: lengths.k, kActor: lengths.perActor };
  };
  let ran = 0;
  const model = modelOf(sc);
  const stats = new StatsAcc(model);
  const n = model.actors.length;
  const scheduler = (seed: number, pct: PctParams | undefined) => (pct ? new PctScheduler(n, pct, seed) : undefined);
  // One state buffer for the whole run, reset before each schedule (not one allocated per schedule).
  const shm = createShm(sc, n);
  // Coverage: the transitions every step took (marked by runSim), and each schedule's trace hash.
  const edges = new Uint8Array(edgeSlots(n));
  const traces = new TraceSet();
  // progress from inside a long schedule too (runSim calls tick at its budget checks)
  const progress = (partial: number) => {
    const now = Date.now();
    if (!o.onProgress || now - lastProgress < PROGRESS_MS) return;
    lastProgress = now;
    o.onProgress({ done: ran, steps: steps + partial, elapsedMs: now - t0 });
  };
  if (o.onProgress) budget.tick = progress;
  for (; i < from + o.schedules; i++) {
    if (o.shard && i % o.shard.count !== o.shard.index) continue;
    // the first schedule always starts (a budget smaller than the set-up still shows some steps); a signal stops even that
    const over = budgetOver(budget);
    if (over === 'signal' || (over === 'time' && ran > 0)) {
      interrupted = over;
      break;
    }
    const seed = scheduleSeed(o.seed, i);
    const pct = pctFor(i);
    // no trace tail: a violation is run again, recorded, and makeFinding builds its trace
    const r = runSim(model, { seed, variant: o.variant, invariants, scheduler: scheduler(seed, pct), shm, budget, edges, collectStats: false });
    if (r.stopped) {
      interrupted = r.stopped;
      partialSteps = r.steps;
      steps += r.steps;
      break;
    }
    ran++;
    traces.add(Number.parseInt(r.traceHash, 16));
    steps += r.steps;
    if (r.cut) cut++;
    stats.add(r.s);
    if (r.violation) {
      // the schedule as found, recorded (the same seed and strategy take the same steps)
      const found = runSim(model, { seed, variant: o.variant, invariants, record: true, lockdepStacks: false, scheduler: scheduler(seed, pct) });
      const finding = makeFinding(sc, o, i, seed, found.decisions!, o.stop);
      violations.push(finding);
      if (finding.shrunk?.cutBy === 'signal') interrupted = 'signal';
      i++;
      break;
    }
    progress(0);
  }
  const coverage: Coverage = { transitions: transitionsOf(edges, model.actors.map((a) => a.kind)), traces: traces.values(), tracesComplete: traces.complete };
  return { schedulesRun: ran, steps, cut, elapsedMs: Date.now() - t0, violations, stats: stats.stats(), strategy, pct: pctInfo, coverage, interrupted, partialSteps, cutMeasuring: false };
}

const PROGRESS_MS = 250;

/** The campaign's deadline: the one given, else timeBudgetMs from t0, else none. */
export const deadlineOf = (o: Pick<ExploreOptions, 'deadline' | 'timeBudgetMs'>, t0: number): number | undefined => o.deadline ?? (o.timeBudgetMs === undefined ? undefined : t0 + o.timeBudgetMs);

/** A campaign that ran nothing. */
export function emptyResult(strategy: Strategy): ExploreResult {
  return { schedulesRun: 0, steps: 0, cut: 0, elapsedMs: 0, violations: [], stats: emptyStats(), strategy, pct: null, coverage: emptyCoverage(), interrupted: null, partialSteps: 0, cutMeasuring: false };
}
