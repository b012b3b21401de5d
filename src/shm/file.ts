// The guest_memfd inode's tables: the page cache (index -> folio's pfn + 1), the bindings
// (index -> memslot + 1), the VMM's page table for each memslot's HVA (hva -> pfn + 1), the host
// process's PTEs, and the file's lifetime words (its references, the VMM's fd, freed or not).
// Entries are CASed like xarray stores.
import { G_GMEM_FD, G_GMEM_FILE_REF, G_GMEM_FILE_STATE, GmemFileState } from './layout.js';
import type { Shm } from './state.js';

/** filemap_get_folio's lookup: the pfn at index, or -1 */
export const filemapGet = (s: Shm, index: number) => Atomics.load(s.i32, s.l.filemapBase + index) - 1;
/** __filemap_add_folio: false if another folio got there first */
export const filemapInsert = (s: Shm, index: number, pfn: number) => Atomics.compareExchange(s.i32, s.l.filemapBase + index, 0, pfn + 1) === 0;
/** __filemap_remove_folio (truncation): false if the entry is not this folio any more */
export const filemapRemove = (s: Shm, index: number, pfn: number) => Atomics.compareExchange(s.i32, s.l.filemapBase + index, pfn + 1, 0) === pfn + 1;

/** f->bindings[index]: the memslot bound there, or -1 */
export const bindingOf = (s: Shm, index: number) => Atomics.load(s.i32, s.l.bindingBase + index) - 1;
export const setBinding = (s: Shm, index: number, slot: number) => Atomics.store(s.i32, s.l.bindingBase + index, slot + 1);
/** xa_erase of the binding if it is still `slot`'s */
export const clearBindingOf = (s: Shm, index: number, slot: number) => Atomics.compareExchange(s.i32, s.l.bindingBase + index, slot + 1, 0);

/** the VMM's page table: the pfn mapped at HVA page hva, or -1 */
export const hvaGet = (s: Shm, hva: number) => Atomics.load(s.i32, s.l.hvaBase + hva) - 1;
/** install pfn at an empty HVA entry; false if another fault got there first */
export const hvaInstall = (s: Shm, hva: number, pfn: number) => Atomics.compareExchange(s.i32, s.l.hvaBase + hva, 0, pfn + 1) === 0;
/** unmap the HVA page, returning the pfn it mapped (-1: none) */
export const hvaClear = (s: Shm, hva: number) => Atomics.exchange(s.i32, s.l.hvaBase + hva, 0) - 1;

/** The host user process's PTE for file index `index`: the pfn it maps, or -1. */
export const hostPteGet = (s: Shm, index: number) => Atomics.load(s.i32, s.l.hostPteBase + index) - 1;
/** set_pte: install a mapping where there is none (false: someone else's is there) */
export const hostPteInstall = (s: Shm, index: number, pfn: number) => Atomics.compareExchange(s.i32, s.l.hostPteBase + index, 0, pfn + 1) === 0;
/** zap the PTE of `index` if it maps pfn (true: it did) */
export const hostPteClear = (s: Shm, index: number, pfn: number) => Atomics.compareExchange(s.i32, s.l.hostPteBase + index, pfn + 1, 0) === pfn + 1;

/** The gmem file's reference count (file->f_ref). */
export const gmemFileRef = (s: Shm) => Atomics.load(s.i32, G_GMEM_FILE_REF);
/** file_ref_get / get_file_active's inc-not-zero: false once the count reached zero (the file is dying) */
export function gmemFileRefTryGet(s: Shm): boolean {
  for (;;) {
    const v = Atomics.load(s.i32, G_GMEM_FILE_REF);
    if (v <= 0) return false;
    if (Atomics.compareExchange(s.i32, G_GMEM_FILE_REF, v, v + 1) === v) return true;
  }
}
/** file_ref_put: true when this was the last reference (the caller runs __fput, deferred) */
export const gmemFileRefPut = (s: Shm) => Atomics.sub(s.i32, G_GMEM_FILE_REF, 1) === 1;
/** Whether the VMM's fd for the file is still open (fget on it succeeds). */
export const gmemFdOpen = (s: Shm) => Atomics.load(s.i32, G_GMEM_FD) === 1;
/** close(2) removes the fd from the table: true if it was open (this caller drops the fd's reference) */
export const gmemFdClose = (s: Shm) => Atomics.exchange(s.i32, G_GMEM_FD, 0) === 1;
/** GmemFileState */
export const gmemFileState = (s: Shm) => Atomics.load(s.i32, G_GMEM_FILE_STATE);
export const setGmemFileState = (s: Shm, st: number) => Atomics.store(s.i32, G_GMEM_FILE_STATE, st);
/** State build: the fd open, holding one reference, plus one per other holder (a host process's mapping). */
export function initGmemFile(s: Shm, extraRefs: number): void {
  s.i32[G_GMEM_FD] = 1;
  s.i32[G_GMEM_FILE_REF] = 1 + extraRefs;
  s.i32[G_GMEM_FILE_STATE] = GmemFileState.Live;
}
