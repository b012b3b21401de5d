// The deterministic engine: every actor is a generator on this one thread; at each step a
// scheduler (scheduler.ts) picks one runnable actor and resumes it to its next yield point. The
// same model, variant, seed and scheduler give the same schedule and the same trace hash.
import type { InvariantId } from '../check/invariants.js';
import { checkerEvents } from '../check/checker.js';
import { quiescentSweep } from '../check/sweep.js';
import { writerAtWork } from '../check/ghost.js';
import { Ctr, counterAdd, setActorReturned } from '../shm/actor.js';
import { sptePfn } from '../shm/gfn.js';
import { memAttrOfGfn } from '../shm/attr.js';
import { INVALID_GFN, mmuInvalidateInProgress, mmuInvalidateRangeEnd, mmuInvalidateRangeStart, mmuInvalidateSeq } from '../shm/kvm.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../shm/layout.js';
import { createShm, resetShm, type Shm } from '../shm/state.js';
import { bugsFor, type VariantId } from '../variants.js';
import { lockdepAssertNoneHeld } from '../sync/lockdep.js';
import { type ActorCtx, type Violation } from './ctx.js';
import { Fiber } from './fiber.js';
import { makeCtx, type Model } from './model.js';
import { POINT_NAMES } from './points.js';
import { FNV_INIT, fnv } from './prng.js';
import { RandomScheduler, type Scheduler } from './scheduler.js';
import { describeWait } from './wait.js';
import { collectStats, emptyStats, type Stats } from './stats.js';
import { BUDGET_CHECK_STEPS, budgetOver, type Budget, type StopCause } from './budget.js';

export interface SimOptions {
  /** the seed of every actor's random choices (and of the default random scheduler) */
  seed: number;
  variant: VariantId | null;
  /** invariants to check; undefined = all */
  invariants?: ReadonlySet<InvariantId>;
  /** who runs each step (default: uniformly random, seeded from `seed`) */
  scheduler?: Scheduler;
  /** record the decision list (which actor ran at each step) */
  record?: boolean;
  /** keep a readable trace of the last `traceTail` steps */
  traceTail?: number;
  /** with traceTail: each line also gives the invalidation state after the step (seq, in_progress, range) */
  traceState?: boolean;
  /** operations per actor instead of the model's (Infinity: as a duration-bound threads run) */
  opsOverride?: number;
  /**
   * Run on this state, reset in place first (it must come from createShm of the same scenario
   * and actor count), instead of a freshly allocated one. explore passes one buffer for all its
   * schedules; the result's `s` is then that buffer, valid until the next run on it.
   */
  shm?: Shm;
  /** called after every step (traces); `to` is -1 when the actor returned */
  onStep?: (step: number, actor: number, from: number, to: number, s: Shm) => void;
  /** lockdep records the kernel functions behind each lock dependency (default: when recording or tracing) */
  lockdepStacks?: boolean;
  /** stop the schedule part-way when the deadline passes or the stop word is set (checked every BUDGET_CHECK_STEPS steps) */
  budget?: Budget;
  /**
   * Coverage: every step sets edges[edgeIndex(actor, from, to)] = 1 (to -1: the actor returned);
   * at least edgeSlots(actors) long. Only written: the schedule is the same with or without it.
   */
  edges?: Uint8Array;
  /** false: the result's stats are left empty (explore adds each schedule's up from the state itself, engine/stats.ts StatsAcc) */
  collectStats?: boolean;
}

const NPOINTS = POINT_NAMES.length;
/** The slot of "actor stepped from point `from` to point `to` (-1: returned)" in SimOptions.edges. */
export const edgeIndex = (actor: number, from: number, to: number) => (actor * NPOINTS + from) * (NPOINTS + 1) + to + 1;
/** The length SimOptions.edges needs for `actors` actors. */
export const edgeSlots = (actors: number) => actors * NPOINTS * (NPOINTS + 1);

export interface SimResult {
  seed: number;
  steps: number;
  traceHash: string;
  violation: Violation | null;
  /** the schedule was longer than scenario.maxSteps and was cut */
  cut: boolean;
  /** the budget stopped the schedule part-way (no violation, no quiescent sweep) */
  stopped: StopCause | null;
  decisions: number[] | null;
  stats: Stats;
  trace: string[];
  s: Shm;
}

interface SimActor {
  ctx: ActorCtx;
  gen: Fiber<void>;
  point: number;
  done: boolean;
  /** its own steps taken, and the one that last ended in a spin (a fault retry: 0 if none) */
  ownSteps: number;
  lastSpin: number;
}

