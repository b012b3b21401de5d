// virt/kvm/guest_memfd.c: folio lookup/allocation, kvm_gmem_get_pfn, fallocate (allocate and
// PUNCH_HOLE), and binding memslots to the file (01f492e1817e); the file's references and its
// release are release.ts. There is one gmem file; its
// create flags (gmem/create.ts) decide whether its slots are gmem-only. Its invalidations use
// kvm_gmem_get_invalidate_filter's filter, which on a VM without mirrored TDP (not TDX) zaps every
// SPTE in range either way (spec §1.6).
import { Ctr, NO_CALL, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { orders } from '../alternatives.js';
import { EFAULT, EHWPOISON, EINVAL, EIO, ENOMEM } from '../errno.js';
import { kvmGmemPrepareFolio, kvmGmemZeroFolio } from './prepare.js';
import { folioAddLru } from '../mm/lru.js';
import { attrsInGmemState, gmemAttr } from '../shm/attr.js';
import { gmemFdget, gmemFput, kvmGmemGetFile, kvmGmemPutFile } from './release.js';
import { kvmMmuInvalidateRangesBegin, kvmMmuInvalidateRangesEnd, kvmMmuInvalidateRangeAdd, kvmZapGfnRange } from '../kvm/mmu_invalidate.js';
import { allocPage, pagePut, pageTryGet } from '../mm/page_alloc.js';
import { gmemPolicy, spPidAt } from '../mm/policy.js';
import { mpolCondPut, mpolSetSharedPolicy, mpolSharedPolicyLookup } from '../mm/mpol_shared.js';
import { spHandleObj, spObjPid } from '../shm/sp.js';
import { getMempolicyReport, type Mempolicy, type MempolicyReport } from '../mm/mempolicy.js';
import { bindingOf, clearBindingOf, filemapGet, filemapInsert, filemapRemove, gmemFileState, hostPteGet, setBinding } from '../shm/file.js';
import { unmapMappingFolio } from './user_mapping.js';
import { GmemFileState, KVM_MEMORY_ATTRIBUTE_PRIVATE, PF_HWPOISON, PF_LOCKED, PF_UPTODATE, PfnOwner } from '../shm/layout.js';
import { pfnFlags, pfnFlagsOr, pfnRefAdd, setPfnContent, setPfnOwner } from '../shm/pfn.js';
import { gmemInodeFlags, kvmGmemGetIndex, setSlotFile, setSlotGmemOnly, slotBaseGfn, slotFile, slotNpages, slotPgoff } from '../shm/slot.js';
import { GMEM_INODE_MMAP } from './create.js';
import { kvmGmemGetHugeFolio, kvmGmemMaxLevel, truncateHugeFolio } from './huge_folio.js';
import { folioLevel, hugeOn, hugetlbOn } from '../shm/huge.js';
import { kvmGmemAllocHugetlbFolio, kvmGmemTruncateHugetlb } from './hugetlb.js';
import { kvmGmemIsSafeForConversion } from './attributes.js';
import type { Shm } from '../shm/state.js';
import { LockClass, lockdepAssertHeld } from '../sync/lockdep.js';
import { folioLock, folioLockedNew, folioUnlock, invLock, invLockShared, invUnlock, invUnlockShared, mmuWriteLock, mmuWriteUnlock } from '../sync/ops.js';
import { registerPaths } from '../engine/fiber.js';

// kvm_gmem_get_folio -> __filemap_get_folio(FGP_LOCK | FGP_CREAT): a locked folio with a
// reference for the caller, or -ENOMEM
export function* kvmGmemGetFolio(ctx: ActorCtx, index: number): Gen<number> {
  const s = ctx.s;
  for (;;) {
    yield P['filemap-lookup'];
    ctx.ev.objectUsed(ctx, 'gmem-inode', index, 'kvm_gmem_get_folio');
    let pfn = filemapGet(s, index);
    if (pfn >= 0) {
      if (!pageTryGet(s, pfn)) continue; // being freed: look again
      yield folioLock(ctx, pfn);
      if (filemapGet(s, index) === pfn) return pfn;
      folioUnlock(ctx, pfn); // truncated while we waited for the lock
      pagePut(ctx, pfn);
      continue;
    }
    if (hugetlbOn(s)) {
      // the 1G RFC's custom allocator: a hugetlb page or -ENOMEM, never a 4K fallback
      yield P['pfn-alloc'];
      const r = yield kvmGmemAllocHugetlbFolio(ctx, index);
      if (r < 0) return r;
      continue; // look it up: the folio is in the file now
    }
    if (ctx.sc.hugepages.gmem === 'thp') {
      // the THP RFC's kvm_gmem_get_folio: a 2M folio first, 4K when that is not possible
      yield P['pfn-alloc'];
      pfn = yield kvmGmemGetHugeFolio(ctx, index, policyIndex);
      if (pfn >= 0) return pfn;
    }
    const numa = ctx.numa;
    if (numa?.dynamic) {
      pfn = yield gmemAllocMpol(ctx, index);
    } else {
      yield P['pfn-alloc'];
      const ilPrev = numa ? numa.il.ilPrev : 0;
      if (numa) ctx.ev.policyLookupBegan(ctx, index);
      pfn = numa ? allocPage(ctx, PfnOwner.PageCache, index, PF_LOCKED, gmemPolicy(numa, s, policyIndex(ctx, index)), numa.byOffset ? index : undefined) : allocPage(ctx, PfnOwner.PageCache, index, PF_LOCKED);
      if (pfn >= 0) ctx.ev.folioAllocated(ctx, index, pfn, ilPrev);
    }
    if (pfn < 0) return -ENOMEM;
    folioLockedNew(ctx);
    yield P['filemap-insert'];
    ctx.ev.objectUsed(ctx, 'gmem-inode', index, 'filemap_add_folio');
    pfnRefAdd(s, pfn, 1); // the page cache's reference
    if (filemapInsert(s, index, pfn)) {
      // filemap_add_folio -> folio_add_lru: the per-CPU batch's reference (modelled on "next", where
      // the conversion's reference check meets it)
      if (attrsInGmemState(s)) folioAddLru(ctx, pfn);
      return pfn;
    }
    // Lost the insertion race: drop both references (frees it) and use the winner's folio.
    setPfnOwner(s, pfn, PfnOwner.Removed);
    folioUnlock(ctx, pfn);
    pagePut(ctx, pfn);
    pagePut(ctx, pfn);
  }
}

// kvm_gmem_get_folio's miss with runtime mbind: mpol_shared_policy_lookup (sp->lock, a reference),
// __filemap_get_folio_mpol with that policy (or the task's), then mpol_cond_put
function* gmemAllocMpol(ctx: ActorCtx, index: number): Gen<number> {
  const numa = ctx.numa!;
  ctx.ev.policyLookupBegan(ctx, index);
  const h = numa.inodePolicy ? yield mpolSharedPolicyLookup(ctx, policyIndex(ctx, index)) : -1;
  yield P['policy-alloc'];
  let pol = numa.task;
  if (h >= 0) {
    ctx.ev.objectUsed(ctx, 'mempolicy', h, '__filemap_get_folio_mpol');
    pol = numa.table[spObjPid(ctx.s, spHandleObj(h))] ?? numa.task;
  }
  const ilPrev = numa.il.ilPrev;
  const pfn = allocPage(ctx, PfnOwner.PageCache, index, PF_LOCKED, pol, numa.byOffset ? index : undefined);
  if (pfn >= 0) ctx.ev.folioAllocated(ctx, index, pfn, ilPrev);
  if (h >= 0) mpolCondPut(ctx, h);
  return pfn;
}

/** The offset the shared policy is looked up at: the file offset (B18: the offset within the memslot bound there). */
function policyIndex(ctx: ActorCtx, index: number): number {
  if (!ctx.bugs.B18) return index;
  const slot = bindingOf(ctx.s, index);
  return slot < 0 ? index : index - slotPgoff(ctx.s, slot);
}

/** kvm_gmem_get_pfn's max_order out-parameter, as the mapping level it allows (kvm_max_level_for_order). */
export interface GmemMaxOrder {
  level: number;
}

// kvm_gmem_get_pfn: the pfn backing gfn with a reference held for the caller, or -errno; `order`
// receives max_order's level (huge pages on; 4K otherwise, as upstream always reports 0)
export function* kvmGmemGetPfn(ctx: ActorCtx, slot: number, gfn: number, order?: GmemMaxOrder): Gen<number> {
  const s = ctx.s;
  const index = kvmGmemGetIndex(s, slot, gfn);
  yield P['binding-check'];
  if (!kvmGmemGetFile(ctx, slot, 'kvm_gmem_get_pfn')) {
    count(ctx, Ctr.fileGone);
    return -EFAULT; // closed (release cleared the pointer) or dying
  }
  // kernel "next": the attributes are guest_memfd's, stable under the invalidate lock (shared),
  // which a conversion holds exclusively while it checks the references and stores them
  const gmemAttrs = attrsInGmemState(s);
  // The THP RFC holds it too (its patch 2/5, "Hold filemap invalidate lock while
  // allocating/preparing folios"), for its preparedness bitmap
  const lock = (gmemAttrs && !ctx.bugs.B47) || ctx.sc.hugepages.gmem === 'thp'; // B47: without it, as on 7.0
  if (lock) yield invLockShared(ctx);
  const pfn = yield __kvmGmemGetPfn(ctx, slot, index);
  let r = pfn;
  if (order) order.level = pfn >= 0 && hugeOn(s) ? kvmGmemMaxLevel(ctx, slot, index, pfn) : 0;
  if (pfn >= 0) {
    // the uptodate gate and the arch hook; "next" prepares only a private index (a shared page
    // stays the host's: SNP must not assign it in the RMP), zeroing a shared one not yet uptodate
    if (!gmemAttrs || (gmemAttr(s, index) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0) r = yield kvmGmemPrepareFolio(ctx, pfn);
    else r = yield kvmGmemZeroFolio(ctx, pfn);
    folioUnlock(ctx, pfn);
    if (r < 0) pagePut(ctx, pfn); // a failed preparation hands out nothing
    else r = pfn;
  }
  if (lock) invUnlockShared(ctx);
  kvmGmemPutFile(ctx); // the scoped reference ends with the function
  return r;
}

// __kvm_gmem_get_pfn: the binding check and the locked folio, or -errno; a poisoned folio is
// unlocked, put and refused with -EHWPOISON (B32 forgets the put, c31745d2c508; B33 skips the check)
export function* __kvmGmemGetPfn(ctx: ActorCtx, slot: number, index: number): Gen<number> {
  ctx.ev.objectUsed(ctx, 'gmem-file', 0, '__kvm_gmem_get_pfn');
  if (bindingOf(ctx.s, index) !== slot) return -EIO;
  const pfn = yield kvmGmemGetFolio(ctx, index);
  if (pfn >= 0 && !ctx.bugs.B33 && (pfnFlags(ctx.s, pfn) & PF_HWPOISON) !== 0) {
    folioUnlock(ctx, pfn);
    if (!ctx.bugs.B32) pagePut(ctx, pfn);
    count(ctx, Ctr.ehwpoison);
    return -EHWPOISON;
  }
  return pfn;
}

// kvm_gmem_error_folio (->error_remove_folio, from memory_failure with the folio locked): zap
// the folio's range in every VM, and deliberately do not truncate (what to do is userspace's
// call); later faults get -EHWPOISON. Under the invalidate lock shared. B34 does not zap.
export function* kvmGmemErrorFolio(ctx: ActorCtx, index: number): Gen {
  yield P['error-folio'];
  yield invLockShared(ctx);
  if (!ctx.bugs.B34) {
    yield kvmGmemInvalidateBegin(ctx, index, index + 1);
    yield kvmGmemInvalidateEnd(ctx, index, index + 1);
  }
  invUnlockShared(ctx);
  ctx.ev.writerReturned(ctx, 'kvm_gmem_error_folio');
}

interface BoundRange {
  slot: number;
  gfn: number;
  n: number;
}

/** The memslots bound to file indices [start, end), clipped to it, in binding order (xa_for_each_range over f->bindings). */
function boundRanges(s: Shm, start: number, end: number): BoundRange[] {
  const out: BoundRange[] = [];
  end = Math.min(end, s.l.filePages);
  for (let i = start; i < end; i++) {
    const slot = bindingOf(s, i);
    if (slot < 0 || out.some((r) => r.slot === slot)) continue;
    const pgoff = slotPgoff(s, slot);
    const lo = Math.max(start, pgoff);
    const hi = Math.min(end, pgoff + slotNpages(s, slot));
    out.push({ slot, gfn: slotBaseGfn(s, slot) + lo - pgoff, n: hi - lo });
  }
  return out;
}

function* rangeAddOnly(ctx: ActorCtx, start: number, end: number): Gen {
  kvmMmuInvalidateRangeAdd(ctx, start, end);
}
function* zapSection(ctx: ActorCtx, ranges: BoundRange[]): Gen {
  yield mmuWriteLock(ctx);
  for (const r of ranges) yield kvmZapGfnRange(ctx, r.gfn, r.gfn + r.n);
  mmuWriteUnlock(ctx);
}
const beginAndUnmap = (ctx: ActorCtx, ranges: BoundRange[]) => kvmMmuInvalidateRangesBegin(ctx, ranges);
const beginAndRangeAdd = (ctx: ActorCtx, ranges: BoundRange[]) => kvmMmuInvalidateRangesBegin(ctx, ranges, rangeAddOnly);

// kvm_gmem_invalidate_begin: begin, then range_add + zap per bound slot, in one write section;
// B5 zaps first and begins (with range_add) in a later mmu_lock section
const GMEM_INVALIDATE_BEGIN = orders<[BoundRange[]]>('kvm_gmem_invalidate_begin', {
  upstream: [beginAndUnmap],
  B5: [zapSection, beginAndRangeAdd],
});

// kvm_gmem_invalidate_begin for file pages [start, end), if any memslot is bound there
// (kvm_gmem_for_each_file: a file kvm_gmem_release took off the inode's list is not visited)
export function* kvmGmemInvalidateBegin(ctx: ActorCtx, start: number, end: number): Gen {
  if (gmemFileState(ctx.s) !== GmemFileState.Live) return;
  ctx.ev.objectUsed(ctx, 'gmem-file', 0, 'kvm_gmem_invalidate_begin');
  const ranges = boundRanges(ctx.s, start, end);
  if (ranges.length > 0) for (const step of GMEM_INVALIDATE_BEGIN.of(ctx)) yield step(ctx, ranges);
}

// kvm_gmem_invalidate_end: end if any binding exists in range, looked up again. The bindings are
// stable under the invalidate lock, except against the unbind of a dying file, which erases them
// with no invalidate lock (ae431059e75d): under kvm_gmem_error_folio's shared lock the end can then
// be skipped (README "Upstream findings", litmus-hwpoison-unbind)
export const kvmGmemInvalidateEnd = (ctx: ActorCtx, start: number, end: number): Gen => (gmemFileState(ctx.s) === GmemFileState.Live && boundRanges(ctx.s, start, end).length > 0 ? kvmMmuInvalidateRangesEnd(ctx) : NO_CALL);

/** The result of the last hugetlb truncation by each actor (its punch returns it). */
const TRUNCATE_ERR = new WeakMap<ActorCtx, number>();

// truncate_inode_pages_range: remove each folio from the page cache under its lock (a hugetlb-backed
// file: kvm_gmem_truncate_inode_range; `exiting`: the inode's eviction, no reference check)
export function* truncateInodePagesRange(ctx: ActorCtx, start: number, end: number, exiting = false): Gen {
  const s = ctx.s;
  if (hugetlbOn(s)) {
    TRUNCATE_ERR.set(ctx, yield kvmGmemTruncateHugetlb(ctx, start, end, exiting, kvmGmemIsSafeForConversion));
    return;
  }
  end = Math.min(end, s.l.filePages);
  for (let i = start; i < end; i++) {
    yield P.truncate;
    const pfn = filemapGet(s, i);
    if (pfn < 0 || !pageTryGet(s, pfn)) continue;
    yield folioLock(ctx, pfn);
    lockdepAssertHeld(ctx, LockClass.Folio, true, 'filemap_remove_folio'); // VM_BUG_ON_FOLIO(!folio_test_locked(folio))
    if (hugeOn(s) && folioLevel(s, pfn) > 0) {
      if (filemapGet(s, i) === pfn) {
        i = truncateHugeFolio(ctx, i, pfn, start, end) - 1;
        continue;
      }
      folioUnlock(ctx, pfn);
      pagePut(ctx, pfn);
      continue;
    }
    // truncate_cleanup_folio: a folio the host has mapped is unmapped first; B25 leaves the PTE
    if (!ctx.bugs.B25 && hostPteGet(s, i) === pfn) yield unmapMappingFolio(ctx, i, pfn);
    if (filemapRemove(s, i, pfn)) {
      setPfnOwner(s, pfn, PfnOwner.Removed);
      ctx.ev.pageLeaving(ctx, pfn, 'truncated');
      pagePut(ctx, pfn); // the page cache's reference
    }
    folioUnlock(ctx, pfn);
    pagePut(ctx, pfn);
  }
}

// kvm_gmem_punch_hole's order: the invalidation (of [invStart, invEnd)) around the truncation of
// [start, end) (upstream); B7 truncates before it begins; B20 only truncates
const invBegin = (ctx: ActorCtx, _start: number, _end: number, invStart: number, invEnd: number) => kvmGmemInvalidateBegin(ctx, invStart, invEnd);
const invEnd = (ctx: ActorCtx, _start: number, _end: number, invStart: number, invEnd: number) => kvmGmemInvalidateEnd(ctx, invStart, invEnd);
const truncate = (ctx: ActorCtx, start: number, end: number) => truncateInodePagesRange(ctx, start, end);
const PUNCH_HOLE = orders<[number, number, number, number]>('kvm_gmem_punch_hole', {
  upstream: [invBegin, truncate, invEnd],
  B7: [truncate, invBegin, invEnd],
  B20: [truncate],
});

/**
 * The pages a punch of [start, end) invalidates: the range itself (upstream), but with huge folios
 * the huge pages it touches whole. A fault on a gfn outside the range can map a huge folio across it
 * (its retry check looks at its own gfn only), and the truncation then splits that folio and frees
 * the punched pages under the mapping; the THP RFC as posted invalidates the exact range, which is
 * B53 (README "Upstream findings"). The 1G RFC widens its conversions' invalidations the same way.
 */
function punchInvalidateRange(ctx: ActorCtx, start: number, end: number): [number, number] {
  // (hugetlb: a partly covered huge page is only zeroed, never freed: the exact range is enough)
  if (ctx.sc.hugepages.gmem !== 'thp' || ctx.bugs.B53) return [start, end];
  const nr = ctx.s.l.hugePages2m;
  return [start - (start % nr), Math.min(ctx.s.l.filePages, Math.ceil(end / nr) * nr)];
}

// kvm_gmem_punch_hole (fallocate PUNCH_HOLE|KEEP_SIZE) on file pages [start, end)
export function* kvmGmemPunchHole(ctx: ActorCtx, start: number, end: number): Gen<number> {
  const r = gmemFdget(ctx);
  if (r < 0) return r;
  count(ctx, Ctr.punchHoles);
  const lock = !ctx.bugs.B10; // B10: bindings may change between begin and end
  if (lock) yield invLock(ctx);
  const [invStart, invEnd] = punchInvalidateRange(ctx, start, end);
  TRUNCATE_ERR.delete(ctx);
  for (const step of PUNCH_HOLE.of(ctx)) yield step(ctx, start, end, invStart, invEnd);
  if (lock) invUnlock(ctx);
  ctx.ev.writerReturned(ctx, 'kvm_gmem_punch_hole');
  gmemFput(ctx);
  return TRUNCATE_ERR.get(ctx) ?? 0; // hugetlb: -EAGAIN when a split huge page it had to merge was referenced
}

// kvm_gmem_allocate (fallocate KEEP_SIZE) on file pages [start, end); partial success is kept
export function* kvmGmemAllocate(ctx: ActorCtx, start: number, end: number): Gen<number> {
  const fd = gmemFdget(ctx); // fallocate(2) looks the fd up before the range
  if (fd < 0) return fd;
  if (end > ctx.s.l.filePages) {
    gmemFput(ctx);
    return -EINVAL;
  }
  count(ctx, Ctr.fallocates);
  yield invLockShared(ctx);
  let r = 0;
  for (let i = start; i < end; i++) {
    const pfn = yield kvmGmemGetFolio(ctx, i);
    if (pfn < 0) {
      r = pfn;
      break;
    }
    folioUnlock(ctx, pfn);
    pagePut(ctx, pfn);
  }
  invUnlockShared(ctx);
  gmemFput(ctx);
  return r;
}

// kvm_gmem_bind: bind memslot `slot` at its pgoff (caller holds slots_lock)
export function* kvmGmemBind(ctx: ActorCtx, slot: number): Gen<number> {
  const s = ctx.s;
  const fd = gmemFdget(ctx); // fget(fd): the file is not the VM's to keep, the reference goes at the end
  if (fd < 0) return fd;
  yield invLock(ctx);
  yield P.bind;
  ctx.ev.objectUsed(ctx, 'gmem-file', 0, 'kvm_gmem_bind');
  const pgoff = slotPgoff(s, slot);
  const n = slotNpages(s, slot);
  let r = 0;
  for (let i = pgoff; i < pgoff + n; i++) if (bindingOf(s, i) >= 0) r = -EINVAL;
  if (r === 0) {
    for (let i = pgoff; i < pgoff + n; i++) setBinding(s, i, slot);
    ctx.ev.objectUsed(ctx, 'memslot', slot, 'kvm_gmem_bind');
    setSlotFile(s, slot, 1);
    setSlotGmemOnly(s, slot, (gmemInodeFlags(s) & GMEM_INODE_MMAP) !== 0); // a mmap-able file serves the slot's shared faults too
  }
  invUnlock(ctx);
  gmemFput(ctx);
  return r;
}

/** __kvm_gmem_unbind: erase the slot's bindings and its file pointer. */
function gmemUnbindLocked(ctx: ActorCtx, slot: number): void {
  const s = ctx.s;
  ctx.ev.objectUsed(ctx, 'gmem-file', 0, 'kvm_gmem_unbind');
  const pgoff = slotPgoff(s, slot);
  for (let i = pgoff, end = pgoff + slotNpages(s, slot); i < end; i++) clearBindingOf(s, i, slot);
  ctx.ev.objectUsed(ctx, 'memslot', slot, 'kvm_gmem_unbind');
  setSlotFile(s, slot, 0);
}

// kvm_gmem_unbind (from kvm_free_memslot; caller holds slots_lock), as ae431059e75d left it:
// nothing if release already ran; a dying file's bindings erased without the invalidate lock
// (release, which would erase them, waits for slots_lock); else under the invalidate lock.
// B29 returns on a dying file too, as before that fix: release later walks a freed memslot.
export function* kvmGmemUnbind(ctx: ActorCtx, slot: number): Gen {
  // no yield before the checks: slots_lock orders them against release; only the count can drop meanwhile
  if (slotFile(ctx.s, slot) === 0) return;
  if (!kvmGmemGetFile(ctx, slot, 'kvm_gmem_unbind')) {
    if (!ctx.bugs.B29) gmemUnbindLocked(ctx, slot);
    return;
  }
  yield invLock(ctx);
  yield P.unbind;
  gmemUnbindLocked(ctx, slot);
  invUnlock(ctx);
  kvmGmemPutFile(ctx);
}

// kvm_gmem_set_policy (vm_ops->set_policy, reached from mbind_range for one VMA piece whose cached
// vm_policy differs): mpol_set_shared_policy on the piece's file range
export function* kvmGmemSetPolicy(ctx: ActorCtx, start: number, end: number, pid: number): Gen<number> {
  yield P.mbind;
  ctx.ev.mbindBegan(ctx, start, end, pid);
  const err = yield mpolSetSharedPolicy(ctx, start, end, pid);
  ctx.ev.mbindReturned(ctx, err);
  return err;
}

// kvm_gmem_get_policy (vm_ops->get_policy): the shared tree's policy at the file offset, or NULL,
// which get_mempolicy reports as MPOL_DEFAULT; B19 falls back to the task's policy instead
// (the lookup, its report and mpol_cond_put in one step: the caller holds sp->lock or nothing writes the tree)
export function kvmGmemGetPolicy(ctx: ActorCtx, index: number): Mempolicy | null {
  const numa = ctx.numa!;
  return numa.table[spPidAt(ctx.s, index)] ?? (ctx.bugs.B19 ? numa.task : null);
}

// get_mempolicy(MPOL_F_ADDR) at file offset `index` of the gmem mapping
export function getMempolicyAddr(ctx: ActorCtx, index: number): MempolicyReport {
  ctx.ev.policyLookupBegan(ctx, index);
  return getMempolicyReport(kvmGmemGetPolicy(ctx, index));
}

// get_mempolicy(MPOL_F_ADDR) while runtime mbind calls may be editing the tree: kvm_gmem_get_policy
// through mpol_shared_policy_lookup (its lockless empty-tree test, sp->lock, a reference), then the
// report and mpol_cond_put
export function* getMempolicyAddrLocked(ctx: ActorCtx, index: number): Gen<MempolicyReport> {
  ctx.ev.policyLookupBegan(ctx, index);
  const numa = ctx.numa!;
  const h = yield mpolSharedPolicyLookup(ctx, index);
  const pol = h >= 0 ? numa.table[spObjPid(ctx.s, spHandleObj(h))] : null;
  const r = getMempolicyReport(pol ?? (ctx.bugs.B19 ? numa.task : null));
  if (h >= 0) mpolCondPut(ctx, h);
  return r;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmGmemGetFolio, gmemAllocMpol, kvmGmemGetPfn, __kvmGmemGetPfn, kvmGmemErrorFolio, rangeAddOnly, zapSection, kvmGmemInvalidateBegin, truncateInodePagesRange, kvmGmemPunchHole, kvmGmemAllocate, kvmGmemBind, kvmGmemUnbind, kvmGmemSetPolicy, getMempolicyAddrLocked });
