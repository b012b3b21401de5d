// The scenario: everything a run needs besides the seed, the engine and the variant.
// A scenario is plain JSON; `validateScenario` (schema.ts) turns user input into this shape.
// Each actor kind's section (vcpus, converter, ...) is declared with the kind (workload/kinds.ts).
import type { ActorSections, PlacementKey } from '../workload/kinds.js';

export type { VcpuSpec, AccessPattern } from '../workload/vcpu.js';
export type { BackgroundSpec } from '../workload/background.js';

/** How a vCPU's access type (private or shared) is decided. */
export type VmType =
  /** KVM_X86_DEFAULT_VM: no private memory (kvm_supported_mem_attributes is 0), every fault is shared; the only x86 type that may create INIT_SHARED guest_memfd files */
  | 'default'
  /** KVM_X86_SW_PROTECTED_VM: is_private = the attribute sampled at fault entry (§2.1 step 1). */
  | 'sw_protected'
  /** SNP/TDX-like: the guest's own page tables say private or shared; a mismatch exits to the VMM. */
  | 'coco';

/** KVM_CREATE_GUEST_MEMFD flags (since 6.18): GUEST_MEMFD_FLAG_MMAP, GUEST_MEMFD_FLAG_INIT_SHARED. */
export type GmemFlag = 'mmap' | 'init_shared';

export interface SlotSpec {
  /** First guest frame number of the memslot. */
  baseGfn: number;
  /** Number of 4K pages. */
  npages: number;
  /** Page offset into the guest_memfd file (guest_memfd_offset >> 12). */
  gmemOffset: number;
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
  /** the node each actor runs on, per kind: a node, or a list (instance i on list[i mod length]);
   *  a kind not named runs on node 0 (a validated scenario names them all) */
  placement: Partial<Record<PlacementKey, number | number[]>>;
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
  /** the policies runtime mbind actors choose from; empty: numa.shared's policies and MPOL_DEFAULT */
  mbindPolicies: PolicySpec[];
}

/**
 * The kernel a scenario models. The paths follow these releases of virt/kvm/guest_memfd.c,
 * kvm_main.c and arch/x86/kvm/mmu (ARCHITECTURE.md names the commit each path follows); where they
 * differ, the model selects by this, never by a variant. 6.12: private-only guest_memfd files and
 * hybrid memslots, the model gmemsim started from.
 */
export const KERNEL_BASELINES = ['6.12', '6.18', '7.0', 'next'] as const;
export type KernelBaseline = (typeof KERNEL_BASELINES)[number];
/**
 * Whether `k` is `since` or later. `next` is 7.0 plus the in-place conversion series queued in
 * linux-next (guest_memfd owns the memory attributes, KVM_SET_MEMORY_ATTRIBUTES2 on its fd): not a
 * release, so never a scenario's default.
 */
export const kernelAtLeast = (k: KernelBaseline, since: KernelBaseline): boolean => KERNEL_BASELINES.indexOf(k) >= KERNEL_BASELINES.indexOf(since);
/** The baseline where guest_memfd owns the memory attributes (vm_memory_attributes = 0). */
export const attrsInGmem = (k: KernelBaseline): boolean => k === 'next';
/** A new scenario's kernel: the newest. */
export const NEWEST_KERNEL: KernelBaseline = '7.0';
/** The kernel of a recorded scenario that names none: it was recorded before baselines existed, by the 6.12 model. */
export const UNNAMED_KERNEL: KernelBaseline = '6.12';

/**
 * Huge pages (issue 14). Off (`gmem: "none"`) unless a scenario asks: a recorded scenario without
 * the field replays as none, with no new yield point and no new random draw.
 */
