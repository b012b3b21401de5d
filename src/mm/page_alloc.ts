// The physical page pool: per NUMA node a free stack under that node's zone lock, a generation
// per pfn bumped on every free (an SPTE that remembers an older generation maps a freed page), a
// refcount, and the node counters of spec §7 (FilePages, Unevictable, numa_hit/miss/foreign,
// interleave_hit, local_node/other_node) plus the allocating actor's per-node charge.
import { count, type ActorCtx } from '../engine/ctx.js';
import { checkPfnRemoved } from '../check/online.js';
import {
  N_ANON_PAGES,
  N_CAPACITY,
  N_FILE_PAGES,
  N_FREE_TOP,
  N_PFN_BASE,
  N_POOL_LOCK,
  N_UNEVICTABLE,
  NODE_COUNTER_WORD,
  P_FLAGS,
  P_GEN,
  P_INDEX,
  P_OWNER,
  P_REF,
  PF_ALLOCATOR_SHIFT,
  PF_FILE,
  PfnOwner,
  nodeWord,
  pfnWord,
  usageWord,
} from '../shm/layout.js';
import type { Shm } from '../shm/state.js';
import { spinLock, spinUnlock } from '../sync/locks.js';
import type { Mempolicy } from './mempolicy.js';
import { countAllocation, selectNode } from './numa.js';

/** Pop a page from `node`'s free stack, or -1 if it is empty. */
function rmqueue(s: Shm, node: number): number {
  const { i32, l } = s;
  const lock = nodeWord(l, node, N_POOL_LOCK);
  spinLock(i32, lock);
  const top = i32[nodeWord(l, node, N_FREE_TOP)];
  if (top === 0) {
    spinUnlock(i32, lock);
    return -1;
  }
  const pfn = i32[l.freeStackBase + i32[nodeWord(l, node, N_PFN_BASE)] + top - 1];
  i32[nodeWord(l, node, N_FREE_TOP)] = top - 1;
  spinUnlock(i32, lock);
  return pfn;
}

/**
 * alloc_pages_mpol for one 4K page: the node from the policy (`pol`; null = the task default,
 * local) with the allocator's fallback, counted as the kernel counts it. `ilx` is an interleave
 * index (offset-based interleave) or undefined (NO_INTERLEAVE_INDEX: the task's rotor).
 * Returns the pfn with one reference, or -1 (ENOMEM).
 */
export function allocPage(ctx: ActorCtx, owner: number, index: number, flags: number, pol: Mempolicy | null = null, ilx?: number): number {
  const s = ctx.s;
  const { i32, l } = s;
  let pfn = -1;
  let node = 0;
  if (!ctx.numa) {
    pfn = rmqueue(s, 0);
  } else {
    const numa = ctx.numa;
    const free = (n: number) => Atomics.load(i32, nodeWord(l, n, N_FREE_TOP));
    // On threads a node can run dry between the choice and the pop: choose again.
    for (let attempt = 0; attempt < 4 && pfn < 0; attempt++) {
      const res = selectNode(pol, { local: numa.node, free, task: numa.il, weights: numa.weights, ilx, topo: numa.topo });
      if ('errno' in res) break;
      node = res.node;
      pfn = rmqueue(s, node);
      if (pfn >= 0) for (const e of countAllocation(null, res, numa.node)) Atomics.add(i32, nodeWord(l, e.node, NODE_COUNTER_WORD[e.counter]), 1);
    }
  }
  if (pfn < 0) {
    count(ctx, 'enomem');
    return -1;
  }
  if (owner === PfnOwner.PageCache) {
    flags |= PF_FILE | (ctx.id << PF_ALLOCATOR_SHIFT);
    Atomics.add(i32, nodeWord(l, node, N_FILE_PAGES), 1);
    Atomics.add(i32, nodeWord(l, node, N_UNEVICTABLE), 1);
    Atomics.add(i32, usageWord(l, ctx.id, node), 1);
  } else {
    Atomics.add(i32, nodeWord(l, node, N_ANON_PAGES), 1);
  }
  Atomics.store(i32, pfnWord(l, pfn, P_OWNER), owner);
  Atomics.store(i32, pfnWord(l, pfn, P_INDEX), index);
  Atomics.store(i32, pfnWord(l, pfn, P_FLAGS), flags);
  Atomics.store(i32, pfnWord(l, pfn, P_REF), 1);
  count(ctx, 'allocations');
  return pfn;
}

/** The node a pfn belongs to (nodes own consecutive pfn ranges). */
export function pfnToNid(s: Shm, pfn: number): number {
  const { i32, l } = s;
  for (let n = 0; n < l.nNodes; n++) {
    const base = i32[nodeWord(l, n, N_PFN_BASE)];
    if (pfn >= base && pfn < base + i32[nodeWord(l, n, N_CAPACITY)]) return n;
  }
  return -1;
}

// __free_pages: the generation bump is what makes a stale SPTE detectable
function freePage(ctx: ActorCtx, pfn: number): void {
  const { i32, l } = ctx.s;
  const node = pfnToNid(ctx.s, pfn);
  const flags = Atomics.load(i32, pfnWord(l, pfn, P_FLAGS));
  if (flags & PF_FILE) {
    Atomics.sub(i32, nodeWord(l, node, N_FILE_PAGES), 1);
    Atomics.sub(i32, nodeWord(l, node, N_UNEVICTABLE), 1);
    Atomics.sub(i32, usageWord(l, flags >>> PF_ALLOCATOR_SHIFT, node), 1); // uncharged from whoever allocated it
  } else {
    Atomics.sub(i32, nodeWord(l, node, N_ANON_PAGES), 1);
  }
  Atomics.add(i32, pfnWord(l, pfn, P_GEN), 1);
  Atomics.store(i32, pfnWord(l, pfn, P_OWNER), PfnOwner.Free);
  Atomics.store(i32, pfnWord(l, pfn, P_FLAGS), 0);
  checkPfnRemoved(ctx, pfn, 'freed');
  const lock = nodeWord(l, node, N_POOL_LOCK);
  spinLock(i32, lock);
  const top = nodeWord(l, node, N_FREE_TOP);
  i32[l.freeStackBase + i32[nodeWord(l, node, N_PFN_BASE)] + i32[top]] = pfn;
  i32[top]++;
  spinUnlock(i32, lock);
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

/** Free pages on all nodes. */
export function freePages(s: Shm): number {
  let t = 0;
  for (let n = 0; n < s.l.nNodes; n++) t += Atomics.load(s.i32, nodeWord(s.l, n, N_FREE_TOP));
  return t;
}
