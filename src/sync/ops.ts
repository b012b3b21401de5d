// The VM's locks (struct kvm's mmu_lock and slots_lock, the guest_memfd inode's invalidate_lock,
// folio locks) and their kernel-named operations. Acquire is a yield point (the engine completes
// the wait before the actor resumes) and tells lockdep first; release never blocks and does not yield.
import { Ctr, addUs, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { EQUAL, NOT_EQUAL, WaitId, ZERO, type Waitable } from '../engine/wait.js';
import { LOCK_WORDS, mmuLockWaitersAdd } from '../shm/kvm.js';
import { folioLockWord } from '../shm/pfn.js';
import { BitLock, BrLock, Mutex, RwLock, type LockMode } from './lock.js';
import { LockClass, lockdepAcquire, lockdepTrylock } from './lockdep.js';
import { rwReadUnlock, rwTryRead, rwWriter } from './locks.js';
import type { Shm } from '../shm/state.js';
import { registerPaths } from '../engine/fiber.js';

/** kvm->mmu_lock as the kernel builds it: one reader/writer lock */
export const MMU_LOCK_RWLOCK = new RwLock('kvm->mmu_lock', LockClass.Mmu, LOCK_WORDS.mmuLock, { read: WaitId.MmuRead, write: WaitId.MmuWrite });
/** kvm->mmu_lock as a big-reader lock (Scenario.mmuLock 'percpu'): same answers, no shared line on the read side */
export const MMU_LOCK_PERCPU = new BrLock('kvm->mmu_lock', LockClass.Mmu, LOCK_WORDS.mmuLock, { read: WaitId.MmuBrRead, write: WaitId.MmuBrWrite });
export type MmuLock = RwLock | BrLock;
export const mmuLockFor = (build: 'rwlock' | 'percpu'): MmuLock => (build === 'percpu' ? MMU_LOCK_PERCPU : MMU_LOCK_RWLOCK);
/** the guest_memfd inode's mapping->invalidate_lock (a rw_semaphore) */
export const INVALIDATE_LOCK = new RwLock('filemap invalidate_lock', LockClass.Invalidate, LOCK_WORDS.invalidateLock, { read: WaitId.InvRead, write: WaitId.InvWrite });
export const SLOTS_LOCK = new Mutex('kvm->slots_lock', LockClass.Slots, LOCK_WORDS.slotsLock, WaitId.SlotsLock);
/** PG_locked of a folio */
export const FOLIO_LOCK = new BitLock('folio lock', LockClass.Folio, WaitId.Folio);
/** the gmem inode's shared memory policy's sp->lock (an rwlock_t, spinning: "convert the shared_policy lock to a rwlock", 4.5) */
export const SP_LOCK = new RwLock('sp->lock', LockClass.SharedPolicy, LOCK_WORDS.sharedPolicyLock, { read: WaitId.SpRead, write: WaitId.SpWrite });

/** A blocking yield: the engine completes `w` (with its arguments) before the actor resumes. */
export function* blockOn(ctx: ActorCtx, w: Waitable, point: number, arg = 0, arg2 = 0): Gen {
  ctx.wait = w;
  ctx.waitArg = arg;
  ctx.waitArg2 = arg2;
  yield point;
}

function acquire(ctx: ActorCtx, mode: LockMode, point: number, arg = 0): Gen {
  lockdepAcquire(ctx, mode.cls, mode.exclusive, point);
  return blockOn(ctx, mode, point, arg);
}

// read_lock(&kvm->mmu_lock) / write_lock(&kvm->mmu_lock)
// An acquire that finds the lock taken counts itself a waiter until it holds the lock (the slow
// path, where the kernel's qrwlock queues: rwlock_is_contended), so a zap holding the lock for write
// sees whether anyone waits for it; the fast path writes no shared word (percpu keeps its promise)
function* mmuAcquire(ctx: ActorCtx, mode: LockMode, point: number): Gen {
  const waits = !mode.canProceed(ctx.s, ctx);
  if (waits) mmuLockWaitersAdd(ctx.s, 1);
  yield acquire(ctx, mode, point);
  if (waits) mmuLockWaitersAdd(ctx.s, -1);
}
// read_lock(&kvm->mmu_lock)
export function* mmuReadLock(ctx: ActorCtx): Gen {
  yield mmuAcquire(ctx, ctx.mmuLock.read, P['mmu_lock:read']);
}
export function mmuReadUnlock(ctx: ActorCtx): void {
  noteMmuHold(ctx, Ctr.mmuReadHoldUs);
  ctx.mmuLock.read.release(ctx);
}
// write_lock(&kvm->mmu_lock)
export function* mmuWriteLock(ctx: ActorCtx): Gen {
  yield mmuAcquire(ctx, ctx.mmuLock.write, P['mmu_lock:write']);
}
export function mmuWriteUnlock(ctx: ActorCtx): void {
  noteMmuHold(ctx, Ctr.mmuWriteHoldUs);
  ctx.mmuLock.write.release(ctx);
}

/** Threads engine: add the time since mmu_lock was taken to this actor's hold time. */
function noteMmuHold(ctx: ActorCtx, counter: number): void {
  if (ctx.mmuLockedAt < 0) return;
  addUs(ctx, counter, (performance.now() - ctx.mmuLockedAt) * 1000);
  ctx.mmuLockedAt = -1;
}

// filemap_invalidate_lock_shared / filemap_invalidate_lock of the gmem inode
export const invLockShared = (ctx: ActorCtx) => acquire(ctx, INVALIDATE_LOCK.read, P['inv_lock:shared']);
export const invUnlockShared = (ctx: ActorCtx) => INVALIDATE_LOCK.read.release(ctx);
export const invLock = (ctx: ActorCtx) => acquire(ctx, INVALIDATE_LOCK.write, P['inv_lock:exclusive']);
export const invUnlock = (ctx: ActorCtx) => INVALIDATE_LOCK.write.release(ctx);

// read_lock / write_lock(&sp->lock) of the gmem inode's shared policy
export const spReadLock = (ctx: ActorCtx) => acquire(ctx, SP_LOCK.read, P['sp_lock:read']);
export const spReadUnlock = (ctx: ActorCtx) => SP_LOCK.read.release(ctx);
export const spWriteLock = (ctx: ActorCtx) => acquire(ctx, SP_LOCK.write, P['sp_lock:write']);
export const spWriteUnlock = (ctx: ActorCtx) => SP_LOCK.write.release(ctx);

/** Checkers: is sp->lock held for write (an edit of the tree in progress)? And a read side a checker may take without a yield (false: a writer has it). */
export const spLockWriteHeld = (s: Shm) => rwWriter(s.i32, LOCK_WORDS.sharedPolicyLock);
export const spLockTryReadForCheck = (s: Shm) => rwTryRead(s.i32, LOCK_WORDS.sharedPolicyLock);
export const spLockUnlockForCheck = (s: Shm) => rwReadUnlock(s.i32, LOCK_WORDS.sharedPolicyLock);

// mutex_lock(&kvm->slots_lock)
export const slotsLock = (ctx: ActorCtx) => acquire(ctx, SLOTS_LOCK.lock, P['slots_lock']);
export const slotsUnlock = (ctx: ActorCtx) => SLOTS_LOCK.lock.release(ctx);

// folio_lock / folio_unlock
export const folioLock = (ctx: ActorCtx, pfn: number) => acquire(ctx, FOLIO_LOCK, P['folio_lock'], folioLockWord(ctx.s, pfn));
export const folioUnlock = (ctx: ActorCtx, pfn: number) => FOLIO_LOCK.release(ctx, folioLockWord(ctx.s, pfn));
/** A new page-cache folio comes out of the allocator already locked (__folio_set_locked): held, no wait. */
export function folioLockedNew(ctx: ActorCtx): void {
  lockdepTrylock(ctx, LockClass.Folio, true, P['pfn-alloc']);
  FOLIO_LOCK.created(ctx);
}

/** Block until i32[word] != value (the VMM mailbox and doorbell; the word comes from a shm accessor). */
export const waitNotEqual = (ctx: ActorCtx, word: number, value: number, point: number) => blockOn(ctx, NOT_EQUAL, point, word, value);

/** Block until i32[word] == value (a folio's references dropping to the expected count). */
export const waitEqual = (ctx: ActorCtx, word: number, value: number, point: number) => blockOn(ctx, EQUAL, point, word, value);

/** Block until i32[word] == 0 (memslot swaps wait out active mmu-notifier invalidations). */
export const waitZero = (ctx: ActorCtx, word: number, point: number) => blockOn(ctx, ZERO, point, word);

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ blockOn, mmuAcquire, mmuReadLock, mmuWriteLock });
