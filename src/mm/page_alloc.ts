// The physical page pool: per NUMA node a free stack under that node's zone lock, a generation
// per pfn bumped on every free (an SPTE that remembers an older generation maps a freed page), a
// refcount, and the node counters of spec §7 (FilePages, Unevictable, numa_hit/miss/foreign,
// interleave_hit, local_node/other_node) plus the allocating actor's per-node charge.
import { Ctr, count, type ActorCtx } from '../engine/ctx.js';
import { freeStackPages, freeStackPop, freeStackPush, freeStackRemove, nodeAnonPagesAdd, nodeCounterAdd, nodeFilePagesAdd, nodeFree, nodeUsageAdd, pfnNode, zoneLockWord } from '../shm/node.js';
import { PF_ALLOCATOR_SHIFT, PF_FILE, PfnOwner } from '../shm/layout.js';
import { pfnFlags, pfnOwner, setPageOwnFlags, pfnGenBump, pfnRef, pfnRefAdd, pfnRefCas, setPfnFlags, setPfnIndex, setPfnOwner, setPfnRef } from '../shm/pfn.js';
import type { Shm } from '../shm/state.js';
import { clearFolio, folioHead, folioLevel, hugeBlockLevel, hugeOn, hugeStackHas, hugetlbOn, hugetlbSpoolPut, poolPage, hugeStackPop, hugeStackPush, pagesPerLevel, setFolio } from '../shm/huge.js';
import { spinLock, spinUnlock } from '../sync/locks.js';
import type { Mempolicy } from './mempolicy.js';
import { countAllocation, selectNode } from './numa.js';

/** Pop a page from `node`'s free stack, or -1 if it is empty; with huge pages on, an empty stack splits a free 2M block (expand()). */
function rmqueue(s: Shm, node: number): number {
  const lock = zoneLockWord(s, node);
  spinLock(s.i32, lock);
  let pfn = freeStackPop(s, node);
  // the buddy splits a 2M block for a 4K page; hugetlb's pages are not the buddy's to split
  if (pfn < 0 && hugeOn(s) && !hugetlbOn(s)) {
    pfn = hugeStackPop(s, node);
    if (pfn >= 0) for (let i = pagesPerLevel(s, 1) - 1; i >= 1; i--) freeStackPush(s, node, pfn + i);
  }
  spinUnlock(s.i32, lock);
  return pfn;
}

/** Pop a free 2M block from `node`, or -1; none whole, the buddies freed as 4K pages are merged into one first. */
function rmqueueHuge(s: Shm, node: number): number {
  const lock = zoneLockWord(s, node);
  spinLock(s.i32, lock);
  let head = hugeStackPop(s, node);
  if (head < 0 && !hugetlbOn(s)) head = mergeFreeBlock(s, node);
  spinUnlock(s.i32, lock);
  return head;
}

/**
 * __free_one_page's buddy merging, done when a 2M block is asked for (caller holds the zone lock):
 * a 2M-aligned block all of whose pages are on the node's 4K free stack leaves the stack whole. The
 * kernel merges at free time; the model merges late, which no kernel path can tell apart.
 */
function mergeFreeBlock(s: Shm, node: number): number {
  const nr = pagesPerLevel(s, 1);
  const free = freeStackPages(s, node);
  const count = new Map<number, number>();
  let head = -1;
  for (const p of free) {
    const h = p - (p % nr);
    const c = (count.get(h) ?? 0) + 1;
    count.set(h, c);
    if (c === nr) {
      head = h;
      break;
    }
  }
  if (head < 0) return -1;
  freeStackRemove(s, node, (p) => p >= head && p < head + nr);
  return head;
}

/**
 * alloc_pages_mpol for one 4K page: the node from the policy (`pol`; null = the task default,
 * local) with the allocator's fallback, counted as the kernel counts it. `ilx` is an interleave
 * index (offset-based interleave) or undefined (NO_INTERLEAVE_INDEX: the task's rotor).
 * Returns the pfn with one reference, or -1 (ENOMEM).
 */
export function allocPage(ctx: ActorCtx, owner: number, index: number, flags: number, pol: Mempolicy | null = null, ilx?: number): number {
  return allocPages(ctx, 0, owner, index, flags, pol, ilx, true);
}

/**
 * alloc_pages_mpol for a folio of `level` (0: 4K; 1: 2M, from the node's free 2M blocks only, as a
 * THP allocation with __GFP_NORETRY does not compact): pages index.. index + nr - 1 of `owner`,
 * one reference on the head, or -1. `countEnomem`: a failure is the caller's -ENOMEM (a THP
 * attempt that falls back to 4K is not).
 */
