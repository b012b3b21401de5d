// The sim engine's strategies, as one interface (cf. Shuttle's Scheduler trait): at every step the
// engine hands the scheduler the runnable actors and runs the one it picks; after the step it says
// who ran and whether the step was a spin (the path said so: a fault that retries). Random, PCT
// (pct.ts), replay, lenient replay (shrinking, dfs), guided (a threads recording) implement it.
import { Prng, mixSeed } from './prng.js';

export interface Scheduler {
  /** One of runnable[0..n) to take the next step, or -1: the run ends here (a replay that is used up). */
  next(step: number, runnable: Int32Array, n: number): number;
  /** The step is over: `actor` ran it (steps counts from 1); `spun`: it ended in a spin, a yield to the others. */
  after(actor: number, steps: number, spun: boolean): void;
}

export function isRunnable(runnable: Int32Array, n: number, id: number): boolean {
  for (let k = 0; k < n; k++) if (runnable[k] === id) return true;
  return false;
}

/** Uniformly random over the runnable actors, seeded (the default strategy). */
export class RandomScheduler implements Scheduler {
  private readonly rng: Prng;
  constructor(seed: number) {
    this.rng = new Prng(mixSeed(seed, 0x5eed));
  }
  next(_step: number, runnable: Int32Array, n: number): number {
    return n === 1 ? runnable[0] : runnable[this.rng.below(n)];
  }
  after(): void {}
}

/** Exactly this decision list: an entry whose actor cannot run is a divergence (an error); the list's end ends the run. */
export class ReplayScheduler implements Scheduler {
  constructor(private readonly schedule: ArrayLike<number>) {}
  next(step: number, runnable: Int32Array, n: number): number {
    if (step >= this.schedule.length) return -1;
    const pick = this.schedule[step];
    if (!isRunnable(runnable, n, pick)) throw new Error(`schedule diverged at step ${step}: actor ${pick} cannot run`);
    return pick;
  }
  after(): void {}
}

/**
 * A decision list taken leniently (any edit of a schedule is still a schedule: what shrinking and
 * dfs need): an entry whose actor cannot run is skipped; once the list is used up the run goes on
 * without preemption: the last actor while it can run and did not spin, else the lowest other id.
 */
export class LenientScheduler implements Scheduler {
  private pos = 0;
  private last = -1;
  private lastSpun = false;
  constructor(private readonly schedule: ArrayLike<number>) {}
  next(_step: number, runnable: Int32Array, n: number): number {
    while (this.pos < this.schedule.length) {
      const want = this.schedule[this.pos++];
      if (isRunnable(runnable, n, want)) return want;
    }
    if (this.last >= 0 && !this.lastSpun && isRunnable(runnable, n, this.last)) return this.last;
    for (let k = 0; k < n; k++) if (runnable[k] !== this.last) return runnable[k];
    return runnable[0];
  }
  after(actor: number, _steps: number, spun: boolean): void {
    this.last = actor;
    this.lastSpun = spun;
  }
  /** did the last step spin (dfs branches on it: switching away after a spin is free) */
  get spun(): boolean {
    return this.lastSpun;
  }
}

/** How far ahead a guided replay looks for a recorded step whose actor can run. */
export const GUIDE_WINDOW = 32;

/**
 * Guided by a recorded step order (from worker threads, where steps overlap): take the earliest of
 * the next GUIDE_WINDOW unconsumed entries whose actor can run, dropping an entry none of the
 * window's can follow (a step this serialised run does not have, e.g. a retry loop that went
 * another way); the run ends when the recording is used up.
 */
export class GuidedScheduler implements Scheduler {
  private readonly used: Uint8Array;
  private pos = 0;
  constructor(private readonly guide: ArrayLike<number>) {
    this.used = new Uint8Array(guide.length);
  }
  next(_step: number, runnable: Int32Array, n: number): number {
    const g = this.guide;
    let pick = -1;
    while (pick < 0 && this.pos < g.length) {
      for (let k = 0, seen = 0; this.pos + k < g.length && seen < GUIDE_WINDOW; k++) {
        if (this.used[this.pos + k]) continue;
        seen++;
        if (isRunnable(runnable, n, g[this.pos + k])) {
          pick = g[this.pos + k];
          this.used[this.pos + k] = 1;
          break;
        }
      }
      if (pick < 0) this.used[this.pos] = 1;
      while (this.pos < g.length && this.used[this.pos]) this.pos++;
    }
    return pick;
  }
  after(): void {}
}
