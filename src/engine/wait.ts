// The wait protocol of blocking yields. A path about to block (a lock acquire, an SRCU grace
// period, waiting for the VMM) sets ctx.wait to a Waitable (with ctx.waitArg/waitArg2) and
// yields. The sim engine only runs an actor whose wait canProceed, and proceeds it (takes the
// lock) before resuming; worker threads block() on Atomics. When the path resumes, it holds.
// Each Waitable knows its own answers: a new kind of wait is a new object, not a new case.
import type { ActorCtx } from './ctx.js';
import type { Shm } from '../shm/state.js';
import { mbOwner, sleepWord } from '../shm/actor.js';
import { MB_DOORBELL_WORD, MN_ACTIVE_WORD } from '../shm/kvm.js';
import { StopError } from '../sync/locks.js';

export { StopError };

export interface Waitable {
  /** fixed (WaitId): what a worker publishes in the shared state so the main thread can say what it waits on */
  readonly id: number;
  /** sim: could the actor go on now? */
  canProceed(s: Shm, ctx: ActorCtx): boolean;
  /** sim: complete the wait (take the lock); only after canProceed said yes */
  proceed(s: Shm, ctx: ActorCtx): void;
  /** threads: block until it holds (StopError when the run stops meanwhile); returns how contended a read lock was */
  block(s: Shm, ctx: ActorCtx, stop: () => boolean): number;
  /** "write-lock on kvm->mmu_lock (held by vcpu1)", from what a worker published (arg, arg2) */
  describe(s: Shm, arg: number, arg2: number, names: readonly string[]): string;
}

/** Fixed ids of every kind of wait (published by workers; never renumber). */
export const WaitId = {
  SlotsLock: 1,
  MmuRead: 2,
  MmuWrite: 3,
  Folio: 4,
  SrcuSync: 5,
  NotEqual: 6,
  Zero: 7,
  Park: 8,
  MmuBrRead: 9,
  MmuBrWrite: 10,
  InvRead: 11,
  InvWrite: 12,
  FaultView: 13,
  SpRead: 14,
  SpWrite: 15,
  Equal: 16,
} as const;

const REGISTRY: Waitable[] = [];

/** Make a Waitable known by its id (the main thread describes workers' waits through it). */
export function registerWaitable<W extends Waitable>(w: W): W {
  if (REGISTRY[w.id] && REGISTRY[w.id] !== w) throw new Error(`wait id ${w.id} registered twice`);
  REGISTRY[w.id] = w;
  return w;
}

/** Sim: complete the actor's wait now if it can be (true), as the engine does before resuming it. */
export function tryProceed(s: Shm, ctx: ActorCtx): boolean {
  const w = ctx.wait;
  if (w === null) return true;
  if (!w.canProceed(s, ctx)) return false;
  w.proceed(s, ctx);
  ctx.wait = null;
  return true;
}

/** The Waitable of a published id, or undefined. */
export const waitableOf = (id: number): Waitable | undefined => REGISTRY[id];

/** What a published wait (id, arg, arg2) means, in words. */
export function describeWait(s: Shm, id: number, arg: number, arg2: number, names: readonly string[]): string {
  const w = REGISTRY[id];
  return w ? w.describe(s, arg, arg2, names) : id === 0 ? 'nothing' : `wait kind ${id}`;
}

/** Poll a condition, sleeping on its word when it is one (writers of those words notify). */
export function pollUntil(s: Shm, ctx: ActorCtx, stop: () => boolean, word: number, sleepOnWord: boolean): void {
  for (let i = 0; !ctx.wait!.canProceed(s, ctx); i++) {
    if (sleepOnWord) Atomics.wait(s.i32, word, ctx.waitArg2, 20);
    else if (i > 64) Atomics.wait(s.i32, sleepWord(s, ctx.base), 0, 0.05);
    if (stop()) throw new StopError();
  }
}

/** Proceed once i32[waitArg] != waitArg2 (the VMM mailbox, its doorbell, vCPU 0's ready word). */
export const NOT_EQUAL: Waitable = registerWaitable({
  id: WaitId.NotEqual,
  canProceed: (s, ctx) => Atomics.load(s.i32, ctx.waitArg) !== ctx.waitArg2,
  proceed: () => {},
  block(s, ctx, stop) {
    pollUntil(s, ctx, stop, ctx.waitArg, true);
    return 0;
  },
  describe(s, arg, _arg2, names) {
    if (arg === MB_DOORBELL_WORD) return 'an exit to serve (doorbell)';
    const owner = mbOwner(s, arg);
    if (owner >= 0) return `the VMM to serve its exit (mailbox of ${names[owner] ?? `actor ${owner}`})`;
    return `a change of word ${arg}`;
  },
});

/** Proceed once i32[waitArg] == 0 (a memslot swap waits out active mmu-notifier invalidations). */
export const ZERO: Waitable = registerWaitable({
  id: WaitId.Zero,
  canProceed: (s, ctx) => Atomics.load(s.i32, ctx.waitArg) === 0,
  proceed: () => {},
  block(s, ctx, stop) {
    pollUntil(s, ctx, stop, ctx.waitArg, false);
    return 0;
  },
  describe: (_s, arg) => (arg === MN_ACTIVE_WORD ? 'mn_active_invalidate_count to reach 0 (mmu notifier invalidations in progress)' : `word ${arg} to reach 0`),
});

/** Proceed once i32[waitArg] == waitArg2 (a hugetlb folio's split or merge waits for its references to drop to the page cache's: folio_ref_freeze's spin). */
export const EQUAL: Waitable = registerWaitable({
  id: WaitId.Equal,
  canProceed: (s, ctx) => Atomics.load(s.i32, ctx.waitArg) === ctx.waitArg2,
  proceed: () => {},
  block(s, ctx, stop) {
    pollUntil(s, ctx, stop, ctx.waitArg, false);
    return 0;
  },
  describe: (_s, arg, arg2) => `word ${arg} to read ${arg2} (a folio's references frozen at the page cache's)`,
});

/** Threads engine: parked at an operation boundary until the pause barrier lifts (never under sim). */
export const PARK: Waitable = registerWaitable({
  id: WaitId.Park,
  canProceed: () => false,
  proceed: () => {
    throw new Error('a parked actor is resumed by the threads engine, not scheduled');
  },
  block: () => {
    throw new Error('a parked actor returns to the threads engine, it does not block');
  },
  describe: () => 'the pause barrier to lift (parked between operations)',
});

