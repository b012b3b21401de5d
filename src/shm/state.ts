// The shared state: one SharedArrayBuffer, viewed as Int32 words, built from a scenario.
import type { Scenario } from '../scenario/types.js';
import {
  computeLayout,
  G_MAGIC,
  G_VERSION,
  G_NGFNS,
  G_NSLOTS,
  G_FILE_PAGES,
  G_NPFNS,
  G_NACTORS,
  G_RANGE_START,
  G_RANGE_END,
  G_SRCU_EPOCH,
  INVALID_GFN,
  LAYOUT_VERSION,
  MAGIC,
  S_BASE_GFN,
  S_FILE,
  S_HVA_BASE,
  S_NPAGES,
  S_PGOFF,
  S_STATE,
  SlotState,
  N_CAPACITY,
  N_FREE_TOP,
  N_PFN_BASE,
  nodeWord,
  slotWord,
  type Layout,
  type LayoutConfig,
} from './layout.js';

export interface Shm {
  sab: SharedArrayBuffer;
  i32: Int32Array;
  l: Layout;
}

export function actorCount(sc: Scenario): number {
  return sc.vcpus.count + 1 + sc.converter.count + sc.puncher.count + sc.slotChurn.count;
}

export function layoutConfigFor(sc: Scenario, scheduleWords = 0): LayoutConfig {
  let nGfns = 0;
  let hvaPages = 0;
  for (const s of sc.slots) {
    nGfns = Math.max(nGfns, s.baseGfn + s.npages);
    hvaPages += s.npages;
  }
  return {
    nGfns,
    nSlots: sc.slots.length,
    filePages: sc.gmemPages,
    hvaPages,
    nPfns: sc.pfnPool,
    nActors: actorCount(sc),
    nNodes: sc.numa ? sc.numa.nodes.length : 1,
    mmuLock: sc.mmuLock,
    scheduleWords,
  };
}

/** Allocate and initialise the state for a scenario: memslots created and bound, all pfns free. */
export function createShm(sc: Scenario, scheduleWords = 0): Shm {
  const l = computeLayout(layoutConfigFor(sc, scheduleWords));
  const sab = new SharedArrayBuffer(l.bytes);
  const s = { sab, i32: new Int32Array(sab), l };
  initShm(s, sc);
  return s;
}

/**
 * Reset a state built by createShm(sc) to what createShm(sc) returns, in place: every word zeroed,
 * then initialised again. The sim engine reuses one buffer across an explore campaign's schedules
 * this way instead of allocating (and zero-filling) a SharedArrayBuffer per schedule.
 */
export function resetShm(s: Shm, sc: Scenario): void {
  s.i32.fill(0);
  initShm(s, sc);
}

/** Write the initial state of a zeroed buffer: memslots created and bound, all pfns free. */
function initShm(s: Shm, sc: Scenario): void {
  const { i32, l } = s;
  i32[G_MAGIC] = MAGIC;
  i32[G_VERSION] = LAYOUT_VERSION;
  i32[G_NGFNS] = l.nGfns;
  i32[G_NSLOTS] = l.nSlots;
  i32[G_FILE_PAGES] = l.filePages;
  i32[G_NPFNS] = l.nPfns;
  i32[G_NACTORS] = l.nActors;
  i32[G_RANGE_START] = INVALID_GFN;
  i32[G_RANGE_END] = INVALID_GFN;
  i32[G_SRCU_EPOCH] = 1;
  let hva = 0;
  sc.slots.forEach((s, id) => {
    i32[slotWord(l, id, S_STATE)] = SlotState.Valid;
    i32[slotWord(l, id, S_BASE_GFN)] = s.baseGfn;
    i32[slotWord(l, id, S_NPAGES)] = s.npages;
    i32[slotWord(l, id, S_PGOFF)] = s.gmemOffset;
    i32[slotWord(l, id, S_FILE)] = 1;
    i32[slotWord(l, id, S_HVA_BASE)] = hva;
    hva += s.npages;
    for (let i = 0; i < s.npages; i++) i32[l.bindingBase + s.gmemOffset + i] = id + 1;
  });
  // Each node's pfns in a row; its free stack has its lowest pfn on top (allocation order reads well in traces).
  const caps = sc.numa ? sc.numa.nodes.map((n) => n.capacity) : [l.nPfns];
  let base = 0;
  caps.forEach((cap, node) => {
    i32[nodeWord(l, node, N_PFN_BASE)] = base;
    i32[nodeWord(l, node, N_CAPACITY)] = cap;
    i32[nodeWord(l, node, N_FREE_TOP)] = cap;
    for (let i = 0; i < cap; i++) i32[l.freeStackBase + base + i] = base + cap - 1 - i;
    base += cap;
  });
}

