// The gmem inode's shared memory policy in the shared state: the tree of `struct sp_node`
// ([start, end) file pages -> a policy object), kept as an array sorted by start, and the pool of
// policy objects (`struct mempolicy` with MPOL_F_SHARED: a refcount, the scenario policy it holds,
// a generation bumped at each free). Edits are made under sp->lock (G_SP_LOCK) by the writer; the
// accessors only read and write words.
import { A_SPL_INDEX, A_SPL_MASK, A_SPW_END, A_SPW_PID, A_SPW_SEQ, A_SPW_START, G_SP_COUNT, actorWord, SPN_END, SPN_POLICY, SPN_START, SPN_WORDS, SPO_GEN, SPO_LIVE, SPO_PID, SPO_REF, SPO_WORDS } from './layout.js';
import type { Shm } from './state.js';

const nodeWord = (s: Shm, k: number, w: number) => s.l.spTreeBase + k * SPN_WORDS + w;
const objWord = (s: Shm, o: number, w: number) => s.l.spObjBase + o * SPO_WORDS + w;

/** The number of nodes in the tree (the kernel's lockless `sp->root.rb_node` test reads this). */
export const spCount = (s: Shm) => Atomics.load(s.i32, G_SP_COUNT);
export const spNodeStart = (s: Shm, k: number) => Atomics.load(s.i32, nodeWord(s, k, SPN_START));
export const spNodeEnd = (s: Shm, k: number) => Atomics.load(s.i32, nodeWord(s, k, SPN_END));
export const spNodePolicy = (s: Shm, k: number) => Atomics.load(s.i32, nodeWord(s, k, SPN_POLICY));
export const setSpNodeStart = (s: Shm, k: number, v: number) => Atomics.store(s.i32, nodeWord(s, k, SPN_START), v);
export const setSpNodeEnd = (s: Shm, k: number, v: number) => Atomics.store(s.i32, nodeWord(s, k, SPN_END), v);

/** rb_insert at position k (the caller found it): later nodes move up one. False when the tree is full. */
export function spInsertAt(s: Shm, k: number, start: number, end: number, obj: number): boolean {
  const n = spCount(s);
  if (n >= s.l.spNodes) return false;
  const i32 = s.i32;
  const at = nodeWord(s, k, 0);
  i32.copyWithin(at + SPN_WORDS, at, nodeWord(s, n, 0));
  Atomics.store(i32, at + SPN_START, start);
  Atomics.store(i32, at + SPN_END, end);
  Atomics.store(i32, at + SPN_POLICY, obj);
  Atomics.store(i32, G_SP_COUNT, n + 1);
  return true;
}

/** rb_erase of node k: later nodes move down one. */
export function spEraseAt(s: Shm, k: number): void {
  const n = spCount(s);
  s.i32.copyWithin(nodeWord(s, k, 0), nodeWord(s, k + 1, 0), nodeWord(s, n, 0));
  Atomics.store(s.i32, G_SP_COUNT, n - 1);
}

/** The position a node starting at `start` goes to (after every node starting at or before it). */
export function spInsertPos(s: Shm, start: number): number {
  const n = spCount(s);
  let k = 0;
  while (k < n && spNodeStart(s, k) <= start) k++;
  return k;
}

export const spObjRef = (s: Shm, o: number) => Atomics.load(s.i32, objWord(s, o, SPO_REF));
export const spObjPid = (s: Shm, o: number) => Atomics.load(s.i32, objWord(s, o, SPO_PID));
export const spObjGen = (s: Shm, o: number) => Atomics.load(s.i32, objWord(s, o, SPO_GEN));
export const spObjLive = (s: Shm, o: number) => Atomics.load(s.i32, objWord(s, o, SPO_LIVE)) === 1;
export const setSpObjPid = (s: Shm, o: number, pid: number) => Atomics.store(s.i32, objWord(s, o, SPO_PID), pid);
export const setSpObjRef = (s: Shm, o: number, ref: number) => Atomics.store(s.i32, objWord(s, o, SPO_REF), ref);

