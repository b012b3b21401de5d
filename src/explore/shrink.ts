// Shrinking a violating schedule: the smallest story of the bug. A schedule is cut into segments
// (consecutive steps of one actor); delta debugging (Zeller's ddmin, on segments) removes chunks
// of them while the same invariant still fires. Every candidate runs leniently (an entry whose
// actor cannot run is skipped; after the list, no preemption), and what the run actually did up
// to the violation becomes the new schedule, so the result replays exactly.
import type { Scenario } from '../scenario/types.js';
import type { InvariantId } from '../check/invariants.js';
import type { VariantId } from '../variants.js';
import { runSim } from '../engine/sim.js';
import { LenientScheduler } from '../engine/scheduler.js';
import { budgetOver, type Budget } from '../engine/budget.js';

/** Runs and milliseconds a shrink may spend; `over` (the campaign's deadline and stop word) ends it early, keeping the best so far. */
export interface ShrinkBudget {
  runs: number;
  ms: number;
  over?: Budget;
}
import { KINDS, actorDefs, kindCount, kindOps, modelOf, type ActorKind } from '../workload/kinds.js';

export interface ShrinkInput {
  seed: number;
  variant: VariantId | null;
  invariants?: ReadonlySet<InvariantId>;
  opsOverride?: number;
}

export interface ShrinkResult {
  decisions: number[];
  /** sim runs tried */
  runs: number;
  elapsedMs: number;
  /** the budget ran out before ddmin finished (the result is still a violating schedule) */
  exhausted: boolean;
}

/** Context switches: steps whose actor differs from the step before. */
export function contextSwitches(d: ArrayLike<number>): number {
  let n = 0;
  for (let i = 1; i < d.length; i++) if (d[i] !== d[i - 1]) n++;
  return n;
}

function segments(d: number[]): number[][] {
  const out: number[][] = [];
  for (const a of d) {
    const last = out[out.length - 1];
    if (last && last[0] === a) last.push(a);
    else out.push([a]);
  }
  return out;
}

/** Is `a` a smaller story than `b`: fewer steps, then fewer switches. */
const smaller = (a: number[], b: number[]) => a.length < b.length || (a.length === b.length && contextSwitches(a) < contextSwitches(b));

export function shrinkSchedule(sc: Scenario, o: ShrinkInput, decisions: number[], invariant: InvariantId, budget: ShrinkBudget = { runs: 4000, ms: 10_000 }): ShrinkResult {
  const t0 = Date.now();
  let runs = 0;
  const model = modelOf(sc);
  const out = () => runs >= budget.runs || Date.now() - t0 >= budget.ms || budgetOver(budget.over) !== null;
  /** The schedule the run took, if it shows the same invariant. */
  const fails = (cand: number[]): number[] | null => {
    runs++;
    const r = runSim(model, { seed: o.seed, variant: o.variant, invariants: o.invariants, opsOverride: o.opsOverride, scheduler: new LenientScheduler(cand), record: true, lockdepStacks: false });
    return r.violation?.invariant === invariant ? r.decisions!.slice(0, r.violation.step) : null;
  };
  let best = fails(decisions) ?? decisions;
  let n = 2;
  while (!out()) {
    const segs = segments(best);
    if (segs.length < 2) break;
    n = Math.min(n, segs.length);
    const chunk = Math.ceil(segs.length / n);
    let improved = false;
    for (let start = 0; start < segs.length && !out(); start += chunk) {
      const cand = [...segs.slice(0, start), ...segs.slice(start + chunk)].flat();
      const got = fails(cand);
      if (got && smaller(got, best)) {
        best = got;
        improved = true;
        break;
      }
    }
    if (improved) n = Math.max(n - 1, 2);
    else if (n >= segs.length) break;
    else n = Math.min(segs.length, n * 2);
  }
  return { decisions: best, runs, elapsedMs: Date.now() - t0, exhausted: out() };
}

// ---------------------------------------------------------------------------------------------
// Fewer actors and fewer operations: the scenario itself is shrunk, the schedule carried over.

export interface ScenarioShrinkResult {
  scenario: Scenario;
  decisions: number[];
  /** what was reduced, e.g. "vcpus.count 4 → 1" */
  changes: string[];
  runs: number;
  elapsedMs: number;
  /** the budget ran out before no candidate was left (the result still shows the violation) */
  exhausted: boolean;
}

/** The kinds shrinking may reduce, in the order it tries them (the registry's shrink passes). */
const SHRINKABLE = (KINDS as readonly ActorKind[]).filter((k) => k.shrink).sort((a, b) => a.shrink!.pass - b.shrink!.pass);

