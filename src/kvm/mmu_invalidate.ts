// The invalidation protocol of virt/kvm/kvm_main.c: begin / range_add / end under the write
// mmu_lock, and the two retry checks faults make against it.
import { addUs, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { checkInProgress } from '../check/online.js';
import { A_INSIDE, C, actorWord, G_IN_PROGRESS, G_RANGE_END, G_RANGE_START, G_SEQ, INVALID_GFN } from '../shm/layout.js';
import type { Shm } from '../shm/state.js';
import { tdpMmuZapLeaf } from './spte.js';
import { kvmFlushRemoteTlbs } from './tlb.js';
import { mmuWriteLock, mmuWriteUnlock } from '../sync/ops.js';

/** gfns zapped between cond_resched points of a zap walk */
export const ZAP_CHUNK = 4;

// kvm_mmu_invalidate_begin (caller holds mmu_lock for write)
export function kvmMmuInvalidateBegin(ctx: ActorCtx): void {
  const a = ctx.s.i32;
  if (Atomics.add(a, G_IN_PROGRESS, 1) === 0) {
    // Ranges accumulate until every outstanding invalidation has ended.
    Atomics.store(a, G_RANGE_START, INVALID_GFN);
    Atomics.store(a, G_RANGE_END, INVALID_GFN);
  }
  Atomics.add(a, ctx.base + A_INSIDE, 1);
  count(ctx, 'invalidations');
  ctx.invBegan.push(windowClock(ctx));
}

/** Telemetry only: µs on threads; under sim (no time) the global step, the sum of every actor's steps. */
function windowClock(ctx: ActorCtx): number {
  if (ctx.clock) return ctx.clock() * 1000;
  let steps = 0;
  for (let id = 0; id < ctx.s.l.nActors; id++) steps += ctx.s.i32[actorWord(ctx.s.l, id, C.steps)];
  return steps;
}

function noteWindowEnd(ctx: ActorCtx): void {
  const began = ctx.invBegan.pop();
  if (began === undefined) return; // an end without a begin: I4 reports it
  const len = windowClock(ctx) - began;
  count(ctx, 'invWindows');
  addUs(ctx, C.invWindowSum, len);
  const a = ctx.s.i32;
  if (len > a[ctx.base + C.invWindowMax]) a[ctx.base + C.invWindowMax] = Math.round(len);
}

// kvm_mmu_invalidate_range_add (caller holds mmu_lock for write)
export function kvmMmuInvalidateRangeAdd(ctx: ActorCtx, start: number, end: number): void {
  const a = ctx.s.i32;
  if (Atomics.load(a, G_IN_PROGRESS) === 0) ctx.report('I5', `range_add [${start}, ${end}) outside any invalidation (WARN_ON_ONCE(!mmu_invalidate_in_progress))`);
  const s = Atomics.load(a, G_RANGE_START);
  if (s === INVALID_GFN) {
    Atomics.store(a, G_RANGE_START, start);
    Atomics.store(a, G_RANGE_END, end);
  } else {
    Atomics.store(a, G_RANGE_START, Math.min(s, start));
    Atomics.store(a, G_RANGE_END, Math.max(Atomics.load(a, G_RANGE_END), end));
  }
}

// kvm_mmu_invalidate_end (caller holds mmu_lock for write). The two stores are separate yield
// points so lockless readers can observe the state between them (what B9 swaps).
export function* kvmMmuInvalidateEnd(ctx: ActorCtx): Gen {
  const a = ctx.s.i32;
  if (Atomics.load(a, G_RANGE_START) === INVALID_GFN) ctx.report('I5', 'invalidate_end with no range ever added (WARN_ON_ONCE(range_start == INVALID_GPA))');
  if (!ctx.bugs.B9) {
    yield P['invalidate-end:seq'];
    Atomics.add(a, G_SEQ, 1);
    yield P['invalidate-end:in_progress'];
    Atomics.sub(a, G_IN_PROGRESS, 1);
  } else {
    yield P['invalidate-end:in_progress'];
    Atomics.sub(a, G_IN_PROGRESS, 1);
    yield P['invalidate-end:seq'];
    Atomics.add(a, G_SEQ, 1);
  }
  Atomics.sub(a, ctx.base + A_INSIDE, 1);
  noteWindowEnd(ctx);
  checkInProgress(ctx);
}

// mmu_invalidate_retry_gfn_unsafe: the lockless precheck (false negatives allowed)
export function mmuInvalidateRetryGfnUnsafe(s: Shm, mmuSeq: number, gfn: number): boolean {
  const a = s.i32;
  if (Atomics.load(a, G_IN_PROGRESS) !== 0 && gfn >= Atomics.load(a, G_RANGE_START) && gfn < Atomics.load(a, G_RANGE_END)) {
    return true;
  }
  return Atomics.load(a, G_SEQ) !== mmuSeq;
}

// mmu_invalidate_retry_gfn: the check under mmu_lock (is_page_fault_stale). `ctx` receives the
// kernel's WARN (an invalidation in progress that no one has given a range yet) as I5.
export function mmuInvalidateRetryGfn(s: Shm, mmuSeq: number, gfn: number, ctx?: ActorCtx): boolean {
  const a = s.i32;
  if (Atomics.load(a, G_IN_PROGRESS) !== 0) {
    const start = Atomics.load(a, G_RANGE_START);
    if (start === INVALID_GFN) {
      ctx?.report('I5', `gfn ${gfn}: fault sees an invalidation in progress with no range added (WARN_ON_ONCE in mmu_invalidate_retry_gfn)`);
      return true;
    }
    if (gfn >= start && gfn < Atomics.load(a, G_RANGE_END)) return true;
  }
  return Atomics.load(a, G_SEQ) !== mmuSeq;
}

// kvm_unmap_gfn_range -> kvm_tdp_mmu_unmap_gfn_range: zap [start, end), yielding the write
// lock between chunks as tdp_mmu_zap_leafs does with may_block (cond_resched_rwlock_write).
export function* kvmZapGfnRange(ctx: ActorCtx, start: number, end: number): Gen {
  for (let g = start; g < end; g += ZAP_CHUNK) {
    if (g !== start) {
      mmuWriteUnlock(ctx);
      yield P['zap-resched'];
      yield* mmuWriteLock(ctx);
    }
    yield P.zap;
    const stop = Math.min(end, g + ZAP_CHUNK);
    let zapped = false;
    for (let x = g; x < stop; x++) zapped = tdpMmuZapLeaf(ctx, x) || zapped;
    if (zapped && !ctx.bugs.B8) kvmFlushRemoteTlbs(ctx.s); // B8: the zap's flush skipped
  }
}

// kvm_mmu_unmap_gfn_range: range_add, then zap (B6 swaps them)
export function* kvmMmuUnmapGfnRange(ctx: ActorCtx, start: number, end: number): Gen {
  if (!ctx.bugs.B6) {
    yield P['range-add'];
    kvmMmuInvalidateRangeAdd(ctx, start, end);
  }
  yield* kvmZapGfnRange(ctx, start, end);
  if (ctx.bugs.B6) {
    yield P['range-add'];
    kvmMmuInvalidateRangeAdd(ctx, start, end);
  }
}

// The write section of kvm_handle_gfn_range / kvm_handle_hva_range with on_lock =
// kvm_mmu_invalidate_begin and handler = kvm_mmu_unmap_gfn_range: open one invalidation, then
// range_add + zap each memslot's piece. Callers skip it (and the end) when no memslot is met.
export function* kvmMmuInvalidateRangesBegin(ctx: ActorCtx, pieces: ReadonlyArray<{ gfn: number; n: number }>): Gen {
  yield* mmuWriteLock(ctx);
  yield P['invalidate-begin'];
  kvmMmuInvalidateBegin(ctx);
  for (const p of pieces) yield* kvmMmuUnmapGfnRange(ctx, p.gfn, p.gfn + p.n);
  mmuWriteUnlock(ctx);
}

// The matching end section: on_lock = kvm_mmu_invalidate_end under the write lock.
export function* kvmMmuInvalidateRangesEnd(ctx: ActorCtx): Gen {
  yield* mmuWriteLock(ctx);
  yield* kvmMmuInvalidateEnd(ctx);
  mmuWriteUnlock(ctx);
}
