// Built-in scenarios.
import { HUGEPAGES_NONE, NEWEST_KERNEL, type NumaSpec, type PolicySpec, type Scenario } from './types.js';
import { sectionDefaults } from '../workload/kinds.js';
import { VCPU_DEFAULTS, type ConversionOrder } from '../workload/vcpu.js';

/** 4 vCPUs on two hybrid memslots of one guest_memfd, with guest conversions (explicit, by
 *  hypercall, and implicit, by memory-fault exit), a background converter, a puncher and memslot
 *  churn. Small on purpose: exploration wants few pages and many schedules. */
export const DEFAULT_SCENARIO: Scenario = {
  ...sectionDefaults(), // an actor kind this scenario does not mention: none of it
  name: 'default',
  kernel: NEWEST_KERNEL,
  description: '4 vCPUs fault on 2 hybrid memslots (32 pages) while the guest converts by hypercall, the VMM serves memory-fault exits, a converter, a puncher and memslot churn race them',
  vmType: 'coco',
  gmemPages: 32,
  gmemFlags: [], // no mmap: the memslots are hybrid
  slots: [
    { baseGfn: 0, npages: 16, gmemOffset: 0 },
    { baseGfn: 16, npages: 16, gmemOffset: 16 },
  ],
  pfnPool: 192, // the numa nodes' total
  vcpus: { ...VCPU_DEFAULTS }, // 4 vCPUs, 10 operations each, uniform over their own gfns; QEMU's conversion order
  converter: { count: 1, ops: 3, maxPages: 8 },
  puncher: { count: 1, ops: 3, maxPages: 8 },
  slotChurn: { count: 1, ops: 1, maxPages: 1 },
  starvationRetries: 500,
  maxSteps: 20000,
  stopWhen: 'duration',
  mmuLock: 'rwlock',
  prepareFailRate: 0,
  zapYield: 'contended',
  hugepages: HUGEPAGES_NONE,
  variant: null,
  // Two nodes and the VMM started under `numactl --interleave=0,1` (every task's set_mempolicy):
  // guest_memfd pages interleave over both, the HVA's too. A per-range shared policy needs mbind on
  // a mapping of the file, so gmem-only memslots: built-in numa-mbind. Which node a page comes
  // from never changes the protocol's control flow.
  numa: {
    nodes: [{ capacity: 96 }, { capacity: 96 }],
    distance: null,
    placement: { vcpus: [0, 0, 1, 1], vmm: 0, converter: 0, puncher: 1, slotChurn: 0, hostUser: 0, preFault: 0, gmemClose: 0, memoryFailure: 0, mmuNotifier: 0, mbind: 0, populate: 0, pinner: 0, specRef: 0 },
    policySource: 'shared',
    shared: [],
    create: null,
    task: { mode: 'interleave', nodes: [0, 1], flags: [] },
    interleave: 'rotor',
    weights: [],
    mbindPolicies: [],
  },
};

/**
 * The default workload on today's guest_memfd (kernel 7.0): the file is created with
 * GUEST_MEMFD_FLAG_MMAP, so both memslots are gmem-only (private and shared faults are served from
 * the file) and the VMM can mbind the mapping: the file's first half interleaves over both nodes,
 * the second half (memslot 1's) is bound to node 1, then pages 12-15 are mbound back to
 * MPOL_DEFAULT, where the tasks' own policy (prefer node 0) applies, as in guest_memfd_test's
 * test_mbind. QEMU's discard of the shared copy on a conversion to private punches the file.
 */
export const NUMA_MBIND_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  name: 'numa-mbind',
  description: '4 vCPUs fault on 2 gmem-only memslots of an mmap-able guest_memfd whose ranges are mbound to NUMA policies (interleave, bind, default) while conversions, a converter, a puncher and memslot churn race them',
  gmemFlags: ['mmap'],
  numa: {
    ...DEFAULT_SCENARIO.numa!,
    shared: [
      { start: 0, end: 16, policy: { mode: 'interleave', nodes: [0, 1], flags: [] } },
      { start: 16, end: 32, policy: { mode: 'bind', nodes: [1], flags: [] } },
      { start: 12, end: 16, policy: { mode: 'default', nodes: [], flags: [] } },
    ],
    task: { mode: 'preferred', nodes: [0], flags: [] },
  },
};

/** private_mem_conversions_test's PUNCH_HOLE test as a race: all memory private, no conversions,
 *  two punchers re-allocating under 2 vCPUs. Here a missing fault-side check shows as I1. */
export const PUNCH_RACE_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  numa: null,
  name: 'punch-race',
  description: '2 vCPUs fault on private memory while 2 punchers punch holes and re-allocate (no conversions)',
  gmemPages: 16,
  slots: [{ baseGfn: 0, npages: 16, gmemOffset: 0 }],
  pfnPool: 48,
  vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 2, ops: 12, privateFraction: 1, conversionRate: 0 },
  converter: { count: 0, ops: 0, maxPages: 1 },
  puncher: { count: 2, ops: 3, maxPages: 6 },
  slotChurn: { count: 0, ops: 0, maxPages: 1 },
};

/**
 * private_mem_conversions_test's flow (tools/testing/selftests/kvm/x86/private_mem_conversions_test.c
 * at 5171573ce7cb): vCPUs convert their own ranges by KVM_HC_MAP_GPA_RANGE, the host side
 * fallocates (to private) or punches (to shared) first and then sets the attributes, on hybrid
 * memslots over one guest_memfd; nothing else races them. The guest's data checks are I3/I7.
 */
