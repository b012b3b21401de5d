// The vCPU page fault (arch/x86/kvm/mmu/mmu.c at 5b0d0d85422d), TDP MMU, in the spec's order
// (§2.1): seq snapshot, type check, slot checks, lockless precheck, resolve the pfn (guest_memfd
// for private and for gmem-only memslots, the HVA for shared), second precheck, mmu_lock for read,
// is_page_fault_stale, install.
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { alternatives } from '../alternatives.js';
import { EAGAIN, EFAULT } from '../errno.js';
import { kvmGmemGetPfn } from '../gmem/guest_memfd.js';
import { pagePut } from '../mm/page_alloc.js';
import { counterOf } from '../shm/actor.js';
import { INVALID_GFN, mmuInvalidateInProgress, mmuInvalidateRangeEnd, mmuInvalidateRangeStart, mmuInvalidateSeq } from '../shm/kvm.js';
import { PfnOwner, SlotState } from '../shm/layout.js';
import { pfnGen, pfnOwner } from '../shm/pfn.js';
import { gfnToHva, gfnToMemslot, kvmMemslotIsGmemOnly, slotState } from '../shm/slot.js';
import type { Shm } from '../shm/state.js';
import { mmuReadLock, mmuReadUnlock } from '../sync/ops.js';
import { srcuReadLock, srcuReadUnlock } from '../sync/srcu.js';
import { hvaToPfn } from './hva.js';
import { kvmMemIsPrivate } from './memory_attributes.js';
import { mmuInvalidateRetryGfn, mmuInvalidateRetryGfnUnsafe } from './mmu_invalidate.js';
import { Install, spteLevel, tdpMmuMapHuge, tdpMmuMapLeaf, tdpMmuSplitHugePage } from './spte.js';
import { hugeOn, Level, pagesPerLevel } from '../shm/huge.js';
import { lpageMaxLevel } from './lpage_info.js';
import { registerPaths } from '../engine/fiber.js';

export const RET_PF_FIXED = 0;
export const RET_PF_RETRY = 1;
export const RET_PF_EMULATE = 2; // shared access with no memslot: MMIO
export const RET_PF_SPURIOUS = 3;
/** RET_PF_CONTINUE: a step of kvm_mmu_faultin_pfn found nothing to stop the fault for */
const RET_PF_CONTINUE = 4;
// negative values: -errno, KVM_RUN fails (with a KVM_EXIT_MEMORY_FAULT filled in when `exit.valid`)

/** kvm_run->memory_fault as kvm_prepare_memory_fault_exit fills it. */
export interface MemoryFaultExit {
  valid: boolean;
  gpa: number;
  size: number;
  /** KVM_MEMORY_EXIT_FLAG_PRIVATE: the faulting access was private */
  private: boolean;
}

export interface KvmPageFault {
  gfn: number;
  slot: number;
  /** the slot was INVALID when this fault looked it up (it holds the old kvm_memory_slot) */
  slotInvalid: boolean;
  /** fault->prefetch: KVM_PRE_FAULT_MEMORY's fault, not a guest access */
  prefetch: boolean;
  isPrivate: boolean;
  mmuSeq: number;
  pfn: number;
  gen: number;
  /** why the last RET_PF_RETRY happened (for telemetry) */
  retryReason: 'invalid-slot' | 'lockless' | 'stale' | 'spte-race' | '';
  /** the retry caught a page that had been truncated/discarded since it was resolved */
  staleCaught: boolean;
  exit: MemoryFaultExit;
  /** fault->max_level: from guest_memfd's max_order (kvm_max_level_for_order), 4K from the HVA (its pages are 4K) */
  maxLevel: number;
  /** B51: the lpage_info level read at the fault's entry, before the seq snapshot (-1: not read) */
  earlyLevel: number;
  /** kvm_gmem_get_pfn's out-parameter */
  order: { level: number };
}

export function newFault(): KvmPageFault {
  return { gfn: 0, slot: -1, slotInvalid: false, prefetch: false, isPrivate: false, mmuSeq: 0, pfn: -1, gen: 0, retryReason: '', staleCaught: false, exit: { valid: false, gpa: 0, size: 0, private: false }, maxLevel: 0, earlyLevel: -1, order: { level: 0 } };
}

// kvm_prepare_memory_fault_exit
function kvmPrepareMemoryFaultExit(f: KvmPageFault): void {
  f.exit.valid = true;
  f.exit.gpa = f.gfn * 4096;
  f.exit.size = 4096;
  f.exit.private = f.isPrivate;
}

