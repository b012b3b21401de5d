// The huge-page predicates (issue 14), stated as the kernel's general guarantees: a huge SPTE
// never spans gfns of different attributes (I3), the lpage MIXED flags agree with the attributes
// whenever no attribute change is under way (I24), and a huge SPTE maps one folio at least its size,
// page for page (I25). Each judges one unit of state; invariants.ts wires them to events and sweeps.
import { spteLevel } from '../kvm/spte.js';
import { lpageMixedAgrees } from '../kvm/lpage_info.js';
import { attrsInGmemState, memAttrOfGfn } from '../shm/attr.js';
import { sptePfn } from '../shm/gfn.js';
import { folioHead, folioLevel, hugeOn, LEVEL_NAMES, pagesPerLevel } from '../shm/huge.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, PfnOwner, SlotState } from '../shm/layout.js';
import { pfnGen, pfnOwner } from '../shm/pfn.js';
import { spteGen } from '../shm/gfn.js';
import { slotBaseGfn, slotNpages, slotState } from '../shm/slot.js';
import type { Shm } from '../shm/state.js';

const attrName = (a: number) => ((a & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0 ? 'private' : 'shared');

/** The huge leaf covering gfn: its level and first gfn, or null (4K, or not present). */
function hugeLeaf(s: Shm, gfn: number): { level: number; base: number; nr: number } | null {
  if (!hugeOn(s)) return null;
  const level = spteLevel(s, gfn);
  if (level === 0) return null;
  const nr = pagesPerLevel(s, level);
  return { level, base: gfn - (gfn % nr), nr };
}

// ---- I3: a huge SPTE's gfns all have the same attributes ----
/** `anyGfn`: judge the leaf gfn is in (an event's gfn); else only at the leaf's first gfn (a sweep judges each leaf once, not once a page). */
export function hugeSpteMixed(s: Shm, gfn: number, anyGfn = false): string | null {
  const leaf = hugeLeaf(s, gfn);
  if (!leaf || (!anyGfn && gfn !== leaf.base)) return null;
  const a = memAttrOfGfn(s, leaf.base);
  for (let g = leaf.base + 1; g < leaf.base + leaf.nr; g++) {
    const b = memAttrOfGfn(s, g);
    if (b !== a) return `a ${LEVEL_NAMES[leaf.level]} SPTE maps gfns ${leaf.base}..${leaf.base + leaf.nr - 1}, whose attributes differ (gfn ${leaf.base} ${attrName(a)}, gfn ${g} ${attrName(b)})`;
  }
  return null;
}

// ---- I25: a huge SPTE maps one folio of at least its size, its pages in order ----
/** `anyGfn`: judge the leaf gfn is in (an event's gfn); else only at the leaf's first gfn (a sweep judges each leaf once). */
export function hugeSpteFolio(s: Shm, gfn: number, anyGfn = false): string | null {
  const leaf = hugeLeaf(s, gfn);
  if (!leaf || (!anyGfn && gfn !== leaf.base)) return null;
  const pfn = sptePfn(s, leaf.base);
  // a page freed or gone from the file since: I1's
  if (pfnOwner(s, pfn) !== PfnOwner.PageCache || pfnGen(s, pfn) !== spteGen(s, leaf.base)) return null;
  const head = folioHead(s, pfn);
  const what = `a ${LEVEL_NAMES[leaf.level]} SPTE at gfns ${leaf.base}..${leaf.base + leaf.nr - 1}`;
  if (folioLevel(s, pfn) < leaf.level) return `${what} maps pfn ${pfn}, whose folio is ${LEVEL_NAMES[folioLevel(s, pfn)]}: it maps pages that are not one folio (split under the mapping?)`;
  if ((pfn - head) % leaf.nr !== 0) return `${what} starts at pfn ${pfn}, page ${pfn - head} of its folio: not aligned to the mapping's size`;
  for (let i = 1; i < leaf.nr; i++) {
    const p = sptePfn(s, leaf.base + i);
    if (p !== pfn + i || spteLevel(s, leaf.base + i) !== leaf.level) return `${what}: gfn ${leaf.base + i} maps ${p < 0 ? 'nothing' : `pfn ${p}`}${p === pfn + i ? ` at another level` : ''}, not pfn ${pfn + i} of the same leaf`;
  }
  return null;
}

// ---- I24: lpage MIXED agrees with the attributes (no attribute change under way) ----
/** The first huge page of the valid memslots meeting gfns [start, end) whose MIXED flag disagrees with its attributes. */
export function mixedDisagrees(s: Shm, start: number, end: number): string | null {
  // kernel "next": guest_memfd's attributes; KVM keeps no MIXED flag for them (the folio's order stands in)
  if (!hugeOn(s) || attrsInGmemState(s)) return null;
  for (let slot = 0; slot < s.l.nSlots; slot++) {
    if (slotState(s, slot) !== SlotState.Valid) continue;
    const base = slotBaseGfn(s, slot);
    const lo = Math.max(start, base);
    const hi = Math.min(end, base + slotNpages(s, slot));
    for (const level of [1, 2]) {
      const nr = pagesPerLevel(s, level);
      for (let g = lo - (lo % nr); g < hi; g += nr) {
        if (!lpageMixedAgrees(s, slot, g, level)) return `memslot ${slot}: the ${LEVEL_NAMES[level]} page at gfns ${g}..${g + nr - 1} has KVM_LPAGE_MIXED_FLAG ${uniformName(s, g, nr)} with no attribute change under way`;
      }
    }
  }
  return null;
}

function uniformName(s: Shm, g: number, nr: number): string {
  for (let x = g + 1; x < g + nr; x++) if (memAttrOfGfn(s, x) !== memAttrOfGfn(s, g)) return 'clear while its attributes are mixed';
  return 'set while its attributes are uniform';
}