export const CONVERSIONS_SELFTEST_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  numa: null,
  name: 'conversions-selftest',
  description: "private_mem_conversions_test: 4 vCPUs convert their own ranges by hypercall; the VMM fallocates or punches, then sets attributes (the selftest's order), on 2 hybrid memslots",
  vcpus: { ...DEFAULT_SCENARIO.vcpus, conversionRate: 0.3, fallocateOnConversion: true, conversionOrder: 'selftest' },
  converter: { count: 0, ops: 0, maxPages: 1 },
  puncher: { count: 0, ops: 0, maxPages: 1 },
  slotChurn: { count: 0, ops: 0, maxPages: 1 },
};

/**
 * private_mem_conversions_test's flow on gmem-only memslots: its SW_PROTECTED VM with the
 * guest_memfd created GUEST_MEMFD_FLAG_MMAP, so kvm_gmem_bind makes both memslots gmem-only and
 * the shared half of every conversion is served from the file too (kvm_mmu_faultin_pfn_gmem), not
 * from an HVA; the VMM fallocates or punches and then sets attributes, as the selftest does. A
 * conversion to shared with fallocate punches the file, so the guest reads zeroes where its private
 * data was (the test's shared pattern is written after the conversion).
 */
export const CONVERSIONS_GMEM_ONLY_SCENARIO: Scenario = {
  ...CONVERSIONS_SELFTEST_SCENARIO,
  name: 'conversions-selftest-gmem-only',
  description: 'private_mem_conversions_test on gmem-only memslots (an mmap-able guest_memfd on a SW_PROTECTED VM): 4 vCPUs convert their ranges by hypercall, shared and private faults alike served from the file; fallocate or punch, then attributes',
  vmType: 'sw_protected',
  gmemFlags: ['mmap'],
};

/** 50 GiB in 4K pages: what the NUMA series' experiment touched. */
export const FIFTY_GIB_PAGES = 13_107_200;

/**
 * The NUMA series' experiment: 2 nodes, 4 vCPUs on node 0, the guest touches `scale` × 50 GiB
 * once (sequential writes to private memory) while the guest_memfd's shared policy is INTERLEAVE
 * over nodes 0-1 (set by mbind on the whole file). Honoured, each node gains half; with the
 * mempolicy-ignored variant (the kernel before the series) node 0 gains it all.
 */
export function numaInterleaveScenario(scale = 1): Scenario {
  const vcpus = 4;
  const pages = Math.max(vcpus, Math.round(FIFTY_GIB_PAGES * scale / vcpus) * vcpus);
  // each node has room for the whole working set, as the experiment's node 0 had (policy ignored: all of it lands there)
  const nodeCapacity = Math.ceil(pages * 1.05);
  return {
    ...DEFAULT_SCENARIO,
    name: 'numa-interleave',
    gmemFlags: ['mmap'], // the shared policy is set by mbind on a mapping of the file
    description: `2 NUMA nodes, 4 vCPUs on node 0 touch ${(pages / 262144).toFixed(2)} GiB of guest_memfd once; the file's shared policy interleaves nodes 0-1`,
    gmemPages: pages,
    slots: [{ baseGfn: 0, npages: pages, gmemOffset: 0 }],
    pfnPool: 2 * nodeCapacity,
    vcpus: {
      ...DEFAULT_SCENARIO.vcpus,
      count: vcpus,
      ops: pages / vcpus,
      pattern: 'sequential',
      privateFraction: 1,
      writeFraction: 1,
      conversionRate: 0,
      fallocateOnConversion: false,
    },
    converter: { count: 0, ops: 0, maxPages: 1 },
    puncher: { count: 0, ops: 0, maxPages: 1 },
    slotChurn: { count: 0, ops: 0, maxPages: 1 },
    maxSteps: 200 * pages + 100_000,
    stopWhen: 'ops',
    numa: {
      nodes: [{ capacity: nodeCapacity }, { capacity: nodeCapacity }],
      distance: [
        [10, 21],
        [21, 10],
      ],
      placement: { vcpus: [0], vmm: 0, converter: 0, puncher: 0, slotChurn: 0, hostUser: 0, preFault: 0, gmemClose: 0, memoryFailure: 0, mmuNotifier: 0, mbind: 0, populate: 0, pinner: 0, specRef: 0 },
      policySource: 'shared',
      shared: [{ start: 0, end: pages, policy: { mode: 'interleave', nodes: [0, 1], flags: [] } }],
      create: null,
      task: null,
      interleave: 'rotor',
      weights: [],
      mbindPolicies: [],
    },
  };
}

/** A litmus test: one page, one vCPU and one or two racers, small enough for exhaustive search
 *  (explore --strategy dfs --preemptions 2 runs every schedule of it in about a second). */
function litmus(name: string, description: string, o: { vcpuOps: number; converter?: number; puncher?: number; slotChurn?: number; fallocate?: boolean; conversionOrder?: ConversionOrder; privateFraction?: number; gmemFlags?: Scenario['gmemFlags']; vmType?: Scenario['vmType']; hostUser?: number; hostOps?: number; preFault?: number; gmemClose?: number; memoryFailure?: number; memoryFailureOps?: number; mmuNotifier?: number; mbind?: number; populate?: number; numa?: Scenario['numa']; gmemPages?: number; kernel?: Scenario['kernel']; pinner?: number; pinnerHold?: number; specRef?: number; converterOps?: number; hugepages?: Scenario['hugepages']; puncherOps?: number; specRefOps?: number }): Scenario {
  const pages = o.gmemPages ?? 1;
  return {
    ...DEFAULT_SCENARIO,
    kernel: o.kernel ?? DEFAULT_SCENARIO.kernel,
    numa: o.numa ?? null,
    name,
    description,
    gmemFlags: o.gmemFlags ?? [],
    vmType: o.vmType ?? DEFAULT_SCENARIO.vmType,
    gmemPages: pages,
    slots: [{ baseGfn: 0, npages: pages, gmemOffset: 0 }],
    pfnPool: o.numa ? o.numa.nodes.reduce((t, n) => t + n.capacity, 0) : 16,
    maxSteps: 2000,
    vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 1, ops: o.vcpuOps, pattern: 'sequential', privateFraction: o.privateFraction ?? (o.vcpuOps ? 1 : 0), conversionRate: 0, fallocateOnConversion: o.fallocate ?? false, conversionOrder: o.conversionOrder ?? DEFAULT_SCENARIO.vcpus.conversionOrder },
    converter: { count: o.converter ?? 0, ops: o.converterOps ?? 1, maxPages: 1 },
    puncher: { count: o.puncher ?? 0, ops: o.puncherOps ?? 1, maxPages: 1 },
    slotChurn: { count: o.slotChurn ?? 0, ops: 1, maxPages: 1 },
    hugepages: o.hugepages ?? HUGEPAGES_NONE,
    hostUser: { count: o.hostUser ?? 0, ops: o.hostOps ?? 1, maxPages: 1 },
    preFault: { count: o.preFault ?? 0, ops: 1, maxPages: 1 },
    gmemClose: { count: o.gmemClose ?? 0, ops: 1, maxPages: 1 },
    memoryFailure: { count: o.memoryFailure ?? 0, ops: o.memoryFailureOps ?? 1, maxPages: 1 },
    mmuNotifier: { count: o.mmuNotifier ?? 0, ops: 1, maxPages: 1 },
    mbind: { count: o.mbind ?? 0, ops: 1, maxPages: 1 },
    populate: { count: o.populate ?? 0, ops: 1, maxPages: 1 },
    pinner: { count: o.pinner ?? 0, ops: 1, maxPages: 1, hold: o.pinnerHold ?? 2 },
    specRef: { count: o.specRef ?? 0, ops: o.specRefOps ?? 1, maxPages: 1 },
  };
}

const BIND1 = { mode: 'bind', nodes: [1], flags: [] } as const satisfies PolicySpec;
/** The litmus tests' NUMA section: two nodes, every actor on node 0 (no task policy: local), the file bound to node 1 by an mbind before the run, and runtime mbind calls that bind to node 1 again. */
const litmusNuma = (pages: number): NumaSpec => ({
  nodes: [{ capacity: 8 }, { capacity: 8 }],
  distance: null,
  placement: { vcpus: 0, vmm: 0, converter: 0, puncher: 0, slotChurn: 0, hostUser: 0, preFault: 0, gmemClose: 0, memoryFailure: 0, mmuNotifier: 0, mbind: 0, populate: 0, pinner: 0, specRef: 0 },
  policySource: 'shared',
  shared: [{ start: 0, end: pages, policy: { ...BIND1, nodes: [1], flags: [] } }],
  create: null,
  task: null,
  interleave: 'rotor',
  weights: [],
  mbindPolicies: [{ ...BIND1, nodes: [1], flags: [] }],
});

/** The litmus tests' huge pages: THP folios, a "2M" page of 4 pages (a "1G" one of 16), 2M the largest mapping. */
const LITMUS_HUGE: Scenario['hugepages'] = { gmem: 'thp', pages2m: 4, pages1g: 16, maxLevel: '2m' };

