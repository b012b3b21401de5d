// struct kvm's words: the invalidation state (mmu_invalidate_seq, _in_progress, _range_start/end),
// the SRCU epoch, mn_active_invalidate_count, the VMM's doorbell, and where each lock lives.
import {
  G_IN_PROGRESS,
  G_INV_LOCK,
  G_MB_DOORBELL,
  G_MMU_LOCK,
  G_MMU_LOCK_WAITERS,
  G_MN_ACTIVE,
  G_MN_LOCK,
  G_SP_LOCK,
  G_RANGE_END,
  G_RANGE_START,
  G_SEQ,
  G_SLOTS_LOCK,
  G_SRCU_EPOCH,
  INVALID_GFN,
  LOCK_HOLDER,
} from './layout.js';
import type { Shm } from './state.js';

export const mmuInvalidateSeq = (s: Shm) => Atomics.load(s.i32, G_SEQ);
export const mmuInvalidateSeqInc = (s: Shm) => Atomics.add(s.i32, G_SEQ, 1);
export const mmuInvalidateInProgress = (s: Shm) => Atomics.load(s.i32, G_IN_PROGRESS);
/** add to in_progress, returning the old value */
export const mmuInvalidateInProgressAdd = (s: Shm, d: number) => Atomics.add(s.i32, G_IN_PROGRESS, d);
/** INVALID_GFN while no range has been added */
export const mmuInvalidateRangeStart = (s: Shm) => Atomics.load(s.i32, G_RANGE_START);
export const mmuInvalidateRangeEnd = (s: Shm) => Atomics.load(s.i32, G_RANGE_END);
export function setMmuInvalidateRange(s: Shm, start: number, end: number): void {
  Atomics.store(s.i32, G_RANGE_START, start);
  Atomics.store(s.i32, G_RANGE_END, end);
}
export { INVALID_GFN };

/** kvm->srcu: the current epoch (readers record it; a grace period advances it) */
export const srcuEpoch = (s: Shm) => Atomics.load(s.i32, G_SRCU_EPOCH);
/** start a grace period: the epoch it waits out */
export const srcuEpochAdvance = (s: Shm) => Atomics.add(s.i32, G_SRCU_EPOCH, 1);

/** kvm->mn_active_invalidate_count (under mn_invalidate_lock) */
export const mnActiveInvalidateCount = (s: Shm) => Atomics.load(s.i32, G_MN_ACTIVE);
export const mnActiveInvalidateAdd = (s: Shm, d: number) => Atomics.add(s.i32, G_MN_ACTIVE, d);
/** the word a memslot swap waits on until it is 0 */
export const MN_ACTIVE_WORD = G_MN_ACTIVE;

/** bumped when a vCPU posts an exit for the VMM (the VMM sleeps on it) */
export const mbDoorbell = (s: Shm) => Atomics.load(s.i32, G_MB_DOORBELL);
export function ringMbDoorbell(s: Shm): void {
  Atomics.add(s.i32, G_MB_DOORBELL, 1);
  Atomics.notify(s.i32, G_MB_DOORBELL);
}
export const MB_DOORBELL_WORD = G_MB_DOORBELL;

/** Where each of struct kvm's (and the gmem inode's) locks lives: the lock word, then its sleepers and holder. */
export const LOCK_WORDS = {
  mmuLock: G_MMU_LOCK,
  invalidateLock: G_INV_LOCK,
  slotsLock: G_SLOTS_LOCK,
  mnInvalidateLock: G_MN_LOCK,
  sharedPolicyLock: G_SP_LOCK,
} as const;
/** Actors about to take mmu_lock or waiting for it (rwlock_is_contended). */
export const mmuLockWaiters = (s: Shm) => Atomics.load(s.i32, G_MMU_LOCK_WAITERS);
export const mmuLockWaitersAdd = (s: Shm, d: number) => Atomics.add(s.i32, G_MMU_LOCK_WAITERS, d);

/** the actor holding the lock at `word` exclusively, or -1 */
export const lockHolder = (s: Shm, word: number) => Atomics.load(s.i32, word + LOCK_HOLDER) - 1;
/** a plain store: only reports read it (another thread may see it late) */
export const setLockHolder = (s: Shm, word: number, actor: number) => {
  s.i32[word + LOCK_HOLDER] = actor + 1;
};

/** test setup: in_progress and the SRCU epoch written directly */
export const setMmuInvalidateInProgress = (s: Shm, v: number) => Atomics.store(s.i32, G_IN_PROGRESS, v);
export const setSrcuEpoch = (s: Shm, v: number) => Atomics.store(s.i32, G_SRCU_EPOCH, v);
