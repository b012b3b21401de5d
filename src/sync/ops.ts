// Lock operations as yield points. Acquire yields (the engine completes the wait before the
// actor resumes); release never blocks and does not yield.
import { addUs, Wait, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { A_MMU_READER, C, G_INV_LOCK, G_MMU_LOCK, G_SLOTS_LOCK, PF_LOCKED, P_FLAGS, pfnWord } from '../shm/layout.js';
import { bitUnlock, brReadUnlock, brWriteUnlock, mutexUnlock, rwReadUnlock, rwWriteUnlock } from './locks.js';

function* block(ctx: ActorCtx, kind: number, arg: number, point: number, arg2 = 0): Gen {
  ctx.wait = kind;
  ctx.waitArg = arg;
  ctx.waitArg2 = arg2;
  yield point;
}

// read_lock(&kvm->mmu_lock) / write_lock(&kvm->mmu_lock), on the lock the scenario builds (Scenario.mmuLock)
const percpu = (ctx: ActorCtx) => ctx.s.l.mmuLock === 'percpu';
export const mmuReadLock = (ctx: ActorCtx) => block(ctx, percpu(ctx) ? Wait.BrRead : Wait.Read, G_MMU_LOCK, P['mmu_lock:read']);
export const mmuReadUnlock = (ctx: ActorCtx) => {
  noteMmuHold(ctx, C.mmuReadHoldUs);
  if (percpu(ctx)) brReadUnlock(ctx.s.i32, G_MMU_LOCK, ctx.base + A_MMU_READER);
  else rwReadUnlock(ctx.s.i32, G_MMU_LOCK);
};
export const mmuWriteLock = (ctx: ActorCtx) => block(ctx, percpu(ctx) ? Wait.BrWrite : Wait.Write, G_MMU_LOCK, P['mmu_lock:write']);
export const mmuWriteUnlock = (ctx: ActorCtx) => {
  noteMmuHold(ctx, C.mmuWriteHoldUs);
  if (percpu(ctx)) brWriteUnlock(ctx.s.i32, G_MMU_LOCK);
  else rwWriteUnlock(ctx.s.i32, G_MMU_LOCK);
};

/** Threads engine: add the time since mmu_lock was taken to this actor's hold time. */
function noteMmuHold(ctx: ActorCtx, counter: number): void {
  if (ctx.mmuLockedAt < 0) return;
  addUs(ctx, counter, (performance.now() - ctx.mmuLockedAt) * 1000);
  ctx.mmuLockedAt = -1;
}

// filemap_invalidate_lock_shared / filemap_invalidate_lock of the gmem inode
export const invLockShared = (ctx: ActorCtx) => block(ctx, Wait.Read, G_INV_LOCK, P['inv_lock:shared']);
export const invUnlockShared = (ctx: ActorCtx) => rwReadUnlock(ctx.s.i32, G_INV_LOCK);
export const invLock = (ctx: ActorCtx) => block(ctx, Wait.Write, G_INV_LOCK, P['inv_lock:exclusive']);
export const invUnlock = (ctx: ActorCtx) => rwWriteUnlock(ctx.s.i32, G_INV_LOCK);

// mutex_lock(&kvm->slots_lock)
export const slotsLock = (ctx: ActorCtx) => block(ctx, Wait.Mutex, G_SLOTS_LOCK, P['slots_lock']);
export const slotsUnlock = (ctx: ActorCtx) => mutexUnlock(ctx.s.i32, G_SLOTS_LOCK);

// folio_lock / folio_unlock
export const folioLock = (ctx: ActorCtx, pfn: number) =>
  block(ctx, Wait.Folio, pfnWord(ctx.s.l, pfn, P_FLAGS), P['folio_lock']);
export const folioUnlock = (ctx: ActorCtx, pfn: number) => bitUnlock(ctx.s.i32, pfnWord(ctx.s.l, pfn, P_FLAGS), PF_LOCKED);

/** Block until i32[word] != value (the VMM mailbox and doorbell). */
export const waitNotEqual = (ctx: ActorCtx, word: number, value: number, point: number) =>
  block(ctx, Wait.NotEqual, word, point, value);

/** Block for an SRCU grace period that started at `target`. */
export const srcuSyncWait = (ctx: ActorCtx, target: number) => block(ctx, Wait.SrcuSync, target, P['srcu:sync']);

/** Block until i32[word] == 0 (memslot swaps wait out active mmu-notifier invalidations). */
export const waitZero = (ctx: ActorCtx, word: number, point: number) => block(ctx, Wait.Zero, word, point);
