// Shrinking a violating schedule: the smallest story of the bug. A schedule is cut into segments
// (consecutive steps of one actor); delta debugging (Zeller's ddmin, on segments) removes chunks
// of them while the same invariant still fires. Every candidate runs leniently (an entry whose
// actor cannot run is skipped; after the list, no preemption), and what the run actually did up
// to the violation becomes the new schedule, so the result replays exactly.
import type { Scenario } from '../scenario/types.js';
import type { InvariantId } from '../check/invariant-ids.js';
import type { VariantId } from '../variants.js';
import { runSim } from './sim.js';

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

export function shrinkSchedule(sc: Scenario, o: ShrinkInput, decisions: number[], invariant: InvariantId, budget: { runs: number; ms: number } = { runs: 4000, ms: 10_000 }): ShrinkResult {
  const t0 = Date.now();
  let runs = 0;
  const out = () => runs >= budget.runs || Date.now() - t0 >= budget.ms;
  /** The schedule the run took, if it shows the same invariant. */
  const fails = (cand: number[]): number[] | null => {
    runs++;
    const r = runSim(sc, { seed: o.seed, variant: o.variant, invariants: o.invariants, opsOverride: o.opsOverride, schedule: cand, lenient: true, record: true });
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
