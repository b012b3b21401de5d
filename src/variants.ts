// The bug-injection catalogue (spec §4): each variant removes or reorders one kernel check. A
// removed check is a one-line flag at its site (`ctx.bugs.B1`); a reordering is a named
// alternative of the kernel function, beside the upstream one (src/alternatives.ts).
import type { InvariantId } from './check/invariants.js';

export interface VariantInfo {
  id: VariantId;
  name: string;
  /** the kernel check or ordering it removes */
  removes: string;
  /**
   * The invariant the bug trips first on the default scenario, or null for a negative control.
   * Where the interleaving splits between two (B1: I2 in 25 of 30 campaign seeds, I1 in 5),
   * the one the spec's catalogue (§4) names.
   */
  expect: InvariantId | null;
  /** other invariants the same bug breaks; depending on the interleaving one may fire first */
  alsoBreaks: InvariantId[];
  /** bug: a check removed or reordered; control: a change the kernel tolerates; design: another kernel's design, for comparison */
  kind: 'bug' | 'control' | 'design';
  /** the litmus scenario on which exhaustive search (dfs, 2 preemptions) finds it, or null (it needs a bigger workload) */
  litmus: string | null;
  /**
   * The built-in scenario `expect` is measured on (the campaign of test/engine/variants.test.ts and
   * bench:detection); absent: `default`. A bug in a path `default` does not take (gmem-only
   * memslots, a shared policy set by mbind) names the built-in that takes it.
   */
  scenario?: string;
}

export const VARIANT_IDS = ['B1', 'B2', 'B4', 'B5', 'B6', 'B7', 'B8', 'B9', 'B10', 'B11', 'B18', 'B19', 'B20', 'B21', 'B22', 'B23', 'B24', 'B25', 'B26', 'B27', 'B28', 'B29', 'B30', 'B31', 'B32', 'B33', 'B34', 'B35', 'B36', 'B37', 'B38', 'B39', 'B40', 'B41', 'B42', 'B15', 'B16', 'B17', 'B43', 'B44', 'B45', 'B46', 'B47', 'B48', 'N1'] as const;
export type VariantId = (typeof VARIANT_IDS)[number];
export type Bugs = { readonly [K in VariantId]: boolean };