export const LITMUS_SCENARIOS: Record<string, Scenario> = {
  'litmus-punch': litmus('litmus-punch', 'one vCPU faults once on one private page while a puncher punches it (and may re-allocate)', { vcpuOps: 1, puncher: 1 }),
  'litmus-convert': litmus('litmus-convert', 'one vCPU accesses one private page twice while a converter sets its attribute', { vcpuOps: 2, converter: 1 }),
  'litmus-memslot': litmus('litmus-memslot', 'one vCPU faults once while the memslot is deleted and re-created', { vcpuOps: 1, slotChurn: 1 }),
  'litmus-lock-order': litmus('litmus-lock-order', 'a punch against a memslot delete/create (the vCPU idles): the invalidate_lock / mmu_lock order', { vcpuOps: 0, puncher: 1, slotChurn: 1 }),
  'litmus-notifier': litmus(
    'litmus-notifier',
    'one vCPU converts its page to private (the VMM discards the shared copy between mmu-notifier start and end) while the memslot is deleted and re-created',
    // QEMU's order: the discard of the shared copy (an mmu-notifier invalidation) is the point
    { vcpuOps: 1, slotChurn: 1, fallocate: true, conversionOrder: 'qemu' },
  ),
  'litmus-host-punch': litmus('litmus-host-punch', 'a host process with the guest_memfd (INIT_SHARED) mmap\'d touches its one page twice while a puncher punches it (the vCPU idles)', { vcpuOps: 0, puncher: 1, hostUser: 1, hostOps: 2, privateFraction: 0, vmType: 'default', gmemFlags: ['mmap', 'init_shared'] }),
  'litmus-host-private': litmus('litmus-host-private', 'a host process maps an mmap-able guest_memfd without INIT_SHARED (the guest\'s private memory) and touches it while the vCPU uses its page privately', { vcpuOps: 1, hostUser: 1, hostOps: 3, vmType: 'sw_protected', gmemFlags: ['mmap'] }),
  'litmus-prefault': litmus('litmus-prefault', 'KVM_PRE_FAULT_MEMORY on the one page while the memslot is deleted and re-created (the vCPU idles): the prefault must not spin inside kvm->srcu on the INVALID memslot', { vcpuOps: 0, slotChurn: 1, preFault: 1 }),
  'litmus-release': litmus('litmus-release', 'one vCPU faults once on its page of a gmem-only memslot (served by kvm_gmem_get_pfn) while the VMM closes the guest_memfd: the fault\'s file reference against kvm_gmem_release and the inode\'s eviction', { vcpuOps: 1, gmemClose: 1, privateFraction: 0, gmemFlags: ['mmap'] }),
  'litmus-release-unbind': litmus('litmus-release-unbind', 'the VMM closes the guest_memfd while its memslot is deleted and re-created (the vCPU idles): a memslot unbound from a dying file, then kvm_gmem_release', { vcpuOps: 0, slotChurn: 1, gmemClose: 1 }),
  'litmus-hwpoison': litmus('litmus-hwpoison', 'one vCPU accesses its page of a gmem-only memslot twice while memory_failure reports the page (up to 4 times; a report before the page is in the file finds nothing): kvm_gmem_error_folio zaps it, and the refault must get -EHWPOISON', { vcpuOps: 2, memoryFailure: 1, memoryFailureOps: 4, privateFraction: 0, gmemFlags: ['mmap'] }),
  'litmus-hwpoison-punch': litmus('litmus-hwpoison-punch', 'memory_failure poisons the page the vCPU faulted in while a puncher punches it: memory_failure holds the folio lock into kvm_gmem_error_folio, which takes the invalidate lock; the punch holds the invalidate lock into the truncation, which takes the folio lock', { vcpuOps: 1, memoryFailure: 1, puncher: 1, privateFraction: 0, gmemFlags: ['mmap'] }),
  'litmus-hwpoison-unbind': litmus('litmus-hwpoison-unbind', 'memory_failure poisons the page the vCPU faulted in while the VMM closes the guest_memfd and the memslot is deleted: kvm_gmem_error_folio holds the invalidate lock shared, and the unbind of a dying file erases the bindings with no invalidate lock at all', { vcpuOps: 1, memoryFailure: 1, memoryFailureOps: 4, gmemClose: 1, slotChurn: 1, privateFraction: 0, gmemFlags: ['mmap'] }),
  'litmus-numa-balancing': litmus('litmus-numa-balancing', 'a NUMA-balancing scan (an mmu-notifier invalidation that keeps the page) over the memslot\'s shared page while the memslot is deleted and re-created (the vCPU idles)', { vcpuOps: 0, mmuNotifier: 1, slotChurn: 1, privateFraction: 0 }),
  'litmus-mbind': litmus('litmus-mbind', 'one vCPU faults its page of a 3-page gmem-only file bound to node 1 while a process mbinds one page of it to node 1 again (a trim, a split or a head cut of the old range, then the new node inserted): the fault\'s policy lookup against shared_policy_replace', { vcpuOps: 1, mbind: 1, privateFraction: 0, gmemFlags: ['mmap'], gmemPages: 3, numa: litmusNuma(3) }),
  'litmus-mbind-race': litmus('litmus-mbind-race', 'two processes mbind one page each of a 3-page gmem-only file bound to node 1 (the vCPU idles): a split\'s allocation drops sp->lock, the other mbind changes the tree, and the restarted walk may not need the copy', { vcpuOps: 0, mbind: 2, privateFraction: 0, gmemFlags: ['mmap'], gmemPages: 3, numa: litmusNuma(3) }),
  'litmus-mbind-empty': litmus('litmus-mbind-empty', 'one vCPU faults the one page of a gmem-only file bound to node 1 while a process mbinds it to node 1 again: shared_policy_replace deletes the only node before inserting its replacement, and mpol_shared_policy_lookup tests the tree for emptiness without sp->lock', { vcpuOps: 1, mbind: 1, privateFraction: 0, gmemFlags: ['mmap'], gmemPages: 1, numa: litmusNuma(1) }),
  'litmus-populate': litmus('litmus-populate', 'the launch thread populates the one page (kvm_gmem_populate under slots_lock) while a converter sets its attribute (the vCPU idles): the page must be private when its launch data is written', { vcpuOps: 0, privateFraction: 1, converter: 1, populate: 1 }),
  // kernel "next": in-place conversion (guest_memfd owns the attributes); the vCPU's boot-time
  // hypercall converts its one page of an INIT_SHARED file to private, and the VMM retries -EAGAIN
  'litmus-convert-pin': litmus('litmus-convert-pin', 'kernel "next": the vCPU converts its one page (of an mmap-able INIT_SHARED guest_memfd) to private in place while a device holds a DMA pin on it: the conversion must refuse with -EAGAIN until the pin is gone, and the VMM retries', { kernel: 'next', vcpuOps: 1, pinner: 1, pinnerHold: 2, vmType: 'sw_protected', gmemFlags: ['mmap', 'init_shared'] }),
  'litmus-convert-mapped': litmus('litmus-convert-mapped', 'kernel "next": the vCPU converts its one page to private in place while a host process touches it twice through its mapping: the conversion unmaps the host first, and the host\'s next fault must SIGBUS', { kernel: 'next', vcpuOps: 1, hostUser: 1, hostOps: 2, vmType: 'sw_protected', gmemFlags: ['mmap', 'init_shared'] }),
  'litmus-convert-inplace': litmus('litmus-convert-inplace', 'kernel "next": the vCPU accesses its page (converted to private at boot) twice while a converter converts it in place (KVM_SET_MEMORY_ATTRIBUTES2) twice, each time to shared or private', { kernel: 'next', vcpuOps: 2, converter: 1, converterOps: 2, vmType: 'sw_protected', gmemFlags: ['mmap', 'init_shared'] }),
  'litmus-gmem-only': litmus('litmus-gmem-only', 'one vCPU reads and writes its shared page of a gmem-only memslot (an mmap-able guest_memfd) while a puncher punches it', { vcpuOps: 2, puncher: 1, privateFraction: 0, gmemFlags: ['mmap'] }),
  'litmus-huge-convert': litmus('litmus-huge-convert', 'huge pages (THP folios, a 2M page scaled to 4 pages): one vCPU accesses the first two pages of a 2-huge-page file privately while a converter converts one page at a time: the conversion must widen its invalidation to the huge page it changes in part and mark it MIXED, so no 2M mapping spans both types', { kernel: '6.18', vcpuOps: 2, converter: 1, converterOps: 2, gmemPages: 8, vmType: 'sw_protected', hugepages: LITMUS_HUGE }),
  'litmus-huge-inplace': litmus('litmus-huge-inplace', 'kernel "next", hugetlb-backed guest_memfd (the 1G RFC, a 2M page scaled to 4 pages): the vCPU accesses its pages (converted to private at boot) twice while a converter converts one page in place twice and a PFN walker takes three speculative references: a page going shared splits the huge folio, all private again merges it, each freezing the references first', { kernel: 'next', vcpuOps: 2, converter: 1, converterOps: 2, specRef: 1, specRefOps: 3, gmemPages: 4, vmType: 'sw_protected', gmemFlags: ['mmap', 'init_shared'], hugepages: { gmem: 'hugetlb-2m', pages2m: 4, pages1g: 16, maxLevel: '1g' } }),
  'litmus-huge-punch': litmus('litmus-huge-punch', 'huge pages (THP folios, a 2M page scaled to 4 pages): one vCPU accesses the pages of a one-huge-page file privately three times while a puncher punches one page three times: the punch invalidates the whole huge page and zaps its 2M mapping whole, and the folio is split (or only zeroed while a fault holds it)', { kernel: '6.18', vcpuOps: 3, puncher: 1, puncherOps: 3, gmemPages: 4, vmType: 'sw_protected', hugepages: LITMUS_HUGE }),
};

