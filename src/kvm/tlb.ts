// The vCPUs' TLBs: translations a vCPU caches from SPTEs and keeps using after the SPTE is gone,
// until a remote flush reaches it (spec I9). A few direct-mapped entries per vCPU, in its own
// actor words; the flusher only raises the request word, the vCPU clears its own entries.
import { TLB_ENTRIES, inGuest, setTlbRequest, setTlbRequestOf, tlbEntryClear, tlbEntryGfn, tlbEntryPfn, tlbEntryPrivate, tlbEntrySet, tlbRequest } from '../shm/actor.js';
import type { Shm } from '../shm/state.js';

const entry = (gfn: number) => gfn & (TLB_ENTRIES - 1);

// kvm_flush_remote_tlbs -> kvm_make_all_cpus_request(KVM_REQ_TLB_FLUSH) with KVM_REQUEST_WAIT:
// raise every vCPU's request, then wait until none is still inside a guest access that may have
// read its TLB before the request (under sim an access is one step, so this never waits).
export function kvmFlushRemoteTlbs(s: Shm): void {
  for (let id = 0; id < s.l.nActors; id++) setTlbRequestOf(s, id, 1);
  for (let id = 0; id < s.l.nActors; id++) {
    while (inGuest(s, id) !== 0) {
      /* the access is a few loads and stores */
    }
  }
}

// vcpu_enter_guest -> kvm_service_local_tlb_flush_requests: on entry (in_guest already 1, so a
// flusher that raised the request after this load waits for the access), honour a pending flush.
export function kvmServiceLocalTlbFlushRequests(s: Shm, base: number): void {
  if (tlbRequest(s, base) === 0) return;
  for (let e = 0; e < TLB_ENTRIES; e++) tlbEntryClear(s, base, e);
  setTlbRequest(s, base, 0); // after the entries: a checker seeing 0 sees them cleared
}

/** The pfn the vCPU's TLB holds for gfn with this type, or -1. */
export function tlbLookup(s: Shm, base: number, gfn: number, isPrivate: boolean | null): number {
  const e = entry(gfn);
  if (tlbEntryGfn(s, base, e) !== gfn) return -1;
  if (isPrivate !== null && tlbEntryPrivate(s, base, e) !== isPrivate) return -1;
  return tlbEntryPfn(s, base, e);
}

/** The walk's result, cached (the entry's previous translation is evicted). */
export const tlbFill = (s: Shm, base: number, gfn: number, pfn: number, isPrivate: boolean) => tlbEntrySet(s, base, entry(gfn), gfn, pfn, isPrivate);

/** The type of the translation tlbLookup just found for gfn. */
export const tlbPrivate = (s: Shm, base: number, gfn: number) => tlbEntryPrivate(s, base, entry(gfn));