// kvm_mmu_page_fault -> kvm_tdp_mmu_page_fault. `accessPrivate` is the guest's access type
// (SNP/TDX: from hardware); null means SW_PROTECTED, where KVM samples the attribute here. The
// vCPU holds kvm->srcu for the fault (KVM_RUN drops it before entering the guest).
export const kvmMmuPageFault = (ctx: ActorCtx, f: KvmPageFault, gfn: number, accessPrivate: boolean | null): Gen<number> => kvmMmuDoPageFault(ctx, f, gfn, accessPrivate, false, true);

// kvm_mmu_do_page_fault: look the memslot up, resolve, map; `takeSrcu`: enter kvm->srcu for it
// (KVM_PRE_FAULT_MEMORY holds it across its whole loop instead)
export function* kvmMmuDoPageFault(ctx: ActorCtx, f: KvmPageFault, gfn: number, accessPrivate: boolean | null, prefetch: boolean, takeSrcu: boolean): Gen<number> {
  const s = ctx.s;
  count(ctx, Ctr.faults);
  yield P['fault-entry'];
  f.gfn = gfn;
  f.pfn = -1;
  f.retryReason = '';
  f.staleCaught = false;
  f.exit.valid = false;
  f.prefetch = prefetch;
  const allocsBefore = counterOf(s, ctx.base, Ctr.allocations);
  f.isPrivate = accessPrivate ?? kvmMemIsPrivate(s, gfn);
  if (takeSrcu) srcuReadLock(ctx);
  f.slot = gfnToMemslot(s, gfn);
  // The slot as this fault looked it up: a concurrent delete installs an INVALID copy, which a
  // fault that already holds the old one does not see.
  f.slotInvalid = f.slot >= 0 && slotState(s, f.slot) !== SlotState.Valid;
  f.maxLevel = 0;
  // B51: the mapping level's lpage_info read before the seq snapshot, outside mmu_lock
  f.earlyLevel = ctx.bugs.B51 && f.slot >= 0 && hugeOn(s) ? lpageMaxLevel(s, f.slot, gfn, maxHugePageLevel(ctx), ctx.bugs.B50) : -1;
  try {
    let r = yield kvmMmuFaultinPfn(ctx, f);
    if (r === RET_PF_FIXED) r = yield kvmTdpMmuMap(ctx, f);
    countOutcome(ctx, f, r, counterOf(s, ctx.base, Ctr.allocations) !== allocsBefore);
    return r;
  } finally {
    if (takeSrcu) srcuReadUnlock(ctx);
  }
}

/** The jcstress-style outcome of one fault, with the INTERESTING ones the protocol exists for. */
function countOutcome(ctx: ActorCtx, f: KvmPageFault, r: number, allocated: boolean): void {
  if (r === RET_PF_FIXED) count(ctx, Ctr.outFixed);
  else if (r === RET_PF_SPURIOUS) count(ctx, Ctr.outSpurious);
  else if (r === RET_PF_EMULATE) count(ctx, Ctr.outEmulate);
  else if (r === RET_PF_RETRY) {
    count(ctx, Ctr.outRetry);
    if (allocated) count(ctx, Ctr.outRefilledRetry);
    if (f.staleCaught) count(ctx, Ctr.outStalePfnCaught);
  } else count(ctx, f.exit.valid ? Ctr.outExit : Ctr.outError);
}

/** Before dropping a resolved page on a retry: was it truncated or discarded since it was resolved? */
function noteStalePfn(ctx: ActorCtx, f: KvmPageFault): void {
  const owner = pfnOwner(ctx.s, f.pfn);
  f.staleCaught = pfnGen(ctx.s, f.pfn) !== f.gen || owner === PfnOwner.Removed || owner === PfnOwner.Free;
}

// kvm_mmu_faultin_pfn in the kernel's order, and B2's (the seq snapshot taken after the pfn is
// resolved, so a writer that finished in between goes unseen; with no snapshot yet, the first
// lockless precheck has nothing to compare with).
const kvmMmuFaultinPfn = alternatives('kvm_mmu_faultin_pfn', {
  upstream: function* snapshotFirst(ctx: ActorCtx, f: KvmPageFault): Gen<number> {
    yield P['seq-snapshot'];
    f.mmuSeq = mmuInvalidateSeq(ctx.s); // smp_rmb(): every later load is ordered after this
    let r = yield faultinChecks(ctx, f);
    if (r !== RET_PF_CONTINUE) return r;
    yield P['precheck-lockless'];
    if (mmuInvalidateRetryGfnUnsafe(ctx.s, f.mmuSeq, f.gfn)) return retry(ctx, f, 'lockless');
    r = yield __kvmMmuFaultinPfn(ctx, f);
    return r < 0 ? r : yield faultinRecheck(ctx, f);
  },
  B2: function* snapshotAfterResolve(ctx: ActorCtx, f: KvmPageFault): Gen<number> {
    let r = yield faultinChecks(ctx, f);
    if (r !== RET_PF_CONTINUE) return r;
    r = yield __kvmMmuFaultinPfn(ctx, f);
    if (r < 0) return r;
    yield P['seq-snapshot'];
    f.mmuSeq = mmuInvalidateSeq(ctx.s);
    return yield faultinRecheck(ctx, f);
  },
});

