// Huge folios in guest_memfd, as Michael Roth's THP RFC (2024-12-12, on kvm-coco-queue-2024-11)
// has them: kvm_gmem_get_huge_folio on a page-cache miss, the max_order kvm_gmem_get_pfn reports,
// and the truncation of a huge folio (whole, or in part: truncate_inode_partial_folio splits it,
// or zeroes the range when the split fails). Reached only with Scenario.hugepages on.
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { allocPages, pagePut, pagePutRefs } from '../mm/page_alloc.js';
import { gmemPolicy } from '../mm/policy.js';
import { filemapGet, filemapInsert, filemapRemove } from '../shm/file.js';
import { clearFolio, folioHead, folioLevel, hugetlbOn, Level, pagesPerLevel } from '../shm/huge.js';
import { PF_ARCH_PREPARED, PF_LOCKED, PfnOwner } from '../shm/layout.js';
import { pageOwnFlags, pfnFlags, pfnRefAdd, pfnRefCas, setPfnContent, setPfnFlags, setPfnOwner, setPfnRef } from '../shm/pfn.js';
import { slotNpages, slotPgoff } from '../shm/slot.js';
import { folioLockedNew, folioUnlock } from '../sync/ops.js';
import { registerPaths } from '../engine/fiber.js';

const alignDown = (i: number, nr: number) => i - (i % nr);

/**
 * kvm_gmem_get_huge_folio(inode, index, PMD_ORDER): a locked 2M folio added to the page cache at
 * the aligned index, with a reference for the caller, returned as the pfn of `index`; or -1 when
 * the aligned range is not inside i_size, already has a page, no 2M block is free, or another
 * CPU's folio got into the range first (the caller falls back to 4K).
 */
export function* kvmGmemGetHugeFolio(ctx: ActorCtx, index: number, policyIndex: (ctx: ActorCtx, index: number) => number): Gen<number> {
  const s = ctx.s;
  const nr = pagesPerLevel(s, Level.L2M);
  const ai = alignDown(index, nr);
  if (ai + nr > s.l.filePages || filemapRangeHasPage(ctx, ai, ai + nr)) return fallback(ctx);
  const numa = ctx.numa;
  const ilPrev = numa ? numa.il.ilPrev : 0;
  if (numa) ctx.ev.policyLookupBegan(ctx, ai);
  const head = allocPages(ctx, Level.L2M, PfnOwner.PageCache, ai, PF_LOCKED, numa ? gmemPolicy(numa, s, policyIndex(ctx, ai)) : null, numa?.byOffset ? ai : undefined, false);
  if (head < 0) return fallback(ctx);
  ctx.ev.folioAllocated(ctx, ai, head, ilPrev);
  folioLockedNew(ctx);
  yield P['filemap-insert'];
  ctx.ev.objectUsed(ctx, 'gmem-inode', ai, 'filemap_add_folio');
  pfnRefAdd(s, head, nr); // the page cache's references: one per page
  // filemap_add_folio of a large folio stores every index or none (-EEXIST)
  for (let i = 0; i < nr; i++) {
    if (filemapInsert(s, ai + i, head + i)) continue;
    for (let j = 0; j < i; j++) filemapRemove(s, ai + j, head + j);
    for (let j = 0; j < nr; j++) setPfnOwner(s, head + j, PfnOwner.Removed);
    folioUnlock(ctx, head);
    pagePutRefs(ctx, head, nr + 1);
    return fallback(ctx);
  }
  count(ctx, Ctr.hugeFolios);
  return head + index - ai;
}

function fallback(ctx: ActorCtx): number {
  count(ctx, Ctr.hugeFallbacks);
  return -1;
}

// filemap_range_has_page
function filemapRangeHasPage(ctx: ActorCtx, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (filemapGet(ctx.s, i) >= 0) return true;
  return false;
}