/** kmem_cache_alloc(policy_cache): a free object, live with `ref` references, or -1 (the pool is exhausted: -ENOMEM). */
export function spObjAlloc(s: Shm, pid: number, ref: number): number {
  for (let o = 0; o < s.l.spObjects; o++) {
    if (Atomics.compareExchange(s.i32, objWord(s, o, SPO_LIVE), 0, 1) !== 0) continue;
    Atomics.store(s.i32, objWord(s, o, SPO_PID), pid);
    Atomics.store(s.i32, objWord(s, o, SPO_REF), ref);
    return o;
  }
  return -1;
}

/** mpol_get */
export const spObjGet = (s: Shm, o: number) => Atomics.add(s.i32, objWord(s, o, SPO_REF), 1);

/** mpol_put: drop a reference; the last one frees the object (its generation moves on first). True if freed. */
export function spObjPut(s: Shm, o: number): boolean {
  if (Atomics.sub(s.i32, objWord(s, o, SPO_REF), 1) !== 1) return false;
  Atomics.add(s.i32, objWord(s, o, SPO_GEN), 1);
  Atomics.store(s.i32, objWord(s, o, SPO_LIVE), 0);
  return true;
}

/** A pointer to object o as a reader holds it: the object and the generation it had when read. */
export const spObjHandle = (s: Shm, o: number) => o + spObjGen(s, o) * 0x100000;
export const spHandleObj = (h: number) => h % 0x100000;
export const spHandleGen = (h: number) => Math.floor(h / 0x100000);

/** Ghost: the policy ids (a bit each) the completed mbind calls may have left at file index i. */
export const spGhostMask = (s: Shm, i: number) => Atomics.load(s.i32, s.l.spGhostBase + i);
export const setSpGhostMask = (s: Shm, i: number, mask: number) => Atomics.store(s.i32, s.l.spGhostBase + i, mask);
export const spGhostMaskCas = (s: Shm, i: number, from: number, to: number) => Atomics.compareExchange(s.i32, s.l.spGhostBase + i, from, to) === from;

// Ghost words on each actor's ninth line (src/check/policy_ghost.ts): its lookup in progress (the
// index + 1 and the policy ids seen since it began) and its mbind in progress (policy id, range,
// and a sequence count that is odd while one is in progress).
export const splIndex = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_SPL_INDEX)) - 1;
export const splMask = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_SPL_MASK));
export const splMaskOr = (s: Shm, id: number, m: number) => Atomics.or(s.i32, actorWord(s.l, id, A_SPL_MASK), m);
/** Publish a lookup at `index` (-1: none), its mask cleared first. */
export function setSplLookup(s: Shm, id: number, index: number): void {
  Atomics.store(s.i32, actorWord(s.l, id, A_SPL_INDEX), 0);
  Atomics.store(s.i32, actorWord(s.l, id, A_SPL_MASK), 0);
  if (index >= 0) Atomics.store(s.i32, actorWord(s.l, id, A_SPL_INDEX), index + 1);
}
export const spwSeq = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_SPW_SEQ));
export const spwPid = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_SPW_PID));
export const spwStart = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_SPW_START));
export const spwEnd = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_SPW_END));
/** An mbind begins: its words first, then the count goes odd. */
export function spwBegin(s: Shm, id: number, start: number, end: number, pid: number): void {
  Atomics.store(s.i32, actorWord(s.l, id, A_SPW_PID), pid);
  Atomics.store(s.i32, actorWord(s.l, id, A_SPW_START), start);
  Atomics.store(s.i32, actorWord(s.l, id, A_SPW_END), end);
  Atomics.add(s.i32, actorWord(s.l, id, A_SPW_SEQ), 1);
}
/** The mbind is over: the count goes even. */
export const spwEndOp = (s: Shm, id: number) => Atomics.add(s.i32, actorWord(s.l, id, A_SPW_SEQ), 1);