/**
 * guest_memfd_test's test_guest_memfd_guest and test_mmap_supported as a race (selftest at
 * 01f492e1817e): a default VM (no private memory) with a guest_memfd created MMAP | INIT_SHARED,
 * its memslot gmem-only; the guest's vCPUs read and write their pages while a host process loads
 * and stores through its mapping of the file and a puncher punches holes (the host must then
 * read zeroes: the punch unmapped its PTE, and a new fault brings a fresh folio).
 */
export const GUEST_MEMFD_GUEST_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  numa: null,
  name: 'guest-memfd-guest',
  description: 'a default VM on an mmap-able INIT_SHARED guest_memfd: 2 vCPUs use their shared pages of a gmem-only memslot while a host process reads and writes them through its mapping and a puncher punches holes',
  vmType: 'default',
  gmemFlags: ['mmap', 'init_shared'],
  gmemPages: 16,
  slots: [{ baseGfn: 0, npages: 16, gmemOffset: 0 }],
  pfnPool: 64,
  vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 2, ops: 10, privateFraction: 0, conversionRate: 0, fallocateOnConversion: false },
  converter: { count: 0, ops: 0, maxPages: 1 },
  puncher: { count: 1, ops: 3, maxPages: 4 },
  slotChurn: { count: 0, ops: 0, maxPages: 1 },
  hostUser: { count: 1, ops: 6, maxPages: 4 },
};

/**
 * pre_fault_memory_test (tools/testing/selftests/kvm/pre_fault_memory_test.c at 3d5e48944e82), its
 * private case on an SW_PROTECTED VM: KVM_PRE_FAULT_MEMORY over ranges of private guest_memfd memory
 * while another thread deletes the memslot and adds it back; the ioctl must make progress or fail
 * (EAGAIN while the slot is being deleted, ENOENT while it is gone), then the guest touches every page.
 */
export const PRE_FAULT_MEMORY_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  numa: null,
  name: 'pre-fault-memory',
  description: "pre_fault_memory_test: KVM_PRE_FAULT_MEMORY over private guest_memfd memory while a thread deletes and re-creates the memslot; then the guest's vCPU touches every page",
  vmType: 'sw_protected',
  gmemPages: 16,
  slots: [{ baseGfn: 0, npages: 16, gmemOffset: 0 }],
  pfnPool: 48,
  vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 1, ops: 16, pattern: 'sequential', privateFraction: 1, conversionRate: 0, fallocateOnConversion: false },
  converter: { count: 0, ops: 0, maxPages: 1 },
  puncher: { count: 0, ops: 0, maxPages: 1 },
  slotChurn: { count: 1, ops: 2, maxPages: 1 },
  preFault: { count: 1, ops: 3, maxPages: 8 },
};

/**
 * The file lifecycle under load: the VMM closes its guest_memfd fd while vCPUs fault on private
 * memory, a puncher punches and re-allocates and a memslot is deleted and re-created. After the
 * close every gmem entry point must refuse cleanly (faults -EFAULT with a memory-fault exit,
 * fallocate and memslot creation -EBADF), and nothing may touch the freed file or memslots.
 */
export const GMEM_RELEASE_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  numa: null,
  name: 'gmem-release',
  description: 'the VMM closes the guest_memfd while 2 vCPUs fault on private memory, a puncher punches and a memslot is deleted and re-created: kvm_gmem_release against memslot deletion and faults',
  vmType: 'sw_protected',
  gmemPages: 16,
  slots: [
    { baseGfn: 0, npages: 8, gmemOffset: 0 },
    { baseGfn: 8, npages: 8, gmemOffset: 8 },
  ],
  pfnPool: 48,
  vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 2, ops: 12, privateFraction: 1, conversionRate: 0.1, fallocateOnConversion: true },
  converter: { count: 0, ops: 0, maxPages: 1 },
  puncher: { count: 1, ops: 4, maxPages: 4 },
  slotChurn: { count: 1, ops: 2, maxPages: 1 },
  gmemClose: { count: 1, ops: 8, maxPages: 1 },
};

/**
 * Memory failure on guest_memfd (kvm_gmem_error_folio, 01f492e1817e): a machine-check injector
 * poisons random folios while vCPUs use their private memory and convert it. The poisoned folio
 * stays in the file (nothing truncates it), its SPTEs are zapped, and later faults on it exit with
 * -EHWPOISON. No hole is punched concurrently (no puncher, no fallocate on conversion): a punch
 * against memory failure meets a lock inversion upstream (see `litmus-hwpoison-punch`).
 */
export const MEMORY_FAILURE_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  numa: null,
  name: 'memory-failure',
  description: 'memory_failure poisons guest_memfd folios while 2 vCPUs use and convert their private memory: the zap without truncation, then -EHWPOISON on every later fault',
  vmType: 'sw_protected',
  gmemPages: 16,
  slots: [{ baseGfn: 0, npages: 16, gmemOffset: 0 }],
  pfnPool: 48,
  vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 2, ops: 12, privateFraction: 1, conversionRate: 0.1, fallocateOnConversion: false },
  converter: { count: 0, ops: 0, maxPages: 1 },
  puncher: { count: 0, ops: 0, maxPages: 1 },
  slotChurn: { count: 0, ops: 0, maxPages: 1 },
  memoryFailure: { count: 1, ops: 4, maxPages: 1 },
};

/**
 * The arch prepare hook failing (an SNP RMP update refused, prepareFailRate): one vCPU of a coco VM
 * uses its private pages, 30% of kvm_arch_gmem_prepare calls fail; a failed fault exits to the
 * VMM, which cannot help, and the guest moves on. `prepare-fail-6.18` is the same on the 6.18
 * baseline, where preparation is tracked by the uptodate flag.
 */
export const PREPARE_FAIL_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  numa: null,
  name: 'prepare-fail',
  description: 'kvm_arch_gmem_prepare fails on 30% of calls (an SNP RMP update refused) while one vCPU of a coco VM uses its private pages: nothing is mapped that the hook did not prepare',
  gmemPages: 8,
  slots: [{ baseGfn: 0, npages: 8, gmemOffset: 0 }],
  pfnPool: 24,
  prepareFailRate: 0.3,
  vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 1, ops: 16, privateFraction: 1, conversionRate: 0, fallocateOnConversion: false },
  converter: { count: 0, ops: 0, maxPages: 1 },
  puncher: { count: 0, ops: 0, maxPages: 1 },
  slotChurn: { count: 0, ops: 0, maxPages: 1 },
};

/**
 * The VMM's shared memory under NUMA balancing (or KSM): a standalone mmu-notifier source
 * invalidates HVA ranges of up to 8 pages, keeping the pages, while 4 vCPUs use half their memory
 * shared and convert, and a memslot is deleted and re-created. The zaps yield only to a waiter on
 * mmu_lock (zapYield "contended", the kernel's rule); the report counts yields and TLB flushes per
 * invalidation.
 */
export const NUMA_BALANCING_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  numa: null,
  name: 'numa-balancing',
  description: 'NUMA balancing (mmu-notifier invalidations of the shared memory, pages kept) while 4 vCPUs use and convert their memory and a memslot is deleted and re-created',
  converter: { count: 0, ops: 0, maxPages: 1 },
  puncher: { count: 0, ops: 0, maxPages: 1 },
  slotChurn: { count: 1, ops: 2, maxPages: 1 },
  mmuNotifier: { count: 1, ops: 6, maxPages: 8 },
};

/**
 * Runtime mbind on today's guest_memfd: numa-mbind's file and workload, with every page under a
 * policy from the start and two processes re-binding ranges of up to 8 pages while the vCPUs fault,
 * convert and the puncher frees pages to be allocated again. No call sets MPOL_DEFAULT, so the tree
 * never becomes empty (see the upstream finding litmus-mbind-empty for what happens when it does).
 */
export const NUMA_MBIND_RUNTIME_SCENARIO: Scenario = {
  ...NUMA_MBIND_SCENARIO,
  name: 'numa-mbind-runtime',
  description: 'numa-mbind with two processes mbinding ranges of the guest_memfd at runtime (interleave, bind to either node, prefer node 1) while 4 vCPUs fault, convert and a puncher frees pages to be allocated again',
  numa: {
    ...NUMA_MBIND_SCENARIO.numa!,
    shared: [
      { start: 0, end: 16, policy: { mode: 'interleave', nodes: [0, 1], flags: [] } },
      { start: 16, end: 32, policy: { mode: 'bind', nodes: [1], flags: [] } },
    ],
    mbindPolicies: [
      { mode: 'interleave', nodes: [0, 1], flags: [] },
      { mode: 'bind', nodes: [0], flags: [] },
      { mode: 'bind', nodes: [1], flags: [] },
      { mode: 'preferred', nodes: [1], flags: [] },
    ],
    placement: { ...NUMA_MBIND_SCENARIO.numa!.placement, mbind: [0, 1] },
  },
  mbind: { count: 2, ops: 6, maxPages: 8 },
};

/**
 * A confidential VM's launch racing its own use: the launch thread populates random gfn ranges
 * (kvm_gmem_populate under slots_lock, as SNP LAUNCH_UPDATE and TDX INIT_MEM_REGION do) while 4
 * vCPUs fault and convert, the converter flips attributes and the puncher punches. Shared gfns are
 * refused (-EINVAL); on 6.12/6.18 an already prepared page too (-EEXIST).
 */
export const POPULATE_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  name: 'populate',
  description: 'kvm_gmem_populate (the launch thread of an SNP/TDX VM, under slots_lock) over random gfn ranges while 4 vCPUs fault and convert, a converter flips attributes and a puncher punches',
  populate: { count: 1, ops: 8, maxPages: 4 },
};

/**
 * In-place conversion (kernel "next": the series "guest_memfd: In-place conversion support", v4
 * to v8, 2026): guest_memfd owns the memory attributes and converts them on its fd with
 * KVM_SET_MEMORY_ATTRIBUTES2. A coco VM on an mmap-able INIT_SHARED guest_memfd (its memslots
 * gmem-only, so a page's shared and private views are one folio): 4 vCPUs use and convert their
 * pages by hypercall, a converter converts random file ranges, a host process reads and writes
 * through its mapping, a device pins pages for DMA, and a PFN walker takes speculative
 * references. A conversion to private unmaps the host and refuses with -EAGAIN while a pin or a
 * transient reference remains; the VMM retries the range.
 */
export const INPLACE_CONVERSION_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  numa: null,
  name: 'inplace-conversion',
  kernel: 'next',
  description: 'kernel "next": 4 vCPUs of a coco VM convert their pages of an INIT_SHARED gmem-only file in place (KVM_SET_MEMORY_ATTRIBUTES2) while a converter converts random ranges, a host process maps and touches them, a device pins them for DMA and a PFN walker takes speculative references; -EAGAIN is retried',
  gmemFlags: ['mmap', 'init_shared'],
  pfnPool: 96,
  vcpus: { ...DEFAULT_SCENARIO.vcpus, conversionRate: 0.2, fallocateOnConversion: false },
  converter: { count: 1, ops: 3, maxPages: 4 },
  puncher: { count: 0, ops: 0, maxPages: 1 },
  slotChurn: { count: 0, ops: 0, maxPages: 1 },
  hostUser: { count: 1, ops: 4, maxPages: 4 },
  pinner: { count: 1, ops: 2, maxPages: 2, hold: 3 },
  specRef: { count: 1, ops: 6, maxPages: 1 },
};

/**
 * guest_memfd_conversions_test (the series' selftest, v8 2026-06-18 "KVM: selftests: Test
 * conversion with elevated page refcount" and the flows before it) as a race: a SW_PROTECTED VM's
 * 4-page INIT_SHARED guest_memfd; the vCPU converts its pages back and forth by hypercall while the
 * host reads and writes them through its mapping and a device holds a long pin on one at a time
 * (the test's pin_pages by gup_test or vmsplice). Its ordered flows are test/paths/inplace.test.ts.
 */
export const CONVERSIONS_INPLACE_SELFTEST_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  numa: null,
  name: 'conversions-inplace-selftest',
  kernel: 'next',
  description: 'guest_memfd_conversions_test as a race (kernel "next"): one vCPU converts the 4 pages of an INIT_SHARED guest_memfd back and forth while the host reads and writes them through its mapping and a device pins one at a time',
  vmType: 'sw_protected',
  gmemFlags: ['mmap', 'init_shared'],
  gmemPages: 4,
  slots: [{ baseGfn: 0, npages: 4, gmemOffset: 0 }],
  pfnPool: 24,
  vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 1, ops: 8, privateFraction: 0.5, conversionRate: 0.4, conversionMaxPages: 4, fallocateOnConversion: false },
  converter: { count: 0, ops: 0, maxPages: 1 },
  puncher: { count: 0, ops: 0, maxPages: 1 },
  slotChurn: { count: 0, ops: 0, maxPages: 1 },
  hostUser: { count: 1, ops: 3, maxPages: 2 },
  pinner: { count: 1, ops: 2, maxPages: 1, hold: 4 },
};

/**
 * Huge pages (issue 14): the default workload (4 vCPUs converting by hypercall and memory-fault
 * exit, a converter, a puncher, memslot churn) on THP guest_memfd folios, a "2M" page scaled to 4
 * pages so the 32-page file holds 8 of them: 2M mappings, their zap whole, MIXED tracking, splits of
 * partly punched folios.
 */
export const HUGEPAGES_2M_SCENARIO: Scenario = {
  ...DEFAULT_SCENARIO,
  name: 'hugepages-2m',
  description: 'the default workload on THP guest_memfd folios (a 2M page scaled to 4 pages: 8 in the 32-page file): conversions must widen to the huge pages they change in part and keep KVM_LPAGE_MIXED_FLAG true, punches zap 2M mappings whole and split or zero partly punched folios',
  hugepages: { gmem: 'thp', pages2m: 4, pages1g: 16, maxLevel: '2m' },
};

/** hugepages-2m with memslot 1 bound at a file offset its gfns disagree with in the low bits: lpage_info must keep it at 4K (B50 is the rule left out). */
export const HUGEPAGES_MISALIGNED_SCENARIO: Scenario = {
  ...HUGEPAGES_2M_SCENARIO,
  name: 'hugepages-misaligned',
  description: 'hugepages-2m with memslot 1 (gfns 16-31) bound at guest_memfd offset 18, not 16: its huge folios are aligned in the file but not at the gfns mapping them, so lpage_info must disallow every huge page of that memslot',
  gmemPages: 34,
  slots: [
    { baseGfn: 0, npages: 16, gmemOffset: 0 },
    { baseGfn: 16, npages: 16, gmemOffset: 18 },
  ],
};