/**
 * The mapping level kvm_gmem_get_pfn's max_order allows for the folio pfn at `index` of memslot
 * `slot` (kvm_max_level_for_order): the folio's order, but 4K when the aligned huge range is not
 * wholly inside the memslot's binding (__kvm_gmem_get_pfn's clamp in the THP RFC, then the min
 * with folio_order).
 */
export function kvmGmemMaxLevel(ctx: ActorCtx, slot: number, index: number, pfn: number): number {
  const s = ctx.s;
  // hugetlb (the 1G RFC): folio_order, no clamp (lpage_info's misalignment rule stands in for it)
  if (hugetlbOn(s)) return folioLevel(s, pfn);
  // B54: PMD_ORDER clamped to the binding only, not to folio_order (a 4K fallback folio reported 2M)
  const level = ctx.bugs.B54 ? Level.L2M : folioLevel(s, pfn);
  if (level === Level.L4K) return level;
  const nr = pagesPerLevel(s, level);
  const ai = alignDown(index, nr);
  const pgoff = slotPgoff(s, slot);
  return ai >= pgoff && ai + nr <= pgoff + slotNpages(s, slot) ? level : Level.L4K;
}

/**
 * truncate_inode_pages_range's step on the huge folio pfn (at file index i, locked, with our
 * reference) for a truncation of [start, end): a folio wholly inside goes whole; one the range
 * covers in part is split (split_folio freezes the references at the page cache's and ours, and
 * fails otherwise) and its pages are truncated as 4K folios, or, when the split
 * fails, zeroed where they are. Unlocks and puts the folio; returns the next index to look at.
 */
export function truncateHugeFolio(ctx: ActorCtx, i: number, pfn: number, start: number, end: number): number {
  const s = ctx.s;
  const head = folioHead(s, pfn);
  const nr = pagesPerLevel(s, folioLevel(s, head));
  const ai = i - (pfn - head);
  if (ai >= start && ai + nr <= end) {
    for (let j = 0; j < nr; j++) filemapRemove(s, ai + j, head + j);
    for (let j = 0; j < nr; j++) {
      setPfnOwner(s, head + j, PfnOwner.Removed);
      ctx.ev.pageLeaving(ctx, head + j, 'truncated');
    }
    pagePutRefs(ctx, head, nr); // the page cache's references
    folioUnlock(ctx, head);
    pagePut(ctx, head);
    return ai + nr;
  }
  const lo = Math.max(start, ai);
  const hi = Math.min(end, ai + nr);
  // split_folio: folio_ref_freeze at the page cache's references and ours, which fails (and the
  // split with it) while anyone else holds one; a folio_try_get meanwhile fails on the frozen count
  if (pfnRefCas(s, head, nr + 1, 0)) {
    splitHugeFolio(ctx, head, nr);
    folioUnlock(ctx, head);
    pagePut(ctx, head);
    return lo; // the loop truncates the covered pages, 4K folios now
  }
  for (let j = lo; j < hi; j++) {
    setPfnContent(s, head + j - ai, 0);
    ctx.ev.folioZeroed(ctx, head + j - ai);
  }
  count(ctx, Ctr.folioZeroed);
  folioUnlock(ctx, head);
  pagePut(ctx, head);
  return hi;
}

// __split_folio_to_order(folio, 0) after the freeze: each tail page becomes a folio of its own with
// the page cache's reference and the head's flags (unlocked); the head keeps ours, and the lock
function splitHugeFolio(ctx: ActorCtx, head: number, nr: number): void {
  const s = ctx.s;
  const flags = pfnFlags(s, head);
  clearFolio(s, head, nr);
  setPfnRef(s, head, 2); // unfrozen: the page cache's and ours
  for (let j = 1; j < nr; j++) {
    setPfnRef(s, head + j, 1);
    // the folio's flags, and the page's own prepared bit (the head's word holds the head page's)
    setPfnFlags(s, head + j, (flags & ~(PF_LOCKED | PF_ARCH_PREPARED)) | (pageOwnFlags(s, head + j) & PF_ARCH_PREPARED));
  }
  count(ctx, Ctr.folioSplits);
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmGmemGetHugeFolio });
