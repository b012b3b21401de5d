// Ghost bookkeeping for the checker (not kernel state): when a gfn's content may legitimately
// change (conversion, truncation, discard) its epoch moves, and a punched/discarded view must
// read zeroes until the guest writes it.
import { F_EPOCH, F_ZERO, gfnWord } from '../shm/layout.js';
import { memslotPieces, type Shm } from '../shm/state.js';

export function ghostContentChanged(s: Shm, gfn: number, zeroView: number): void {
  Atomics.add(s.i32, gfnWord(s.l, gfn, F_EPOCH), 1);
  if (zeroView) Atomics.or(s.i32, gfnWord(s.l, gfn, F_ZERO), zeroView);
}

/** The gfns file page `index` backs through any memslot's binding (also a deleted slot's: it is re-created in place). */
export function forEachGfnOfIndex(s: Shm, index: number, fn: (gfn: number) => void): void {
  for (const p of memslotPieces(s, 'index', index, index + 1, false)) fn(p.gfn);
}

/** The gfn that HVA page `hva` backs, or -1. */
export function gfnOfHva(s: Shm, hva: number): number {
  return memslotPieces(s, 'hva', hva, hva + 1, false)[0]?.gfn ?? -1;
}