// kvm_mmu_faultin_pfn: the private/shared mismatch check, no memslot, an INVALID memslot
function* faultinChecks(ctx: ActorCtx, f: KvmPageFault): Gen<number> {
  yield P['attr-read'];
  if (!ctx.bugs.B4 && f.isPrivate !== kvmMemIsPrivate(ctx.s, f.gfn)) {
    kvmPrepareMemoryFaultExit(f);
    count(ctx, Ctr.memoryFaultExits);
    return -EFAULT;
  }
  if (f.slot < 0) {
    // kvm_handle_noslot_fault
    if (f.isPrivate) {
      kvmPrepareMemoryFaultExit(f);
      count(ctx, Ctr.memoryFaultExits);
      return -EFAULT;
    }
    count(ctx, Ctr.mmioExits);
    return RET_PF_EMULATE;
  }
  yield P['slot-check'];
  if (f.slotInvalid && !ctx.bugs.B21) {
    // A prefetch (KVM_PRE_FAULT_MEMORY) loops on RET_PF_RETRY inside kvm->srcu, where the deleter's
    // synchronize_srcu waits for it: -EAGAIN to userspace instead (3ccbf6f47098, 6.18; B27 and
    // the 6.12 baseline retry)
    if (f.prefetch && ctx.sc.kernel !== '6.12' && !ctx.bugs.B27) return -EAGAIN;
    return retry(ctx, f, 'invalid-slot');
  }
  return RET_PF_CONTINUE;
}

// kvm_mmu_faultin_pfn: the second lockless check, once the pfn is resolved
function* faultinRecheck(ctx: ActorCtx, f: KvmPageFault): Gen<number> {
  yield P['precheck-lockless-2'];
  if (!mmuInvalidateRetryGfnUnsafe(ctx.s, f.mmuSeq, f.gfn)) return RET_PF_FIXED;
  noteStalePfn(ctx, f);
  pagePut(ctx, f.pfn);
  return retry(ctx, f, 'lockless');
}

// __kvm_mmu_faultin_pfn: guest_memfd for a private access and for any access to a gmem-only
// memslot (f029f04ddbec, in 6.18), else GUP through the HVA; B24 sends a gmem-only slot's shared
// faults to the HVA (the dispatch before that commit)
function* __kvmMmuFaultinPfn(ctx: ActorCtx, f: KvmPageFault): Gen<number> {
  const s = ctx.s;
  if (f.isPrivate || (!ctx.bugs.B24 && kvmMemslotIsGmemOnly(s, f.slot))) return yield kvmMmuFaultinPfnGmem(ctx, f);
  const pfn = yield hvaToPfn(ctx, gfnToHva(s, f.slot, f.gfn));
  if (pfn < 0) return -EFAULT; // kvm_handle_error_pfn: a failed GUP is -EFAULT, no memory-fault exit
  return faultinResolved(ctx, f, pfn);
}

// kvm_mmu_faultin_pfn_gmem: kvm_gmem_get_pfn, a memory-fault exit on its error (every memslot
// modelled is bound to the file, so the "slot has no gmem" exit cannot happen)
function* kvmMmuFaultinPfnGmem(ctx: ActorCtx, f: KvmPageFault): Gen<number> {
  const pfn = yield kvmGmemGetPfn(ctx, f.slot, f.gfn, f.order);
  if (pfn < 0) {
    kvmPrepareMemoryFaultExit(f);
    count(ctx, Ctr.memoryFaultExits);
    return pfn;
  }
  f.maxLevel = f.order.level; // fault->max_level = kvm_max_level_for_order(max_order)
  return faultinResolved(ctx, f, pfn);
}

/** max_huge_page_level: 1G when the CPU has 1G pages (Scenario.hugepages.maxLevel) */
const maxHugePageLevel = (ctx: ActorCtx) => (ctx.sc.hugepages.maxLevel === '1g' ? Level.L1G : Level.L2M);