/**
 * Huge pages on kernel "next" (issue 14): inplace-conversion's workload (4 vCPUs of a coco VM, a
 * converter, a host process, a DMA pinner, a PFN walker) on a hugetlb-backed guest_memfd as the 1G
 * RFC has it, a "1G" page scaled to 16 pages (the file holds 2, one per memslot): every folio a
 * hugetlb page, split while any page of it is shared, merged when all are private again.
 */
export const HUGEPAGES_1G_INPLACE_SCENARIO: Scenario = {
  ...INPLACE_CONVERSION_SCENARIO,
  name: 'hugepages-1g-inplace',
  // SW_PROTECTED: no vendor limit on the mapping level (SNP's RMP maps private memory at most 2M, so a coco VM's 1G folios map 2M)
  vmType: 'sw_protected',
  // the guest accepts all its memory at boot (a whole 1G page private: merged, mapped 1G) and converts less often than inplace-conversion's
  vcpus: { ...INPLACE_CONVERSION_SCENARIO.vcpus, privateFraction: 1, conversionRate: 0.1 },
  description: 'inplace-conversion\'s workload on a SW_PROTECTED VM with a hugetlb-backed guest_memfd (the 1G RFC; a 1G page scaled to 16 pages, 2 in the file): conversions split a huge folio when a page of it goes shared and merge it when all are private, freezing its references (spinning on the PFN walker\'s); faults map 1G while a folio is whole',
  hugepages: { gmem: 'hugetlb-1g', pages2m: 4, pages1g: 16, maxLevel: '1g' },
};

/** hugepages-1g-inplace with 2M hugetlb pages (4 pages each, 8 in the file). */
export const HUGEPAGES_2M_INPLACE_SCENARIO: Scenario = {
  ...HUGEPAGES_1G_INPLACE_SCENARIO,
  name: 'hugepages-2m-inplace',
  vmType: 'coco',
  description: 'inplace-conversion on a hugetlb-backed guest_memfd of 2M pages (scaled to 4 pages, 8 in the file): the 1G RFC\'s split and merge at 2M, faults mapping 2M',
  hugepages: { gmem: 'hugetlb-2m', pages2m: 4, pages1g: 16, maxLevel: '1g' },
};

export const BUILTIN_SCENARIOS: Record<string, Scenario> = {
  default: DEFAULT_SCENARIO,
  'numa-mbind': NUMA_MBIND_SCENARIO,
  'numa-mbind-runtime': NUMA_MBIND_RUNTIME_SCENARIO,
  populate: POPULATE_SCENARIO,
  'guest-memfd-guest': GUEST_MEMFD_GUEST_SCENARIO,
  'punch-race': PUNCH_RACE_SCENARIO,
  'conversions-selftest': CONVERSIONS_SELFTEST_SCENARIO,
  'conversions-selftest-gmem-only': CONVERSIONS_GMEM_ONLY_SCENARIO,
  'pre-fault-memory': PRE_FAULT_MEMORY_SCENARIO,
  'gmem-release': GMEM_RELEASE_SCENARIO,
  'memory-failure': MEMORY_FAILURE_SCENARIO,
  'prepare-fail': PREPARE_FAIL_SCENARIO,
  'numa-balancing': NUMA_BALANCING_SCENARIO,
  'prepare-fail-6.18': { ...PREPARE_FAIL_SCENARIO, name: 'prepare-fail-6.18', kernel: '6.18', description: 'prepare-fail on the 6.18 baseline: preparation tracked by the uptodate flag, a folio prepared once' },
  'numa-interleave': numaInterleaveScenario(1),
  'inplace-conversion': INPLACE_CONVERSION_SCENARIO,
  'conversions-inplace-selftest': CONVERSIONS_INPLACE_SELFTEST_SCENARIO,
  'hugepages-2m': HUGEPAGES_2M_SCENARIO,
  'hugepages-misaligned': HUGEPAGES_MISALIGNED_SCENARIO,
  'hugepages-2m-inplace': HUGEPAGES_2M_INPLACE_SCENARIO,
  'hugepages-1g-inplace': HUGEPAGES_1G_INPLACE_SCENARIO,
  ...LITMUS_SCENARIOS,
};

/**
 * Built-ins that show something wrong upstream on the correct model (README "Upstream findings"):
 * what each reports. Tests that expect every built-in to run clean leave these out.
 */
export const UPSTREAM_FINDINGS: Readonly<Record<string, string>> = {
  'litmus-hwpoison-punch': 'LOCK_ORDER',
  'litmus-hwpoison-unbind': 'I4',
  'litmus-mbind-empty': 'I11',
};

/** Built-ins that port a kernel selftest (tools/testing/selftests/kvm), by the cases they cover. */
export const SELFTEST_PORTS: Readonly<Record<string, string>> = {
  'guest-memfd-guest': 'guest_memfd_test test_guest_memfd_guest, test_mmap_supported, test_fault_overflow',
  'litmus-host-punch': 'guest_memfd_test test_mmap_supported with a concurrent punch',
  'litmus-host-private': 'guest_memfd_test test_fault_private',
  'pre-fault-memory': 'pre_fault_memory_test (private case)',
  'litmus-prefault': 'pre_fault_memory_test, reduced to one page',
  'conversions-selftest': 'private_mem_conversions_test (hybrid memslots)',
  'conversions-selftest-gmem-only': 'private_mem_conversions_test on gmem-only memslots',
  'conversions-inplace-selftest': 'guest_memfd_conversions_test (in-place conversion series), its flows as a race',
  'litmus-convert-pin': 'guest_memfd_conversions_test elevated_refcount, reduced to one page',
};

/** Built-ins that take --scale (a fraction of their full size). */
export const SCALABLE_SCENARIOS: Record<string, (scale: number) => Scenario> = {
  'numa-interleave': numaInterleaveScenario,
};
