// The physical page pool: a free stack under the zone lock, a generation per pfn bumped on
// every free (an SPTE that remembers an older generation maps a freed page), a refcount.
import { count, type ActorCtx } from '../engine/ctx.js';
import { checkPfnRemoved } from '../check/online.js';
import {
  G_FREE_TOP,
  G_POOL_LOCK,
  P_FLAGS,
  P_GEN,
  P_INDEX,
  P_OWNER,
  P_REF,
  PfnOwner,
  pfnWord,
} from '../shm/layout.js';
import type { Shm } from '../shm/state.js';
import { spinLock, spinUnlock } from '../sync/locks.js';

// alloc_pages (one 4K page); -1 when the pool is empty (ENOMEM)
export function allocPage(ctx: ActorCtx, owner: number, index: number, flags: number): number {
  const { i32, l } = ctx.s;
  spinLock(i32, G_POOL_LOCK);
  const top = i32[G_FREE_TOP];
  if (top === 0) {
    spinUnlock(i32, G_POOL_LOCK);
    count(ctx, 'enomem');
    return -1;
  }
  const pfn = i32[l.freeStackBase + top - 1];
  i32[G_FREE_TOP] = top - 1;
  spinUnlock(i32, G_POOL_LOCK);
  Atomics.store(i32, pfnWord(l, pfn, P_OWNER), owner);
  Atomics.store(i32, pfnWord(l, pfn, P_INDEX), index);
  Atomics.store(i32, pfnWord(l, pfn, P_FLAGS), flags);
  Atomics.store(i32, pfnWord(l, pfn, P_REF), 1);
  count(ctx, 'allocations');
  return pfn;
}

// __free_pages: the generation bump is what makes a stale SPTE detectable
function freePage(ctx: ActorCtx, pfn: number): void {
  const { i32, l } = ctx.s;
  Atomics.add(i32, pfnWord(l, pfn, P_GEN), 1);
  Atomics.store(i32, pfnWord(l, pfn, P_OWNER), PfnOwner.Free);
  Atomics.store(i32, pfnWord(l, pfn, P_FLAGS), 0);
  checkPfnRemoved(ctx, pfn, 'freed');
  spinLock(i32, G_POOL_LOCK);
  i32[l.freeStackBase + i32[G_FREE_TOP]] = pfn;
  i32[G_FREE_TOP]++;
  spinUnlock(i32, G_POOL_LOCK);
  count(ctx, 'frees');
}

// folio_try_get: take a reference unless the page is already on its way to the free list
export function pageTryGet(s: Shm, pfn: number): boolean {
  const w = pfnWord(s.l, pfn, P_REF);
  for (;;) {
    const r = Atomics.load(s.i32, w);
    if (r <= 0) return false;
    if (Atomics.compareExchange(s.i32, w, r, r + 1) === r) return true;
  }
}

// folio_put / put_page
export function pagePut(ctx: ActorCtx, pfn: number): void {
  if (Atomics.sub(ctx.s.i32, pfnWord(ctx.s.l, pfn, P_REF), 1) === 1) freePage(ctx, pfn);
}

export const freePages = (s: Shm) => Atomics.load(s.i32, G_FREE_TOP);
