// Yield points: the only places an actor can be interleaved, named after what happens there so
// a trace reads like the kernel, each with the kernel function it belongs to. An actor yields the
// point *before* doing the operation.
//
// APPEND ONLY. A point's id is its position: trace hashes, replay tokens and the threads replay's
// trace store ids, so inserting or reordering renumbers every later point and breaks every saved
// token. A new point goes at the end (test/structure.test.ts pins the existing ids). If ids ever must
// change, bump POINTS_VERSION: tokens carry it, and an older one is refused naming both versions.

export const POINTS_VERSION = 1;

const TABLE = [
  ['start', 'actor start'],
  // guest side
  ['guest-access', 'guest access'],
  ['hypercall', 'KVM_HC_MAP_GPA_RANGE'],
  ['exit-wait', 'KVM_RUN exit to the VMM'],
  // fault path (arch/x86/kvm/mmu/mmu.c)
  ['fault-entry', 'kvm_mmu_page_fault'],
  ['srcu:read', 'srcu_read_lock (kvm_mmu_page_fault, the mmu notifier)'], // does not yield; the point names it in lockdep reports
  ['seq-snapshot', 'kvm_mmu_faultin_pfn'],
  ['attr-read', 'kvm_mmu_faultin_pfn / kvm_vm_set_mem_attributes'],
  ['slot-check', 'kvm_mmu_faultin_pfn'],
  ['precheck-lockless', 'kvm_mmu_faultin_pfn'],
  ['precheck-lockless-2', 'kvm_mmu_faultin_pfn'],
  ['gup', 'hva_to_pfn'],
  ['mmu_lock:read', 'kvm_tdp_mmu_map'],
  ['stale-check', 'is_page_fault_stale'],
  ['spte-install', 'kvm_tdp_mmu_map'],
  ['put-page', 'kvm_mmu_page_fault'], // unused; kept so later ids stay put
  // guest_memfd (virt/kvm/guest_memfd.c)
  ['binding-check', 'kvm_gmem_get_pfn'],
  ['filemap-lookup', 'kvm_gmem_get_folio'],
  ['folio_lock', 'kvm_gmem_get_folio'],
  ['pfn-alloc', 'kvm_gmem_get_folio'],
  ['filemap-insert', 'kvm_gmem_get_folio'],
  ['folio-zero', 'kvm_gmem_get_folio'],
  ['truncate', 'truncate_inode_pages_range'],
  ['inv_lock:shared', 'filemap_invalidate_lock_shared'],
  ['inv_lock:exclusive', 'filemap_invalidate_lock'],
  // invalidation (virt/kvm/kvm_main.c)
  ['mmu_lock:write', 'write_lock(mmu_lock)'],
  ['invalidate-begin', 'kvm_mmu_invalidate_begin'],
  ['range-add', 'kvm_mmu_invalidate_range_add'],
  ['zap', 'kvm_unmap_gfn_range'],
  ['zap-resched', 'kvm_unmap_gfn_range'],
  ['invalidate-end:seq', 'kvm_mmu_invalidate_end'],
  ['invalidate-end:in_progress', 'kvm_mmu_invalidate_end'],
  ['tlb-flush', 'kvm_flush_remote_tlbs'], // unused; kept so later ids stay put
  // attributes, memslots, notifiers
  ['slots_lock', 'mutex_lock(slots_lock)'],
  ['attr-store', 'kvm_vm_set_mem_attributes'],
  ['slot-invalidate', 'kvm_set_memslot(DELETE)'],
  ['srcu:sync', 'synchronize_srcu'],
  ['slot-flush', 'kvm_arch_flush_shadow_memslot'],
  ['unbind', 'kvm_gmem_unbind'],
  ['bind', 'kvm_gmem_bind'],
  ['slot-install', 'kvm_swap_active_memslots'],
  ['hva-unmap', 'zap_page_range_single (mmu notifier)'],
  // VMM
  ['vmm-wait', 'VMM: wait for an exit'],
  ['vmm-serve', 'VMM: serve an exit'],
  // threads engine only: an actor parked at an operation boundary for the pause barrier
  ['park', 'pause barrier'],
  // shared gfns: a vCPU waits for vCPU 0's initial conversion
  ['init-wait', 'guest boot: wait for vCPU 0'],
  // a host process with the guest_memfd mmap'd (issue 12)
  ['host-access', 'host user access through its mapping'],
  ['host-fault', 'kvm_gmem_fault_user_mapping'],
  ['host-pte-install', 'finish_fault (set_pte_range)'],
  ['host-unmap', 'truncate_inode_pages_range (unmap_mapping_folio)'],
  // KVM_PRE_FAULT_MEMORY (issue 12)
  ['prefault-loop', 'kvm_vcpu_pre_fault_memory'],
  ['prefault-retry', 'kvm_tdp_map_page (RET_PF_RETRY)'],
  // the gmem file's lifetime (issue 12)
  ['close', 'close(2) on the guest_memfd'],
  ['close-wait', 'the VMM before close(2)'],
  ['task-work', 'task_work_run (__fput)'],
  ['release', 'kvm_gmem_release'],
  ['evict', 'truncate_inode_pages_final (evict)'],
  // memory failure (issue 12)
  ['memory-failure', 'memory_failure'],
  ['error-folio', 'kvm_gmem_error_folio'],
  // the standalone mmu notifier (issue 12)
  ['hva-change-prot', 'change_prot_numa (between the mmu notifiers)'],
  ['mn-end', 'kvm_mmu_notifier_invalidate_range_end'],
  // runtime mbind: the gmem inode's shared policy (issue 12)
  ['sp_lock:read', 'mpol_shared_policy_lookup'],
  ['sp_lock:write', 'shared_policy_replace'],
  ['sp-lookup', 'mpol_shared_policy_lookup (sp_lookup)'],
  ['mpol-get', 'mpol_shared_policy_lookup (mpol_get)'],
  ['sp-replace', 'shared_policy_replace'],
  ['sp-alloc', 'shared_policy_replace (alloc_new, lock dropped)'],
  ['mbind', 'mbind -> kvm_gmem_set_policy'],
  ['policy-alloc', 'kvm_gmem_get_folio (__filemap_get_folio_mpol)'],
  // kvm_gmem_populate (issue 12)
  ['populate', 'kvm_gmem_populate'],
  ['post-populate', 'kvm_gmem_populate (post_populate)'],
  // in-place conversion, kernel "next" (issue 13)
  ['gmem-set-attrs', 'kvm_gmem_set_attributes (KVM_SET_MEMORY_ATTRIBUTES2)'],
  ['refcount-check', 'kvm_gmem_is_safe_for_conversion'],
  ['gmem-attr-store', '__kvm_gmem_set_attributes (mas_store_prealloc)'],
  ['host-attr-check', 'kvm_gmem_fault_user_mapping (kvm_gmem_is_shared_mem)'],
  ['conv-retry', 'the VMM after -EAGAIN from KVM_SET_MEMORY_ATTRIBUTES2'],
  ['gup-fast', 'pin_user_pages_fast (gup_fast_pte_range)'],
  ['dma', 'a device DMA through a pinned page'],
  ['unpin', 'unpin_user_page'],
  ['spec-ref', 'folio_try_get (a PFN walker)'],
  ['spec-put', 'folio_put (a PFN walker)'],
  // hugetlb-backed guest_memfd (the 1G RFC, issue 14)
  ['folio-freeze', 'filemap_remove_folio_for_restructuring (folio_ref_freeze, spinning)'],
  ['folio-restructure', 'kvm_gmem_restructure_folios_in_range'],
] as const;

export type PointName = (typeof TABLE)[number][0];
export const POINT_NAMES: readonly PointName[] = TABLE.map((t) => t[0]);
/** the kernel function each point belongs to, by id */
export const FUNCTION_OF_POINT: readonly string[] = TABLE.map((t) => t[1]);
export const P: { readonly [K in PointName]: number } = Object.fromEntries(POINT_NAMES.map((n, i) => [n, i])) as never;
