// hugetlb-backed guest_memfd, as Ackerley Tng's "1G page support for guest_memfd" RFC v2
// (2025-05-14, tree gmem-1g-page-support-rfc-v2) has it, on kernel "next"'s in-place conversion:
// every folio is one hugetlb page (2M or 1G) taken from the file's subpool, reserved whole at
// creation; it is split into 4K folios while any of its pages is shared and merged back once all are
// private (kvm_gmem_restructure_folios_in_range), each restructuring freezing the references at the
// page cache's first and spinning while someone else holds one (a speculative folio_try_get).
// A punch zeroes the huge pages it covers in part and truncates those it covers whole, merging a
// split one first (its pages unmapped and their references checked: -EAGAIN).
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { EAGAIN, ENOMEM } from '../errno.js';
import { allocPages, pagePut, pagePutRefs, pageTryGet } from '../mm/page_alloc.js';
import { gmemAttr } from '../shm/attr.js';
import { filemapGet, filemapInsert, filemapRemove } from '../shm/file.js';
import { clearFolio, folioHead, folioLevel, hugeBlockLevel, hugetlbSpoolGet, hugetlbSpoolPut, pagesPerLevel, setFolio } from '../shm/huge.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, PF_ARCH_PREPARED, PF_LOCKED, PF_UPTODATE, PfnOwner } from '../shm/layout.js';
import { folioRefWord, pageOwnFlags, pfnFlags, pfnRef, pfnRefAdd, pfnRefCas, setPfnContent, setPfnFlags, setPfnOwner, setPfnRef } from '../shm/pfn.js';
import { folioLock, folioLockedNew, folioUnlock, waitEqual } from '../sync/ops.js';
import { unmapMappingPages } from './user_mapping.js';
import { registerPaths } from '../engine/fiber.js';

const alignDown = (i: number, nr: number) => i - (i % nr);
/** pages in the file's hugetlb page */
export const hugetlbNr = (ctx: ActorCtx) => pagesPerLevel(ctx.s, hugeBlockLevel(ctx.s));
const shared = (ctx: ActorCtx, i: number) => (gmemAttr(ctx.s, i) & KVM_MEMORY_ATTRIBUTE_PRIVATE) === 0;

/** Retry the page-cache lookup (the folio is in the file now, or another CPU's is). */
export const HUGETLB_LOOKUP = 1;

/**
 * kvm_gmem_get_folio's miss with the custom allocator: a hugetlb page from the subpool, split into 4K
 * folios if any page of its range is shared (kvm_gmem_try_split_folio_in_filemap), added at the huge
 * index (another CPU's won: merged back and freed, look again). HUGETLB_LOOKUP, or -ENOMEM (no
 * reservation left, or no page on the nodes). The model splits before the folio enters the page
 * cache, where the RFC adds it and then splits: so no lookup meets a huge folio with a shared page
 * (the host's fault refuses one with a WARN) or holds a reference the split's freeze must wait out.
 */
export function* kvmGmemAllocHugetlbFolio(ctx: ActorCtx, index: number): Gen<number> {
  const s = ctx.s;
  const level = hugeBlockLevel(s);
  const nr = pagesPerLevel(s, level);
  const ai = alignDown(index, nr);
  // guestmem_hugetlb_alloc_folio: hugepage_subpool_get_pages, then the hstate's node lists in the task's policy order
  if (!hugetlbSpoolGet(s)) {
    count(ctx, Ctr.hugetlbEnomem);
    return -ENOMEM;
  }
  const numa = ctx.numa;
  // locked, as __filemap_add_folio wants it: a lookup that meets it waits until every index is in
  const head = allocPages(ctx, level, PfnOwner.PageCache, ai, PF_LOCKED, numa ? numa.task : null, undefined, true);
  if (head < 0) {
    hugetlbSpoolPut(s);
    return -ENOMEM;
  }
  folioLockedNew(ctx);
  count(ctx, Ctr.hugeFolios);
  let anyShared = false;
  for (let i = ai; i < ai + nr && !anyShared; i++) anyShared = shared(ctx, i); // stable: we hold the invalidate lock shared
  if (anyShared) yield kvmGmemSplitFolio(ctx, head, 1); // only the allocation's reference (a PFN walker's is waited out)
  yield P['filemap-insert'];
  ctx.ev.objectUsed(ctx, 'gmem-inode', ai, 'filemap_add_folio');
  for (let i = 0; i < nr; i++) {
    pfnRefAdd(s, head + i, 1); // the page cache's reference, one per page
    if (filemapInsert(s, ai + i, head + i)) continue;
    // -EEXIST: another CPU's folio is there; this one goes back to the hstate whole (and its reservation)
    for (let j = 0; j <= i; j++) {
      if (j < i) filemapRemove(s, ai + j, head + j);
      pfnRefAdd(s, head + j, -1);
    }
    for (let j = 0; j < nr; j++) setPfnOwner(s, head + j, PfnOwner.Removed);
    folioUnlock(ctx, head);
    if (anyShared) reform(ctx, head, level);
    pagePut(ctx, head);
    return HUGETLB_LOOKUP;
  }
  folioUnlock(ctx, head);
  pagePut(ctx, head); // the allocation's reference: the page cache's remain
  return HUGETLB_LOOKUP;
}