/** Re-attach to a SharedArrayBuffer built by createShm (in a worker). */
export function attachShm(sab: SharedArrayBuffer, cfg: LayoutConfig): Shm {
  const l = computeLayout(cfg);
  const i32 = new Int32Array(sab);
  if (i32[G_MAGIC] !== MAGIC || i32[G_VERSION] !== LAYOUT_VERSION) {
    throw new Error(`shared state: bad magic or layout version (${i32[G_MAGIC]}/${i32[G_VERSION]})`);
  }
  return { sab, i32, l };
}

/** The memslot holding gfn, or -1 (kvm's gfn_to_memslot over the active set; absent slots skipped). */
export function gfnToMemslot(s: Shm, gfn: number): number {
  const { i32, l } = s;
  for (let id = 0; id < l.nSlots; id++) {
    if (i32[slotWord(l, id, S_STATE)] === SlotState.Absent) continue;
    const base = i32[slotWord(l, id, S_BASE_GFN)];
    if (gfn >= base && gfn < base + i32[slotWord(l, id, S_NPAGES)]) return id;
  }
  return -1;
}

/** kvm_gmem_get_index: file page index of gfn in slot. */
export function kvmGmemGetIndex(s: Shm, slot: number, gfn: number): number {
  const { i32, l } = s;
  return gfn - i32[slotWord(l, slot, S_BASE_GFN)] + i32[slotWord(l, slot, S_PGOFF)];
}

/** HVA page index of gfn in slot (userspace_addr + offset). */
export function gfnToHva(s: Shm, slot: number, gfn: number): number {
  const { i32, l } = s;
  return gfn - i32[slotWord(l, slot, S_BASE_GFN)] + i32[slotWord(l, slot, S_HVA_BASE)];
}

/** A memslot's share of a range, in all three address spaces it links. */
export interface SlotPiece {
  slot: number;
  gfn: number;
  /** gmem file page index */
  index: number;
  /** userspace (HVA) page index */
  hva: number;
  n: number;
}

/**
 * The memslots meeting [start, end) of one address space, clipped to it, in slot order.
 * `activeOnly`: skip deleted slots (what KVM's walks of the active memslot set see); otherwise
 * include them: the VMM's RAM map and the checker's ghost outlive a memslot.
 */
export function memslotPieces(s: Shm, space: 'gfn' | 'index' | 'hva', start: number, end: number, activeOnly: boolean): SlotPiece[] {
  const { i32, l } = s;
  const out: SlotPiece[] = [];
  const baseWord = space === 'gfn' ? S_BASE_GFN : space === 'index' ? S_PGOFF : S_HVA_BASE;
  for (let id = 0; id < l.nSlots; id++) {
    if (activeOnly && Atomics.load(i32, slotWord(l, id, S_STATE)) === SlotState.Absent) continue;
    const b = i32[slotWord(l, id, baseWord)];
    const lo = Math.max(start, b);
    const hi = Math.min(end, b + i32[slotWord(l, id, S_NPAGES)]);
    if (lo >= hi) continue;
    const off = lo - b;
    out.push({
      slot: id,
      gfn: i32[slotWord(l, id, S_BASE_GFN)] + off,
      index: i32[slotWord(l, id, S_PGOFF)] + off,
      hva: i32[slotWord(l, id, S_HVA_BASE)] + off,
      n: hi - lo,
    });
  }
  return out;
}
