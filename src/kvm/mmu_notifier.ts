// kvm_mmu_notifier_invalidate_range_start/end around a change of the VMM's page tables
// (kvm_main.c @01f492e1817e, spec §2.9): madvise(MADV_DONTNEED) of shared memory after a
// conversion to private, as QEMU's ram_block_discard_range does, and a protection change that
// keeps the pages (NUMA balancing's change_prot_numa, the standalone notifier actor).
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { pagePut } from '../mm/page_alloc.js';
import { hvaClear } from '../shm/file.js';
import { LOCK_WORDS, mnActiveInvalidateAdd } from '../shm/kvm.js';
import { PfnOwner } from '../shm/layout.js';
import { setPfnOwner } from '../shm/pfn.js';
import { kvmMemslotIsGmemOnly, memslotPieces } from '../shm/slot.js';
import type { Shm } from '../shm/state.js';
import { spinLock, spinUnlock } from '../sync/locks.js';
import { srcuReadLock, srcuReadUnlock } from '../sync/srcu.js';
import { kvmMmuInvalidateRangesBegin, kvmMmuInvalidateRangesEnd } from './mmu_invalidate.js';
import { registerPaths } from '../engine/fiber.js';

/**
 * Memslots of the active set whose HVA range meets [hvaStart, hvaEnd) (kvm_handle_hva_range's
 * walk); `anonOnly`: only memslots whose HVA is the VMM's anonymous memory, not a mapping of the
 * guest_memfd (what NUMA balancing and KSM scan: task_numa_work skips a guest_memfd VMA without an
 * MPOL_F_MOF policy, KSM merges anonymous pages only).
 */
const hvaRanges = (s: Shm, hvaStart: number, hvaEnd: number, anonOnly: boolean) => {
  const pieces = memslotPieces(s, 'hva', hvaStart, hvaEnd, true);
  return anonOnly ? pieces.filter((p) => !kvmMemslotIsGmemOnly(s, p.slot)) : pieces;
};

// kvm_mmu_notifier_invalidate_range_start
function* kvmMmuNotifierInvalidateRangeStart(ctx: ActorCtx, hvaStart: number, hvaEnd: number, anonOnly = false): Gen {
  const s = ctx.s;
  spinLock(s.i32, LOCK_WORDS.mnInvalidateLock);
  mnActiveInvalidateAdd(s, 1); // memslot swaps now wait for us
  spinUnlock(s.i32, LOCK_WORDS.mnInvalidateLock);
  srcuReadLock(ctx);
  const ranges = hvaRanges(s, hvaStart, hvaEnd, anonOnly);
  if (ranges.length > 0) yield kvmMmuInvalidateRangesBegin(ctx, ranges);
  srcuReadUnlock(ctx);
}

// kvm_mmu_notifier_invalidate_range_end: the same memslots as at start, because swaps stay
// blocked until mn_active_invalidate_count drops after the end; B37 drops it first
function* kvmMmuNotifierInvalidateRangeEnd(ctx: ActorCtx, hvaStart: number, hvaEnd: number, anonOnly = false): Gen {
  if (ctx.bugs.B37) {
    mnActiveInvalidateAdd(ctx.s, -1);
    yield P['mn-end'];
  }
  srcuReadLock(ctx);
  if (hvaRanges(ctx.s, hvaStart, hvaEnd, anonOnly).length > 0) yield kvmMmuInvalidateRangesEnd(ctx);
  srcuReadUnlock(ctx);
  if (!ctx.bugs.B37) mnActiveInvalidateAdd(ctx.s, -1);
}

// change_prot_numa on the VMM's anonymous HVA pages [hvaStart, hvaEnd) (NUMA balancing's hinting
// scan; KSM's write protection is alike): the PTEs change between the notifiers, the pages stay,
// so the zapped SPTEs come back on the next fault with the same pages
export function* hvaChangeProtection(ctx: ActorCtx, hvaStart: number, hvaEnd: number): Gen {
  yield kvmMmuNotifierInvalidateRangeStart(ctx, hvaStart, hvaEnd, true);
  yield P['hva-change-prot'];
  yield kvmMmuNotifierInvalidateRangeEnd(ctx, hvaStart, hvaEnd, true);
  count(ctx, Ctr.notifierInvalidations);
  ctx.ev.writerReturned(ctx, 'mmu notifier invalidate_range');
}

// madvise(MADV_DONTNEED) on HVA pages [hvaStart, hvaEnd): zap_page_range_single between the notifiers
export function* hvaDiscardRange(ctx: ActorCtx, hvaStart: number, hvaEnd: number): Gen {
  const s = ctx.s;
  yield kvmMmuNotifierInvalidateRangeStart(ctx, hvaStart, hvaEnd);
  for (let h = hvaStart; h < hvaEnd; h++) {
    yield P['hva-unmap'];
    const pfn = hvaClear(s, h);
    if (pfn < 0) continue;
    setPfnOwner(s, pfn, PfnOwner.Removed);
    ctx.ev.pageLeaving(ctx, pfn, 'discarded');
    pagePut(ctx, pfn);
  }
  yield kvmMmuNotifierInvalidateRangeEnd(ctx, hvaStart, hvaEnd);
  ctx.ev.writerReturned(ctx, 'mmu notifier invalidate_range');
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmMmuNotifierInvalidateRangeStart, kvmMmuNotifierInvalidateRangeEnd, hvaChangeProtection, hvaDiscardRange });
