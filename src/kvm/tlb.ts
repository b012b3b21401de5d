// The vCPUs' TLBs: translations a vCPU caches from SPTEs and keeps using after the SPTE is gone,
// until a remote flush reaches it (spec I9). A few direct-mapped entries per vCPU, in its own
// actor words; the flusher only raises the request word, the vCPU clears its own entries.
import { A_IN_GUEST, A_TLB, A_TLB_REQ, TLB_ENTRIES, TLB_ENTRY_WORDS, actorWord } from '../shm/layout.js';
import type { Shm } from '../shm/state.js';

const entry = (gfn: number) => A_TLB + (gfn & (TLB_ENTRIES - 1)) * TLB_ENTRY_WORDS;

// kvm_flush_remote_tlbs -> kvm_make_all_cpus_request(KVM_REQ_TLB_FLUSH) with KVM_REQUEST_WAIT:
// raise every vCPU's request, then wait until none is still inside a guest access that may have
// read its TLB before the request (under sim an access is one step, so this never waits).
export function kvmFlushRemoteTlbs(s: Shm): void {
  const { i32, l } = s;
  for (let id = 0; id < l.nActors; id++) Atomics.store(i32, actorWord(l, id, A_TLB_REQ), 1);
  for (let id = 0; id < l.nActors; id++) {
    const w = actorWord(l, id, A_IN_GUEST);
    while (Atomics.load(i32, w) !== 0) {
      /* the access is a few loads and stores */
    }
  }
}

// vcpu_enter_guest -> kvm_service_local_tlb_flush_requests: on entry (A_IN_GUEST already 1, so a
// flusher that raised the request after this load waits for the access), honour a pending flush.
export function kvmServiceLocalTlbFlushRequests(s: Shm, base: number): void {
  const a = s.i32;
  if (Atomics.load(a, base + A_TLB_REQ) === 0) return;
  for (let e = 0; e < TLB_ENTRIES; e++) Atomics.store(a, base + A_TLB + e * TLB_ENTRY_WORDS, 0);
  Atomics.store(a, base + A_TLB_REQ, 0); // after the entries: a checker seeing 0 sees them cleared
}

/** The pfn the vCPU's TLB holds for gfn with this type, or -1. */
export function tlbLookup(s: Shm, base: number, gfn: number, isPrivate: boolean | null): number {
  const a = s.i32;
  const e = base + entry(gfn);
  if (Atomics.load(a, e) !== gfn + 1) return -1;
  if (isPrivate !== null && (Atomics.load(a, e + 2) === 1) !== isPrivate) return -1;
  return Atomics.load(a, e + 1) - 1;
}

/** The walk's result, cached (the entry's previous translation is evicted). */
export function tlbFill(s: Shm, base: number, gfn: number, pfn: number, isPrivate: boolean): void {
  const a = s.i32;
  const e = base + entry(gfn);
  Atomics.store(a, e, 0); // never a moment where the entry pairs this gfn with the old pfn
  Atomics.store(a, e + 1, pfn + 1);
  Atomics.store(a, e + 2, isPrivate ? 1 : 0);
  Atomics.store(a, e, gfn + 1);
}

/** Checker: a vCPU (actor id) whose TLB still holds pfn with no flush pending, and the gfn, or null. */
export function tlbHolder(s: Shm, pfn: number): { actor: number; gfn: number } | null {
  const { i32, l } = s;
  for (let id = 0; id < l.nActors; id++) {
    const base = actorWord(l, id, 0);
    if (Atomics.load(i32, base + A_TLB_REQ) !== 0) continue; // cleared before the vCPU's next access
    for (let e = 0; e < TLB_ENTRIES; e++) {
      const w = base + A_TLB + e * TLB_ENTRY_WORDS;
      const g = Atomics.load(i32, w);
      if (g !== 0 && Atomics.load(i32, w + 1) === pfn + 1) return { actor: id, gfn: g - 1 };
    }
  }
  return null;
}

/** The type of the translation tlbLookup just found for gfn. */
export function tlbPrivate(s: Shm, base: number, gfn: number): boolean {
  return Atomics.load(s.i32, base + entry(gfn) + 2) === 1;
}