export const VARIANTS: readonly VariantInfo[] = [
  {
    id: 'B1',
    name: 'skip-stale-check',
    removes: 'is_page_fault_stale() under mmu_lock before installing the SPTE (arch/x86/kvm/mmu/mmu.c)',
    expect: 'I1',
    alsoBreaks: ['I2'],
    litmus: 'litmus-punch',
    kind: 'bug',
  },
  {
    id: 'B2',
    name: 'late-seq-snapshot',
    removes: 'the ordering "snapshot mmu_invalidate_seq, smp_rmb, then resolve the pfn" in kvm_mmu_faultin_pfn (snapshot taken after)',
    expect: 'I2',
    alsoBreaks: ['I1'],
    litmus: 'litmus-punch',
    kind: 'bug',
  },
  {
    id: 'B4',
    name: 'skip-private-mismatch',
    removes: 'fault->is_private != kvm_mem_is_private() -> KVM_EXIT_MEMORY_FAULT in kvm_mmu_faultin_pfn',
    expect: 'I2',
    alsoBreaks: [],
    litmus: 'litmus-convert',
    kind: 'bug',
  },
  {
    id: 'B5',
    name: 'begin-after-zap',
    removes: 'kvm_mmu_invalidate_begin in the same mmu_lock section as, and before, the zap in kvm_gmem_invalidate_begin (begin and range_add moved to a later section); the kernel\'s own lockdep_assert_once in kvm_unmap_gfn_range (a zap needs an open invalidation or slots_lock) catches it as LOCK_HELD before anything maps a freed page (I1)',
    expect: 'LOCK_HELD',
    alsoBreaks: ['I1'],
    litmus: 'litmus-punch',
    kind: 'bug',
  },
  {
    id: 'B6',
    name: 'range-add-after-zap',
    removes: 'kvm_mmu_invalidate_range_add before each zap in kvm_mmu_unmap_gfn_range (range added after the zap, which may yield)',
    expect: 'I5',
    alsoBreaks: ['I2', 'I1'],
    litmus: null,
    kind: 'bug',
  },
  {
    id: 'B7',
    name: 'truncate-before-begin',
    removes: 'invalidate begin+zap before truncate_inode_pages_range in kvm_gmem_punch_hole (truncate moved first)',
    expect: 'I1',
    alsoBreaks: [],
    litmus: 'litmus-punch',
    kind: 'bug',
  },
  {
    id: 'B8',
    name: 'skip-remote-tlb-flush',
    removes: 'kvm_flush_remote_tlbs after zapping SPTEs, before mmu_lock is dropped (kvm_zap_gfn_range / kvm_unmap_gfn_range flush): vCPUs keep cached translations to pages the writer then frees',
    expect: 'I9',
    alsoBreaks: [],
    litmus: 'litmus-punch',
    kind: 'bug',
  },
  {
    id: 'B9',
    name: 'end-seq-after-in-progress',
    removes: 'the order "seq++ then in_progress--" in kvm_mmu_invalidate_end (swapped); benign: the locked check catches it',
    expect: null,
    alsoBreaks: [],
    litmus: null,
    kind: 'control',
  },
  {
    id: 'B10',
    name: 'punch-without-invalidate-lock',
    removes: 'filemap_invalidate_lock (exclusive) around kvm_gmem_punch_hole, so bindings can change between begin and end',
    expect: 'I4',
    alsoBreaks: ['STARVATION'],
    litmus: 'litmus-lock-order',
    kind: 'bug',
  },
  {
    id: 'B11',
    name: 'store-attributes-after-end',
    removes: 'storing the attributes inside the begin/end window of kvm_vm_set_mem_attributes (stored after end)',
    expect: 'I2',
    alsoBreaks: [],
    litmus: 'litmus-convert',
    kind: 'bug',
  },
  {
    id: 'B18',
    name: 'policy-index-slot-relative',
    removes: 'the file offset in the shared-policy lookup of kvm_gmem_get_folio: the page is looked up at its offset within the memslot instead (pgoff dropped), so a slot bound at a nonzero offset gets another range\'s policy',
    expect: 'I11',
    alsoBreaks: [],
    litmus: null,
    scenario: 'numa-mbind',
    kind: 'bug',
  },
  {
    id: 'B19',
    name: 'get-policy-task-fallback',
    removes: 'returning NULL from kvm_gmem_get_policy where the shared tree has no policy: it falls back to the task policy, so get_mempolicy(MPOL_F_ADDR) reports the task mode instead of MPOL_DEFAULT (the selftest test_mbind)',
    expect: 'I12',
    alsoBreaks: [],
    litmus: null,
    scenario: 'numa-mbind',
    kind: 'bug',
  },
  {
    id: 'B20',
    name: 'punch-without-invalidation',
    removes: 'kvm_gmem_invalidate_begin/end around the truncate in kvm_gmem_punch_hole (only truncates)',
    expect: 'I1',
    alsoBreaks: ['I7'],
    litmus: 'litmus-punch',
    kind: 'bug',
  },
  {
    id: 'B21',
    name: 'skip-invalid-slot-check',
    removes: 'the KVM_MEMSLOT_INVALID -> RET_PF_RETRY check in kvm_mmu_faultin_pfn (not in the spec catalogue; an extra)',
    expect: 'I8',
    alsoBreaks: [],
    litmus: 'litmus-memslot',
    kind: 'bug',
  },
  {
    id: 'B22',
    name: 'unbind-under-mmu-lock',
    removes: 'the lock order invalidate_lock -> mmu_lock: memslot delete unbinds (taking invalidate_lock) while still holding mmu_lock after the flush, before the removal swap (an extra, not in the spec catalogue; the kernel would also warn: a sleeping lock under a spinning one). lockdep reports the inverted order (LOCK_ORDER) in any run that takes both orders, deadlocked or not; without lockdep a schedule that interleaves them deadlocks',
    expect: 'LOCK_ORDER',
    alsoBreaks: ['DEADLOCK'],
    litmus: 'litmus-lock-order',
    kind: 'bug',
  },
  {
    id: 'B23',
    name: 'memslot-swap-during-notifier',
    removes: 'the wait for mn_active_invalidate_count == 0 in kvm_swap_active_memslots, so a memslot can appear or vanish between an mmu notifier\'s invalidate_range_start and _end: the end then skips kvm_mmu_invalidate_end (in_progress stuck: faults in the range retry for ever) or runs it without a begin (in_progress < 0). An extra, not in the spec catalogue: the bug fixed by "KVM: Block memslot updates across range_start() and range_end()" (5.13)',
    expect: 'I4',
    alsoBreaks: ['STARVATION'],
    litmus: 'litmus-notifier',
    kind: 'bug',
  },
  {
    id: 'B24',
    name: 'gmem-only-shared-via-hva',
    removes: 'the kvm_memslot_is_gmem_only() case of __kvm_mmu_faultin_pfn (f029f04ddbec, 6.18): a shared fault on a memslot bound to an mmap-able guest_memfd is served by GUP through the HVA instead of from the file, so the guest maps a page that is not the file\'s (the dispatch before that commit)',
    expect: 'I1',
    alsoBreaks: ['I9'],
    litmus: 'litmus-gmem-only',
    scenario: 'numa-mbind',
    kind: 'bug',
  },
  {
    id: 'B25',
    name: 'truncate-keeps-host-pte',
    removes: 'the unmap of a mapped folio in truncate_inode_pages_range (truncate_cleanup_folio -> unmap_mapping_folio) before the folio leaves the page cache on PUNCH_HOLE: the host process keeps a PTE to a page that is no longer the file\'s (the truncate race every filesystem must close)',
    expect: 'I13',
    alsoBreaks: [],
    litmus: 'litmus-host-punch',
    scenario: 'guest-memfd-guest',
    kind: 'bug',
  },
  {
    id: 'B26',
    name: 'user-fault-ignores-init-shared',
    removes: 'the GUEST_MEMFD_FLAG_INIT_SHARED check of kvm_gmem_fault_user_mapping (fe2bf6234e94, 6.18): a host fault on an mmap-able file whose memory is private to the guest maps the page instead of SIGBUS (guest_memfd_test test_fault_private)',
    expect: 'I14',
    alsoBreaks: [],
    litmus: 'litmus-host-private',
    scenario: 'litmus-host-private',
    kind: 'bug',
  },
  {
    id: 'B27',
    name: 'prefault-retries-invalid-slot',
    removes: 'the -EAGAIN of kvm_mmu_faultin_pfn for a prefetch fault on a KVM_MEMSLOT_INVALID memslot (3ccbf6f47098, 6.18): KVM_PRE_FAULT_MEMORY gets RET_PF_RETRY and kvm_tdp_map_page loops inside kvm->srcu while the memslot deletion waits in synchronize_srcu for that reader (the 6.12 baseline behaves so natively)',
    expect: 'DEADLOCK',
    alsoBreaks: [],
    litmus: 'litmus-prefault',
    scenario: 'litmus-prefault',
    kind: 'bug',
  },
  {
    id: 'B28',
    name: 'prefault-error-after-progress',
    removes: 'the "progress returns 0" rule of kvm_vcpu_pre_fault_memory: a call that mapped part of the range and then failed (ENOENT past the memslot, EAGAIN on a memslot being deleted) returns the error, so userspace cannot tell what was done (pre_fault_memory_test asserts exactly one of "size shrank" and "ret < 0")',
    expect: 'I15',
    alsoBreaks: [],
    litmus: null,
    scenario: 'pre-fault-memory',
    kind: 'bug',
  },
  {
    id: 'B29',
    name: 'unbind-skips-dying-file',
    removes: 'the "file is dying" branch of kvm_gmem_unbind (ae431059e75d, 6.18-rc5): when get_file_active fails because the last reference is gone but kvm_gmem_release has not run, unbind returns as if the file were closed, so the bindings keep naming the memslot kvm_free_memslot then frees, and release later writes slot->gmem.file through them (a use-after-free)',
    expect: 'I16',
    alsoBreaks: [],
    litmus: 'litmus-release-unbind',
    scenario: 'litmus-release-unbind',
    kind: 'bug',
  },
  {
    id: 'B30',
    name: 'get-pfn-without-file-ref',
    removes: 'the file reference kvm_gmem_get_pfn takes with kvm_gmem_get_file (get_file_active, 67b43038ce14; RCU before it): the fault uses slot->gmem.file and its inode\'s page cache with nothing keeping them alive, so a close whose release runs meanwhile frees them under the fault',
    expect: 'I16',
    alsoBreaks: ['I1'],
    litmus: 'litmus-release',
    scenario: 'litmus-release',
    kind: 'bug',
  },
  {
    id: 'B31',
    name: 'release-skips-zap',
    removes: 'the __kvm_gmem_invalidate_begin/end of kvm_gmem_release over the whole file: the file\'s SPTEs survive its release, and the inode\'s eviction right after frees the folios they map',
    expect: 'I1',
    alsoBreaks: ['I8', 'I9'],
    litmus: 'litmus-release',
    scenario: 'litmus-release',
    kind: 'bug',
  },
  {
    id: 'B32',
    name: 'hwpoison-leaks-folio',
    removes: 'the folio_put of __kvm_gmem_get_pfn\'s -EHWPOISON return (c31745d2c508 "fix reference leak on hwpoisoned page", Fixes a7800aa80ea4): every fault on a poisoned folio leaks a reference, so the folio can never be freed, not even by a hole punch',
    expect: 'I17',
    alsoBreaks: [],
    litmus: 'litmus-hwpoison',
    scenario: 'litmus-hwpoison',
    kind: 'bug',
  },
  {
    id: 'B33',
    name: 'get-pfn-ignores-hwpoison',
    removes: 'the folio_test_hwpoison check of __kvm_gmem_get_pfn (a7800aa80ea4): a fault after the memory failure maps the poisoned page into the guest instead of failing with -EHWPOISON',
    expect: 'I18',
    alsoBreaks: [],
    litmus: 'litmus-hwpoison',
    scenario: 'litmus-hwpoison',
    kind: 'bug',
  },
  {
    id: 'B34',
    name: 'error-folio-skips-zap',
    removes: 'the kvm_gmem_invalidate_begin/end of kvm_gmem_error_folio ("do not truncate" read as "nothing to do"): the guest keeps its SPTE to the poisoned page after memory_failure returns',
    expect: 'I18',
    alsoBreaks: [],
    litmus: 'litmus-hwpoison',
    scenario: 'litmus-hwpoison',
    kind: 'bug',
  },
  {
    id: 'B35',
    name: 'uptodate-before-prepare',
    removes: 'the order of d04c77d23122 "delay folio_mark_uptodate() until after successful preparation" (6.11; the 6.12 and 6.18 baselines): the folio is marked uptodate (prepared) before kvm_arch_gmem_prepare has succeeded, so after a failed preparation every later fault skips the hook and maps a page whose arch state (the SNP RMP entry) was never set',
    expect: 'I19',
    alsoBreaks: [],
    litmus: null,
    scenario: 'prepare-fail-6.18',
    kind: 'bug',
  },
  {
    id: 'B36',
    name: 'map-despite-prepare-failure',
    removes: 'the error check after kvm_gmem_prepare_folio in kvm_gmem_get_pfn (7.0: the page is handed out only if the hook returned 0): the fault maps a page the arch hook failed to prepare',
    expect: 'I19',
    alsoBreaks: [],
    litmus: null,
    scenario: 'prepare-fail',
    kind: 'bug',
  },
  {
    id: 'B37',
    name: 'notifier-count-dropped-early',
    removes: 'the order at the end of kvm_mmu_notifier_invalidate_range_end: mn_active_invalidate_count is dropped before kvm_mmu_invalidate_end has run over the memslots the start found, so a memslot update can swap them in between and the end sees a different set than the start (the invariant the count exists for, since the 5.13 "Block memslot updates across range_start() and range_end()")',
    expect: 'I4',
    alsoBreaks: ['I5'],
    litmus: 'litmus-numa-balancing',
    scenario: 'litmus-numa-balancing',
    kind: 'bug',
  },
  {
    id: 'B38',
    name: 'shared-policy-lookup-unlocked',
    removes: 'sp->lock\'s read side in mpol_shared_policy_lookup: the lookup (an allocation\'s, get_mempolicy\'s) walks the tree and takes its reference while a runtime mbind edits it, so it can find no node in the window between shared_policy_replace deleting the old one and inserting the new (a page placed by a policy that was never in force: the task\'s), or take the reference on a policy object sp_delete has just freed',
    expect: 'I12',
    alsoBreaks: ['I11', 'I16'],
    litmus: 'litmus-mbind',
    scenario: 'litmus-mbind',
    kind: 'bug',
  },
  {
    id: 'B39',
    name: 'split-bounds-swapped',
    removes: 'the bounds of the split in shared_policy_replace: the right part of an old range that spans the new one is initialised as [n->end, end) instead of [end, n->end), as 42288fe366c4 ("Convert shared_policy mutex to spinlock", 3.8) had it until KOSAKI Motohiro\'s 2013 fix ("start and end parameter are inverted"); the old policy is lost past the new range and the tree holds an inverted node',
    expect: 'I20',
    alsoBreaks: ['I12', 'I11'],
    litmus: null, // needs the split of the middle page, which the litmus' one mbind draws one time in three
    scenario: 'litmus-mbind',
    kind: 'bug',
  },
  {
    id: 'B40',
    name: 'restart-copy-leaked',
    removes: 'the refcount of the policy copy shared_policy_replace allocates with sp->lock dropped (4ad099559b00, 2022, fixing 42288fe366c4): when another mbind changed the tree meanwhile and the restarted walk needs no split, the copy is never freed',
    expect: 'I20',
    alsoBreaks: [],
    litmus: null, // needs the two mbinds' random ranges to make the restarted walk skip the split
    scenario: 'litmus-mbind-race',
    kind: 'bug',
  },
  {
    id: 'B41',
    name: 'populate-shared-gfn',
    removes: 'the PRIVATE-attribute check of __kvm_gmem_populate (e4ee54479273 "let kvm_gmem_populate() operate only on private gfns", 6.11; before it only sev_gmem_post_populate checked): launch data is copied, encrypted and measured into the folio of a gfn the VM treats as shared',
    expect: 'I21',
    alsoBreaks: [],
    litmus: 'litmus-populate',
    scenario: 'litmus-populate',
    kind: 'bug',
  },
  {
    id: 'B42',
    name: 'populate-without-slots-lock',
    removes: 'slots_lock around kvm_gmem_populate in the vendor ioctl (SNP LAUNCH_UPDATE, TDX INIT_MEM_REGION take it; kvm_gmem_populate asserts it): nothing keeps KVM_SET_MEMORY_ATTRIBUTES from making the gfn shared between the attribute check and post_populate',
    expect: 'LOCK_HELD',
    alsoBreaks: ['I21'],
    litmus: 'litmus-populate',
    scenario: 'litmus-populate',
    kind: 'bug',
  },
  {
    id: 'B15',
    name: 'convert-ignores-refcount',
    removes: 'the reference check of a conversion to private (kvm_gmem_is_safe_for_conversion in __kvm_gmem_set_attributes, in-place conversion series, kernel "next"): a folio the host has pinned for DMA becomes the guest\'s private memory while the device can still read and write it',
    expect: 'I22',
    alsoBreaks: [],
    litmus: 'litmus-convert-pin',
    scenario: 'litmus-convert-pin',
    kind: 'bug',
  },
  {
    id: 'B16',
    name: 'convert-keeps-host-ptes',
    removes: 'unmap_mapping_pages before the reference check of a conversion to private (in-place conversion series, kernel "next"): the host process keeps its PTE to a page that is now private; its mapping\'s reference makes the check refuse, so the -EAGAIN the VMM retries never ends while the host keeps it mapped, and a host that unmapped meanwhile lets it through with the PTE still there',
    expect: 'I23',
    alsoBreaks: ['I22'],
    litmus: 'litmus-convert-pin',
    scenario: 'litmus-convert-pin',
    kind: 'bug',
  },
  {
    id: 'B17',
    name: 'user-fault-without-invalidate-lock',
    removes: 'the filemap invalidate lock (shared) around the attribute check and the folio lookup of kvm_gmem_fault_user_mapping (in-place conversion series, kernel "next"): a host fault that found the page shared installs its PTE after a conversion to private has unmapped, checked the references and stored the attributes',
    expect: 'I22',
    alsoBreaks: ['I14'],
    litmus: 'litmus-convert-pin',
    scenario: 'litmus-convert-pin',
    kind: 'bug',
  },
  {
    id: 'B43',
    name: 'user-fault-ignores-attributes',
    removes: 'the shared-attribute check of kvm_gmem_fault_user_mapping (kvm_gmem_is_shared_mem; -EACCES, VM_FAULT_SIGBUS on a private index; in-place conversion series, kernel "next"): the host maps the guest\'s private memory (the series\' own guest_memfd_test checks a private page faults with SIGBUS)',
    expect: 'I14',
    alsoBreaks: ['I22'],
    litmus: 'litmus-convert-pin',
    scenario: 'litmus-convert-pin',
    kind: 'bug',
  },
  {
    id: 'B44',
    name: 'convert-invalidates-before-check',
    removes: 'the order "reference check, then kvm_gmem_invalidate_begin" of a conversion to private (the series checks first, so that an -EAGAIN changes nothing the guest sees): begun before the check, the -EAGAIN return leaves the invalidation open, and every later fault on the range retries for ever',
    expect: 'I4',
    alsoBreaks: ['I23'],
    litmus: 'litmus-convert-pin',
    scenario: 'litmus-convert-pin',
    kind: 'bug',
  },
  {
    id: 'B45',
    name: 'range-has-attributes-short',
    removes: 'the last index of the "already converted" test of __kvm_gmem_set_attributes (kvm_gmem_range_has_attributes over [start, end - 1)): a conversion whose last page alone differs returns 0 without converting anything',
    expect: 'I23',
    alsoBreaks: [],
    litmus: 'litmus-convert-pin',
    scenario: 'litmus-convert-pin',
    kind: 'bug',
  },
  {
    id: 'B46',
    name: 'to-shared-keeps-arch-private',
    removes: 'the arch invalidate of a conversion to shared (kvm_gmem_invalidate before the store in __kvm_gmem_set_attributes, kernel "next"; SNP\'s gmem_invalidate hands the pages back to the host in the RMP): the page is shared, and the host maps and touches it, while the hardware still assigns it to the guest',
    expect: 'I22',
    alsoBreaks: [],
    litmus: 'litmus-convert-inplace',
    scenario: 'litmus-convert-inplace',
    kind: 'bug',
  },
  {
    id: 'B47',
    name: 'get-pfn-without-invalidate-lock',
    removes: 'the invalidate lock (shared) around kvm_gmem_get_pfn\'s lookup and preparation (kernel "next"; 7.0 had none, its attributes being the VM\'s): a fault that saw the page private prepares it (SNP: assigns it to the guest in the RMP) after a conversion to shared has handed it back and stored the attributes; the fault then retries, and the shared page stays assigned',
    expect: 'I22',
    alsoBreaks: [],
    litmus: 'litmus-convert-inplace',
    scenario: 'litmus-convert-inplace',
    kind: 'bug',
  },
  {
    id: 'B48',
    name: 'convert-loses-content',
    removes: 'the content of a conversion in place (kernel "next": the folios stay in the page cache untouched, so what the guest wrote through one view it reads through the other, as the series\' selftests check with PRESERVE): the conversion clears each folio of the range',
    expect: 'DATA',
    alsoBreaks: [],
    litmus: null, // a write, a conversion that does work, then a read: the litmus converter's choices of one seed do not give that order
    scenario: 'conversions-inplace-selftest',
    kind: 'bug',
  },
  {
    id: 'N1',
    name: 'mempolicy-ignored',
    removes: 'the NUMA series: kvm_gmem_get_folio allocates without the shared (or create-time) policy, so only the allocating task\'s policy applies, local by default (the kernel before 6.19; a design comparison, not a protocol bug)',
    expect: null,
    alsoBreaks: [],
    litmus: null,
    kind: 'design',
  },
];

export const NO_BUGS: Bugs = Object.fromEntries(VARIANT_IDS.map((id) => [id, false])) as unknown as Bugs;

/** Look up a variant by catalogue id (B1) or name (skip-stale-check); case-insensitive. */
export function findVariant(key: string): VariantInfo | undefined {
  const k = key.toLowerCase();
  return VARIANTS.find((v) => v.id.toLowerCase() === k || v.name === k);
}

export function bugsFor(variant: VariantId | null): Bugs {
  if (!variant) return NO_BUGS;
  return { ...NO_BUGS, [variant]: true };
}
