// The actor context and the yield protocol shared by both engines.
//
// A kernel path is a generator that yields a point id (points.ts) before each domain operation.
// A blocking operation (lock acquire, SRCU grace period, waiting for the VMM) sets `ctx.wait`
// and `ctx.waitArg` before yielding; the engine completes it before resuming the actor:
// the sim engine only picks an actor whose wait can be satisfied now, the threads engine blocks
// on Atomics. When the generator resumes, the lock is held / the condition held.
import type { KvmPageFault } from '../kvm/mmu.js';
import type { Shm } from '../shm/state.js';
import type { Scenario } from '../scenario/types.js';
import type { NumaCtx } from '../mm/policy.js';
import type { Bugs } from '../variants.js';
import type { InvariantId } from '../check/invariant-ids.js';
import type { Prng } from './prng.js';
import { C, actorWord, type CounterName } from '../shm/layout.js';
import { P } from './points.js';

export type Gen<T = void> = Generator<number, T, void>;

export const Wait = {
  None: 0,
  Mutex: 1, // waitArg: lock word
  Read: 2, // waitArg: rwlock word
  Write: 3, // waitArg: rwlock word
  Folio: 4, // waitArg: pfn flags word (PF_LOCKED bit lock)
  SrcuSync: 5, // waitArg: target epoch; all readers that entered at or before it must have left
  NotEqual: 6, // waitArg: word, waitArg2: value; proceed once the word differs
  Zero: 7, // waitArg: word; proceed once it is 0
  Park: 8, // threads engine: parked at an operation boundary until the pause barrier lifts
  BrRead: 9, // waitArg: big-reader lock word (mmu_lock, --mmu-lock percpu); the slot is the actor's
  BrWrite: 10, // waitArg: big-reader lock word
} as const;
export const WAIT_NAMES = ['none', 'mutex', 'read-lock', 'write-lock', 'folio-lock', 'srcu-grace-period', 'condition', 'counter-zero', 'parked', 'read-lock', 'write-lock'];

export type ActorKind = 'vcpu' | 'vmm' | 'converter' | 'puncher' | 'slot-churn';

export interface Violation {
  invariant: InvariantId;
  message: string;
  actor: number;
  step: number;
}

export interface ActorCtx {
  id: number;
  kind: ActorKind;
  /** index among actors of the same kind */
  index: number;
  name: string;
  s: Shm;
  rng: Prng;
  bugs: Bugs;
  wait: number;
  waitArg: number;
  waitArg2: number;
  /** the run's stop flag (threads: --duration ended or a violation was found) */
  stopping(): boolean;
  /** threads engine: a pause barrier asks actors to park at their next operation boundary; always false under sim */
  parking(): boolean;
  /** record a violated invariant; the engine stops the run */
  report(invariant: InvariantId, message: string): void;
  /** base of this actor's words in the state */
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
  /** threads engine: when this actor took mmu_lock (performance.now()); -1 when not timing */
  mmuLockedAt: number;
  /** when this actor's open invalidations began (µs on threads, global step under sim), innermost last */
  invBegan: number[];
  /** a vCPU's page fault in progress (what a shrunk step list shows), null for other actors */
  fault: KvmPageFault | null;
  /** threads engine: exact microsecond totals behind the integer counters, by counter index (sub-µs acquisitions add up) */
  usAcc: Float64Array;
}

export function count(ctx: ActorCtx, c: CounterName, n = 1): void {
  // Only this actor writes its own counters; readers tolerate a torn view.
  ctx.s.i32[ctx.base + C[c]] += n;
}

/** Add microseconds to a time counter, keeping the fraction (one acquisition often takes well under 1 µs). */
export function addUs(ctx: ActorCtx, counter: number, us: number): void {
  const acc = (ctx.usAcc[counter] += us);
  ctx.s.i32[ctx.base + counter] = Math.floor(acc);
}

export function actorBase(s: Shm, id: number): number {
  return actorWord(s.l, id, 0);
}

/**
 * The top of an actor's operation loop: no lock held, no operation half done. Parks here when a
 * pause barrier is up (threads only: under sim `parking()` is false and nothing yields, so trace
 * hashes do not change), then says whether to go on.
 */
export function* opBoundary(ctx: ActorCtx): Gen<boolean> {
  if (ctx.parking()) {
    ctx.wait = Wait.Park;
    yield P.park;
  }
  return !ctx.stopping();
}
