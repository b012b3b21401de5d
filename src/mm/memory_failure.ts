// memory_failure() on a page of the guest_memfd (mm/memory-failure.c), as far as guest_memfd
// sees it: the page is marked poisoned, locked, its user mappings are unmapped
// (hwpoison_user_mappings), and with the folio still locked me_pagecache_clean calls the
// mapping's ->error_remove_folio (kvm_gmem_error_folio). A page no longer in the page cache is
// not the file's business any more (the model leaves it alone).
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { kvmGmemErrorFolio } from '../gmem/guest_memfd.js';
import { unmapMappingFolio } from '../gmem/user_mapping.js';
import { filemapGet, hostPteGet } from '../shm/file.js';
import { PF_HWPOISON, PF_HWPOISON_HANDLED } from '../shm/layout.js';
import { pfnFlags, pfnFlagsOr } from '../shm/pfn.js';
import { folioLock, folioUnlock } from '../sync/ops.js';
import { pagePut, pageTryGet } from './page_alloc.js';
import { registerPaths } from '../engine/fiber.js';

// memory_failure(pfn) for the folio at file index `index`: true if it poisoned one
export function* memoryFailure(ctx: ActorCtx, index: number): Gen<boolean> {
  const s = ctx.s;
  yield P['memory-failure'];
  const pfn = filemapGet(s, index);
  if (pfn < 0 || !pageTryGet(s, pfn)) return false;
  // freed and reused between the lookup and the reference (threads): not this file's page any more
  if (filemapGet(s, index) !== pfn || (pfnFlags(s, pfn) & PF_HWPOISON) !== 0) {
    pagePut(ctx, pfn); // or "already hardware poisoned"
    return false;
  }
  pfnFlagsOr(s, pfn, PF_HWPOISON); // TestSetPageHWPoison, before the folio lock
  yield folioLock(ctx, pfn);
  if (filemapGet(s, index) === pfn) {
    // hwpoison_user_mappings: the host process loses its PTE (its next touch faults: SIGBUS)
    if (hostPteGet(s, index) === pfn) yield unmapMappingFolio(ctx, index, pfn);
    yield kvmGmemErrorFolio(ctx, index); // truncate_error_folio -> ->error_remove_folio: MF_DELAYED
    count(ctx, Ctr.hwpoisoned);
  }
  pfnFlagsOr(s, pfn, PF_HWPOISON_HANDLED);
  ctx.ev.memoryFailureHandled(ctx, pfn);
  folioUnlock(ctx, pfn);
  pagePut(ctx, pfn);
  return true;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ memoryFailure });