/** An actor that spun within this many of its own steps is still retrying (a fault attempt is fewer steps). */
const SPIN_WINDOW = 32;
/**
 * Steps in a row in which only retrying actors could run, while a writer is at work (so the
 * retries are "explained" and STARVATION never fires): the writer cannot run, and nothing the
 * spinners do will let it. Reported as DEADLOCK instead of running on to maxSteps.
 */
const SPIN_DEADLOCK_STEPS = 512;
const spinning = (a: SimActor) => a.lastSpin > 0 && a.ownSteps - a.lastSpin < SPIN_WINDOW;

export const hashHex = (h: number) => h.toString(16).padStart(8, '0');

export function runSim(model: Model, o: SimOptions): SimResult {
  const { sc } = model;
  let s: Shm;
  if (o.shm) {
    s = o.shm;
    resetShm(s, sc);
  } else s = createShm(sc, model.actors.length);
  let violation: Violation | null = null;
  let steps = 0;
  const enabled = o.invariants;
  const report = (ctx: ActorCtx, invariant: InvariantId, message: string) => {
    if (violation || (enabled && !enabled.has(invariant))) return;
    violation = { invariant, message, actor: ctx.id, step: steps + 1 }; // the step being taken
  };
  const bugs = bugsFor(o.variant);
  const ev = checkerEvents(enabled);
  const names = model.actors.map((d) => d.name);
  const lockdepStacks = o.lockdepStacks ?? (o.record === true || (o.traceTail ?? 0) > 0);
  // Built by push, not Array.prototype.map: with map, optimised runSim deopted ("wrong map" on this
  // array) dozens of times per campaign in fresh pool workers.
  const defs = model.actors;
  const actors: SimActor[] = [];
  for (let id = 0; id < defs.length; id++) {
    const ctx = makeCtx(defs[id], id, { s, sc, seed: o.seed, variant: o.variant, bugs, ev, report, names, stopping: () => false, opsOverride: o.opsOverride, lockdepStacks });
    const gen = (ctx.fiber = new Fiber(defs[id].program(ctx)));
    actors.push({ ctx, gen, point: 0, done: false, ownSteps: 0, lastSpin: 0 });
  }
  for (const a of actors) {
    const r = a.gen.next();
    a.done = !!r.done;
    a.point = r.done ? 0 : r.value;
  }
  const scheduler = o.scheduler ?? new RandomScheduler(o.seed);
  const decisions: number[] | null = o.record ? [] : null;
  const traceTail = o.traceTail ?? 0;
  // The tail is kept as numbers (step, actor, from, to, seq, in_progress, range start, end, the fault) and only formatted at the end.
  const W = 13;
  const ring = new Int32Array(traceTail * W);
  // Per step: which actors can run (ids in the first nRunnable entries). A typed array, not a JS
  // array truncated and pushed each step.
  const runnable = new Int32Array(actors.length);
  let hash = FNV_INIT;
  let cut = false;
  let stopped: StopCause | null = null;
  const budget = o.budget;
  const edges = o.edges;
  let spinOnly = 0; // steps in a row in which every actor that could run was retrying
  const waitsOf = (list: SimActor[]) => list.map((a) => `${a.ctx.name} waits for ${a.ctx.wait ? describeWait(s, a.ctx.wait.id, a.ctx.waitArg, a.ctx.waitArg2, names) : 'nothing'} at ${POINT_NAMES[a.point]}`);

  for (;;) {
    let nRunnable = 0;
    let live = 0;
    let progress = false;
    for (let i = 0; i < actors.length; i++) {
      const a = actors[i];
      if (a.done) continue;
      live++;
      const ctx = a.ctx;
      if (ctx.wait === null || ctx.wait.canProceed(s, ctx)) {
        runnable[nRunnable++] = i;
        if (!progress && !spinning(a)) progress = true;
      }
    }
    if (live === 0) break;
    if (nRunnable === 0) {
      if (!enabled || enabled.has('DEADLOCK')) violation = { invariant: 'DEADLOCK', message: `no actor can run: ${waitsOf(actors.filter((a) => !a.done)).join('; ')}`, actor: -1, step: steps };
      break;
    }
    spinOnly = progress ? 0 : spinOnly + 1;
    if (spinOnly >= SPIN_DEADLOCK_STEPS && writerAtWork(s)) {
      const stuck = actors.filter((a) => !a.done && !(a.ctx.wait === null || a.ctx.wait.canProceed(s, a.ctx)));
      const spinners = actors.filter((a) => !a.done && spinning(a)).map((a) => a.ctx.name);
      if (!enabled || enabled.has('DEADLOCK')) violation = { invariant: 'DEADLOCK', message: `only actors retrying faults can run (${spinners.join(', ')}, for ${SPIN_DEADLOCK_STEPS} steps), behind a writer that cannot: ${waitsOf(stuck).join('; ')}`, actor: -1, step: steps };
      break;
    }
    if (steps >= sc.maxSteps) {
      cut = true;
      break;
    }
    if (budget !== undefined && steps % BUDGET_CHECK_STEPS === BUDGET_CHECK_STEPS - 1) {
      if ((stopped = budgetOver(budget)) !== null) break;
      budget.tick?.(steps);
    }
    const pick = scheduler.next(steps, runnable, nRunnable);
    if (pick < 0) break;
    const a = actors[pick];
    const ctx = a.ctx;
    if (ctx.wait !== null) {
      ctx.wait.proceed(s, ctx);
      ctx.wait = null;
    }
    const from = a.point;
    const r = a.gen.next();
    steps++;
    counterAdd(s, ctx.base, Ctr.steps);
    const spun = ctx.spun;
    ctx.spun = false;
    a.ownSteps++;
    if (spun) a.lastSpin = a.ownSteps;
    scheduler.after(pick, steps, spun);
    if (r.done) {
      a.done = true;
      a.point = 0;
      setActorReturned(s, ctx.base);
      lockdepAssertNoneHeld(ctx, 'returned');
    } else {
      a.point = r.value;
    }
    hash = fnv(hash, (pick << 16) | a.point);
    if (edges !== undefined) edges[edgeIndex(pick, from, r.done ? -1 : a.point)] = 1;
    if (o.onStep) o.onStep(steps, pick, from, r.done ? -1 : a.point, s);
    if (decisions) decisions.push(pick);
    if (traceTail > 0) {
      const at = ((steps - 1) % traceTail) * W;
      ring[at] = steps;
      ring[at + 1] = pick;
      ring[at + 2] = from;
      ring[at + 3] = r.done ? -1 : a.point;
      if (o.traceState) {
        ring[at + 4] = mmuInvalidateSeq(s);
        ring[at + 5] = mmuInvalidateInProgress(s);
        ring[at + 6] = mmuInvalidateRangeStart(s);
        ring[at + 7] = mmuInvalidateRangeEnd(s);
        // the stepping vCPU's fault: gfn, its attribute now, the seq it snapshotted, the pfn it resolved, the SPTE now
        const f = ctx.fault;
        ring[at + 8] = f && f.slot >= 0 ? f.gfn : -1; // before its first fault a vCPU has nothing to show
        if (f) {
          ring[at + 9] = memAttrOfGfn(s, f.gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE;
          ring[at + 10] = f.mmuSeq;
          ring[at + 11] = f.pfn;
          ring[at + 12] = sptePfn(s, f.gfn);
        }
      }
    }
    if (violation) break;
  }
  if (!violation && !cut && !stopped && actors.every((a) => a.done)) {
    const f = quiescentSweep(s, enabled);
    if (f) violation = { invariant: f.invariant, message: `at quiescence: ${f.message}`, actor: -1, step: steps };
  }
  const trace: string[] = [];
  for (let k = Math.max(0, steps - traceTail); k < steps; k++) {
    const at = (k % traceTail) * W;
    const to = ring[at + 3];
    let line = `${ring[at]}: ${names[ring[at + 1]]} ${POINT_NAMES[ring[at + 2]]} -> ${to < 0 ? 'done' : POINT_NAMES[to]}`;
    if (o.traceState) {
      const range = ring[at + 6] === INVALID_GFN ? 'none' : `[${ring[at + 6]}, ${ring[at + 7]})`;
      line += `  | seq ${ring[at + 4]}, in_progress ${ring[at + 5]}, range ${range}`;
      if (ring[at + 8] >= 0) {
        const spte = ring[at + 12] < 0 ? 'none' : `pfn ${ring[at + 12]}`;
        line += ` | gfn ${ring[at + 8]} ${ring[at + 9] ? 'private' : 'shared'}, snapshot seq ${ring[at + 10]}, resolved ${ring[at + 11] < 0 ? 'no pfn' : `pfn ${ring[at + 11]}`}, SPTE ${spte}`;
      }
    }
    trace.push(line);
  }
  return { seed: o.seed, steps, traceHash: hashHex(hash), violation, cut, stopped, decisions, stats: o.collectStats === false ? emptyStats() : collectStats(s, model), trace, s };
}
