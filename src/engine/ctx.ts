// The actor context: what a kernel path or an actor program sees of its actor and its run.
//
// A kernel path is a generator that yields a point id (points.ts) before each domain operation.
// A blocking operation (lock acquire, SRCU grace period, waiting for the VMM) sets `ctx.wait`
// (a Waitable, wait.ts) and `ctx.waitArg` before yielding; the engine completes it before
// resuming the actor: the sim engine only picks an actor whose wait can be satisfied now, the
// threads engine blocks on Atomics. When the generator resumes, the lock is held / the condition held.
import type { KvmPageFault } from '../kvm/mmu.js';
import type { Shm } from '../shm/state.js';
import type { Scenario } from '../scenario/types.js';
import type { NumaCtx } from '../mm/policy.js';
import type { Bugs } from '../variants.js';
import type { InvariantId } from '../check/invariants.js';
import type { MmuLock } from '../sync/ops.js';
import type { Lockdep } from '../sync/lockdep.js';
import type { Prng } from './prng.js';
import type { KernelEvents } from './events.js';
import type { Waitable } from './wait.js';
import type { Fiber } from './fiber.js';
import { Ctr, counterAdd, setCounter } from '../shm/actor.js';
import { COUNTERS } from '../shm/layout.js';
import { P } from './points.js';
import { PARK } from './wait.js';
import { lockdepAssertNoneHeld } from '../sync/lockdep.js';

/**
 * A kernel path: it yields a point id (points.ts) at each yield point, or a sub-path to call (a
 * generator: \`const r = yield kvmGmemGetPfn(ctx, ...)\`), which the engine runs on the same stack
 * and whose return value it sends back (fiber.ts). A call is not a step; only points are. Calling
 * through the engine instead of \`yield*\` keeps a resumption one frame deep: \`yield*\` resumes
 * every frame of the call chain at each step.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a call's value is the callee's return value, whatever its type
export type Gen<T = void> = Generator<number | Gen<unknown>, T, any>;

/** A call that does nothing (a path with no work to do yields it as a call): already returned, so the engine pops it at once. */
export const NO_CALL: Gen = (function* (): Gen {})();
NO_CALL.next();

export interface Violation {
  invariant: InvariantId;
  message: string;
  actor: number;
  step: number;
}

export interface ActorCtx {
  id: number;
  /** the actor kind (workload/kinds.ts), e.g. 'vcpu' */
  kind: string;
  /** index among actors of the same kind */
  index: number;
  name: string;
  /** every actor's name, by id (for reports that name another actor) */
  actorNames: readonly string[];
  s: Shm;
  rng: Prng;
  /** the run's variant as one-line flags at the sites of removed checks (ctx.bugs.B1) */
  bugs: Bugs;
  /** the run's variant as selected alternatives of reordered kernel functions (alternatives.ts) */
  alt: unknown[];
  /** where paths report what they did; the checkers subscribe (events.ts) */
  ev: KernelEvents;
  /** what the actor waits for before its next step (null: nothing) */
  wait: Waitable | null;
  waitArg: number;
  waitArg2: number;
  /**
   * The step that just ended was a spin (a faulting access that will retry: the vCPU waits for
   * someone else). Set by the path, read and cleared by the engine: schedulers treat it as a yield.
   */
  spun: boolean;
  /** the run's stop flag (threads: --duration ended or a violation was found) */
  stopping(): boolean;
  /** threads engine: a pause barrier asks actors to park at their next operation boundary; always false under sim */
  parking(): boolean;
  /** record a violated invariant; the engine stops the run */
  report(invariant: InvariantId, message: string): void;
  /** the handle of this actor's words in the state (shm/actor.ts) */
  base: number;
  sc: Scenario;
  /** operations this actor performs (Infinity: until the run stops) */
  opsLimit: number;
  /** wall clock in ms on the threads engine; null under sim (time does not exist there) */
  clock: (() => number) | null;
  /** threads engine: pause between background operations (ms); 0 under sim */
  pauseMs: number;
  /** the actor's NUMA node, rotor and the policies in force; null without a numa section */
  numa: NumaCtx | null;
  /** kvm->mmu_lock as the scenario builds it */
  mmuLock: MmuLock;
  /** lockdep: the locks this actor holds */
  lockdep: Lockdep;
  /** the lock classes held (a bit each), mirrored in the actor's words for reports */
  locksHeld: number;
  /** threads engine: when this actor took mmu_lock (performance.now()); -1 when not timing */
  mmuLockedAt: number;
  /** when this actor's open invalidations began (µs on threads, global step under sim), innermost last */
  invBegan: number[];
  /** a vCPU's page fault in progress (what a shrunk step list shows), null for other actors */
  fault: KvmPageFault | null;
  /** exact microsecond totals behind the time counters, by counter id (sub-µs acquisitions add up); made on first use */
  usAcc: Float64Array | null;
  /** the engine's call stack of this actor's paths (lockdep names its callers); null until an engine runs it */
  fiber: Fiber<unknown> | null;
  /** task_work queued for the return to userspace (a last fput's __fput), run at the next operation boundary; null: none yet */
  taskWork: (() => Gen)[] | null;
}

/** Count in one of this actor's counters (Ctr.faults, ...): only the actor writes them. */
export function count(ctx: ActorCtx, c: number, n = 1): void {
  counterAdd(ctx.s, ctx.base, c, n);
}

/** Add microseconds to a time counter (Ctr.mmuReadWaitUs, ...), keeping the fraction (one acquisition often takes well under 1 µs). */
export function addUs(ctx: ActorCtx, counter: number, us: number): void {
  const acc = ((ctx.usAcc ??= newUsAcc())[counter] += us);
  setCounter(ctx.s, ctx.base, counter, Math.floor(acc));
}

export { Ctr };

/** task_work_add(TWA_RESUME): run `work` when this actor next returns to userspace. */
export function taskWorkAdd(ctx: ActorCtx, work: () => Gen): void {
  (ctx.taskWork ??= []).push(work);
}

/** task_work_run on the way back to userspace (resume_user_mode_work): no lock held, outside kvm->srcu. */
export function* taskWorkRun(ctx: ActorCtx): Gen {
  const q = ctx.taskWork;
  while (q !== null && q.length > 0) yield q.shift()!();
}

export const newUsAcc = () => new Float64Array(COUNTERS.length);

/**
 * The top of an actor's operation loop: no lock held, no operation half done. Parks here when a
 * pause barrier is up (threads only: under sim `parking()` is false and nothing yields, so trace
 * hashes do not change), then says whether to go on.
 */
export function* opBoundary(ctx: ActorCtx): Gen<boolean> {
  if (ctx.taskWork !== null && ctx.taskWork.length > 0) yield taskWorkRun(ctx);
  lockdepAssertNoneHeld(ctx, 'reached an operation boundary');
  if (ctx.parking()) {
    ctx.wait = PARK;
    yield P.park;
  }
  return !ctx.stopping();
}