export interface HugepageSpec {
  /**
   * guest_memfd's folios: `none` order 0 only (upstream, 01f492e1817e: max_order is always 0);
   * `thp` Michael Roth's 2M THP RFC (2024-12): a 2M folio when the aligned 2M range lies inside
   * i_size and has no page yet, else 4K; max_order clamped to the memslot's binding.
   * `hugetlb-2m` / `hugetlb-1g` Ackerley Tng's 1G page RFC v2 (2025-05-14) on kernel "next": every
   * folio is a hugetlb page of that size from the file's subpool (reserved at creation), split into
   * 4K folios while any of its pages is shared and merged back when all are private again.
   */
  gmem: 'none' | 'thp' | 'hugetlb-2m' | 'hugetlb-1g';
  /** 4K pages in a "2M" page: 512 on x86; a smaller power of two scales every huge page down, the kernel's arithmetic unchanged (litmus tests use 4) */
  pages2m: number;
  /** 4K pages in a "1G" page: 512 x pages2m on x86 */
  pages1g: number;
  /** max_huge_page_level: `1g` when the CPU has 1G pages, else `2m` */
  maxLevel: '2m' | '1g';
}
/** Huge pages off: the model before issue 14, and what a recorded scenario without the field replays with. */
export const HUGEPAGES_NONE: HugepageSpec = { gmem: 'none', pages2m: 512, pages1g: 262144, maxLevel: '1g' };
/** The guest_memfd is hugetlb-backed (the 1G RFC's custom allocator). */
export const hugetlbGmem = (h: HugepageSpec): boolean => h.gmem === 'hugetlb-2m' || h.gmem === 'hugetlb-1g';
/** The level of the hugetlb page (1: 2M, 2: 1G), or of THP's 2M folio; 0 when off. */
export const hugeFolioLevel = (h: HugepageSpec): number => (h.gmem === 'none' ? 0 : h.gmem === 'hugetlb-1g' ? 2 : 1);
/** Whether a scenario can map anything above 4K. */
export const hugepagesOn = (sc: { hugepages: HugepageSpec }): boolean => sc.hugepages.gmem !== 'none';

export interface ScenarioBase {
  name: string;
  description: string;
  /** the kernel release modelled (default the newest) */
  kernel: KernelBaseline;
  vmType: VmType;
  /** guest_memfd size in pages (i_size >> 12). */
  gmemPages: number;
  /**
   * The guest_memfd's create flags, validated as kvm_gmem_create does (gmem/create.ts): `mmap` lets
   * the host mmap the file, and makes every memslot bound to it gmem-only (shared faults are served
   * from the file, not the HVA); `init_shared`: its pages start shared (host-faultable; x86 allows
   * it only on a VM without private memory, vmType `default`).
   */
  gmemFlags: GmemFlag[];
  /** Memslots bound to the one guest_memfd file: hybrid (private via gmem, shared via its HVA), or gmem-only when the file has `mmap`. */
  slots: SlotSpec[];
  /** Physical pages in the pool (page cache folios and shared/HVA pages both come from it). */
  pfnPool: number;
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
  /**
   * When a zap walk drops mmu_lock between chunks: `contended` (the kernel's rule,
   * tdp_mmu_iter_cond_resched: only when another actor waits for the lock; need_resched() is not
   * modelled), or `always` (every chunk, gmemsim before issue 12: what a recorded scenario without
   * the field replays with). A pending TLB flush is done before yielding and at the walk's end.
   */
  zapYield: 'contended' | 'always';
  /**
   * The fraction of kvm_arch_gmem_prepare calls that fail (an SNP RMP update refused): 0 unless
   * vmType is `coco`, the only type modelled with an arch prepare hook. Drawn from the faulting
   * actor's random stream, only when above 0.
   */
  prepareFailRate: number;
  /** huge folios in guest_memfd and huge SPTEs (issue 14); HUGEPAGES_NONE: every mapping is 4K */
  hugepages: HugepageSpec;
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

/** A scenario: the base settings and one section per actor kind (vcpus, converter, puncher, slotChurn). */
export type Scenario = ScenarioBase & ActorSections;
