// The per-CPU LRU-add batch (mm/swap.c: folio_add_lru, folio_batch_add_and_move,
// lru_add_drain_all) as guest_memfd's in-place conversion meets it (kernel "next"): a folio
// added to the page cache goes into the allocating CPU's lru_add batch, which holds a reference
// to it until the batch is moved to the LRU (when full, or by lru_add_drain_all). guest_memfd
// folios are unevictable, so that batch is the only LRU reference they ever carry; the
// conversion's refcount check drains every batch once before it calls a reference unexpected.
// Only on "next": on older baselines nothing reads a gmem folio's refcount except to free it, so
// the batch is not modelled there (their recorded schedules stay as they are).
import { Ctr, count, type ActorCtx } from '../engine/ctx.js';
import { LRU_BATCH, lruSlotWord } from '../shm/actor.js';
import { pfnRefAdd } from '../shm/pfn.js';
import type { Shm } from '../shm/state.js';
import { pagePut } from './page_alloc.js';

// folio_batch_move_lru of one CPU's batch: each folio goes to the LRU, the batch's reference dropped
function drainBatch(ctx: ActorCtx, cpu: number): void {
  const s = ctx.s;
  for (let i = 0; i < LRU_BATCH; i++) {
    const v = Atomics.exchange(s.i32, lruSlotWord(s, cpu, i), 0);
    if (v !== 0) pagePut(ctx, v - 1);
  }
}

// folio_add_lru: the batch takes a reference; a full batch is moved to the LRU first
export function folioAddLru(ctx: ActorCtx, pfn: number): void {
  const s = ctx.s;
  pfnRefAdd(s, pfn, 1);
  for (;;) {
    for (let i = 0; i < LRU_BATCH; i++) if (Atomics.compareExchange(s.i32, lruSlotWord(s, ctx.id, i), 0, pfn + 1) === 0) return;
    drainBatch(ctx, ctx.id);
  }
}

// lru_add_drain_all: every CPU's batch moved to the LRU (the kernel queues the work on each CPU
// and waits for it; here the caller empties the batches itself, which the owner sees as a drain)
export function lruAddDrainAll(ctx: ActorCtx): void {
  count(ctx, Ctr.lruDrains);
  for (let cpu = 0; cpu < ctx.s.l.nActors; cpu++) drainBatch(ctx, cpu);
}

/** Whether some CPU's batch holds pfn (folio_test_lru is false until it is moved: the batch is what holds it). */
export function inLruBatch(s: Shm, pfn: number): boolean {
  for (let cpu = 0; cpu < s.l.nActors; cpu++) for (let i = 0; i < LRU_BATCH; i++) if (Atomics.load(s.i32, lruSlotWord(s, cpu, i)) === pfn + 1) return true;
  return false;
}