/** Make the 4K pieces of a page nobody else references one folio again, with the head's count. */
function reform(ctx: ActorCtx, head: number, level: number): void {
  const s = ctx.s;
  const nr = pagesPerLevel(s, level);
  let refs = 0;
  for (let j = 0; j < nr; j++) refs += pfnRef(s, head + j);
  for (let j = 1; j < nr; j++) {
    setPfnRef(s, head + j, 0);
    setPfnFlags(s, head + j, pageOwnFlags(s, head + j) & PF_ARCH_PREPARED);
  }
  setFolio(s, head, level);
  setPfnRef(s, head, refs);
}

/**
 * folio_ref_freeze(folio, expected): the count goes from `expected` to 0 in one step, so a
 * folio_try_get meanwhile fails, and filemap_remove_folio_for_restructuring spins until it can. The
 * spin is a blocking wait on the count, so exhaustive search treats the spinner as waiting, and a
 * reference never dropped is reported as the hang it is. The caller unfreezes by setting the counts.
 */
function* freezeRefs(ctx: ActorCtx, pfn: number, expected: number): Gen {
  if (ctx.bugs.B52) return; // restructured with whatever else is held, which the new counts then forget
  let waited = false;
  while (!pfnRefCas(ctx.s, pfn, expected, 0)) {
    if (!waited) count(ctx, Ctr.freezeSpins);
    waited = true;
    yield waitEqual(ctx, folioRefWord(ctx.s, pfn), expected, P['folio-freeze']);
  }
}

// kvm_gmem_split_folio_in_filemap: with the references frozen at the expected count (the page
// cache's, one a page; a fresh folio's: the allocation's), the huge folio becomes nr 4K folios in
// place with the head's flags, each page its share of the count
export function* kvmGmemSplitFolio(ctx: ActorCtx, head: number, expected: number): Gen {
  const s = ctx.s;
  const nr = pagesPerLevel(s, folioLevel(s, head));
  if (nr === 1) return;
  yield freezeRefs(ctx, head, expected);
  const flags = pfnFlags(s, head) & ~PF_LOCKED;
  const each = expected === nr ? 1 : 0;
  clearFolio(s, head, nr);
  setPfnRef(s, head, expected - each * (nr - 1)); // unfrozen: each page its share
  for (let j = 1; j < nr; j++) {
    setPfnRef(s, head + j, each);
    // the folio's flags, and the page's own prepared bit (the head's word holds the head page's)
    setPfnFlags(s, head + j, (flags & ~PF_ARCH_PREPARED) | (pageOwnFlags(s, head + j) & PF_ARCH_PREPARED));
  }
  count(ctx, Ctr.folioSplits);
}

// kvm_gmem_merge_folio_in_filemap: the 4K folios of huge index ai, each frozen at its page-cache
// reference, become one huge folio again; false when
// the range is not the 4K pieces of one hugetlb page
export function* kvmGmemMergeFolio(ctx: ActorCtx, ai: number): Gen<boolean> {
  const s = ctx.s;
  const level = hugeBlockLevel(s);
  const nr = pagesPerLevel(s, level);
  const head = filemapGet(s, ai);
  if (head < 0 || folioLevel(s, head) !== 0 || head % nr !== 0) return false;
  for (let j = 0; j < nr; j++) if (filemapGet(s, ai + j) !== head + j || folioLevel(s, head + j) !== 0) return false;
  for (let j = 0; j < nr; j++) yield freezeRefs(ctx, head + j, 1);
  // every piece frozen at 0: the merged folio's count is the page cache's, one a page
  // A piece never handed out (split at allocation, never faulted) is not uptodate: it is zeroed
  // now, so the merged folio is uptodate and its other pages keep what the guest wrote (zeroing the
  // whole folio at the next kvm_gmem_get_pfn would lose it). Prepared only if every piece was.
  let flags = ~0;
  let refs = 0;
  for (let j = 0; j < nr; j++) {
    const f = pfnFlags(s, head + j);
    if ((f & PF_UPTODATE) === 0) setPfnContent(s, head + j, 0);
    flags &= f | PF_UPTODATE;
    refs += 1;
  }
  // inside a huge folio a tail's own word keeps only its prepared bit (a page's, not the folio's); its count is unused
  for (let j = 1; j < nr; j++) {
    setPfnRef(s, head + j, 0);
    setPfnFlags(s, head + j, pageOwnFlags(s, head + j) & PF_ARCH_PREPARED);
  }
  const headPrepared = pageOwnFlags(s, head) & PF_ARCH_PREPARED;
  setFolio(s, head, level);
  setPfnRef(s, head, refs);
  setPfnFlags(s, head, (flags & ~(PF_LOCKED | PF_ARCH_PREPARED)) | headPrepared);
  count(ctx, Ctr.folioMerges);
  return true;
}

