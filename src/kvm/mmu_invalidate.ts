// The invalidation protocol of virt/kvm/kvm_main.c (torvalds/linux f0161aad): begin / range_add /
// end under the write mmu_lock, the two retry checks faults make against it, and the zap
// (arch/x86/kvm/mmu/mmu.c kvm_unmap_gfn_range) with its locking rule.
import { Ctr, addUs, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { orders } from '../alternatives.js';
import { actorCounter, counterOf, invHistAdd, setCounter } from '../shm/actor.js';
import {
  INVALID_GFN,
  mmuLockWaiters,
  mmuInvalidateInProgress,
  mmuInvalidateInProgressAdd,
  mmuInvalidateRangeEnd,
  mmuInvalidateRangeStart,
  mmuInvalidateSeq,
  mmuInvalidateSeqInc,
  setMmuInvalidateRange,
} from '../shm/kvm.js';
import type { Shm } from '../shm/state.js';
import { LockClass, lockdepAssertHeld, lockdepAssertOnce, lockdepIsHeld } from '../sync/lockdep.js';
import { mmuWriteLock, mmuWriteUnlock } from '../sync/ops.js';
import { tdpMmuZapAt } from './spte.js';
import { kvmFlushRemoteTlbs } from './tlb.js';
import { registerPaths } from '../engine/fiber.js';

/** gfns zapped between cond_resched points of a zap walk */
export const ZAP_CHUNK = 4;

// kvm_mmu_invalidate_begin (caller holds mmu_lock for write)
export function kvmMmuInvalidateBegin(ctx: ActorCtx): void {
  lockdepAssertHeld(ctx, LockClass.Mmu, true, 'kvm_mmu_invalidate_begin');
  // Ranges accumulate until every outstanding invalidation has ended.
  if (mmuInvalidateInProgressAdd(ctx.s, 1) === 0) setMmuInvalidateRange(ctx.s, INVALID_GFN, INVALID_GFN);
  count(ctx, Ctr.invalidations);
  ctx.invBegan.push(windowClock(ctx));
  ctx.ev.invalidateBegan(ctx);
}

/** Telemetry only: µs on threads; under sim (no time) the global step, the sum of every actor's steps. */
export function windowClock(ctx: ActorCtx): number {
  if (ctx.clock) return ctx.clock() * 1000;
  let steps = 0;
  for (let id = 0; id < ctx.s.l.nActors; id++) steps += actorCounter(ctx.s, id, Ctr.steps);
  return steps;
}

function noteWindowEnd(ctx: ActorCtx): void {
  const began = ctx.invBegan.pop();
  if (began === undefined) return; // an end without a begin: I4 reports it
  const len = windowClock(ctx) - began;
  count(ctx, Ctr.invWindows);
  addUs(ctx, Ctr.invWindowSum, len);
  invHistAdd(ctx.s, ctx.base, len);
  if (len > counterOf(ctx.s, ctx.base, Ctr.invWindowMax)) setCounter(ctx.s, ctx.base, Ctr.invWindowMax, Math.round(len));
}

// kvm_mmu_invalidate_range_add (caller holds mmu_lock for write)
export function kvmMmuInvalidateRangeAdd(ctx: ActorCtx, start: number, end: number): void {
  const s = ctx.s;
  lockdepAssertHeld(ctx, LockClass.Mmu, true, 'kvm_mmu_invalidate_range_add');
  if (mmuInvalidateInProgress(s) === 0) ctx.ev.rangeWarn(ctx, `range_add [${start}, ${end}) outside any invalidation (WARN_ON_ONCE(!mmu_invalidate_in_progress))`);
  const cur = mmuInvalidateRangeStart(s);
  if (cur === INVALID_GFN) setMmuInvalidateRange(s, start, end);
  else setMmuInvalidateRange(s, Math.min(cur, start), Math.max(mmuInvalidateRangeEnd(s), end));
}

// kvm_mmu_invalidate_end's two stores, each its own yield point so lockless readers can observe
// the state between them.
function* seqIncrement(ctx: ActorCtx): Gen {
  yield P['invalidate-end:seq'];
  mmuInvalidateSeqInc(ctx.s);
}
function* inProgressDecrement(ctx: ActorCtx): Gen {
  yield P['invalidate-end:in_progress'];
  mmuInvalidateInProgressAdd(ctx.s, -1);
}
// seq++, smp_wmb(), in_progress--; B9 swaps them (benign: the locked check catches it)
const INVALIDATE_END = orders<[]>('kvm_mmu_invalidate_end', {
  upstream: [seqIncrement, inProgressDecrement],
  B9: [inProgressDecrement, seqIncrement],
});

// kvm_mmu_invalidate_end (caller holds mmu_lock for write)
export function* kvmMmuInvalidateEnd(ctx: ActorCtx): Gen {
  lockdepAssertHeld(ctx, LockClass.Mmu, true, 'kvm_mmu_invalidate_end');
  if (mmuInvalidateRangeStart(ctx.s) === INVALID_GFN) ctx.ev.rangeWarn(ctx, 'invalidate_end with no range ever added (WARN_ON_ONCE(range_start == INVALID_GPA))');
  for (const step of INVALIDATE_END.of(ctx)) yield step(ctx);
  noteWindowEnd(ctx);
  ctx.ev.invalidateEnded(ctx);
}

// mmu_invalidate_retry_gfn_unsafe: the lockless precheck (false negatives allowed)
export function mmuInvalidateRetryGfnUnsafe(s: Shm, mmuSeq: number, gfn: number): boolean {
  if (mmuInvalidateInProgress(s) !== 0 && gfn >= mmuInvalidateRangeStart(s) && gfn < mmuInvalidateRangeEnd(s)) return true;
  return mmuInvalidateSeq(s) !== mmuSeq;
}

// mmu_invalidate_retry_gfn: the check under mmu_lock (is_page_fault_stale); the kernel WARNs on
// an invalidation in progress that no one has given a range yet, and retries.
export function mmuInvalidateRetryGfn(ctx: ActorCtx, mmuSeq: number, gfn: number): boolean {
  const s = ctx.s;
  lockdepAssertHeld(ctx, LockClass.Mmu, false, 'mmu_invalidate_retry_gfn');
  if (mmuInvalidateInProgress(s) !== 0) {
    const start = mmuInvalidateRangeStart(s);
    if (start === INVALID_GFN) {
      ctx.ev.rangeWarn(ctx, `gfn ${gfn}: fault sees an invalidation in progress with no range added (WARN_ON_ONCE in mmu_invalidate_retry_gfn)`);
      return true;
    }
    if (gfn >= start && gfn < mmuInvalidateRangeEnd(s)) return true;
  }
  return mmuInvalidateSeq(s) !== mmuSeq;
}

// kvm_unmap_gfn_range -> kvm_tdp_mmu_unmap_gfn_range: zap [start, end) as tdp_mmu_zap_leafs does
// with may_block: between chunks, tdp_mmu_iter_cond_resched drops the write lock when someone
// waits for it (rwlock_needbreak; zapYield "always": at every chunk), flushing the TLB first if a
// zap is pending; the walk's pending flush is done at its end (flush_on_ret, before the unlock)
export function* kvmZapGfnRange(ctx: ActorCtx, start: number, end: number): Gen {
  const always = ctx.sc.zapYield === 'always';
  let flush = false;
  // Zapping must be covered by an invalidation, or come from memslot deletion under slots_lock
  // (SRCU ordered it): the kernel's lockdep_assert_once since 6.13.
  lockdepAssertOnce(ctx, mmuInvalidateInProgress(ctx.s) !== 0 || lockdepIsHeld(ctx, LockClass.Slots), 'kvm_unmap_gfn_range', 'kvm->mmu_invalidate_in_progress || lockdep_is_held(&kvm->slots_lock)');
  for (let g = start; g < end; g += ZAP_CHUNK) {
    if (g !== start && (always || mmuLockWaiters(ctx.s) > 0)) {
      if (flush) zapFlush(ctx);
      flush = false;
      mmuWriteUnlock(ctx);
      count(ctx, Ctr.zapYields);
      yield P['zap-resched'];
      yield mmuWriteLock(ctx);
    }
    yield P.zap;
    lockdepAssertHeld(ctx, LockClass.Mmu, true, 'tdp_mmu_zap_leafs');
    const stop = Math.min(end, g + ZAP_CHUNK);
    for (let x = g; x < stop; x++) flush = tdpMmuZapAt(ctx, x, start) || flush;
  }
  if (flush) zapFlush(ctx);
}

// the zap's kvm_flush_remote_tlbs; B8 skips it
function zapFlush(ctx: ActorCtx): void {
  if (ctx.bugs.B8) return;
  count(ctx, Ctr.tlbFlushes);
  kvmFlushRemoteTlbs(ctx.s);
}

/** More ranges the arch adds right after the generic range_add (x86's huge-page widening of an attribute change). */
export type AfterRangeAdd = ((ctx: ActorCtx) => void) | undefined;
function* rangeAdd(ctx: ActorCtx, start: number, end: number, after: AfterRangeAdd): Gen {
  yield P['range-add'];
  kvmMmuInvalidateRangeAdd(ctx, start, end);
  after?.(ctx);
}
const zap = (ctx: ActorCtx, start: number, end: number) => kvmZapGfnRange(ctx, start, end);
// kvm_mmu_unmap_gfn_range: range_add, then zap; B6 adds the range after the zap, which may yield
const UNMAP_GFN_RANGE = orders<[number, number, AfterRangeAdd]>('kvm_mmu_unmap_gfn_range', {
  upstream: [rangeAdd, zap],
  B6: [zap, rangeAdd],
});
export function* kvmMmuUnmapGfnRange(ctx: ActorCtx, start: number, end: number, _slot = -1, after?: AfterRangeAdd): Gen {
  for (const step of UNMAP_GFN_RANGE.of(ctx)) yield step(ctx, start, end, after);
}

/** What an invalidation's write section does to each memslot's piece of the range (`slot`: the piece's memslot, -1 when the caller did not say). */
export type RangeHandler = (ctx: ActorCtx, start: number, end: number, slot: number) => Gen;

// The write section of kvm_handle_gfn_range / kvm_handle_hva_range with on_lock =
// kvm_mmu_invalidate_begin and a handler (kvm_mmu_unmap_gfn_range: range_add + zap): open one
// invalidation, then each memslot's piece. Callers skip it (and the end) when no memslot is met.
export function* kvmMmuInvalidateRangesBegin(ctx: ActorCtx, pieces: ReadonlyArray<{ gfn: number; n: number; slot?: number }>, handler: RangeHandler = kvmMmuUnmapGfnRange): Gen {
  yield mmuWriteLock(ctx);
  yield P['invalidate-begin'];
  kvmMmuInvalidateBegin(ctx);
  for (const p of pieces) yield handler(ctx, p.gfn, p.gfn + p.n, p.slot ?? -1);
  mmuWriteUnlock(ctx);
}

// The matching end section: on_lock = kvm_mmu_invalidate_end under the write lock.
export function* kvmMmuInvalidateRangesEnd(ctx: ActorCtx): Gen {
  yield mmuWriteLock(ctx);
  yield kvmMmuInvalidateEnd(ctx);
  mmuWriteUnlock(ctx);
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ seqIncrement, inProgressDecrement, kvmMmuInvalidateEnd, kvmZapGfnRange, rangeAdd, kvmMmuUnmapGfnRange, kvmMmuInvalidateRangesBegin, kvmMmuInvalidateRangesEnd });
