// kvm_mmu_notifier_invalidate_range_start/end around a change of the VMM's page tables:
// here madvise(MADV_DONTNEED) of shared memory after a conversion to private, as QEMU's
// ram_block_discard_range does (spec §2.9).
import { type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { checkBalanced, checkPfnRemoved } from '../check/online.js';
import { gfnOfHva, ghostContentChanged } from '../gmem/ghost.js';
import { pagePut } from '../mm/page_alloc.js';
import { G_MN_ACTIVE, G_MN_LOCK, P_OWNER, PfnOwner, ZERO_SHARED, pfnWord } from '../shm/layout.js';
import { memslotPieces, type Shm } from '../shm/state.js';
import { spinLock, spinUnlock } from '../sync/locks.js';
import { srcuReadLock, srcuReadUnlock } from '../sync/srcu.js';
import { kvmMmuInvalidateRangesBegin, kvmMmuInvalidateRangesEnd } from './mmu_invalidate.js';

/** Memslots of the active set whose HVA range meets [hvaStart, hvaEnd) (kvm_handle_hva_range's walk). */
const hvaRanges = (s: Shm, hvaStart: number, hvaEnd: number) => memslotPieces(s, 'hva', hvaStart, hvaEnd, true);

// kvm_mmu_notifier_invalidate_range_start
function* kvmMmuNotifierInvalidateRangeStart(ctx: ActorCtx, hvaStart: number, hvaEnd: number): Gen {
  const a = ctx.s.i32;
  spinLock(a, G_MN_LOCK);
  Atomics.add(a, G_MN_ACTIVE, 1); // memslot swaps now wait for us
  spinUnlock(a, G_MN_LOCK);
  srcuReadLock(ctx);
  const ranges = hvaRanges(ctx.s, hvaStart, hvaEnd);
  if (ranges.length > 0) yield* kvmMmuInvalidateRangesBegin(ctx, ranges);
  srcuReadUnlock(ctx);
}

// kvm_mmu_notifier_invalidate_range_end: the same memslots as at start (swaps are blocked)
function* kvmMmuNotifierInvalidateRangeEnd(ctx: ActorCtx, hvaStart: number, hvaEnd: number): Gen {
  const a = ctx.s.i32;
  srcuReadLock(ctx);
  if (hvaRanges(ctx.s, hvaStart, hvaEnd).length > 0) yield* kvmMmuInvalidateRangesEnd(ctx);
  srcuReadUnlock(ctx);
  Atomics.sub(a, G_MN_ACTIVE, 1);
}

// madvise(MADV_DONTNEED) on HVA pages [hvaStart, hvaEnd): zap_page_range_single between the notifiers
export function* hvaDiscardRange(ctx: ActorCtx, hvaStart: number, hvaEnd: number): Gen {
  const s = ctx.s;
  yield* kvmMmuNotifierInvalidateRangeStart(ctx, hvaStart, hvaEnd);
  for (let h = hvaStart; h < hvaEnd; h++) {
    yield P['hva-unmap'];
    const pfn = Atomics.exchange(s.i32, s.l.hvaBase + h, 0) - 1;
    if (pfn < 0) continue;
    Atomics.store(s.i32, pfnWord(s.l, pfn, P_OWNER), PfnOwner.Removed);
    const g = gfnOfHva(s, h);
    if (g >= 0) ghostContentChanged(s, g, ZERO_SHARED);
    checkPfnRemoved(ctx, pfn, 'discarded');
    pagePut(ctx, pfn);
  }
  yield* kvmMmuNotifierInvalidateRangeEnd(ctx, hvaStart, hvaEnd);
  checkBalanced(ctx, 'mmu notifier invalidate_range');
}
