// KVM_PRE_FAULT_MEMORY: kvm_vcpu_pre_fault_memory (virt/kvm/kvm_main.c @01f492e1817e) over
// kvm_arch_vcpu_pre_fault_memory and kvm_tdp_map_page (arch/x86/kvm/mmu/mmu.c @5b0d0d85422d).
// The whole loop runs inside kvm->srcu; kvm_tdp_map_page retries RET_PF_RETRY in the kernel.
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { pollUntil, registerWaitable, WaitId, type Waitable } from '../engine/wait.js';
import { EINVAL, EIO, ENOENT } from '../errno.js';
import { sptePfn } from '../shm/gfn.js';
import { mmuInvalidateInProgress, mmuInvalidateRangeEnd, mmuInvalidateRangeStart, mmuInvalidateSeq } from '../shm/kvm.js';
import { gfnToMemslot, slotGeneration, slotState } from '../shm/slot.js';
import type { Shm } from '../shm/state.js';
import { blockOn } from '../sync/ops.js';
import { srcuReadLock, srcuReadUnlock } from '../sync/srcu.js';
import { kvmMemIsPrivate } from './memory_attributes.js';
import { kvmMmuDoPageFault, RET_PF_EMULATE, RET_PF_FIXED, RET_PF_RETRY, RET_PF_SPURIOUS, type KvmPageFault } from './mmu.js';
import { registerPaths } from '../engine/fiber.js';

/** struct kvm_pre_fault_memory, in pages: the ioctl writes back the part not yet done. */
export interface KvmPreFaultMemory {
  gfn: number;
  npages: number;
}

/**
 * What a fault on gfn decides by: the invalidation state, the memslot the lookup finds (and its
 * state and generation), the SPTE. A retried fault that finds all of it as it was when it started
 * would decide the same again: the kernel's loop spins until one of them changes, which the model
 * waits for instead of spinning (so a loop nothing can end is a deadlock the engines see).
 */
function faultView(s: Shm, gfn: number): number {
  const slot = gfnToMemslot(s, gfn);
  let h = 0x811c9dc5;
  const mix = (x: number) => (h = Math.imul(h ^ x, 0x01000193));
  mix(mmuInvalidateSeq(s));
  mix(mmuInvalidateInProgress(s));
  mix(mmuInvalidateRangeStart(s));
  mix(mmuInvalidateRangeEnd(s));
  mix(slot);
  if (slot >= 0) {
    mix(slotState(s, slot));
    mix(slotGeneration(s, slot));
  }
  mix(sptePfn(s, gfn));
  return h | 0;
}

/** Spinning on a retried fault: proceed once what the fault decides by (waitArg: the gfn) differs from waitArg2. */
export const FAULT_VIEW: Waitable = registerWaitable({
  id: WaitId.FaultView,
  canProceed: (s, ctx) => faultView(s, ctx.waitArg) !== ctx.waitArg2,
  proceed: () => {},
  block(s, ctx, stop) {
    pollUntil(s, ctx, stop, 0, false);
    return 0;
  },
  describe: (_s, arg) => `a change that lets its retried prefault of gfn ${arg} go on (kvm_tdp_map_page spins on RET_PF_RETRY inside kvm->srcu)`,
});

// kvm_tdp_map_page: fault until the result is not RET_PF_RETRY, then map it to an errno
function* kvmTdpMapPage(ctx: ActorCtx, f: KvmPageFault, gfn: number, isPrivate: boolean): Gen<number> {
  for (;;) {
    const view = faultView(ctx.s, gfn);
    const r = yield kvmMmuDoPageFault(ctx, f, gfn, isPrivate, true, false);
    if (r < 0) return r;
    if (r === RET_PF_FIXED || r === RET_PF_SPURIOUS) return 0;
    if (r === RET_PF_EMULATE) return -ENOENT; // no memslot: MMIO
    if (r !== RET_PF_RETRY) return -EIO; // WARN_ON_ONCE: an unexpected RET_PF_*
    count(ctx, Ctr.preFaultRetries);
    // A lost SPTE race retries at once (the next attempt finds the SPTE); any other retry repeats until something changes.
    if (f.retryReason !== 'spte-race') yield blockOn(ctx, FAULT_VIEW, P['prefault-retry'], gfn, view);
  }
}

// kvm_arch_vcpu_pre_fault_memory: private by the attribute on a VM with private memory; the pages covered (4K mappings: one)
function* kvmArchVcpuPreFaultMemory(ctx: ActorCtx, f: KvmPageFault, gfn: number): Gen<number> {
  const isPrivate = ctx.sc.vmType !== 'default' && kvmMemIsPrivate(ctx.s, gfn);
  const r = yield kvmTdpMapPage(ctx, f, gfn, isPrivate);
  return r < 0 ? r : 1;
}

// kvm_vcpu_pre_fault_memory: 0 once any page was done (range advanced past it), else the error
export function* kvmVcpuPreFaultMemory(ctx: ActorCtx, f: KvmPageFault, range: KvmPreFaultMemory): Gen<number> {
  count(ctx, Ctr.preFaultCalls);
  if (range.npages <= 0 || range.gfn < 0) return -EINVAL;
  const full = range.npages;
  let r = 0;
  srcuReadLock(ctx);
  try {
    do {
      yield P['prefault-loop'];
      r = yield kvmArchVcpuPreFaultMemory(ctx, f, range.gfn);
      if (r === 0 || r === -EIO) break; // WARN_ON_ONCE in the kernel
      if (r < 0) break;
      count(ctx, Ctr.preFaultPages, r);
      range.gfn += r;
      range.npages -= r;
    } while (range.npages > 0);
  } finally {
    srcuReadUnlock(ctx);
  }
  if (range.npages !== full && !(ctx.bugs.B28 && r < 0)) return 0; // B28: the error even after progress
  count(ctx, Ctr.preFaultErrors);
  return r;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmTdpMapPage, kvmArchVcpuPreFaultMemory, kvmVcpuPreFaultMemory });
