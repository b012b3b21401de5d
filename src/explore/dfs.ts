// Bounded exhaustive search (CHESS's iterative context bounding, Musuvathi and Qadeer, PLDI 2007):
// every schedule of the scenario's workload (one seed) with at most c preemptions, by stateless
// re-execution. A preemption is switching away from an actor that could have gone on; switching
// because it blocked or returned is free. Each run follows a prefix, then goes on without
// preemption (lenient sim); every step after the prefix branches on the other runnable actors.
// A step that ended in a fault retry is a yield (the vCPU spins waiting for someone else), so
// switching away from it is free too, as CHESS treats yields; without that, one preemption inside
// an invalidation would spin the vCPU for the rest of the schedule.
import type { InvariantId } from '../check/invariants.js';
import type { VariantId } from '../variants.js';
import { runSim } from '../engine/sim.js';
import type { Violation } from '../engine/ctx.js';
import type { Model } from '../engine/model.js';
import { LenientScheduler, type Scheduler } from '../engine/scheduler.js';
import { addStats, emptyStats, type Stats } from '../engine/stats.js';
import { budgetOver, type Budget, type StopCause } from '../engine/budget.js';

/** Runs a prefix leniently (then without preemption) and records, after the prefix, what could run at each step and whether the step before spun. */
class BranchRecorder implements Scheduler {
  readonly runnables: Int32Array[] = [];
  readonly spun: boolean[] = [];
  private readonly inner: LenientScheduler;
  constructor(private readonly prefix: number[]) {
    this.inner = new LenientScheduler(prefix);
  }
  next(step: number, runnable: Int32Array, n: number): number {
    if (step >= this.prefix.length) {
      this.runnables[step] = runnable.slice(0, n);
      this.spun[step] = this.inner.spun;
    }
    return this.inner.next(step, runnable, n);
  }
  after(actor: number, steps: number, spun: boolean): void {
    this.inner.after(actor, steps, spun);
  }
}

export interface DfsOptions {
  seed: number;
  variant: VariantId | null;
  invariants?: ReadonlySet<InvariantId>;
  preemptions: number;
  /** give up after this many schedules (the report then says the space was not exhausted) */
  maxSchedules: number;
  timeBudgetMs?: number;
  /** a stop word (engine/budget.ts): when set, the search stops at once */
  stop?: Int32Array;
  /** outcome tables: run the whole space (do not stop at a violation), adding every schedule's stats and counting violations by invariant */
  collect?: boolean;
  onProgress?: (p: { schedules: number; steps: number; pending: number; elapsedMs: number }) => void;
}

export interface DfsResult {
  schedules: number;
  steps: number;
  /** every schedule with <= preemptions was run (and none violated) */
  exhausted: boolean;
  violation: Violation | null;
  /** the violating schedule, up to the violating step */
  decisions: number[] | null;
  traceHash: string | null;
  elapsedMs: number;
  /** preemptions of the violating schedule */
  violationPreemptions: number | null;
  /** with collect: every schedule's stats added, and violating schedules by invariant */
  stats: Stats | null;
  violationsBy: Record<string, number>;
  /** with collect: the fewest steps to a violation over every schedule run (the shortest known story), or null */
  shortest: number | null;
  /** the search was cut short by --time or a signal (the schedule under way is not counted) */
  interrupted: StopCause | null;
}

/** Every schedule of `model` (a scenario's, modelOf, or ad-hoc programs) with at most o.preemptions preemptions. */
export function exploreDfs(model: Model, o: DfsOptions): DfsResult {
  const t0 = Date.now();
  // A pending branch: the first `len` decisions of run `base`, then `alt` (prefixes share their run's array).
  const stack: Array<{ base: number[]; len: number; alt: number; preemptions: number }> = [{ base: [], len: 0, alt: -1, preemptions: 0 }];
  let schedules = 0;
  let steps = 0;
  let lastProgress = t0;
  const stats = o.collect ? emptyStats() : null;
  const violationsBy: Record<string, number> = {};
  let shortest: number | null = null;
  const budget: Budget = { deadline: o.timeBudgetMs === undefined ? undefined : t0 + o.timeBudgetMs, stop: o.stop };
  const end = (exhausted: boolean, interrupted: StopCause | null = null): DfsResult => ({ schedules, steps, exhausted, violation: null, decisions: null, traceHash: null, elapsedMs: Date.now() - t0, violationPreemptions: null, stats, violationsBy, shortest, interrupted });
  while (stack.length > 0) {
    if (schedules >= o.maxSchedules) return end(false);
    const over = budgetOver(budget);
    if (over) return end(false, over);
    const top = stack.pop()!;
    const prefix = top.alt < 0 ? [] : [...top.base.slice(0, top.len), top.alt];
    const preemptions = top.preemptions;
    const rec = new BranchRecorder(prefix);
    const r = runSim(model, { seed: o.seed, variant: o.variant, invariants: o.invariants, scheduler: rec, record: true, lockdepStacks: false, budget });
    if (r.stopped) {
      steps += r.steps;
      return end(false, r.stopped);
    }
    const { runnables, spun: yielded } = rec;
    schedules++;
    steps += r.steps;
    const d = r.decisions!;
    if (stats) addStats(stats, r.stats);
    if (r.violation && o.collect) {
      violationsBy[r.violation.invariant] = (violationsBy[r.violation.invariant] ?? 0) + 1;
      if (shortest === null || r.violation.step < shortest) shortest = r.violation.step;
    } else if (r.violation) {
      return { schedules, steps, exhausted: false, violation: r.violation, decisions: d.slice(0, r.violation.step), traceHash: r.traceHash, elapsedMs: Date.now() - t0, violationPreemptions: preemptions, stats, violationsBy, shortest: r.violation.step, interrupted: null };
    }
    // Branch at every step after the prefix; later steps first onto the stack, so the earliest
    // alternatives are explored last (any order visits the same set).
    for (let i = prefix.length; i < d.length; i++) {
      const runnable = runnables[i];
      if (!runnable) continue;
      const prev = i > 0 ? d[i - 1] : -1;
      const prevCouldRun = prev >= 0 && !yielded[i] && runnable.includes(prev);
      for (const alt of runnable) {
        if (alt === d[i]) continue;
        // after a yield the spinning actor waits for the others (CHESS's fairness): not a branch
        if (yielded[i] && alt === prev) continue;
        const cost = preemptions + (prevCouldRun && alt !== prev ? 1 : 0);
        if (cost <= o.preemptions) stack.push({ base: d, len: i, alt, preemptions: cost });
      }
    }
    const now = Date.now();
    if (o.onProgress && now - lastProgress >= 250) {
      lastProgress = now;
      o.onProgress({ schedules, steps, pending: stack.length, elapsedMs: now - t0 });
    }
  }
  return end(true);
}
