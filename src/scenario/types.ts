// The scenario: everything a run needs besides the seed, the engine and the variant.
// A scenario is plain JSON; `validateScenario` (schema.ts) turns user input into this shape.

export type AccessPattern = 'sequential' | 'uniform' | 'hotset';

/** How a vCPU's access type (private or shared) is decided. */
export type VmType =
  /** KVM_X86_SW_PROTECTED_VM: is_private = the attribute sampled at fault entry (§2.1 step 1). */
  | 'sw_protected'
  /** SNP/TDX-like: the guest's own page tables say private or shared; a mismatch exits to the VMM. */
  | 'coco';

export interface SlotSpec {
  /** First guest frame number of the memslot. */
  baseGfn: number;
  /** Number of 4K pages. */
  npages: number;
  /** Page offset into the guest_memfd file (guest_memfd_offset >> 12). */
  gmemOffset: number;
}

export interface VcpuSpec {
  count: number;
  /** Guest accesses per vCPU under `sim` (and under `threads` with --ops); threads otherwise run for --duration. */
  ops: number;
  pattern: AccessPattern;
  /** hotset pattern: the first `hotPages` pages of the vCPU's own region get `hotFraction` of accesses. */
  hotPages: number;
  hotFraction: number;
  /** Fraction of the vCPU's region it starts by converting to private (coco guests accept private memory). */
  privateFraction: number;
  /** Fraction of accesses that are writes. */
  writeFraction: number;
  /** Per access, the probability that the guest instead converts a range by hypercall (KVM_HC_MAP_GPA_RANGE). */
  conversionRate: number;
  /** Largest range (pages) a guest hypercall converts. */
  conversionMaxPages: number;
  /** The VMM also fallocates (to private) / punches (to shared) on a guest conversion, as with the selftest's DO_FALLOCATE. */
  fallocateOnConversion: boolean;
}

export interface BackgroundSpec {
  count: number;
  /** Operations per actor under `sim`; under `threads` it loops until the run ends. */
  ops: number;
  /** Largest range in pages. */
  maxPages: number;
}

export interface Scenario {
  name: string;
  description: string;
  vmType: VmType;
  /** guest_memfd size in pages (i_size >> 12). */
  gmemPages: number;
  /** Memslots bound to the one guest_memfd file; each is hybrid (private via gmem, shared via its HVA). */
  slots: SlotSpec[];
  /** Physical pages in the pool (page cache folios and shared/HVA pages both come from it). */
  pfnPool: number;
  vcpus: VcpuSpec;
  /** Background converter: KVM_SET_MEMORY_ATTRIBUTES on random ranges, behind the guest's back. */
  converter: BackgroundSpec;
  /** Background puncher: fallocate(PUNCH_HOLE) on random file ranges, sometimes re-allocating. */
  puncher: BackgroundSpec;
  /** Memslot churn: delete a memslot and re-create it (same gmem binding), as pre_fault_memory_test does. */
  slotChurn: BackgroundSpec;
  /** A fault retried more than this many times in a row is reported as starvation. */
  starvationRetries: number;
  /** Under `sim`, a schedule longer than this many steps is cut (reported, not a violation). */
  maxSteps: number;
}
