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
  /**
   * `own`: each vCPU accesses its own slice of the gfns (the data check knows every write to it).
   * `shared`: every vCPU accesses every gfn (faults on the same pages contend); vCPU 0 does the
   * initial conversion while the others wait, and reads are not checked against the vCPU's own
   * writes (another vCPU may have written since); the zero-after-punch check (I7) still applies.
   */
  gfns: 'own' | 'shared';
}

export interface BackgroundSpec {
  count: number;
  /** Operations per actor under `sim`; under `threads` it loops until the run ends. */
  ops: number;
  /** Largest range in pages. */
  maxPages: number;
}

/** A memory policy as a scenario writes it (what set_mempolicy/mbind/KVM_CREATE_GUEST_MEMFD take). */
export interface PolicySpec {
  mode: 'default' | 'preferred' | 'bind' | 'interleave' | 'local' | 'preferred_many' | 'weighted_interleave';
  /** node ids */
  nodes: number[];
  flags: Array<'static' | 'relative' | 'numa_balancing'>;
  /** the syscall's maxnode (bits of the mask the kernel reads, plus one); omitted: highest node + 2, as libnuma passes */
  maxnode?: number;
}

export interface SharedPolicyRange {
  /** file page offsets [start, end) of the guest_memfd, as mbind on a mapping at offset 0 sets them */
  start: number;
  end: number;
  policy: PolicySpec;
}

export interface NumaSpec {
  /** node id = index; capacity in 4K pages (a node with 0 has no normal memory) */
  nodes: Array<{ capacity: number }>;
  /** node distances (SLIT); null = 10 to itself, 20 to every other node */
  distance: number[][] | null;
  /** the node each actor runs on: vCPU i on vcpus[i mod length] (one entry: all on it), and one per other kind */
  placement: { vcpus: number[]; vmm: number; converter: number; puncher: number; slotChurn: number };
  /**
   * Where a guest_memfd allocation's policy comes from: `shared` the per-inode shared policy set
   * by mbind (upstream since 6.19; falls back to the allocating task's policy), `create` the
   * early RFC's immutable KVM_CREATE_GUEST_MEMFD policy, `task` only the allocating task's
   * set_mempolicy. (The kernel before the series, which ignored the VMM's policy, is the variant
   * N1 mempolicy-ignored.)
   */
  policySource: 'shared' | 'create' | 'task';
  shared: SharedPolicyRange[];
  create: PolicySpec | null;
  /** every actor's set_mempolicy; null = none (local) */
  task: PolicySpec | null;
  /** `rotor`: each allocating task's own il_prev, as upstream gmem passes NO_INTERLEAVE_INDEX; `offset`: by file offset, as shmem does */
  interleave: 'rotor' | 'offset';
  /** weighted-interleave weight per node (0 or missing = 1) */
  weights: number[];
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
  /** threads engine: `duration` runs until --duration; `ops` until every actor has done its ops (a finite workload) */
  stopWhen: 'duration' | 'ops';
  /**
   * How mmu_lock is built. `rwlock` (the kernel's: one reader/writer lock, every reader does an
   * atomic on its one shared cache line); `percpu`: a big-reader lock (a reader slot per actor on
   * the actor's own line, a writer drains them), same semantics, no shared line on the read side.
   */
  mmuLock: 'rwlock' | 'percpu';
  /** NUMA topology and memory policy; null = one node holding the whole pfnPool */
  numa: NumaSpec | null;
  /** a bug-injection variant (id or name) this scenario is built to show; --variant overrides it */
  variant: string | null;
  /**
   * Which random stream each actor draws from, by actor id (absent: its own id). Shrinking sets it
   * when it removes actors, so the actors left keep the choices they made (the token carries it).
   */
  actorStreams?: number[];
}