// kvm_gmem_restructure_folios_in_range after a conversion's store: to shared, the huge folios of the
// range are split; to private, each huge range of it is merged if none of its pages is still shared
export function* kvmGmemRestructureFolios(ctx: ActorCtx, start: number, end: number, toPrivate: boolean): Gen {
  const s = ctx.s;
  const nr = hugetlbNr(ctx);
  for (let ai = alignDown(start, nr); ai < end; ai += nr) {
    yield P['folio-restructure'];
    const pfn = filemapGet(s, ai);
    if (pfn < 0) continue;
    if (!toPrivate) {
      if (folioLevel(s, pfn) > 0) yield kvmGmemSplitFolio(ctx, folioHead(s, pfn), pagesPerLevel(s, folioLevel(s, pfn)));
      continue;
    }
    let anyShared = false;
    for (let i = ai; i < ai + nr && !anyShared; i++) anyShared = shared(ctx, i);
    if (!anyShared) yield kvmGmemMergeFolio(ctx, ai);
  }
}

/**
 * kvm_gmem_truncate_inode_range for a punch (or, `exiting`, the inode's eviction) of [start, end):
 * the huge pages covered in part are zeroed there and kept; those covered whole are truncated, a
 * split one merged first, after unmapping the host and checking the references (a reference the
 * kernel cannot drop: -EAGAIN, and the rest of the range is left). 0 or -EAGAIN.
 */
export function* kvmGmemTruncateHugetlb(ctx: ActorCtx, start: number, end: number, exiting: boolean, isSafe: (ctx: ActorCtx, start: number, end: number) => Gen<number>): Gen<number> {
  const s = ctx.s;
  const nr = hugetlbNr(ctx);
  end = Math.min(end, s.l.filePages);
  for (let ai = alignDown(start, nr); ai < end; ai += nr) {
    yield P.truncate;
    const lo = Math.max(start, ai);
    const hi = Math.min(end, ai + nr);
    if (lo > ai || hi < ai + nr) {
      // kvm_gmem_zero_range: the pages stay, their content goes
      for (let i = lo; i < hi; i++) {
        const pfn = filemapGet(s, i);
        if (pfn < 0) continue;
        setPfnContent(s, pfn, 0);
        ctx.ev.folioZeroed(ctx, pfn);
      }
      count(ctx, Ctr.folioZeroed);
      continue;
    }
    let pfn = filemapGet(s, ai);
    if (pfn < 0) continue;
    if (folioLevel(s, pfn) === 0) {
      // the inode's eviction truncates the 4K pieces as they are (the pool gets the page back when
      // the last is freed); a punch merges them first (kvm_gmem_merge_truncate_indices)
      if (exiting) {
        for (let i = ai; i < ai + nr; i++) {
          const p = filemapGet(s, i);
          if (p >= 0) yield truncateWhole(ctx, i, p, 1);
        }
        continue;
      }
      yield unmapMappingPages(ctx, ai, ai + nr);
      if ((yield isSafe(ctx, ai, ai + nr)) >= 0) return -EAGAIN;
      if (!(yield kvmGmemMergeFolio(ctx, ai))) continue;
      pfn = filemapGet(s, ai);
    }
    yield truncateWhole(ctx, ai, folioHead(s, pfn), nr);
  }
  return 0;
}

// truncate_inode_folio of a whole hugetlb folio, under its lock: out of the page cache, back to the hstate when the last reference goes
function* truncateWhole(ctx: ActorCtx, ai: number, head: number, nr: number): Gen {
  const s = ctx.s;
  if (!pageTryGet(s, head)) return;
  yield folioLock(ctx, head);
  for (let j = 0; j < nr; j++) filemapRemove(s, ai + j, head + j);
  for (let j = 0; j < nr; j++) {
    setPfnOwner(s, head + j, PfnOwner.Removed);
    ctx.ev.pageLeaving(ctx, head + j, 'truncated');
  }
  pagePutRefs(ctx, head, nr);
  folioUnlock(ctx, head);
  pagePut(ctx, head);
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmGmemAllocHugetlbFolio, freezeRefs, kvmGmemSplitFolio, kvmGmemMergeFolio, kvmGmemRestructureFolios, kvmGmemTruncateHugetlb, truncateWhole });
