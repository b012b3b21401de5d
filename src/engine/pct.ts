// PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS
// 2010): actors get distinct random priorities, the highest-priority runnable actor always runs,
// and at d-1 random steps the running actor drops to a priority below every initial one. One run
// finds a bug of depth d with probability at least 1/(n·k^(d-1)) (n actors, k steps).
//
// With `kActor` a change point is drawn per actor instead (as PCTCP draws them per chain, Ozkan
// et al., OOPSLA 2019): an actor uniformly, then one of its own steps, and it fires when that actor
// takes that step, however the others interleave. Each change point then hits a given step with
// probability 1/(n·k_a) >= 1/(n·kMax) instead of 1/k: the bound is 1/(n·(n·kMax)^(d-1)), worse
// than 1/(n·k^(d-1)) for a step of the longest actor, much better for a step of a short one (the
// puncher, converter and memslot churn take 25-60 steps of a ~900-step schedule).
//
// The theorem assumes no actor spins waiting for a lower-priority one; a vCPU retrying a fault
// while an invalidation is open does exactly that, so an actor whose step ended in a retry is
// lowered below everyone (as Coyote's PCT treats a yield). Deterministic from its seed.
import { Prng, mixSeed } from './prng.js';
import type { Scheduler } from './scheduler.js';

export interface PctParams {
  /** bug depth d (>= 1): d-1 priority change points */
  depth: number;
  /** the schedule length the change points are drawn over */
  k: number;
  /** per actor, the steps it takes: when given, each change point is an actor and one of its steps */
  kActor?: ArrayLike<number>;
}

export class PctScheduler implements Scheduler {
  private readonly prio: Float64Array;
  /** change points: global step (k), or step * n + actor (kActor; step counts that actor's own steps) -> the priority it drops to */
  private readonly changeAt = new Map<number, number>();
  private lowest = 0;
  private readonly n: number;
  /** per actor, the steps it has taken (kActor only) */
  private readonly local: Int32Array | null;

  /** `seed`: the schedule's seed (PCT draws from its own stream of it) */
  constructor(nActors: number, p: PctParams, seed: number) {
    const rng = new Prng(mixSeed(seed, 0x9c7));
    // initial priorities d .. d+n-1, a random permutation (Fisher-Yates)
    const order = Array.from({ length: nActors }, (_, i) => i);
    for (let i = nActors - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    this.n = nActors;
    this.prio = new Float64Array(nActors);
    order.forEach((actor, rank) => (this.prio[actor] = p.depth + rank));
    const kActor = p.kActor && p.kActor.length === nActors ? p.kActor : null;
    this.local = kActor ? new Int32Array(nActors) : null;
    let places = Math.max(1, p.k);
    if (kActor) {
      places = 0;
      for (let a = 0; a < nActors; a++) places += Math.max(1, kActor[a]);
    }
    // change point i lowers the running actor to priority d-1-i (all below the initial ones); never more than there are places for them
    const changes = Math.min(p.depth - 1, places);
    for (let i = 0; i < changes; i++) {
      let key: number;
      do {
        if (kActor) {
          const a = rng.below(nActors);
          key = (1 + rng.below(Math.max(1, kActor[a]))) * nActors + a;
        } else key = 1 + rng.below(Math.max(1, p.k));
      } while (this.changeAt.has(key));
      this.changeAt.set(key, p.depth - 1 - i);
    }
  }

  /** The highest-priority runnable actor. */
  next(_step: number, runnable: Int32Array, n: number): number {
    let best = runnable[0];
    for (let i = 1; i < n; i++) if (this.prio[runnable[i]] > this.prio[best]) best = runnable[i];
    return best;
  }

  /** After `actor` took step `step` (1-based, all actors); `spun`: the step ended a retry. */
  after(actor: number, step: number, spun: boolean): void {
    const c = this.changeAt.get(this.local ? ++this.local[actor] * this.n + actor : step);
    if (c !== undefined) this.prio[actor] = c;
    else if (spun) this.prio[actor] = --this.lowest - 1e6;
  }
}

/**
 * The probability bound of one PCT run, and the runs that give 99% detection: 1/(n·k^(d-1)) with
 * k the schedule length, or with change points per actor, 1/(n·(n·kMax)^(d-1)) (pass n·kMax as k).
 */
export function pctBound(nActors: number, k: number, depth: number): { perRun: number; runsFor99: number } {
  const perRun = 1 / (nActors * Math.pow(k, depth - 1));
  const runsFor99 = perRun >= 1 ? 1 : Math.ceil(Math.log(0.01) / Math.log(1 - perRun));
  return { perRun, runsFor99 };
}
