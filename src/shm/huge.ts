// Huge-page words (issue 14; they exist only when Scenario.hugepages is on): each pfn's folio word
// (struct folio's order and the page's place in it), each node's free 2M blocks, and each memslot's
// lpage_info (slot->arch.lpage_info[level - 2][idx].disallow_lpage). Accessors only.
import { FOLIO_LEVEL_SHIFT, FOLIO_OFFSET_MASK, FOLIO_POOL, G_HUGETLB, G_HUGETLB_SPOOL, KVM_LPAGE_MIXED_FLAG, N_HUGE_BASE, N_HUGE_TOP, nodeWord } from './layout.js';
import type { Shm } from './state.js';

/** PG_LEVEL_4K, PG_LEVEL_2M, PG_LEVEL_1G as 0, 1, 2 (the kernel's 1, 2, 3) */
export const Level = { L4K: 0, L2M: 1, L1G: 2 } as const;
export const LEVEL_NAMES = ['4K', '2M', '1G'] as const;

/** Huge pages are on (the words below exist). */
export const hugeOn = (s: Shm) => s.l.hugePages2m > 0;
/** KVM_PAGES_PER_HPAGE(level): 4K pages a leaf of the level maps (scaled by the scenario) */
export const pagesPerLevel = (s: Shm, level: number) => (level === 0 ? 1 : level === 1 ? s.l.hugePages2m : s.l.hugePages1g);

/** The level of the nodes' free huge blocks: 2M (THP's buddy order, hugetlb-2m) or 1G (hugetlb-1g). */
export const hugeBlockLevel = (s: Shm) => s.l.hugeBlockLevel;
/** The guest_memfd is hugetlb-backed (the 1G RFC): every folio is one hugetlb page, split or whole. */
export const hugetlbOn = (s: Shm) => s.i32[G_HUGETLB] === 1;
/** hugepage_subpool_get_pages(spool, 1): take a reservation, false when none is left (-ENOMEM) */
export function hugetlbSpoolGet(s: Shm): boolean {
  for (;;) {
    const n = Atomics.load(s.i32, G_HUGETLB_SPOOL);
    if (n <= 0) return false;
    if (Atomics.compareExchange(s.i32, G_HUGETLB_SPOOL, n, n - 1) === n) return true;
  }
}
/** hugepage_subpool_put_pages(spool, 1) */
export const hugetlbSpoolPut = (s: Shm) => Atomics.add(s.i32, G_HUGETLB_SPOOL, 1);
export const hugetlbSpoolFree = (s: Shm) => Atomics.load(s.i32, G_HUGETLB_SPOOL);

// ---- folios ----
const folioWord = (s: Shm, pfn: number) => s.l.folioBase + pfn;
/** The folio's level (0: order 0). */
export const folioLevel = (s: Shm, pfn: number) => (hugeOn(s) ? Atomics.load(s.i32, folioWord(s, pfn)) >>> FOLIO_LEVEL_SHIFT : 0);
/** folio_nr_pages */
export const folioNrPages = (s: Shm, pfn: number) => pagesPerLevel(s, folioLevel(s, pfn));
/** page_folio: the head pfn of the folio holding pfn (itself for order 0) */
export function folioHead(s: Shm, pfn: number): number {
  if (!hugeOn(s)) return pfn;
  return pfn - (Atomics.load(s.i32, folioWord(s, pfn)) & FOLIO_OFFSET_MASK);
}
/** Make [head, head + nr) one folio of `level` (0: nr order-0 folios: a split). */
export function setFolio(s: Shm, head: number, level: number): void {
  const nr = pagesPerLevel(s, level);
  for (let i = 0; i < nr; i++) {
    const w = folioWord(s, head + i);
    Atomics.store(s.i32, w, (Atomics.load(s.i32, w) & FOLIO_POOL) | (level === 0 ? 0 : (level << FOLIO_LEVEL_SHIFT) | i));
  }
}
/** Split a huge folio into order-0 folios (the words only; the caller moves references and flags). */
export function clearFolio(s: Shm, head: number, nr: number): void {
  for (let i = 0; i < nr; i++) Atomics.and(s.i32, folioWord(s, head + i), FOLIO_POOL);
}
/** The page is the hugetlb pool's (state build marks the pool's blocks). */
export const poolPage = (s: Shm, pfn: number) => hugeOn(s) && (Atomics.load(s.i32, folioWord(s, pfn)) & FOLIO_POOL) !== 0;
/** Whether the node's huge stack holds block `head` (caller holds the zone lock). */
export function hugeStackHas(s: Shm, node: number, head: number): boolean {
  const { i32, l } = s;
  const base = l.hugeStackBase + i32[nodeWord(l, node, N_HUGE_BASE)];
  for (let k = 0, top = i32[nodeWord(l, node, N_HUGE_TOP)]; k < top; k++) if (i32[base + k] === head) return true;
  return false;
}

