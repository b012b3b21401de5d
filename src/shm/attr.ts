// The memory attributes, wherever the baseline keeps them: the VM's per-gfn words (the
// mem_attr_array xarray, every release up to 7.0), or, with the in-place conversion series
// (kernel "next"), guest_memfd's per-file-index words (gmem_inode.attributes, a maple tree the
// filemap invalidate lock guards for writers; KVM reads it under RCU only).
import { G_ATTRS_GMEM } from './layout.js';
import { gfnAttr } from './gfn.js';
import { gfnToMemslot, kvmGmemGetIndex, slotFile } from './slot.js';
import type { Shm } from './state.js';

/** Whether guest_memfd owns the attributes (kernel "next": vm_memory_attributes = 0). */
export const attrsInGmemState = (s: Shm) => s.i32[G_ATTRS_GMEM] === 1;
// Each index's word: the attributes in the low byte, and above them how many stores it has had (a
// ghost sequence, so a checker on another thread can tell that a conversion ran while it looked)
const ATTR_MASK = 0xff;
/** The attributes of file index `index` (mtree_load). */
export const gmemAttr = (s: Shm, index: number) => Atomics.load(s.i32, s.l.gmemAttrBase + index) & ATTR_MASK;
/** The attributes with their store count: two equal reads mean no store came between them. */
export const gmemAttrWord = (s: Shm, index: number) => Atomics.load(s.i32, s.l.gmemAttrBase + index);
/** Store the attributes (writers hold the invalidate lock exclusively: no two race). */
export function setGmemAttr(s: Shm, index: number, attrs: number): void {
  const w = s.l.gmemAttrBase + index;
  Atomics.store(s.i32, w, ((Atomics.load(s.i32, w) >>> 8) + 1) * 256 + (attrs & ATTR_MASK));
}

/**
 * kvm_get_memory_attributes(kvm, gfn): the VM's xarray, or with guest_memfd owning them
 * kvm_gmem_get_memory_attributes: the memslot holding gfn (none: 0), its file (none: 0), the
 * attributes at the gfn's index. Lockless: the caller must rely on the mmu_invalidate retry.
 * (The file reference the kernel takes for the lookup is not modelled: the read is one step.)
 */
export function memAttrOfGfn(s: Shm, gfn: number): number {
  if (!attrsInGmemState(s)) return gfnAttr(s, gfn);
  const slot = gfnToMemslot(s, gfn);
  if (slot < 0 || slotFile(s, slot) === 0) return 0;
  const index = kvmGmemGetIndex(s, slot, gfn);
  return index < s.l.filePages ? gmemAttr(s, index) : 0;
}


/** ghost: host PTEs removed at file index `index` so far (kernel "next" only) */
export const hostPteClears = (s: Shm, index: number) => Atomics.load(s.i32, s.l.hostPteClearsBase + index);
export const hostPteClearsBump = (s: Shm, index: number) => Atomics.add(s.i32, s.l.hostPteClearsBase + index, 1);
