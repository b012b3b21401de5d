// Per-memslot words and the lookups over them (the active memslot set, gfn -> file index / HVA).
// A slot keeps its base, size and gmem offset while deleted, so re-creating it restores it.
import { G_GMEM_FLAGS, KVM_MEMSLOT_GMEM_ONLY, PfnOwner, S_BASE_GFN, S_FILE, S_FLAGS, S_GENERATION, S_HVA_BASE, S_NPAGES, S_OBJECT, S_PGOFF, S_STATE, SlotState, slotWord } from './layout.js';
import type { Shm } from './state.js';

/** SlotState */
export const slotState = (s: Shm, slot: number) => Atomics.load(s.i32, slotWord(s.l, slot, S_STATE));
export const setSlotState = (s: Shm, slot: number, state: number) => Atomics.store(s.i32, slotWord(s.l, slot, S_STATE), state);
export const slotGenerationBump = (s: Shm, slot: number) => Atomics.add(s.i32, slotWord(s.l, slot, S_GENERATION), 1);
export const slotBaseGfn = (s: Shm, slot: number) => s.i32[slotWord(s.l, slot, S_BASE_GFN)];
export const slotNpages = (s: Shm, slot: number) => s.i32[slotWord(s.l, slot, S_NPAGES)];
/** slot->gmem.pgoff: the file page offset of base_gfn */
export const slotPgoff = (s: Shm, slot: number) => s.i32[slotWord(s.l, slot, S_PGOFF)];
export const slotHvaBase = (s: Shm, slot: number) => s.i32[slotWord(s.l, slot, S_HVA_BASE)];
/** slot->gmem.file: 1 bound to the gmem file, 0 NULL (unbound or released) */
export const slotFile = (s: Shm, slot: number) => Atomics.load(s.i32, slotWord(s.l, slot, S_FILE));
export const setSlotFile = (s: Shm, slot: number, v: number) => Atomics.store(s.i32, slotWord(s.l, slot, S_FILE), v);

/** The gmem inode's flags (GMEM_INODE_MMAP | GMEM_INODE_INIT_SHARED), fixed at creation. */
export const gmemInodeFlags = (s: Shm) => s.i32[G_GMEM_FLAGS];
export const setGmemInodeFlags = (s: Shm, flags: number) => (s.i32[G_GMEM_FLAGS] = flags);
/** slot->flags & KVM_MEMSLOT_GMEM_ONLY (set by kvm_gmem_bind when the file has GUEST_MEMFD_FLAG_MMAP) */
export const kvmMemslotIsGmemOnly = (s: Shm, slot: number) => (Atomics.load(s.i32, slotWord(s.l, slot, S_FLAGS)) & KVM_MEMSLOT_GMEM_ONLY) !== 0;
export const setSlotGmemOnly = (s: Shm, slot: number, on: boolean) => Atomics.store(s.i32, slotWord(s.l, slot, S_FLAGS), on ? KVM_MEMSLOT_GMEM_ONLY : 0);

/**
 * What backs gfn in slot for an access of this type: the gmem folio at its file index (private,
 * or any access to a gmem-only slot), else the HVA page. The checkers judge a mapping by it.
 */
export function gfnBacking(s: Shm, slot: number, gfn: number, isPrivate: boolean): { owner: number; index: number } {
  return isPrivate || kvmMemslotIsGmemOnly(s, slot) ? { owner: PfnOwner.PageCache, index: kvmGmemGetIndex(s, slot, gfn) } : { owner: PfnOwner.Hva, index: gfnToHva(s, slot, gfn) };
}

/** Write a slot's geometry (state build). */
export function initSlot(s: Shm, slot: number, baseGfn: number, npages: number, pgoff: number, hvaBase: number, gmemOnly: boolean): void {
  s.i32[slotWord(s.l, slot, S_STATE)] = SlotState.Valid;
  s.i32[slotWord(s.l, slot, S_BASE_GFN)] = baseGfn;
  s.i32[slotWord(s.l, slot, S_NPAGES)] = npages;
  s.i32[slotWord(s.l, slot, S_PGOFF)] = pgoff;
  s.i32[slotWord(s.l, slot, S_FILE)] = 1;
  s.i32[slotWord(s.l, slot, S_HVA_BASE)] = hvaBase;
  s.i32[slotWord(s.l, slot, S_FLAGS)] = gmemOnly ? KVM_MEMSLOT_GMEM_ONLY : 0;
  s.i32[slotWord(s.l, slot, S_OBJECT)] = 1;
}

/** Whether the struct kvm_memory_slot exists: allocated by a create, freed by kvm_free_memslot. */
export const memslotAllocated = (s: Shm, slot: number) => Atomics.load(s.i32, slotWord(s.l, slot, S_OBJECT)) === 1;
export const setMemslotAllocated = (s: Shm, slot: number, on: boolean) => Atomics.store(s.i32, slotWord(s.l, slot, S_OBJECT), on ? 1 : 0);

/** The memslot holding gfn, or -1 (kvm's gfn_to_memslot over the active set; absent slots skipped). */
export function gfnToMemslot(s: Shm, gfn: number): number {
  for (let id = 0; id < s.l.nSlots; id++) {
    if (slotState(s, id) === SlotState.Absent) continue;
    const base = slotBaseGfn(s, id);
    if (gfn >= base && gfn < base + slotNpages(s, id)) return id;
  }
  return -1;
}

/** The memslot whose gfn range holds gfn, deleted or not (the ghost outlives a memslot), or -1. */
export function memslotCovering(s: Shm, gfn: number): number {
  for (let id = 0; id < s.l.nSlots; id++) {
    const base = slotBaseGfn(s, id);
    if (gfn >= base && gfn < base + slotNpages(s, id)) return id;
  }
  return -1;
}

/** kvm_gmem_get_index: file page index of gfn in slot. */
export const kvmGmemGetIndex = (s: Shm, slot: number, gfn: number) => gfn - slotBaseGfn(s, slot) + slotPgoff(s, slot);

/** HVA page index of gfn in slot (userspace_addr + offset). */
export const gfnToHva = (s: Shm, slot: number, gfn: number) => gfn - slotBaseGfn(s, slot) + slotHvaBase(s, slot);

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
  const out: SlotPiece[] = [];
  const base = space === 'gfn' ? slotBaseGfn : space === 'index' ? slotPgoff : slotHvaBase;
  for (let id = 0; id < s.l.nSlots; id++) {
    if (activeOnly && slotState(s, id) === SlotState.Absent) continue;
    const b = base(s, id);
    const lo = Math.max(start, b);
    const hi = Math.min(end, b + slotNpages(s, id));
    if (lo >= hi) continue;
    const off = lo - b;
    out.push({ slot: id, gfn: slotBaseGfn(s, id) + off, index: slotPgoff(s, id) + off, hva: slotHvaBase(s, id) + off, n: hi - lo });
  }
  return out;
}

export const slotGeneration = (s: Shm, slot: number) => Atomics.load(s.i32, slotWord(s.l, slot, S_GENERATION));
/** test setup: a slot's gmem offset written directly */
export const setSlotPgoff = (s: Shm, slot: number, pgoff: number) => Atomics.store(s.i32, slotWord(s.l, slot, S_PGOFF), pgoff);
