// Per-NUMA-node words: node n owns pfns [pfnBase, pfnBase + capacity) and the same stretch of the
// free stack; its line holds the free-stack top, its zone lock, and the counters of spec §7.
import {
  N_ANON_PAGES,
  N_CAPACITY,
  N_FILE_PAGES,
  N_FREE_TOP,
  N_HUGE_TOP,
  N_PFN_BASE,
  N_POOL_LOCK,
  N_UNEVICTABLE,
  NODE_COUNTERS,
  NODE_COUNTER_WORD,
  nodeWord,
  usageWord,
} from './layout.js';
import type { Shm } from './state.js';

export type NodeCounter = (typeof NODE_COUNTERS)[number];
export { NODE_COUNTERS };

export const nodePfnBase = (s: Shm, node: number) => s.i32[nodeWord(s.l, node, N_PFN_BASE)];
export const nodeCapacity = (s: Shm, node: number) => s.i32[nodeWord(s.l, node, N_CAPACITY)];
/** free pages on the node: its 4K free stack, and with huge pages on its free 2M blocks */
export const nodeFree = (s: Shm, node: number) => Atomics.load(s.i32, nodeWord(s.l, node, N_FREE_TOP)) + (s.l.hugePages2m > 0 ? Atomics.load(s.i32, nodeWord(s.l, node, N_HUGE_TOP)) * (s.l.hugeBlockLevel === 2 ? s.l.hugePages1g : s.l.hugePages2m) : 0);
/** pages on the node's 4K free stack */
const stackTop = (s: Shm, node: number) => Atomics.load(s.i32, nodeWord(s.l, node, N_FREE_TOP));
/** the node's zone lock word (an internal spinlock, never a yield point) */
export const zoneLockWord = (s: Shm, node: number) => nodeWord(s.l, node, N_POOL_LOCK);

/** Pop the free stack's top (caller holds the zone lock); -1 when empty. */
export function freeStackPop(s: Shm, node: number): number {
  const { i32, l } = s;
  const top = i32[nodeWord(l, node, N_FREE_TOP)];
  if (top === 0) return -1;
  i32[nodeWord(l, node, N_FREE_TOP)] = top - 1;
  return i32[l.freeStackBase + i32[nodeWord(l, node, N_PFN_BASE)] + top - 1];
}

/** Push a pfn on the free stack (caller holds the zone lock). */
export function freeStackPush(s: Shm, node: number, pfn: number): void {
  const { i32, l } = s;
  const top = nodeWord(l, node, N_FREE_TOP);
  i32[l.freeStackBase + i32[nodeWord(l, node, N_PFN_BASE)] + i32[top]] = pfn;
  i32[top]++;
}

/** Give the node `cap` pfns from `base` up, all free, the lowest on top (state build). */
export function initNode(s: Shm, node: number, base: number, cap: number): void {
  const { i32, l } = s;
  i32[nodeWord(l, node, N_PFN_BASE)] = base;
  i32[nodeWord(l, node, N_CAPACITY)] = cap;
  i32[nodeWord(l, node, N_FREE_TOP)] = cap;
  for (let i = 0; i < cap; i++) i32[l.freeStackBase + base + i] = base + cap - 1 - i;
}

/** The pfns on the node's 4K free stack, top first (caller holds the zone lock). */
export function freeStackPages(s: Shm, node: number): number[] {
  const { i32, l } = s;
  const base = l.freeStackBase + i32[nodeWord(l, node, N_PFN_BASE)];
  const out: number[] = [];
  for (let k = i32[nodeWord(l, node, N_FREE_TOP)] - 1; k >= 0; k--) out.push(i32[base + k]);
  return out;
}

/** Take the pfns `drop` selects off the node's 4K free stack, the others keeping their order (caller holds the zone lock). */
export function freeStackRemove(s: Shm, node: number, drop: (pfn: number) => boolean): void {
  const { i32, l } = s;
  const base = l.freeStackBase + i32[nodeWord(l, node, N_PFN_BASE)];
  const top = i32[nodeWord(l, node, N_FREE_TOP)];
  let w = 0;
  for (let k = 0; k < top; k++) {
    const p = i32[base + k];
    if (!drop(p)) i32[base + w++] = p;
  }
  Atomics.store(i32, nodeWord(l, node, N_FREE_TOP), w);
}

/** State build with huge pages on: the node's 4K stack holds only `pfns` (pushed in order: the last on top). */
export function initNodeStack(s: Shm, node: number, pfns: number[]): void {
  const { i32, l } = s;
  const base = i32[nodeWord(l, node, N_PFN_BASE)];
  pfns.forEach((p, i) => (i32[l.freeStackBase + base + i] = p));
  i32[nodeWord(l, node, N_FREE_TOP)] = pfns.length;
}

// node meminfo / numastat (pages)
export const nodeFilePages = (s: Shm, node: number) => Atomics.load(s.i32, nodeWord(s.l, node, N_FILE_PAGES));
export const nodeUnevictable = (s: Shm, node: number) => Atomics.load(s.i32, nodeWord(s.l, node, N_UNEVICTABLE));
export const nodeAnonPages = (s: Shm, node: number) => Atomics.load(s.i32, nodeWord(s.l, node, N_ANON_PAGES));
/** a page-cache page comes (+1) or goes (-1): FilePages and Unevictable (gmem folios are unevictable) */
export function nodeFilePagesAdd(s: Shm, node: number, d: number): void {
  Atomics.add(s.i32, nodeWord(s.l, node, N_FILE_PAGES), d);
  Atomics.add(s.i32, nodeWord(s.l, node, N_UNEVICTABLE), d);
}
export const nodeAnonPagesAdd = (s: Shm, node: number, d: number) => Atomics.add(s.i32, nodeWord(s.l, node, N_ANON_PAGES), d);
export const nodeCounter = (s: Shm, node: number, c: NodeCounter) => Atomics.load(s.i32, nodeWord(s.l, node, NODE_COUNTER_WORD[c]));
export const nodeCounterAdd = (s: Shm, node: number, c: NodeCounter) => Atomics.add(s.i32, nodeWord(s.l, node, NODE_COUNTER_WORD[c]), 1);

/** memcg numa_stat "file": gmem pages actor `actor` allocated on `node` that are still allocated */
export const nodeUsage = (s: Shm, actor: number, node: number) => Atomics.load(s.i32, usageWord(s.l, actor, node));
export const nodeUsageAdd = (s: Shm, actor: number, node: number, d: number) => Atomics.add(s.i32, usageWord(s.l, actor, node), d);

/** The node a pfn belongs to (nodes own consecutive pfn ranges), or -1. */
export function pfnNode(s: Shm, pfn: number): number {
  for (let n = 0; n < s.l.nNodes; n++) {
    const base = nodePfnBase(s, n);
    if (pfn >= base && pfn < base + nodeCapacity(s, n)) return n;
  }
  return -1;
}

/** The pfn `k` places below the top of the node's free stack (0: the next one allocated), or -1. */
export function freeStackPeek(s: Shm, node: number, k = 0): number {
  const top = stackTop(s, node);
  return top - 1 - k < 0 ? -1 : s.i32[s.l.freeStackBase + nodePfnBase(s, node) + top - 1 - k];
}
