// The host's view of a guest_memfd it has mmap'd (guest_memfd.c at 01f492e1817e): the fault
// handler kvm_gmem_fault_user_mapping, the PTE the fault installs (finish_fault), a load or store
// through it, and the unmapping truncation does before it removes a folio (unmap_mapping_folio
// in truncate_inode_pages_range, mm/truncate.c). The host process here is not the VMM: its mm
// has no KVM mmu notifier, so its unmaps zap no SPTE. With guest_memfd owning the attributes
// (kernel "next", the in-place conversion series v4), the fault checks the index is shared under
// the invalidate lock (shared), so a conversion to private (which holds it exclusively) either
// sees the fault's folio reference or comes before the fault's check; a conversion to private
// unmaps the range first (unmapMappingPages).
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { EAGAIN } from '../errno.js';
import { pagePut } from '../mm/page_alloc.js';
import { hostPteClear, hostPteGet, hostPteInstall } from '../shm/file.js';
import { inGuest, setInGuest } from '../shm/actor.js';
import { GMEM_INODE_INIT_SHARED, KVM_MEMORY_ATTRIBUTE_PRIVATE, PF_HWPOISON, PF_UPTODATE } from '../shm/layout.js';
import { attrsInGmemState, gmemAttr } from '../shm/attr.js';
import { pfnContent, pfnFlags, pfnFlagsOr, pfnRefAdd, setPfnContent } from '../shm/pfn.js';
import { gmemInodeFlags } from '../shm/slot.js';
import { folioUnlock, invLockShared, invUnlockShared } from '../sync/ops.js';
import { kvmGmemGetFolio } from './guest_memfd.js';
import { registerPaths } from '../engine/fiber.js';

/** What a user fault returns: a mapped page, or the signal the access takes. */
export const VM_FAULT_SIGBUS = -1;
/** VM_FAULT_RETRY: the fault is retried from the top (the folio was not available) */
export const VM_FAULT_RETRY = -2;

// kvm_gmem_fault_user_mapping, then finish_fault: the pfn now mapped at `index`, or VM_FAULT_*
export function* kvmGmemFaultUserMapping(ctx: ActorCtx, index: number): Gen<number> {
  const s = ctx.s;
  count(ctx, Ctr.hostFaults);
  yield P['host-fault'];
  if (index >= s.l.filePages) return VM_FAULT_SIGBUS; // beyond i_size
  let pfn: number;
  if (attrsInGmemState(s)) {
    pfn = yield gmemFolioIfShared(ctx, index);
    if (pfn === VM_FAULT_SIGBUS) return VM_FAULT_SIGBUS;
  } else {
    // fe2bf6234e94: a file whose memory is not shared to the host refuses every user fault; B26 drops it
    if (!ctx.bugs.B26 && (gmemInodeFlags(s) & GMEM_INODE_INIT_SHARED) === 0) return VM_FAULT_SIGBUS;
    pfn = yield kvmGmemGetFolio(ctx, index);
  }
  if (pfn === -EAGAIN) return VM_FAULT_RETRY;
  if (pfn < 0) return VM_FAULT_SIGBUS; // vmf_error: VM_FAULT_OOM, which the access takes as a signal here
  if ((pfnFlags(s, pfn) & PF_HWPOISON) !== 0) {
    // __do_fault: a poisoned page is VM_FAULT_HWPOISON, which the access takes as SIGBUS
    folioUnlock(ctx, pfn);
    pagePut(ctx, pfn);
    return VM_FAULT_SIGBUS;
  }
  if ((pfnFlags(s, pfn) & PF_UPTODATE) === 0) {
    yield P['folio-zero'];
    setPfnContent(s, pfn, 0);
    pfnFlagsOr(s, pfn, PF_UPTODATE);
  }
  // VM_FAULT_LOCKED: finish_fault sets the PTE with the folio still locked, so a truncation
  // (which locks it to unmap and remove it) comes either before this or after the PTE exists
  yield P['host-pte-install'];
  if (hostPteInstall(s, index, pfn)) {
    ctx.ev.hostPteInstalled(ctx, index);
    folioUnlock(ctx, pfn); // the fault's reference becomes the mapping's
    return pfn;
  }
  folioUnlock(ctx, pfn); // another thread of the process mapped it first
  pagePut(ctx, pfn);
  return hostPteGet(s, index);
}

