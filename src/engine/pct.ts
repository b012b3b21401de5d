// PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS
// 2010): actors get distinct random priorities, the highest-priority runnable actor always runs,
// and at d-1 random steps the running actor drops to a priority below every initial one. One run
// finds a bug of depth d with probability at least 1/(n·k^(d-1)) (n actors, k steps).
//
// The theorem assumes no actor spins waiting for a lower-priority one; a vCPU retrying a fault
// while an invalidation is open does exactly that, so an actor whose step ended in a retry is
// lowered below everyone (as Coyote's PCT treats a yield). Deterministic from its seed.
import { Prng } from './prng.js';

export interface PctParams {
  /** bug depth d (>= 1): d-1 priority change points */
  depth: number;
  /** the schedule length the change points are drawn over */
  k: number;
}

export class PctStrategy {
  private readonly prio: Float64Array;
  private readonly changeAt = new Map<number, number>();
  private lowest = 0;

  constructor(nActors: number, p: PctParams, rng: Prng) {
    // initial priorities d .. d+n-1, a random permutation (Fisher-Yates)
    const order = Array.from({ length: nActors }, (_, i) => i);
    for (let i = nActors - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    this.prio = new Float64Array(nActors);
    order.forEach((actor, rank) => (this.prio[actor] = p.depth + rank));
    // change point i (1-based step) lowers the running actor to priority d-1-i (all below the initial ones)
    for (let i = 0; i < p.depth - 1; i++) {
      let step: number;
      do step = 1 + rng.below(Math.max(1, p.k));
      while (this.changeAt.has(step));
      this.changeAt.set(step, p.depth - 1 - i);
    }
  }

  /** The highest-priority runnable actor. */
  pick(runnable: Int32Array, n: number): number {
    let best = runnable[0];
    for (let i = 1; i < n; i++) if (this.prio[runnable[i]] > this.prio[best]) best = runnable[i];
    return best;
  }

  /** After `actor` took step `step` (1-based); `spun`: the step ended a retry. */
  after(actor: number, step: number, spun: boolean): void {
    const c = this.changeAt.get(step);
    if (c !== undefined) this.prio[actor] = c;
    else if (spun) this.prio[actor] = --this.lowest - 1e6;
  }
}

/** The probability bound of one PCT run, and the runs that give 99% detection. */
export function pctBound(nActors: number, k: number, depth: number): { perRun: number; runsFor99: number } {
  const perRun = 1 / (nActors * Math.pow(k, depth - 1));
  const runsFor99 = perRun >= 1 ? 1 : Math.ceil(Math.log(0.01) / Math.log(1 - perRun));
  return { perRun, runsFor99 };
}