/** A smaller scenario to try, and for each of its actors the actor it was in the current one. */
interface Candidate {
  scenario: Scenario;
  from: number[];
  change: [string, number, number];
}

const withSection = (sc: Scenario, k: ActorKind, field: 'count' | 'ops', n: number): Scenario => {
  const sections = sc as unknown as Record<string, Record<string, number>>;
  return { ...sc, [k.key]: { ...sections[k.key], [field]: n } } as Scenario;
};

/** Whole actors first (each instance of each kind, last first), then fewer operations per kind. */
function* candidates(cur: Scenario): Generator<Candidate> {
  const defs = actorDefs(cur);
  const same = defs.map((_, id) => id);
  for (const k of SHRINKABLE) {
    const c = kindCount(cur, k);
    if (c <= k.shrink!.minCount) continue;
    for (let drop = c - 1; drop >= 0; drop--) {
      const sc = withSection(cur, k, 'count', c - 1);
      // actor (kind, i) of the new scenario was (kind, i < drop ? i : i + 1)
      const from = actorDefs(sc).map((a) => defs.findIndex((b) => b.kind === a.kind && b.index === (a.kind === k.kind && a.index >= drop ? a.index + 1 : a.index)));
      yield { scenario: sc, from, change: [`${k.key}.count`, c, c - 1] };
    }
  }
  for (const k of SHRINKABLE) {
    const v = kindOps(cur, k);
    const min = k.shrink!.minOps;
    if (kindCount(cur, k) === 0 || v <= min) continue;
    const n = v > 4 ? Math.max(min, Math.floor(v / 2)) : v - 1;
    yield { scenario: withSection(cur, k, 'ops', n), from: same, change: [`${k.key}.ops`, v, n] };
  }
}

/** Actors of the scenario (every kind's count, the VMM included) and their operations under sim. */
export function scenarioSize(sc: Scenario): { actors: number; ops: number } {
  return { actors: actorDefs(sc).length, ops: SHRINKABLE.reduce((n, k) => n + kindCount(sc, k) * kindOps(sc, k), 0) };
}

/** The decisions renumbered for the candidate; steps of removed actors are dropped. */
function remap(c: Candidate, d: number[]): number[] {
  const to = new Map(c.from.map((old, id) => [old, id]));
  const out: number[] = [];
  for (const a of d) {
    const id = to.get(a);
    if (id !== undefined) out.push(id);
  }
  return out;
}

/**
 * Greedy: try each candidate (one actor fewer, or fewer operations of a kind), carry the schedule
 * over (renumbered, leniently run; the actors left keep their random streams), keep the first that
 * still shows the invariant in no more steps once its schedule is re-shrunk; repeat until none does or the budget is spent.
 */
export function shrinkScenario(sc: Scenario, o: ShrinkInput, decisions: number[], invariant: InvariantId, budget: ShrinkBudget = { runs: 2000, ms: 10_000 }): ScenarioShrinkResult {
  const t0 = Date.now();
  let runs = 0;
  let cur = sc;
  let best = decisions;
  const changes = new Map<string, [number, number]>();
  const out = () => runs >= budget.runs || Date.now() - t0 >= budget.ms || budgetOver(budget.over) !== null;
  for (let moved = true; moved && !out(); ) {
    moved = false;
    for (const c of candidates(cur)) {
      if (out()) break;
      const streams = cur.actorStreams ?? actorDefs(cur).map((_, id) => id);
      const cand: Scenario = { ...c.scenario, actorStreams: c.from.map((old) => streams[old]!) };
      runs++;
      const r = runSim(modelOf(cand), { seed: o.seed, variant: o.variant, invariants: o.invariants, scheduler: new LenientScheduler(remap(c, best)), record: true, lockdepStacks: false });
      if (r.violation?.invariant !== invariant) continue;
      const left = { runs: Math.max(1, budget.runs - runs), ms: Math.max(1, budget.ms - (Date.now() - t0)), over: budget.over };
      const s = shrinkSchedule(cand, o, r.decisions!.slice(0, r.violation.step), invariant, left);
      runs += s.runs;
      if (s.decisions.length > best.length) continue; // fewer actors or operations, but a longer story: not smaller
      const [path, was, now] = c.change;
      changes.set(path, [changes.get(path)?.[0] ?? was, now]);
      cur = cand;
      best = s.decisions;
      moved = true;
      break;
    }
  }
  return { scenario: cur, decisions: best, changes: [...changes].map(([p, [a, b]]) => `${p} ${a} → ${b}`), runs, elapsedMs: Date.now() - t0, exhausted: out() };
}