// kernel "next": under the invalidate lock (shared), the folio if the index is shared, else
// -EACCES (VM_FAULT_SIGBUS). B17 checks without the lock, B43 does not check.
function* gmemFolioIfShared(ctx: ActorCtx, index: number): Gen<number> {
  const lock = !ctx.bugs.B17;
  if (lock) yield invLockShared(ctx);
  yield P['host-attr-check'];
  let pfn: number;
  if (!ctx.bugs.B43 && (gmemAttr(ctx.s, index) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0) pfn = VM_FAULT_SIGBUS;
  else pfn = yield kvmGmemGetFolio(ctx, index);
  if (lock) invUnlockShared(ctx);
  return pfn;
}

// a host load or store at file page `index` through the mapping, faulting as needed; false: SIGBUS
export function* hostUserAccess(ctx: ActorCtx, index: number, write: boolean, tag: number): Gen<boolean> {
  const s = ctx.s;
  for (;;) {
    yield P['host-access'];
    setInGuest(s, ctx.base, 1); // the CPU is using its TLB: an unmap's shootdown waits for this access
    let pfn = index < s.l.filePages ? hostPteGet(s, index) : -1; // beyond i_size nothing is ever mapped
    if (pfn < 0) {
      setInGuest(s, ctx.base, 0);
      pfn = yield kvmGmemFaultUserMapping(ctx, index);
      if (pfn === VM_FAULT_SIGBUS) {
        count(ctx, Ctr.hostSigbus);
        return false;
      }
      continue; // mapped (or VM_FAULT_RETRY): the access comes at the next host-access point, through the PTE
    }
    count(ctx, Ctr.hostAccesses);
    ctx.ev.hostAccess(ctx, index, pfn, write);
    if (write) setPfnContent(s, pfn, tag);
    else pfnContent(s, pfn);
    setInGuest(s, ctx.base, 0);
    return true;
  }
}

// the TLB shootdown of zap_pte_range (flush_tlb_range): no CPU still inside an access that read
// the PTE before it was cleared, so the page can be freed (under sim an access is one step: no wait)
export function flushTlbShootdown(ctx: ActorCtx): void {
  for (let id = 0; id < ctx.s.l.nActors; id++) {
    if (id === ctx.id) continue;
    while (inGuest(ctx.s, id) !== 0) {
      /* an access is a load or a store */
    }
  }
}

// unmap_mapping_folio (truncate_cleanup_folio): zap the host PTE mapping the locked folio at
// `index` and drop the mapping's reference, before the folio leaves the page cache
export function* unmapMappingFolio(ctx: ActorCtx, index: number, pfn: number): Gen {
  yield P['host-unmap'];
  if (!hostPteClear(ctx.s, index, pfn)) return;
  ctx.ev.hostPteRemoved(ctx, index);
  count(ctx, Ctr.hostUnmaps);
  flushTlbShootdown(ctx);
  pagePut(ctx, pfn);
}

// unmap_mapping_pages(mapping, start, end - start, false): zap every host PTE of file pages
// [start, end) and drop the mappings' references (no folio lock: a fault installing a PTE now
// still holds its own reference, which the caller's reference check sees)
export function* unmapMappingPages(ctx: ActorCtx, start: number, end: number): Gen {
  const s = ctx.s;
  for (let i = start; i < end; i++) {
    yield P['host-unmap'];
    const pfn = hostPteGet(s, i);
    if (pfn < 0 || !hostPteClear(s, i, pfn)) continue;
    ctx.ev.hostPteRemoved(ctx, i);
    count(ctx, Ctr.hostUnmaps);
    flushTlbShootdown(ctx);
    pagePut(ctx, pfn);
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmGmemFaultUserMapping, gmemFolioIfShared, hostUserAccess, unmapMappingFolio, unmapMappingPages });
