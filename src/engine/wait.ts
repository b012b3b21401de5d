// Completing a blocking yield: `canProceed` + `proceed` for the sim engine (never blocks),
// `waitBlocking` for worker threads (blocks on Atomics until it holds).
import { Wait, WAIT_NAMES, type ActorCtx } from './ctx.js';
import { PF_LOCKED } from '../shm/layout.js';
import type { Shm } from '../shm/state.js';
import {
  brCanRead,
  brCanWrite,
  brReadLock,
  brTryRead,
  brTryWrite,
  brWriteLock,
  bitCanLock,
  bitLock,
  bitTryLock,
  mutexCanLock,
  mutexLock,
  mutexTryLock,
  rwCanRead,
  rwCanWrite,
  rwReadLock,
  rwTryRead,
  rwTryWrite,
  rwWriteLock,
  StopError,
} from '../sync/locks.js';
import { srcuGracePeriodDone } from '../sync/srcu.js';
import { ACTOR_WORDS, A_MMU_READER, A_MB_STATE, A_SLEEP, G_INV_LOCK, G_MB_DOORBELL, G_MMU_LOCK, G_SLOTS_LOCK } from '../shm/layout.js';

export function canProceed(s: Shm, ctx: ActorCtx): boolean {
  const a = s.i32;
  switch (ctx.wait) {
    case Wait.None:
      return true;
    case Wait.Mutex:
      return mutexCanLock(a, ctx.waitArg);
    case Wait.Read:
      return rwCanRead(a, ctx.waitArg);
    case Wait.Write:
      return rwCanWrite(a, ctx.waitArg);
    case Wait.Folio:
      return bitCanLock(a, ctx.waitArg, PF_LOCKED);
    case Wait.SrcuSync:
      return srcuGracePeriodDone(s, ctx.waitArg);
    case Wait.NotEqual:
      return Atomics.load(a, ctx.waitArg) !== ctx.waitArg2;
    case Wait.Zero:
      return Atomics.load(a, ctx.waitArg) === 0;
    case Wait.BrRead:
      return brCanRead(a, ctx.waitArg);
    case Wait.BrWrite:
      return brCanWrite(a, ctx.waitArg, ...readerSlots(s));
    default:
      throw new Error(`unknown wait kind ${ctx.wait}`);
  }
}

/** Take what the actor waited for; only call when canProceed said yes. */
export function proceed(s: Shm, ctx: ActorCtx): void {
  const a = s.i32;
  let ok = true;
  switch (ctx.wait) {
    case Wait.Mutex:
      ok = mutexTryLock(a, ctx.waitArg);
      break;
    case Wait.Read:
      ok = rwTryRead(a, ctx.waitArg);
      break;
    case Wait.Write:
      ok = rwTryWrite(a, ctx.waitArg);
      break;
    case Wait.Folio:
      ok = bitTryLock(a, ctx.waitArg, PF_LOCKED);
      break;
    case Wait.BrRead:
      ok = brTryRead(a, ctx.waitArg, ctx.base + A_MMU_READER);
      break;
    case Wait.BrWrite:
      ok = brTryWrite(a, ctx.waitArg, ...readerSlots(s));
      break;
  }
  if (!ok) throw new Error(`${ctx.name}: ${WAIT_NAMES[ctx.wait]} could not be taken`);
  ctx.wait = Wait.None;
}

/** Every actor's big-reader slot: first word, count, stride. */
const readerSlots = (s: Shm): [number, number, number] => [s.l.actorBase + A_MMU_READER, s.l.nActors, ACTOR_WORDS];

/**
 * Threads engine: block until the wait is satisfied (throws StopError if the run is stopped
 * meanwhile). Returns, for a read lock, the acquisition's contention (see C.mmuReadContended).
 */
export function waitBlocking(s: Shm, ctx: ActorCtx, stop: () => boolean): number {
  const a = s.i32;
  let contended = 0;
  switch (ctx.wait) {
    case Wait.None:
      break;
    case Wait.Mutex:
      mutexLock(a, ctx.waitArg, stop);
      break;
    case Wait.Read:
      contended = rwReadLock(a, ctx.waitArg, stop);
      break;
    case Wait.BrRead:
      contended = brReadLock(a, ctx.waitArg, ctx.base + A_MMU_READER, stop);
      break;
    case Wait.BrWrite:
      brWriteLock(a, ctx.waitArg, ...readerSlots(s), stop);
      break;
    case Wait.Write:
      rwWriteLock(a, ctx.waitArg, stop);
      break;
    case Wait.Folio:
      bitLock(a, ctx.waitArg, PF_LOCKED, stop);
      break;
    default:
      // Conditions: poll, sleeping on the word (writers of mailbox/doorbell words notify).
      for (let i = 0; !canProceed(s, ctx); i++) {
        if (ctx.wait === Wait.NotEqual) Atomics.wait(a, ctx.waitArg, ctx.waitArg2, 20);
        else if (i > 64) Atomics.wait(a, ctx.base + A_SLEEP, 0, 0.05);
        if (stop()) throw new StopError();
      }
  }
  ctx.wait = Wait.None;
  return contended;
}

const LOCK_NAMES: Record<number, string> = { [G_MMU_LOCK]: 'mmu_lock', [G_INV_LOCK]: 'filemap invalidate_lock', [G_SLOTS_LOCK]: 'slots_lock' };

/** "waits for write-lock on mmu_lock" — for deadlock and watchdog reports. */
export function describeWait(kind: number, arg: number, s?: Shm): string {
  switch (kind) {
    case Wait.Mutex:
    case Wait.Read:
    case Wait.Write:
    case Wait.BrRead:
    case Wait.BrWrite:
      return `${WAIT_NAMES[kind]} on ${LOCK_NAMES[arg] ?? `word ${arg}`}`;
    case Wait.Folio:
      return `folio lock (flags word ${arg})`;
    case Wait.SrcuSync:
      return `SRCU grace period ${arg}`;
    case Wait.NotEqual:
      if (arg === G_MB_DOORBELL) return 'an exit to serve (doorbell)';
      if (s && arg >= s.l.actorBase && (arg - s.l.actorBase) % ACTOR_WORDS === A_MB_STATE) {
        return `the VMM to serve its exit (mailbox of actor ${(arg - s.l.actorBase - A_MB_STATE) / ACTOR_WORDS})`;
      }
      return `a change of word ${arg}`;
    case Wait.Zero:
      return `word ${arg} to reach 0 (mmu notifier invalidations)`;
    case Wait.Park:
      return 'the pause barrier to lift (parked between operations)';
    default:
      return 'nothing';
  }
}
