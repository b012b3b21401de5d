// The guest_memfd inode's page cache: index -> folio (one 4K page; upstream never uses large
// folios). Entries are CASed like xarray stores; lookups take a speculative reference.
import type { Shm } from '../shm/state.js';

export const filemapGet = (s: Shm, index: number) => Atomics.load(s.i32, s.l.filemapBase + index) - 1;

/** __filemap_add_folio: false if another folio got there first */
export const filemapInsert = (s: Shm, index: number, pfn: number) =>
  Atomics.compareExchange(s.i32, s.l.filemapBase + index, 0, pfn + 1) === 0;

/** __filemap_remove_folio (truncation) */
export const filemapRemove = (s: Shm, index: number, pfn: number) =>
  Atomics.compareExchange(s.i32, s.l.filemapBase + index, pfn + 1, 0) === pfn + 1;

export const bindingOf = (s: Shm, index: number) => Atomics.load(s.i32, s.l.bindingBase + index) - 1;
