// The guest_memfd inode's tables: the page cache (index -> folio's pfn + 1), the bindings
// (index -> memslot + 1), and the VMM's page table for each memslot's HVA (hva -> pfn + 1).
// Entries are CASed like xarray stores.
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