// ---- free 2M blocks per node (caller holds the node's zone lock) ----
export const hugeFree = (s: Shm, node: number) => Atomics.load(s.i32, nodeWord(s.l, node, N_HUGE_TOP));
export function hugeStackPop(s: Shm, node: number): number {
  const { i32, l } = s;
  const top = i32[nodeWord(l, node, N_HUGE_TOP)];
  if (top === 0) return -1;
  Atomics.store(i32, nodeWord(l, node, N_HUGE_TOP), top - 1);
  return i32[l.hugeStackBase + i32[nodeWord(l, node, N_HUGE_BASE)] + top - 1];
}
export function hugeStackPush(s: Shm, node: number, head: number): void {
  const { i32, l } = s;
  const top = i32[nodeWord(l, node, N_HUGE_TOP)];
  i32[l.hugeStackBase + i32[nodeWord(l, node, N_HUGE_BASE)] + top] = head;
  Atomics.store(i32, nodeWord(l, node, N_HUGE_TOP), top + 1);
}
/**
 * State build: the node's aligned blocks go to its huge stack (lowest on top), at most `maxBlocks`
 * of them (hugetlb: the hstate pool holds what the file reserves), the other pfns to its 4K stack;
 * `stackAt` is where its stack starts in the region. Returns the pfns for the 4K stack, in the
 * order they must be pushed (highest first).
 */
export function initHugeNode(s: Shm, node: number, base: number, cap: number, stackAt: number, maxBlocks = Infinity): number[] {
  const { i32, l } = s;
  const nr = pagesPerLevel(s, l.hugeBlockLevel);
  const heads: number[] = [];
  const loose: number[] = [];
  for (let p = base; p < base + cap; ) {
    if (p % nr === 0 && p + nr <= base + cap && heads.length < maxBlocks) {
      heads.push(p);
      p += nr;
    } else loose.push(p++);
  }
  i32[nodeWord(l, node, N_HUGE_BASE)] = stackAt;
  i32[nodeWord(l, node, N_HUGE_TOP)] = heads.length;
  if (i32[G_HUGETLB] === 1) for (const h of heads) for (let i = 0; i < nr; i++) i32[l.folioBase + h + i] = FOLIO_POOL;
  heads.reverse().forEach((h, k) => (i32[l.hugeStackBase + stackAt + k] = h));
  return loose.reverse();
}

// ---- lpage_info (slot->arch.lpage_info[level - 2][idx]) ----
/** the word of lpage_info_slot(gfn, slot, level): idx = (gfn >> shift) - (base_gfn >> shift) */
export function lpageWord(s: Shm, slot: number, baseGfn: number, gfn: number, level: number): number {
  const nr = pagesPerLevel(s, level);
  const idx = Math.floor(gfn / nr) - Math.floor(baseGfn / nr);
  return s.l.lpageBase + (slot * 2 + level - 1) * s.l.lpageEntries + idx;
}
export const lpageDisallow = (s: Shm, word: number) => Atomics.load(s.i32, word);
export const lpageMixed = (s: Shm, word: number) => (Atomics.load(s.i32, word) & KVM_LPAGE_MIXED_FLAG) !== 0;
/** hugepage_set_mixed / hugepage_clear_mixed (under mmu_lock for write) */
export function setLpageMixed(s: Shm, word: number, mixed: boolean): void {
  if (mixed) Atomics.or(s.i32, word, KVM_LPAGE_MIXED_FLAG);
  else Atomics.and(s.i32, word, ~KVM_LPAGE_MIXED_FLAG);
}
/** set the reason count (kvm_alloc_memslot_metadata's "1": a head, a tail, or a misaligned memslot) */
export function setLpageCount(s: Shm, word: number, n: number): void {
  Atomics.store(s.i32, word, (Atomics.load(s.i32, word) & KVM_LPAGE_MIXED_FLAG) | n);
}
