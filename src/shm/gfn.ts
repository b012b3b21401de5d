// Per-gfn words: the memory attribute (mem_attr_array), the TDP MMU's 4K leaf SPTE (pfn + 1,
// the pfn's generation at install, flags), and the checker's ghost epoch and zero bits.
import { F_ATTR, F_EPOCH, F_SPTE_FLAGS, F_SPTE_GEN, F_SPTE_PFN, F_ZERO, SPTE_PRIVATE, gfnWord } from './layout.js';
import type { Shm } from './state.js';

export const gfnAttr = (s: Shm, gfn: number) => Atomics.load(s.i32, gfnWord(s.l, gfn, F_ATTR));
export const setGfnAttr = (s: Shm, gfn: number, attrs: number) => Atomics.store(s.i32, gfnWord(s.l, gfn, F_ATTR), attrs);

/** the pfn the SPTE maps, or -1 when not present */
export const sptePfn = (s: Shm, gfn: number) => Atomics.load(s.i32, gfnWord(s.l, gfn, F_SPTE_PFN)) - 1;
export const spteGen = (s: Shm, gfn: number) => Atomics.load(s.i32, gfnWord(s.l, gfn, F_SPTE_GEN));
export const spteFlags = (s: Shm, gfn: number) => Atomics.load(s.i32, gfnWord(s.l, gfn, F_SPTE_FLAGS));
export const sptePrivate = (s: Shm, gfn: number) => (spteFlags(s, gfn) & SPTE_PRIVATE) !== 0;
export const setSpteGen = (s: Shm, gfn: number, gen: number) => Atomics.store(s.i32, gfnWord(s.l, gfn, F_SPTE_GEN), gen);
export const setSpteFlags = (s: Shm, gfn: number, flags: number) => Atomics.store(s.i32, gfnWord(s.l, gfn, F_SPTE_FLAGS), flags);
/** make the SPTE present with `pfn` if it still maps `oldPfn` (-1: not present); false when another CPU got there first */
export const spteCmpxchg = (s: Shm, gfn: number, oldPfn: number, pfn: number) => Atomics.compareExchange(s.i32, gfnWord(s.l, gfn, F_SPTE_PFN), oldPfn + 1, pfn + 1) === oldPfn + 1;
/** clear the SPTE, returning the pfn it mapped (-1: it was not present) */
export const spteClear = (s: Shm, gfn: number) => Atomics.exchange(s.i32, gfnWord(s.l, gfn, F_SPTE_PFN), 0) - 1;
/** test setup only: an SPTE written directly */
export const setSptePfn = (s: Shm, gfn: number, pfn: number) => Atomics.store(s.i32, gfnWord(s.l, gfn, F_SPTE_PFN), pfn + 1);

// ghost (checker bookkeeping): the epoch moves when the gfn's content may legitimately change;
// the zero bits (ZERO_PRIVATE / ZERO_SHARED) say a view must read zeroes until it is written
export const gfnEpoch = (s: Shm, gfn: number) => Atomics.load(s.i32, gfnWord(s.l, gfn, F_EPOCH));
export const gfnEpochBump = (s: Shm, gfn: number) => Atomics.add(s.i32, gfnWord(s.l, gfn, F_EPOCH), 1);
export const gfnZero = (s: Shm, gfn: number) => Atomics.load(s.i32, gfnWord(s.l, gfn, F_ZERO));
export const gfnZeroSet = (s: Shm, gfn: number, bits: number) => Atomics.or(s.i32, gfnWord(s.l, gfn, F_ZERO), bits);
export const gfnZeroClear = (s: Shm, gfn: number, bits: number) => Atomics.and(s.i32, gfnWord(s.l, gfn, F_ZERO), ~bits);
