// Per-actor words (each actor's own cache lines): counters, the SRCU read-side epoch, the vCPU's
// TLB and mailbox, what the actor waits on (for reports), and ghost bookkeeping. An actor's
// words are addressed through its base (actorBase); only this file turns a base into offsets.
import {
  A_DONE,
  A_IN_GUEST,
  A_INSIDE,
  A_INV_HIST,
  A_LOCKS_HELD,
  A_LRU_BATCH,
  LRU_BATCH,
  A_MB_ARG,
  A_MB_GFN,
  A_MB_STATE,
  A_MMU_READER,
  A_READY,
  A_RETRY_HIST,
  A_RETRY_MAX,
  A_RETURNED,
  A_SLEEP,
  A_SRCU,
  A_TLB,
  A_TLB_REQ,
  A_WAIT_ARG,
  A_WAIT_ARG2,
  A_WAIT_KIND,
  ACTOR_WORDS,
  A_COUNTERS,
  COUNTERS,
  Ctr,
  INV_HIST_BUCKETS,
  RETRY_HIST_BUCKETS,
  TLB_ENTRIES,
  TLB_ENTRY_WORDS,
  actorWord,
  type CounterName,
} from './layout.js';
import type { Shm } from './state.js';

/** The handle of actor `id`'s words. */
export const actorBase = (s: Shm, id: number) => actorWord(s.l, id, 0);

// ---- counters (by id: Ctr.faults): written only by their actor (plain stores), read by anyone (a torn view is fine) ----

export { Ctr };
export const counterAdd = (s: Shm, base: number, c: number, n = 1) => {
  s.i32[base + A_COUNTERS + c] += n;
};
/** where actor `id`'s counters start (Ctr order) */
export const countersWord = (s: Shm, id: number) => actorWord(s.l, id, A_COUNTERS);
export const counterOf = (s: Shm, base: number, c: number) => s.i32[base + A_COUNTERS + c];
export const setCounter = (s: Shm, base: number, c: number, v: number) => {
  s.i32[base + A_COUNTERS + c] = v;
};
/** actor `id`'s counter, read atomically (another thread's) and unsigned */
export const actorCounter = (s: Shm, id: number, c: number) => Atomics.load(s.i32, actorWord(s.l, id, A_COUNTERS + c)) >>> 0;

/** Every counter of an actor as an object of one shape (built once: explore collects one per schedule). */
export const readCounters = new Function('a', 'o', `return { ${COUNTERS.map((c, i) => `${c}: Atomics.load(a, o + ${i}) >>> 0`).join(', ')} };`) as (a: Int32Array, o: number) => Record<CounterName, number>;
export const actorCounters = (s: Shm, id: number) => readCounters(s.i32, actorWord(s.l, id, A_COUNTERS));

/** the faulting-access retry histogram (log2 buckets) and the largest retry count */
export const retryHistAdd = (s: Shm, base: number, bucket: number) => {
  s.i32[base + A_RETRY_HIST + bucket]++;
};
export const retryHist = (s: Shm, id: number, bucket: number) => Atomics.load(s.i32, actorWord(s.l, id, A_RETRY_HIST + bucket));
export const retryMax = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_RETRY_MAX));
export const setRetryMax = (s: Shm, base: number, n: number) => {
  s.i32[base + A_RETRY_MAX] = n;
};
export { RETRY_HIST_BUCKETS };

/** log2 bucket of a count or length n >= 0, as the retry and invalidation-window histograms keep them: [0] 0, [b] 2^(b-1) .. 2^b - 1, the last open-ended */
export const log2Bucket = (n: number, buckets: number) => (n <= 0 ? 0 : Math.min(buckets - 1, 32 - Math.clz32(n)));
/** the invalidation-window length histogram (an actor's own words; telemetry only) */
export const invHistAdd = (s: Shm, base: number, len: number) => {
  s.i32[base + A_INV_HIST + log2Bucket(Math.round(len), INV_HIST_BUCKETS)]++;
};
export const invHist = (s: Shm, id: number, bucket: number) => Atomics.load(s.i32, actorWord(s.l, id, A_INV_HIST + bucket));
export { INV_HIST_BUCKETS };

