// virt/kvm/guest_memfd.c: folio lookup/allocation, kvm_gmem_get_pfn, fallocate (allocate and
// PUNCH_HOLE), and binding memslots to the file. There is one gmem file, private-only
// (no INIT_SHARED): its invalidations use KVM_FILTER_PRIVATE, which on a non-TDX VM zaps all
// SPTEs in range anyway (spec §1.6).
import { count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { checkBalanced, checkPfnRemoved } from '../check/online.js';
import { EFAULT, EINVAL, EIO, ENOMEM } from '../errno.js';
import { kvmMmuInvalidateBegin, kvmMmuInvalidateRangeAdd, kvmMmuInvalidateRangesBegin, kvmMmuInvalidateRangesEnd, kvmZapGfnRange } from '../kvm/mmu_invalidate.js';
import { allocPage, pagePut, pageTryGet } from '../mm/page_alloc.js';
import { gmemPolicy } from '../mm/policy.js';
import { checkPlacement } from '../check/placement.js';
import {
  P_CONTENT,
  P_FLAGS,
  P_OWNER,
  PF_LOCKED,
  PF_UPTODATE,
  PfnOwner,
  S_BASE_GFN,
  S_FILE,
  S_NPAGES,
  S_PGOFF,
  ZERO_PRIVATE,
  pfnWord,
  slotWord,
} from '../shm/layout.js';
import { kvmGmemGetIndex, type Shm } from '../shm/state.js';
import { folioLock, folioUnlock, invLock, invLockShared, invUnlock, invUnlockShared, mmuWriteLock, mmuWriteUnlock } from '../sync/ops.js';
import { bindingOf, filemapGet, filemapInsert, filemapRemove } from './filemap.js';
import { forEachGfnOfIndex, ghostContentChanged } from './ghost.js';

// kvm_gmem_get_folio -> __filemap_get_folio(FGP_LOCK | FGP_CREAT): a locked folio with a
// reference for the caller, or -ENOMEM
export function* kvmGmemGetFolio(ctx: ActorCtx, index: number): Gen<number> {
  const s = ctx.s;
  for (;;) {
    yield P['filemap-lookup'];
    let pfn = filemapGet(s, index);
    if (pfn >= 0) {
      if (!pageTryGet(s, pfn)) continue; // being freed: look again
      yield* folioLock(ctx, pfn);
      if (filemapGet(s, index) === pfn) return pfn;
      folioUnlock(ctx, pfn); // truncated while we waited for the lock
      pagePut(ctx, pfn);
      continue;
    }
    yield P['pfn-alloc'];
    const numa = ctx.numa;
    const ilPrev = numa ? numa.il.ilPrev : 0;
    pfn = numa
      ? allocPage(ctx, PfnOwner.PageCache, index, PF_LOCKED, gmemPolicy(numa, policyIndex(ctx, index), ctx.bugs.N1), numa.byOffset ? index : undefined)
      : allocPage(ctx, PfnOwner.PageCache, index, PF_LOCKED);
    if (pfn < 0) return -ENOMEM;
    checkPlacement(ctx, index, pfn, ilPrev);
    yield P['filemap-insert'];
    Atomics.add(s.i32, pfnWord(s.l, pfn, 1 /* P_REF */), 1); // the page cache's reference
    if (filemapInsert(s, index, pfn)) return pfn;
    // Lost the insertion race: drop both references (frees it) and use the winner's folio.
    Atomics.store(s.i32, pfnWord(s.l, pfn, P_OWNER), PfnOwner.Removed);
    folioUnlock(ctx, pfn);
    pagePut(ctx, pfn);
    pagePut(ctx, pfn);
  }
}

/** The offset the shared policy is looked up at: the file offset (B18: the offset within the memslot bound there). */
function policyIndex(ctx: ActorCtx, index: number): number {
  if (!ctx.bugs.B18) return index;
  const slot = bindingOf(ctx.s, index);
  return slot < 0 ? index : index - ctx.s.i32[slotWord(ctx.s.l, slot, S_PGOFF)];
}

// kvm_gmem_get_pfn: the pfn backing gfn with a reference held for the caller, or -errno
export function* kvmGmemGetPfn(ctx: ActorCtx, slot: number, gfn: number): Gen<number> {
  const s = ctx.s;
  const index = kvmGmemGetIndex(s, slot, gfn);
  yield P['binding-check'];
  if (Atomics.load(s.i32, slotWord(s.l, slot, S_FILE)) === 0) return -EFAULT; // file released / unbound
  if (bindingOf(s, index) !== slot) return -EIO;
  const pfn = yield* kvmGmemGetFolio(ctx, index);
  if (pfn < 0) return pfn;
  const flags = pfnWord(s.l, pfn, P_FLAGS);
  if ((Atomics.load(s.i32, flags) & PF_UPTODATE) === 0) {
    // First use zeroes the page (the uptodate gate): a new folio may hold a previous owner's data.
    yield P['folio-zero'];
    Atomics.store(s.i32, pfnWord(s.l, pfn, P_CONTENT), 0);
    Atomics.or(s.i32, flags, PF_UPTODATE);
  }
  folioUnlock(ctx, pfn);
  return pfn;
}

interface BoundRange {
  slot: number;
  gfn: number;
  n: number;
}

/** The memslots bound to file indices [start, end), clipped to it, in binding order (xa_for_each_range over f->bindings). */
function boundRanges(s: Shm, start: number, end: number): BoundRange[] {
  const out: BoundRange[] = [];
  const { i32, l } = s;
  end = Math.min(end, l.filePages);
  for (let i = start; i < end; i++) {
    const slot = bindingOf(s, i);
    if (slot < 0 || out.some((r) => r.slot === slot)) continue;
    const pgoff = i32[slotWord(l, slot, S_PGOFF)];
    const base = i32[slotWord(l, slot, S_BASE_GFN)];
    const lo = Math.max(start, pgoff);
    const hi = Math.min(end, pgoff + i32[slotWord(l, slot, S_NPAGES)]);
    out.push({ slot, gfn: base + lo - pgoff, n: hi - lo });
  }
  return out;
}

// kvm_gmem_invalidate_begin: begin + (range_add, zap) per bound slot, in one write section
function* kvmGmemInvalidateBegin(ctx: ActorCtx, start: number, end: number): Gen {
  const ranges = boundRanges(ctx.s, start, end);
  if (ranges.length === 0) return;
  if (!ctx.bugs.B5) {
    yield* kvmMmuInvalidateRangesBegin(ctx, ranges);
    return;
  }
  // B5: zap first, begin (and range_add) in a later mmu_lock section
  yield* mmuWriteLock(ctx);
  for (const r of ranges) yield* kvmZapGfnRange(ctx, r.gfn, r.gfn + r.n);
  mmuWriteUnlock(ctx);
  yield* mmuWriteLock(ctx);
  yield P['invalidate-begin'];
  kvmMmuInvalidateBegin(ctx);
  for (const r of ranges) kvmMmuInvalidateRangeAdd(ctx, r.gfn, r.gfn + r.n);
  mmuWriteUnlock(ctx);
}

// kvm_gmem_invalidate_end: end if any binding exists in range (looked up again: bindings are
// stable only because the caller holds the invalidate lock exclusively)
function* kvmGmemInvalidateEnd(ctx: ActorCtx, start: number, end: number): Gen {
  if (boundRanges(ctx.s, start, end).length > 0) yield* kvmMmuInvalidateRangesEnd(ctx);
}

// truncate_inode_pages_range: remove each folio from the page cache under its lock
function* truncateInodePagesRange(ctx: ActorCtx, start: number, end: number): Gen {
  const s = ctx.s;
  end = Math.min(end, s.l.filePages);
  for (let i = start; i < end; i++) {
    yield P.truncate;
    const pfn = filemapGet(s, i);
    if (pfn < 0 || !pageTryGet(s, pfn)) continue;
    yield* folioLock(ctx, pfn);
    if (filemapRemove(s, i, pfn)) {
      Atomics.store(s.i32, pfnWord(s.l, pfn, P_OWNER), PfnOwner.Removed);
      forEachGfnOfIndex(s, i, (g) => ghostContentChanged(s, g, ZERO_PRIVATE));
      checkPfnRemoved(ctx, pfn, 'truncated');
      pagePut(ctx, pfn); // the page cache's reference
    }
    folioUnlock(ctx, pfn);
    pagePut(ctx, pfn);
  }
}

// kvm_gmem_punch_hole (fallocate PUNCH_HOLE|KEEP_SIZE) on file pages [start, end)
export function* kvmGmemPunchHole(ctx: ActorCtx, start: number, end: number): Gen<number> {
  count(ctx, 'punchHoles');
  const lock = !ctx.bugs.B10;
  if (lock) yield* invLock(ctx);
  if (ctx.bugs.B7) yield* truncateInodePagesRange(ctx, start, end);
  if (!ctx.bugs.B20) yield* kvmGmemInvalidateBegin(ctx, start, end);
  if (!ctx.bugs.B7) yield* truncateInodePagesRange(ctx, start, end);
  if (!ctx.bugs.B20) yield* kvmGmemInvalidateEnd(ctx, start, end);
  if (lock) invUnlock(ctx);
  checkBalanced(ctx, 'kvm_gmem_punch_hole');
  return 0;
}

// kvm_gmem_allocate (fallocate KEEP_SIZE) on file pages [start, end); partial success is kept
export function* kvmGmemAllocate(ctx: ActorCtx, start: number, end: number): Gen<number> {
  count(ctx, 'fallocates');
  if (end > ctx.s.l.filePages) return -EINVAL;
  yield* invLockShared(ctx);
  let r = 0;
  for (let i = start; i < end; i++) {
    const pfn = yield* kvmGmemGetFolio(ctx, i);
    if (pfn < 0) {
      r = pfn;
      break;
    }
    folioUnlock(ctx, pfn);
    pagePut(ctx, pfn);
  }
  invUnlockShared(ctx);
  return r;
}

// kvm_gmem_bind: bind memslot `slot` at its pgoff (caller holds slots_lock)
export function* kvmGmemBind(ctx: ActorCtx, slot: number): Gen<number> {
  const { i32, l } = ctx.s;
  yield* invLock(ctx);
  yield P.bind;
  const pgoff = i32[slotWord(l, slot, S_PGOFF)];
  const n = i32[slotWord(l, slot, S_NPAGES)];
  for (let i = pgoff; i < pgoff + n; i++) {
    if (bindingOf(ctx.s, i) >= 0) {
      invUnlock(ctx);
      return -EINVAL;
    }
  }
  for (let i = pgoff; i < pgoff + n; i++) Atomics.store(i32, l.bindingBase + i, slot + 1);
  Atomics.store(i32, slotWord(l, slot, S_FILE), 1);
  invUnlock(ctx);
  return 0;
}

// kvm_gmem_unbind (from kvm_free_memslot; caller holds slots_lock)
export function* kvmGmemUnbind(ctx: ActorCtx, slot: number): Gen {
  const { i32, l } = ctx.s;
  yield* invLock(ctx);
  yield P.unbind;
  const pgoff = i32[slotWord(l, slot, S_PGOFF)];
  const n = i32[slotWord(l, slot, S_NPAGES)];
  for (let i = pgoff; i < pgoff + n; i++) Atomics.compareExchange(i32, l.bindingBase + i, slot + 1, 0);
  Atomics.store(i32, slotWord(l, slot, S_FILE), 0);
  invUnlock(ctx);
}