// kvm_mmu_hugepage_adjust under mmu_lock, after is_page_fault_stale: goal_level from
// kvm_mmu_max_mapping_level (fault->max_level capped at max_huge_page_level, stepped down while
// lpage_info disallows; for private and gmem-only memory guest_memfd's level, already in
// max_level, capped by the vendor hook; the HVA's pages are 4K). The values read are racy on
// their own: the seq retry that passed makes them current (B51 reads lpage_info before the snapshot)
function kvmMmuHugepageAdjust(ctx: ActorCtx, f: KvmPageFault): number {
  if (f.maxLevel === Level.L4K || f.slot < 0) return Level.L4K;
  // the vendor's gmem_max_mapping_level: on a coco VM (SNP-like) a private mapping is at most 2M,
  // the RMP's largest page; SW_PROTECTED and shared memory have no limit
  const vendor = ctx.sc.vmType === 'coco' && f.isPrivate ? Level.L2M : Level.L1G;
  const max = Math.min(f.maxLevel, maxHugePageLevel(ctx), vendor);
  return f.earlyLevel >= 0 ? Math.min(max, f.earlyLevel) : lpageMaxLevel(ctx.s, f.slot, f.gfn, max, ctx.bugs.B50);
}

function faultinResolved(ctx: ActorCtx, f: KvmPageFault, pfn: number): number {
  f.pfn = pfn;
  f.gen = pfnGen(ctx.s, pfn); // stable: we hold a reference
  return RET_PF_FIXED;
}

// mmu_lock for read, is_page_fault_stale, kvm_tdp_mmu_map, kvm_mmu_finish_page_fault
function* kvmTdpMmuMap(ctx: ActorCtx, f: KvmPageFault): Gen<number> {
  yield mmuReadLock(ctx);
  yield P['stale-check'];
  if (!ctx.bugs.B1 && isPageFaultStale(ctx, f)) {
    noteStalePfn(ctx, f);
    pagePut(ctx, f.pfn);
    mmuReadUnlock(ctx);
    return retry(ctx, f, 'stale');
  }
  yield P['spte-install'];
  const r = hugeOn(ctx.s) ? kvmTdpMmuMapHuge(ctx, f) : tdpMmuMapLeaf(ctx, f.gfn, f.pfn, f.gen, f.isPrivate);
  ctx.ev.spteInstalled(ctx, f.gfn);
  pagePut(ctx, f.pfn); // kvm_mmu_finish_page_fault: the page is not pinned by the SPTE
  mmuReadUnlock(ctx);
  if (r === Install.Lost) return retry(ctx, f, 'spte-race');
  return r === Install.Installed ? RET_PF_FIXED : RET_PF_SPURIOUS;
}

// kvm_tdp_mmu_map with huge pages on: the goal level, a huge leaf above it split on the way down,
// then the leaf at the goal level (its gfn and pfn aligned down: fault->pfn &= ~(pages - 1))
function kvmTdpMmuMapHuge(ctx: ActorCtx, f: KvmPageFault): number {
  const goal = kvmMmuHugepageAdjust(ctx, f);
  if (spteLevel(ctx.s, f.gfn) > goal) tdpMmuSplitHugePage(ctx, f.gfn, goal);
  if (goal === Level.L4K) return tdpMmuMapLeaf(ctx, f.gfn, f.pfn, f.gen, f.isPrivate);
  const nr = pagesPerLevel(ctx.s, goal);
  return tdpMmuMapHuge(ctx, f.gfn - (f.gfn % nr), f.pfn - (f.pfn % nr), goal, f.isPrivate);
}

// is_page_fault_stale (TDP MMU: the root cannot be obsolete here)
function isPageFaultStale(ctx: ActorCtx, f: KvmPageFault): boolean {
  return mmuInvalidateRetryGfn(ctx, f.mmuSeq, f.gfn);
}

function retry(ctx: ActorCtx, f: KvmPageFault, why: KvmPageFault['retryReason']): number {
  f.retryReason = why;
  count(ctx, why === 'stale' ? Ctr.retryStale : why === 'lockless' ? Ctr.retryLockless : why === 'spte-race' ? Ctr.retrySpteRace : Ctr.retryInvalidSlot);
  // Split: the gfn sat in an open invalidation's range, or (only) the seq moved since the snapshot.
  if ((why === 'stale' || why === 'lockless') && !gfnInOpenRange(ctx.s, f.gfn, why === 'stale')) count(ctx, why === 'stale' ? Ctr.retryStaleSeq : Ctr.retryLocklessSeq);
  return RET_PF_RETRY;
}

function gfnInOpenRange(s: Shm, gfn: number, locked: boolean): boolean {
  if (mmuInvalidateInProgress(s) === 0) return false;
  const start = mmuInvalidateRangeStart(s);
  if (start === INVALID_GFN) return locked; // the locked check retries on "no range yet"
  return gfn >= start && gfn < mmuInvalidateRangeEnd(s);
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmMmuDoPageFault, faultinChecks, faultinRecheck, __kvmMmuFaultinPfn, kvmMmuFaultinPfnGmem, kvmTdpMmuMap });