// ---- SRCU read side: the epoch the actor entered in (0: not in a read-side section) ----

export const actorSrcuEpoch = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_SRCU));
export const setActorSrcuEpoch = (s: Shm, base: number, epoch: number) => Atomics.store(s.i32, base + A_SRCU, epoch);

// ---- ghost: invalidations this actor began and has not ended ----

export const actorInside = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_INSIDE));
export const ownInside = (s: Shm, base: number) => Atomics.load(s.i32, base + A_INSIDE);
export const ownInsideAdd = (s: Shm, base: number, d: number) => Atomics.add(s.i32, base + A_INSIDE, d);
export const setOwnInside = (s: Shm, base: number, v: number) => Atomics.store(s.i32, base + A_INSIDE, v);

// ---- what the actor waits on, published for the main thread's reports (threads engine) ----

export function publishWait(s: Shm, base: number, kind: number, arg: number, arg2: number): void {
  s.i32[base + A_WAIT_ARG] = arg;
  s.i32[base + A_WAIT_ARG2] = arg2;
  Atomics.store(s.i32, base + A_WAIT_KIND, kind);
}
export const clearWait = (s: Shm, base: number) => Atomics.store(s.i32, base + A_WAIT_KIND, 0);
export const publishedWait = (s: Shm, id: number) => ({
  kind: Atomics.load(s.i32, actorWord(s.l, id, A_WAIT_KIND)),
  arg: s.i32[actorWord(s.l, id, A_WAIT_ARG)],
  arg2: s.i32[actorWord(s.l, id, A_WAIT_ARG2)],
});

/** lockdep: the lock classes the actor holds (a bit each) */
export const locksHeld = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_LOCKS_HELD));
/** a plain store: only reports read it (another thread may see it late) */
export const setLocksHeld = (s: Shm, base: number, mask: number) => {
  s.i32[base + A_LOCKS_HELD] = mask;
};

// ---- lifecycle ----

/** the vCPU's guest program ended (the VMM stops once every vCPU has) */
export const setActorDone = (s: Shm, base: number) => Atomics.store(s.i32, base + A_DONE, 1);
export const actorDone = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_DONE)) === 1;
/** the actor's program returned (set by the engine) */
export const setActorReturned = (s: Shm, base: number) => Atomics.store(s.i32, base + A_RETURNED, 1);
export const actorReturned = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_RETURNED)) === 1;
/** vCPU 0 with shared gfns: its initial conversion is done */
export function setActorReady(s: Shm, base: number): void {
  Atomics.store(s.i32, base + A_READY, 1);
  Atomics.notify(s.i32, base + A_READY);
}
export const actorReadyWord = (s: Shm, id: number) => actorWord(s.l, id, A_READY);
/** a word nobody writes: Atomics.wait on it is a plain sleep, which notify cuts short */
export const sleepWord = (s: Shm, base: number) => base + A_SLEEP;
export const sleepWordOf = (s: Shm, id: number) => actorWord(s.l, id, A_SLEEP);

// ---- the vCPU <-> VMM mailbox (KVM_RUN's exit handed to the VMM thread): 0 idle, 1 posted, 2 served ----

