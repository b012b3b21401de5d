// x86's lpage_info and KVM_LPAGE_MIXED_FLAG (arch/x86/kvm/mmu/mmu.c and x86.c at 5b0d0d85422d):
// per memslot and per huge level, a disallow_lpage word per potential huge page. Its count says a
// huge page cannot be mapped for the memslot's shape (a head or tail the slot covers only partly,
// a memslot whose gfns and file offsets disagree in the low bits); its MIXED bit says the huge
// page's attributes are not uniform. KVM_SET_MEMORY_ATTRIBUTES widens its invalidation to the
// huge pages it changes only in part (pre phase) and recomputes MIXED (post phase).
import { gfnAttr } from '../shm/gfn.js';
import { Level, lpageDisallow, lpageMixed, lpageWord, pagesPerLevel, setLpageCount, setLpageMixed } from '../shm/huge.js';
import { slotBaseGfn, slotNpages, slotPgoff } from '../shm/slot.js';
import type { Shm } from '../shm/state.js';
import { LPAGE_MISALIGNED } from '../shm/layout.js';

const HUGE_LEVELS = [Level.L2M, Level.L1G];
const alignDown = (g: number, nr: number) => g - (g % nr);

/** The memslot's first and last gfn, and whether huge page [gfn, gfn + nr) lies wholly inside it. */
function inSlot(s: Shm, slot: number, gfn: number, nr: number): boolean {
  const base = slotBaseGfn(s, slot);
  return gfn >= base && gfn + nr <= base + slotNpages(s, slot);
}

// kvm_range_has_memory_attributes over one 2M page
function rangeHasAttrs(s: Shm, start: number, end: number, attrs: number): boolean {
  for (let g = start; g < end; g++) if (gfnAttr(s, g) !== attrs) return false;
  return true;
}

// hugepage_has_attrs: at 2M every gfn has exactly attrs; at 1G every 2M sub-page is not MIXED and
// its first gfn has attrs (the 2M flags were recomputed first)
function hugepageHasAttrs(s: Shm, slot: number, gfn: number, level: number, attrs: number): boolean {
  const nr = pagesPerLevel(s, level);
  if (level === Level.L2M) return rangeHasAttrs(s, gfn, gfn + nr, attrs);
  const base = slotBaseGfn(s, slot);
  const sub = pagesPerLevel(s, Level.L2M);
  for (let g = gfn; g < gfn + nr; g += sub) {
    if (lpageMixed(s, lpageWord(s, slot, base, g, Level.L2M)) || gfnAttr(s, g) !== attrs) return false;
  }
  return true;
}

const setMixed = (s: Shm, slot: number, gfn: number, level: number, mixed: boolean) => setLpageMixed(s, lpageWord(s, slot, slotBaseGfn(s, slot), gfn, level), mixed);

/**
 * kvm_alloc_memslot_metadata's lpage_info (x86.c) and kvm_mmu_init_memslot_memory_attributes, at
 * memslot creation: a head or tail huge page the memslot covers only in part is disallowed, and
 * every one when base_gfn and the guest_memfd offset disagree in the level's low bits (the 1G RFC
 * v2's patch 31; the same rule upstream applies to userspace_addr, which the model takes as
 * aligned). Then MIXED from the attributes.
 */
export function initLpageInfo(s: Shm, slot: number): void {
  const base = slotBaseGfn(s, slot);
  const npages = slotNpages(s, slot);
  const pgoff = slotPgoff(s, slot);
  for (const level of HUGE_LEVELS) {
    const nr = pagesPerLevel(s, level);
    const first = lpageWord(s, slot, base, base, level);
    const last = lpageWord(s, slot, base, base + npages - 1, level);
    for (let w = first; w <= last; w++) Atomics.store(s.i32, w, 0); // fresh metadata
    if (base % nr !== 0) setLpageCount(s, first, 1);
    if ((base + npages) % nr !== 0) setLpageCount(s, last, 1);
    if (((base ^ pgoff) & (nr - 1)) !== 0) for (let w = first; w <= last; w++) Atomics.or(s.i32, w, LPAGE_MISALIGNED);
    // kvm_mmu_init_memslot_memory_attributes: the huge pages wholly inside the memslot
    for (let g = alignDown(base + nr - 1, nr); g + nr <= base + npages; g += nr) setMixed(s, slot, g, level, !hugepageHasAttrs(s, slot, g, level, gfnAttr(s, g)));
  }
}

