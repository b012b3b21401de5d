// Ghost bookkeeping for the checker (not kernel state): when a gfn's content may legitimately
// change (conversion, truncation, discard) its epoch moves, and a punched/discarded view must
// read zeroes until the guest writes it.
import { F_EPOCH, F_ZERO, S_BASE_GFN, S_HVA_BASE, S_NPAGES, S_PGOFF, gfnWord, slotWord } from '../shm/layout.js';
import type { Shm } from '../shm/state.js';

export function ghostContentChanged(s: Shm, gfn: number, zeroView: number): void {
  Atomics.add(s.i32, gfnWord(s.l, gfn, F_EPOCH), 1);
  if (zeroView) Atomics.or(s.i32, gfnWord(s.l, gfn, F_ZERO), zeroView);
}

/** The gfns that file index `index` backs, through every memslot's binding (also a deleted one, which is re-created at the same place). */
export function forEachGfnOfIndex(s: Shm, index: number, fn: (gfn: number) => void): void {
  const { i32, l } = s;
  for (let id = 0; id < l.nSlots; id++) {
    const off = index - i32[slotWord(l, id, S_PGOFF)];
    if (off >= 0 && off < i32[slotWord(l, id, S_NPAGES)]) fn(i32[slotWord(l, id, S_BASE_GFN)] + off);
  }
}

/** The gfn that HVA page `hva` backs. */
export function gfnOfHva(s: Shm, hva: number): number {
  const { i32, l } = s;
  for (let id = 0; id < l.nSlots; id++) {
    const off = hva - i32[slotWord(l, id, S_HVA_BASE)];
    if (off >= 0 && off < i32[slotWord(l, id, S_NPAGES)]) return i32[slotWord(l, id, S_BASE_GFN)] + off;
  }
  return -1;
}
