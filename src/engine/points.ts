// Yield points: the only places an actor can be interleaved. Named after what happens there,
// so a trace reads like the kernel. An actor yields the point *before* doing the operation.

export const POINT_NAMES = [
  'start',
  // guest side
  'guest-access',
  'hypercall',
  'exit-wait',
  // fault path (arch/x86/kvm/mmu/mmu.c)
  'fault-entry',
  'srcu:read',
  'seq-snapshot',
  'attr-read',
  'slot-check',
  'precheck-lockless',
  'precheck-lockless-2',
  'gup',
  'mmu_lock:read',
  'stale-check',
  'spte-install',
  'put-page',
  // guest_memfd (virt/kvm/guest_memfd.c)
  'binding-check',
  'filemap-lookup',
  'folio_lock',
  'pfn-alloc',
  'filemap-insert',
  'folio-zero',
  'truncate',
  'inv_lock:shared',
  'inv_lock:exclusive',
  // invalidation (virt/kvm/kvm_main.c)
  'mmu_lock:write',
  'invalidate-begin',
  'range-add',
  'zap',
  'zap-resched',
  'invalidate-end:seq',
  'invalidate-end:in_progress',
  'tlb-flush',
  // attributes, memslots, notifiers
  'slots_lock',
  'attr-store',
  'slot-invalidate',
  'srcu:sync',
  'slot-flush',
  'unbind',
  'bind',
  'slot-install',
  'hva-unmap',
  // VMM
  'vmm-wait',
  'vmm-serve',
  // threads engine only: an actor parked at an operation boundary for the pause barrier
  'park',
  // shared gfns: a vCPU waits for vCPU 0's initial conversion
  'init-wait',
] as const;

export type PointName = (typeof POINT_NAMES)[number];
export const P: { [K in PointName]: number } = Object.fromEntries(POINT_NAMES.map((n, i) => [n, i])) as never;
