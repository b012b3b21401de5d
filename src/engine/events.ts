// What kernel paths tell the checkers. A path calls ctx.ev.<event>(ctx, ...) at the moment the
// thing happens (an SPTE installed, a page leaving, an attribute stored, an invalidation begun or
// ended, a writer returning ...); it never calls a checker itself. The checkers (src/check/)
// subscribe to the events they judge; the ghost bookkeeping behind them subscribes too.
import type { ActorCtx } from './ctx.js';
import type { MempolicyReport } from '../mm/mempolicy.js';

/** An object with a lifetime that a path touches: a memslot (its gmem.file pointer), the gmem_file (its bindings), the gmem inode (its page cache, by index). */
export type KernelObject = 'memslot' | 'gmem-file' | 'gmem-inode' | 'mempolicy';

/** Why a page leaves: truncated from the page cache, discarded from the HVA, or freed. */
export type PageLeave = 'truncated' | 'discarded' | 'freed';

/** Each event's arguments after the context. Adding an event: a line here, and the path that emits it. */
export interface KernelEventArgs {
  /** tdp_mmu_map_handle_target_level made (or found already there) the leaf SPTE of gfn; mmu_lock held for read */
  spteInstalled: [gfn: number];
  /** the SPTE of gfn now maps newPfn instead of oldPfn (-1: not present) */
  spteChanged: [gfn: number, oldPfn: number, newPfn: number];
  /** the page leaves the page cache (truncated), the VMM's page table (discarded), or is freed */
  pageLeaving: [pfn: number, why: PageLeave];
  /** the memory attribute of gfn was stored (xa_store in kvm_vm_set_mem_attributes) */
  attrStored: [gfn: number];
  /** kvm_arch_flush_shadow_memslot finished for the slot */
  slotFlushed: [slot: number];
  /** kvm_mmu_invalidate_begin (in_progress++) by this actor */
  invalidateBegan: [];
  /** kvm_mmu_invalidate_end (seq++, in_progress--) by this actor */
  invalidateEnded: [];
  /** a writer path (punch hole, set attributes, mmu notifier) returns */
  writerReturned: [path: string];
  /** a WARN_ON_ONCE about the invalidation range fired (the kernel goes on) */
  rangeWarn: [message: string];
  /** kvm_gmem_get_folio allocated a new folio for the file index; ilPrev: the allocating task's il_prev before it */
  folioAllocated: [index: number, pfn: number, ilPrev: number];
  /** get_mempolicy(MPOL_F_ADDR) on the gmem mapping at file offset `index` returned this */
  policyReported: [index: number, report: MempolicyReport];
  /** a vCPU's guest memory: gfns [lo, hi), which only it writes (gfns: own) */
  guestRegion: [lo: number, hi: number];
  /** the guest is about to store a fresh tag to gfn through its private or shared view (ZERO_* bit) */
  guestWrite: [gfn: number, view: number, tag: number];
  /** the guest loaded `value` from pfn through the view */
  guestRead: [gfn: number, pfn: number, view: number, value: number];
  /** a faulting access retried `retries` times in a row with no writer at work; the guest gives up on it */
  starved: [gfn: number, retries: number, reason: string];
  /** a host user fault installed the PTE for file index `index` of the guest_memfd mapping */
  hostPteInstalled: [index: number];
  /** the host's PTE for file index `index` was just cleared (truncation, memory failure, a conversion's unmap) */
  hostPteRemoved: [index: number];
  /** the host loads or stores through its PTE for file index `index`, which maps pfn */
  hostAccess: [index: number, pfn: number, write: boolean];
  /** KVM_PRE_FAULT_MEMORY returned r; the range had `before` pages left and now has `after` */
  preFaultReturned: [r: number, before: number, after: number];
  /** kernel function `fn` is about to read or write the object (memslot id, 0 for the file, the page index for the inode) */
  objectUsed: [obj: KernelObject, id: number, fn: string];
  /** memory_failure() finished handling the poisoned page pfn (its user mappings unmapped, ->error_remove_folio returned) */
  memoryFailureHandled: [pfn: number];
  /** mbind(2) on the gmem mapping is about to set policy id `pid` (0: MPOL_DEFAULT) on file pages [start, end) */
  mbindBegan: [start: number, end: number, pid: number];
  /** that mbind returned err (0, or -errno: nothing changed) */
  mbindReturned: [err: number];
  /** kvm_gmem_get_folio missed in the page cache at `index` and is about to look its policy up */
  policyLookupBegan: [index: number];
  /** kvm_gmem_populate's post_populate is about to copy launch data into pfn for gfn (and make the page the guest's) */
  launchDataWritten: [gfn: number, pfn: number];
  /** kvm_gmem_populate was called for npages pages from startGfn (slots_lock asserted) */
  populateBegan: [startGfn: number, npages: number];
  /** that kvm_gmem_populate returned r */
  populateReturned: [r: number];
  /** kernel "next": guest_memfd stored the memory attributes of file index `index` (mas_store_prealloc) */
  gmemAttrStored: [index: number];
  /** kernel "next": __kvm_gmem_set_attributes holds the invalidate lock for [start, end) to `attrs`; work: the range was not already so */
  gmemSetAttrsBegan: [start: number, end: number, attrs: number, work: boolean];
  /** that conversion returns r (0, or -errno), errIndex the error_offset's page (-1: none) */
  gmemSetAttrsReturned: [r: number, errIndex: number];
  /** a GUP pin (FOLL_PIN | FOLL_LONGTERM) of pfn through the host's PTE at file index `index` was taken */
  folioPinned: [index: number, pfn: number];
  /** that pin is about to be dropped (unpin_user_page) */
  folioUnpinned: [index: number, pfn: number];
  /** a device (DMA through a pin) loads or stores pfn, pinned at file index `index` */
  dmaAccess: [index: number, pfn: number, write: boolean];
  /** kvm_arch_gmem_prepare succeeded on pfn: the page is in the guest's private arch state (SNP: assigned in the RMP) */
  folioPrepared: [pfn: number];
  /** kvm_vm_set_mem_attributes is done with gfns [start, end) and still holds slots_lock (nothing else changes attributes or memslots) */
  memAttrsSet: [start: number, end: number];
  /** a partial truncation zeroed page pfn where it is (its huge folio could not be split): the file keeps it, its content is gone */
  folioZeroed: [pfn: number];
}

export type KernelEventName = keyof KernelEventArgs;
export const KERNEL_EVENTS: readonly KernelEventName[] = [
  'spteInstalled',
  'spteChanged',
  'pageLeaving',
  'attrStored',
  'slotFlushed',
  'invalidateBegan',
  'invalidateEnded',
  'writerReturned',
  'rangeWarn',
  'folioAllocated',
  'policyReported',
  'guestRegion',
  'guestWrite',
  'guestRead',
  'starved',
  'hostPteInstalled',
  'hostPteRemoved',
  'hostAccess',
  'preFaultReturned',
  'objectUsed',
  'memoryFailureHandled',
  'mbindBegan',
  'mbindReturned',
  'policyLookupBegan',
  'launchDataWritten',
  'populateBegan',
  'populateReturned',
  'gmemAttrStored',
  'gmemSetAttrsBegan',
  'gmemSetAttrsReturned',
  'folioPinned',
  'folioUnpinned',
  'dmaAccess',
  'folioPrepared',
  'folioZeroed',
  'memAttrsSet',
];

export type EventHandler<K extends KernelEventName> = (ctx: ActorCtx, ...args: KernelEventArgs[K]) => void;
export type KernelEvents = { readonly [K in KernelEventName]: EventHandler<K> };
