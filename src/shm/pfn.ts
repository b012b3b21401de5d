// Per-pfn words (struct page / folio): generation, refcount, owner, index, flags, content tag,
// and the checker's ghost reverse map. Accessors only: the offsets live in layout.ts.
import { PF_ARCH_PREPARED, P_CONTENT, P_FLAGS, P_GEN, P_INDEX, P_OWNER, P_REF, P_RMAP, P_RMAP_GFN, PFN_WORDS, pfnWord } from './layout.js';
import type { Shm } from './state.js';
import { folioHead, folioNrPages } from './huge.js';

// The refcount and the flags (PG_locked, uptodate, ...) are the folio's: a huge folio keeps them on its head page.
const folioWord = (s: Shm, pfn: number, w: number) => pfnWord(s.l, folioHead(s, pfn), w);

export const pfnGen = (s: Shm, pfn: number) => Atomics.load(s.i32, pfnWord(s.l, pfn, P_GEN));
/** __free_pages: a new generation, so an SPTE that remembers the old one is known stale */
export const pfnGenBump = (s: Shm, pfn: number) => Atomics.add(s.i32, pfnWord(s.l, pfn, P_GEN), 1);
export const setPfnGen = (s: Shm, pfn: number, v: number) => Atomics.store(s.i32, pfnWord(s.l, pfn, P_GEN), v);

export const pfnRef = (s: Shm, pfn: number) => Atomics.load(s.i32, folioWord(s, pfn, P_REF));
/** add to the refcount, returning the old count */
export const pfnRefAdd = (s: Shm, pfn: number, d: number) => Atomics.add(s.i32, folioWord(s, pfn, P_REF), d);
export const pfnRefCas = (s: Shm, pfn: number, expected: number, next: number) => Atomics.compareExchange(s.i32, folioWord(s, pfn, P_REF), expected, next) === expected;
/** The word holding the folio's refcount (a split's freeze waits on it). */
export const folioRefWord = (s: Shm, pfn: number) => folioWord(s, pfn, P_REF);
export const setPfnRef = (s: Shm, pfn: number, v: number) => Atomics.store(s.i32, folioWord(s, pfn, P_REF), v);

/** PfnOwner */
export const pfnOwner = (s: Shm, pfn: number) => Atomics.load(s.i32, pfnWord(s.l, pfn, P_OWNER));
export const setPfnOwner = (s: Shm, pfn: number, owner: number) => Atomics.store(s.i32, pfnWord(s.l, pfn, P_OWNER), owner);

/** the file index (page cache) or HVA index it backs */
export const pfnIndex = (s: Shm, pfn: number) => Atomics.load(s.i32, pfnWord(s.l, pfn, P_INDEX));
export const setPfnIndex = (s: Shm, pfn: number, index: number) => Atomics.store(s.i32, pfnWord(s.l, pfn, P_INDEX), index);

/** PF_* bits, and the allocating actor above PF_ALLOCATOR_SHIFT */
export const pfnFlags = (s: Shm, pfn: number) => Atomics.load(s.i32, folioWord(s, pfn, P_FLAGS));
export const setPfnFlags = (s: Shm, pfn: number, flags: number) => Atomics.store(s.i32, folioWord(s, pfn, P_FLAGS), flags);
/** set bits, returning the old flags */
export const pfnFlagsOr = (s: Shm, pfn: number, bits: number) => Atomics.or(s.i32, folioWord(s, pfn, P_FLAGS), bits);
/** clear bits, returning the old flags (the word also holds PG_locked: only the named bits change) */
export const pfnFlagsClear = (s: Shm, pfn: number, bits: number) => Atomics.and(s.i32, folioWord(s, pfn, P_FLAGS), ~bits);
/**
 * PF_ARCH_PREPARED is a page's, not its folio's (SNP's RMP has an entry per 4K page, the THP RFC a
 * per-4K bitmap): kept in each page's own flags word, which for an order-0 folio is the folio's.
 */
export const pagePrepared = (s: Shm, pfn: number) => (Atomics.load(s.i32, pfnWord(s.l, pfn, P_FLAGS)) & PF_ARCH_PREPARED) !== 0;
export const clearPagePrepared = (s: Shm, pfn: number) => Atomics.and(s.i32, pfnWord(s.l, pfn, P_FLAGS), ~PF_ARCH_PREPARED);
/** kvm_arch_gmem_prepare over the folio holding pfn (prepared at the folio's order): every page of it */
export function folioSetPrepared(s: Shm, pfn: number): void {
  const head = folioHead(s, pfn);
  for (let i = 0, nr = folioNrPages(s, pfn); i < nr; i++) Atomics.or(s.i32, pfnWord(s.l, head + i, P_FLAGS), PF_ARCH_PREPARED);
}
/** A page's own flags word, whatever folio it is in (a split or a merge moves the folio's flags, a free clears them). */
export const pageOwnFlags = (s: Shm, pfn: number) => Atomics.load(s.i32, pfnWord(s.l, pfn, P_FLAGS));
export const setPageOwnFlags = (s: Shm, pfn: number, flags: number) => Atomics.store(s.i32, pfnWord(s.l, pfn, P_FLAGS), flags);

/** The word holding PG_locked (PF_LOCKED), for the folio bit lock. */
export const folioLockWord = (s: Shm, pfn: number) => folioWord(s, pfn, P_FLAGS);

/** the content tag: what the guest or host last wrote (0 = zeroes) */
export const pfnContent = (s: Shm, pfn: number) => Atomics.load(s.i32, pfnWord(s.l, pfn, P_CONTENT));
export const setPfnContent = (s: Shm, pfn: number, tag: number) => Atomics.store(s.i32, pfnWord(s.l, pfn, P_CONTENT), tag);
/** folio_zero_user / clear_highpage over the whole folio holding pfn */
export function folioZeroContent(s: Shm, pfn: number): void {
  const head = folioHead(s, pfn);
  for (let i = 0, nr = folioNrPages(s, pfn); i < nr; i++) Atomics.store(s.i32, pfnWord(s.l, head + i, P_CONTENT), 0);
}

// ghost reverse map (checker bookkeeping, not kernel state): how many SPTEs map the pfn, and the last gfn installed for it
export const pfnRmap = (s: Shm, pfn: number) => Atomics.load(s.i32, pfnWord(s.l, pfn, P_RMAP));
export const pfnRmapAdd = (s: Shm, pfn: number, d: number) => Atomics.add(s.i32, pfnWord(s.l, pfn, P_RMAP), d);
export const pfnRmapGfn = (s: Shm, pfn: number) => Atomics.load(s.i32, pfnWord(s.l, pfn, P_RMAP_GFN));
export const setPfnRmapGfn = (s: Shm, pfn: number, gfn: number) => Atomics.store(s.i32, pfnWord(s.l, pfn, P_RMAP_GFN), gfn);
/** the pfn whose folio lock word this is (for reports) */
export const folioLockPfn = (s: Shm, word: number) => Math.floor((word - s.l.pfnBase) / PFN_WORDS);

/** test setup: the ghost reverse map written directly */
export const setPfnRmap = (s: Shm, pfn: number, n: number) => Atomics.store(s.i32, pfnWord(s.l, pfn, P_RMAP), n);