export const MB_IDLE = 0;
export const MB_POSTED = 1;
export const MB_SERVED = 2;
export function mbPost(s: Shm, base: number, gfn: number, arg: number): void {
  s.i32[base + A_MB_GFN] = gfn;
  s.i32[base + A_MB_ARG] = arg;
  Atomics.store(s.i32, base + A_MB_STATE, MB_POSTED);
}
export const mbState = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_MB_STATE));
export const mbStateWord = (s: Shm, base: number) => base + A_MB_STATE;
/** the request a vCPU posted: [gfn, arg] */
export const mbRequest = (s: Shm, id: number): [number, number] => [s.i32[actorWord(s.l, id, A_MB_GFN)], s.i32[actorWord(s.l, id, A_MB_ARG)]];
export function mbReply(s: Shm, id: number, reply: number): void {
  const w = actorWord(s.l, id, A_MB_STATE);
  s.i32[actorWord(s.l, id, A_MB_ARG)] = reply;
  Atomics.store(s.i32, w, MB_SERVED);
  Atomics.notify(s.i32, w);
}
/** the vCPU takes the VMM's reply and frees its mailbox */
export function mbTakeReply(s: Shm, base: number): number {
  const reply = s.i32[base + A_MB_ARG];
  Atomics.store(s.i32, base + A_MB_STATE, MB_IDLE);
  return reply;
}
/** actor id of a mailbox state word (for "waits for the VMM to serve ..." reports), or -1 */
export function mbOwner(s: Shm, word: number): number {
  const off = word - s.l.actorBase;
  return off >= 0 && off % ACTOR_WORDS === A_MB_STATE ? (off - A_MB_STATE) / ACTOR_WORDS : -1;
}

// ---- the vCPU's TLB (direct-mapped entries: gfn + 1, pfn + 1, private) and its flush request ----

export const setInGuest = (s: Shm, base: number, v: number) => Atomics.store(s.i32, base + A_IN_GUEST, v);
export const inGuest = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_IN_GUEST));
export const tlbRequest = (s: Shm, base: number) => Atomics.load(s.i32, base + A_TLB_REQ);
export const setTlbRequest = (s: Shm, base: number, v: number) => Atomics.store(s.i32, base + A_TLB_REQ, v);
export const tlbRequestOf = (s: Shm, id: number) => Atomics.load(s.i32, actorWord(s.l, id, A_TLB_REQ));
export const setTlbRequestOf = (s: Shm, id: number, v: number) => Atomics.store(s.i32, actorWord(s.l, id, A_TLB_REQ), v);
const tlbWord = (base: number, e: number) => base + A_TLB + e * TLB_ENTRY_WORDS;
/** entry e: [gfn + 1 (0: empty), pfn + 1, 1 if private] */
export const tlbEntryGfn = (s: Shm, base: number, e: number) => Atomics.load(s.i32, tlbWord(base, e)) - 1;
export const tlbEntryPfn = (s: Shm, base: number, e: number) => Atomics.load(s.i32, tlbWord(base, e) + 1) - 1;
export const tlbEntryPrivate = (s: Shm, base: number, e: number) => Atomics.load(s.i32, tlbWord(base, e) + 2) === 1;
export const tlbEntryClear = (s: Shm, base: number, e: number) => Atomics.store(s.i32, tlbWord(base, e), 0);
export function tlbEntrySet(s: Shm, base: number, e: number, gfn: number, pfn: number, isPrivate: boolean): void {
  const w = tlbWord(base, e);
  Atomics.store(s.i32, w, 0); // never a moment where the entry pairs this gfn with the old pfn
  Atomics.store(s.i32, w + 1, pfn + 1);
  Atomics.store(s.i32, w + 2, isPrivate ? 1 : 0);
  Atomics.store(s.i32, w, gfn + 1);
}
export { TLB_ENTRIES };

// ---- mmu_lock as a big-reader lock: each actor's reader slot ----

export const mmuReaderSlot = (s: Shm, base: number) => base + A_MMU_READER;
/** every actor's reader slot: first word, count, stride */
export const mmuReaderSlots = (s: Shm): [number, number, number] => [s.l.actorBase + A_MMU_READER, s.l.nActors, ACTOR_WORDS];

/** test setup: actor `id`'s ghost count of open invalidations written directly */
export const setActorInside = (s: Shm, id: number, v: number) => Atomics.store(s.i32, actorWord(s.l, id, A_INSIDE), v);

// ---- kernel "next": the CPU's lru_add folio batch (slots of pfn + 1; 0 empty), taken by CAS, emptied by exchange ----
export { LRU_BATCH };
export const lruSlotWord = (s: Shm, id: number, i: number) => actorWord(s.l, id, A_LRU_BATCH + i);