/**
 * kvm_arch_pre_set_memory_attributes' widening: the head and tail huge pages that [start, end)
 * changes only in part, inside the memslot and not MIXED, which the caller adds to the invalidation
 * (so a fault on their gfns that are not changing retries rather than maps the huge page from the
 * attributes as they were).
 */
export function preSetWidening(s: Shm, slot: number, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const base = slotBaseGfn(s, slot);
  for (const level of HUGE_LEVELS) {
    const nr = pagesPerLevel(s, level);
    const head = alignDown(start, nr);
    const tail = alignDown(end - 1, nr);
    if ((head !== start || head + nr > end) && inSlot(s, slot, head, nr) && !lpageMixed(s, lpageWord(s, slot, base, head, level))) out.push([head, head + nr]);
    if (tail === head) continue;
    if (tail + nr > end && inSlot(s, slot, tail, nr) && !lpageMixed(s, lpageWord(s, slot, base, tail, level))) out.push([tail, tail + nr]);
  }
  return out;
}

// kvm_arch_post_set_memory_attributes (under mmu_lock for write and slots_lock; 2M before 1G, whose
// test reads the 2M flags): the head and tail huge pages recomputed, the ones wholly inside the
// range cleared unchecked (each of their gfns just got attrs)
export function kvmArchPostSetMemoryAttributes(s: Shm, slot: number, start: number, end: number, attrs: number): void {
  for (const level of HUGE_LEVELS) {
    const nr = pagesPerLevel(s, level);
    let gfn = alignDown(start, nr);
    if (gfn < start || gfn + nr > end) {
      if (inSlot(s, slot, gfn, nr)) setMixed(s, slot, gfn, level, !hugepageHasAttrs(s, slot, gfn, level, attrs));
      gfn += nr;
    }
    for (; gfn + nr <= end; gfn += nr) setMixed(s, slot, gfn, level, false);
    if (gfn < end && inSlot(s, slot, gfn, nr)) setMixed(s, slot, gfn, level, !hugepageHasAttrs(s, slot, gfn, level, attrs));
  }
}

/** What kvm_mmu_max_mapping_level's lpage walk allows at gfn: the highest level up to `max` whose disallow_lpage is 0 (B50: the misaligned-memslot reason left out). */
export function lpageMaxLevel(s: Shm, slot: number, gfn: number, max: number, noPgoffRule = false): number {
  const base = slotBaseGfn(s, slot);
  const mask = noPgoffRule ? ~LPAGE_MISALIGNED : ~0;
  let level = max;
  while (level > Level.L4K && (lpageDisallow(s, lpageWord(s, slot, base, gfn, level)) & mask) !== 0) level--;
  return level;
}

/** The checker's view (I24): whether huge page gfn's MIXED bit agrees with its attributes, for the huge pages wholly inside the memslot. */
export function lpageMixedAgrees(s: Shm, slot: number, gfn: number, level: number): boolean {
  const nr = pagesPerLevel(s, level);
  const g = alignDown(gfn, nr);
  if (!inSlot(s, slot, g, nr)) return true;
  const mixed = lpageMixed(s, lpageWord(s, slot, slotBaseGfn(s, slot), g, level));
  let uniform = true;
  for (let x = g + 1; x < g + nr && uniform; x++) uniform = gfnAttr(s, x) === gfnAttr(s, g);
  return mixed === !uniform;
}
