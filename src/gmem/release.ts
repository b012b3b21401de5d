// The gmem file's lifetime (guest_memfd.c @01f492e1817e, fs/file_table.c): the references on the
// file (the VMM's fd, a host process's mapping, the transient ones of kvm_gmem_get_file and
// fdget), close(2), and what the last reference runs as task_work: __fput -> kvm_gmem_release,
// the gmem_file freed, the inode evicted with its page cache.
//
// The memslots keep pointing at the file (slot->gmem.file) until release clears them; a reader
// takes its reference with get_file_active, which fails once the count reached zero, before
// release has run (the file is dying). Memslot deletion unbinds under slots_lock, which release
// also takes, so the two are ordered either way (ae431059e75d).
import { Ctr, count, taskWorkAdd, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { EBADF } from '../errno.js';
import { bindingOf, clearBindingOf, gmemFdClose, gmemFdOpen, gmemFileRefPut, gmemFileRefTryGet, setGmemFileState } from '../shm/file.js';
import { GmemFileState } from '../shm/layout.js';
import { setSlotFile, slotFile } from '../shm/slot.js';
import { invLock, invUnlock, slotsLock, slotsUnlock } from '../sync/ops.js';
import { kvmGmemInvalidateBegin, kvmGmemInvalidateEnd, truncateInodePagesRange } from './guest_memfd.js';
import { registerPaths } from '../engine/fiber.js';

// fdget(fd) of the VMM's guest_memfd fd (fallocate, KVM_SET_USER_MEMORY_REGION2): 0 with a
// reference the syscall drops with gmemFput, or -EBADF once close(2) took the fd away
export function gmemFdget(ctx: ActorCtx): number {
  if (gmemFdOpen(ctx.s) && gmemFileRefTryGet(ctx.s)) return 0;
  count(ctx, Ctr.fileGone);
  return -EBADF;
}

// kvm_gmem_get_file -> get_file_active(&slot->gmem.file): true with a reference (drop it with
// gmemFput), false if the slot has no file any more or the file is dying (its count reached zero).
// B30 (the 6.8 code before 67b43038ce14, without its RCU) uses the pointer without a reference.
export function kvmGmemGetFile(ctx: ActorCtx, slot: number, caller: string): boolean {
  ctx.ev.objectUsed(ctx, 'memslot', slot, caller);
  if (slotFile(ctx.s, slot) === 0) return false;
  if (ctx.bugs.B30) return true;
  return gmemFileRefTryGet(ctx.s);
}

/** The put matching a kvmGmemGetFile that returned true. */
export function kvmGmemPutFile(ctx: ActorCtx): void {
  if (!ctx.bugs.B30) gmemFput(ctx);
}

// fput: the last reference queues __fput as task_work, run when the actor returns to userspace
// (never inside kvm->srcu or a lock: release takes slots_lock and the invalidate lock)
export function gmemFput(ctx: ActorCtx): void {
  if (gmemFileRefPut(ctx.s)) taskWorkAdd(ctx, () => gmemFinalFput(ctx));
}

// close(2) on the VMM's guest_memfd fd: the fd's reference goes (release runs when it was the last)
export function* gmemClose(ctx: ActorCtx): Gen<number> {
  yield P.close;
  if (!gmemFdClose(ctx.s)) return -EBADF;
  gmemFput(ctx);
  return 0;
}

// __fput: ->release, then the dentry and with it the inode's last reference go (evict: the page
// cache truncated, truncate_inode_pages_final); nothing else holds the anonymous inode
function* gmemFinalFput(ctx: ActorCtx): Gen {
  yield P['task-work'];
  yield kvmGmemRelease(ctx);
  yield P.evict;
  yield truncateInodePagesRange(ctx, 0, ctx.s.l.filePages, true);
}

// kvm_gmem_release: clear every bound memslot's file pointer and zap all of the file's SPTEs in
// this VM (the memory is the inode's, about to be evicted), under slots_lock and the invalidate
// lock; then the bindings xarray and the gmem_file are freed. B31 leaves the SPTEs.
export function* kvmGmemRelease(ctx: ActorCtx): Gen {
  const s = ctx.s;
  const end = s.l.filePages;
  count(ctx, Ctr.gmemReleases);
  yield slotsLock(ctx);
  yield invLock(ctx);
  yield P.release;
  ctx.ev.objectUsed(ctx, 'gmem-file', 0, 'kvm_gmem_release');
  for (const slot of boundSlots(ctx)) {
    ctx.ev.objectUsed(ctx, 'memslot', slot, 'kvm_gmem_release');
    setSlotFile(s, slot, 0);
  }
  if (!ctx.bugs.B31) {
    yield kvmGmemInvalidateBegin(ctx, 0, end);
    yield kvmGmemInvalidateEnd(ctx, 0, end);
  }
  setGmemFileState(s, GmemFileState.Unlisted); // list_del from the inode's files: later invalidations skip it
  invUnlock(ctx);
  slotsUnlock(ctx);
  ctx.ev.writerReturned(ctx, 'kvm_gmem_release');
  // xa_destroy(&f->bindings); kfree(f)
  for (let i = 0; i < end; i++) {
    const slot = bindingOf(s, i);
    if (slot >= 0) clearBindingOf(s, i, slot);
  }
  setGmemFileState(s, GmemFileState.Freed);
}

/** The memslots f->bindings names, once each, in index order (xa_for_each). */
function boundSlots(ctx: ActorCtx): number[] {
  const out: number[] = [];
  for (let i = 0; i < ctx.s.l.filePages; i++) {
    const slot = bindingOf(ctx.s, i);
    if (slot >= 0 && !out.includes(slot)) out.push(slot);
  }
  return out;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ gmemClose, gmemFinalFput, kvmGmemRelease });