export function allocPages(ctx: ActorCtx, level: number, owner: number, index: number, flags: number, pol: Mempolicy | null, ilx: number | undefined, countEnomem: boolean): number {
  const s = ctx.s;
  const nr = pagesPerLevel(s, level);
  const pop = level === 0 ? rmqueue : rmqueueHuge;
  let pfn = -1;
  let node = 0;
  if (!ctx.numa) {
    pfn = pop(s, 0);
  } else {
    const numa = ctx.numa;
    const free = (n: number) => nodeFree(s, n);
    // On threads a node can run dry between the choice and the pop: choose again. A huge folio's
    // node is chosen once: a THP attempt that finds no block there falls back to 4K (which chooses anew)
    for (let attempt = 0; attempt < (level === 0 ? 4 : 1) && pfn < 0; attempt++) {
      const res = selectNode(pol, { local: numa.node, free, task: numa.il, weights: numa.weights, ilx, topo: numa.topo });
      if ('errno' in res) break;
      node = res.node;
      pfn = pop(s, node);
      // zone_statistics counts an allocation's pages (nr_account = 1 << order)
      if (pfn >= 0) for (const e of countAllocation(null, res, numa.node)) for (let i = 0; i < nr; i++) nodeCounterAdd(s, e.node, e.counter);
    }
  }
  if (pfn < 0) {
    if (countEnomem) count(ctx, Ctr.enomem);
    return -1;
  }
  if (owner === PfnOwner.PageCache) {
    flags |= PF_FILE | (ctx.id << PF_ALLOCATOR_SHIFT);
    nodeFilePagesAdd(s, node, nr);
    nodeUsageAdd(s, ctx.id, node, nr);
  } else {
    nodeAnonPagesAdd(s, node, nr);
  }
  if (level > 0) setFolio(s, pfn, level);
  for (let i = 0; i < nr; i++) {
    setPfnOwner(s, pfn + i, owner);
    setPfnIndex(s, pfn + i, index + i);
  }
  setPfnFlags(s, pfn, flags);
  setPfnRef(s, pfn, 1);
  count(ctx, Ctr.allocations);
  return pfn;
}

// __free_pages: the generation bump is what makes a stale SPTE detectable
function freePage(ctx: ActorCtx, pfn: number): void {
  if (hugeOn(ctx.s) && folioLevel(ctx.s, pfn) > 0) return freeHugeFolio(ctx, folioHead(ctx.s, pfn));
  const s = ctx.s;
  const node = pfnNode(s, pfn);
  const flags = pfnFlags(s, pfn);
  if (flags & PF_FILE) {
    nodeFilePagesAdd(s, node, -1);
    nodeUsageAdd(s, flags >>> PF_ALLOCATOR_SHIFT, node, -1); // uncharged from whoever allocated it
  } else {
    nodeAnonPagesAdd(s, node, -1);
  }
  pfnGenBump(s, pfn);
  setPfnOwner(s, pfn, PfnOwner.Free);
  setPfnFlags(s, pfn, 0);
  ctx.ev.pageLeaving(ctx, pfn, 'freed');
  const lock = zoneLockWord(s, node);
  spinLock(s.i32, lock);
  if (poolPage(s, pfn)) hugetlbPieceFreed(s, node, pfn);
  else freeStackPush(s, node, pfn);
  spinUnlock(s.i32, lock);
  count(ctx, Ctr.frees);
}

// A 4K piece of a split hugetlb page freed alone (the eviction truncates the pieces of a split page
// one by one): the hstate gets the page back once every piece is free (guestmem_hugetlb's cleanup
// merges them), and the subpool its reservation. Caller holds the zone lock.
function hugetlbPieceFreed(s: Shm, node: number, pfn: number): void {
  const nr = pagesPerLevel(s, hugeBlockLevel(s));
  const head = pfn - (pfn % nr);
  for (let i = 0; i < nr; i++) if (pfnOwner(s, head + i) !== PfnOwner.Free) return;
  if (hugeStackHas(s, node, head)) return; // another piece's free returned it already
  hugeStackPush(s, node, head);
  hugetlbSpoolPut(s);
}

// free_unref_folios for a 2M folio: every page's generation moves on, the block goes back whole
function freeHugeFolio(ctx: ActorCtx, head: number): void {
  const s = ctx.s;
  const node = pfnNode(s, head);
  const level = folioLevel(s, head);
  const nr = pagesPerLevel(s, level);
  const flags = pfnFlags(s, head);
  if (flags & PF_FILE) {
    nodeFilePagesAdd(s, node, -nr);
    nodeUsageAdd(s, flags >>> PF_ALLOCATOR_SHIFT, node, -nr);
  } else {
    nodeAnonPagesAdd(s, node, -nr);
  }
  setPfnFlags(s, head, 0);
  for (let i = 0; i < nr; i++) {
    pfnGenBump(s, head + i);
    setPfnOwner(s, head + i, PfnOwner.Free);
    ctx.ev.pageLeaving(ctx, head + i, 'freed');
  }
  clearFolio(s, head, nr);
  for (let i = 1; i < nr; i++) setPageOwnFlags(s, head + i, 0); // a tail's own word (its prepared bit) goes with the folio
  const lock = zoneLockWord(s, node);
  spinLock(s.i32, lock);
  hugeStackPush(s, node, head);
  spinUnlock(s.i32, lock);
  if (hugetlbOn(s)) hugetlbSpoolPut(s); // free_huge_folio: the subpool's reservation comes back
  count(ctx, Ctr.frees);
}

// folio_try_get: take a reference unless the page is already on its way to the free list
export function pageTryGet(s: Shm, pfn: number): boolean {
  for (;;) {
    const r = pfnRef(s, pfn);
    if (r <= 0) return false;
    if (pfnRefCas(s, pfn, r, r + 1)) return true;
  }
}

// folio_put / put_page
export function pagePut(ctx: ActorCtx, pfn: number): void {
  if (pfnRefAdd(ctx.s, pfn, -1) === 1) freePage(ctx, pfn);
}

// folio_put_refs: drop n references at once (unpin_user_page drops GUP_PIN_COUNTING_BIAS)
export function pagePutRefs(ctx: ActorCtx, pfn: number, n: number): void {
  if (pfnRefAdd(ctx.s, pfn, -n) === n) freePage(ctx, pfn);
}

/** Free pages on all nodes. */
export function freePages(s: Shm): number {
  let t = 0;
  for (let n = 0; n < s.l.nNodes; n++) t += nodeFree(s, n);
  return t;
}
