// Scenario validation: user JSON in, a complete Scenario out, or a one-line error naming the field.
import { readFileSync } from 'node:fs';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from './builtins.js';
import { KERNEL_BASELINES, type GmemFlag, type HugepageSpec, type NumaSpec, type PolicySpec, type Scenario, type ScenarioBase, type SharedPolicyRange, type SlotSpec } from './types.js';
import { ScenarioError } from './errors.js';
import { fraction, got, int, isObject, list, oneOf, record, show, str, sub, type Check, type Shape } from './check.js';
import { numaTopology, toMempolicy } from '../mm/policy_spec.js';
import { validateTopology } from '../mm/numa.js';
import { MAX_POLICY_IDS } from '../mm/policy.js';
import { gmemCreateRefusal, gmemFlagNames, kvmArchHasPrivateMem, kvmGmemGetSupportedFlags } from '../gmem/create.js';
import { VARIANTS, findVariant } from '../variants.js';
import { PLACEMENT_KEYS, SECTION_KINDS, actorCount, type PlacementKey } from '../workload/kinds.js';

export { ScenarioError };
type StrictPolicy = Omit<PolicySpec, 'maxnode'>;

// The sizes that decide how big the shared state is (shm/layout.ts: 9 words per pfn, 6 per gfn,
// 2 per file page, 1 per HVA page). At these limits it is about 1.8 GB; past them a scenario is
// refused naming the field, before anything is allocated.
/** guest_memfd pages (gmemPages): 64 GiB; the NUMA experiment touches 50 GiB */
export const MAX_GMEM_PAGES = 16_777_216;
export const MAX_SLOTS = 32;
/** guest frame numbers: a slot's baseGfn + npages */
export const MAX_GFNS = 16_777_216;
/** physical pages: pfnPool, and the sum of the NUMA nodes' capacities (which replaces it): 128 GiB */
export const MAX_PFNS = 33_554_432;
/** NUMA nodes: placement names nodes 0-63 */
export const MAX_NODES = 64;
/** node ids in one policy's list: the kernel's MAX_NUMNODES (mm/mempolicy.ts) */
export const MAX_POLICY_NODES = 1024;

const SLOT: Shape<SlotSpec> = { baseGfn: int(0), npages: int(1), gmemOffset: int(0) };

// Slots are replaced as a whole: a slot never merges with the base's slot of the same index.
const slots: Check<SlotSpec[]> = (v, path) => {
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_SLOTS) {
    throw new ScenarioError(path, `a non-empty array of at most ${MAX_SLOTS} slots`, got(v));
  }
  return v.map((s, i) => record(SLOT, s, `${path}[${i}]`));
};

const nodeId: Check<number> = int(0, 63);
/** A kind's placement: a node, or a non-empty list of nodes (instance i on list[i mod length]);
 *  a kind its base scenario does not place (a built-in written before the kind) runs on node 0. */
const placementOf: Check<number | number[] | undefined> = (v, path) => (v === undefined ? 0 : typeof v === 'number' ? nodeId(v, path) : list(nodeId, 'node ids (or one node id)', 1)(v, path));
const POLICY: Shape<StrictPolicy> = {
  mode: oneOf('default', 'preferred', 'bind', 'interleave', 'local', 'preferred_many', 'weighted_interleave'),
  nodes: list(int(0), 'node ids', 0, MAX_POLICY_NODES),
  flags: list(oneOf('static', 'relative', 'numa_balancing'), 'flags'),
};
const policy: Check<PolicySpec> = (v, path) => {
  // maxnode is optional: absent means libnuma's choice, so it is taken out before the strict record
  if (isObject(v) && Object.hasOwn(v, 'maxnode')) {
    const { maxnode, ...rest } = v;
    return { ...record(POLICY, rest, path, { mode: 'default', nodes: [], flags: [] }), maxnode: int(0, 2 ** 31 - 1)(maxnode, `${path}.maxnode`) };
  }
  return record(POLICY, v, path, { mode: 'default', nodes: [], flags: [] });
};
const nullablePolicy: Check<PolicySpec | null> = (v, path) => (v === null ? null : policy(v, path));
const RANGE: Shape<SharedPolicyRange> = { start: int(0), end: int(1), policy };
const NUMA: Shape<NumaSpec> = {
  nodes: list((v, path) => record({ capacity: int(0, MAX_PFNS) }, v, path), 'nodes {"capacity": pages}', 1, MAX_NODES),
  distance: (v, path) => (v === null ? null : list(list(int(10, 255), 'distances'), 'rows')(v, path)),
  placement: sub(Object.fromEntries(PLACEMENT_KEYS.map((k) => [k, placementOf])) as Shape<NumaSpec['placement']>),
  policySource: oneOf('shared', 'create', 'task'),
  shared: list((v, path) => record(RANGE, v, path), 'ranges {start, end, policy}'),
  create: nullablePolicy,
  task: nullablePolicy,
  interleave: oneOf('rotor', 'offset'),
  weights: list(int(0, 255), 'weights (one per node)', 0, MAX_NODES),
  mbindPolicies: list(policy, 'policies {mode, nodes, flags}', 0, MAX_POLICY_IDS - 1),
};
/** The defaults a `numa` section starts from: 2 nodes, everything on node 0, no policy. */
export const NUMA_DEFAULTS: NumaSpec = {
  nodes: [{ capacity: 64 }, { capacity: 64 }],
  distance: null,
  placement: Object.fromEntries(PLACEMENT_KEYS.map((k) => [k, 0])) as Record<PlacementKey, number>,
  policySource: 'shared',
  shared: [],
  create: null,
  task: null,
  interleave: 'rotor',
  weights: [],
  mbindPolicies: [],
};
/** Runtime mbind: the largest file it may change (the tree's capacity and the ghost are words per page). */
export const MAX_RUNTIME_MBIND_PAGES = 65536;
const numaSpec = (v: unknown, path: string, base?: NumaSpec) => record(NUMA, v, path, base ?? NUMA_DEFAULTS);

/** A power of two from `min` to `max` (a huge page's size in 4K pages). */
const pow2 = (min: number, max: number): Check<number> => (v, path) => {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max && (v & (v - 1)) === 0) return v;
  throw new ScenarioError(path, `a power of two from ${min} to ${max}`, got(v));
};
const HUGEPAGES: Shape<HugepageSpec> = {
  gmem: oneOf('none', 'thp', 'hugetlb-2m', 'hugetlb-1g'),
  pages2m: pow2(2, 512),
  pages1g: pow2(4, 262144),
  maxLevel: oneOf('2m', '1g'),
};

const BASE: Shape<ScenarioBase> = {
  name: str(1, 64),
  description: str(0, Infinity),
  kernel: oneOf(...KERNEL_BASELINES),
  vmType: oneOf('default', 'sw_protected', 'coco'),
  gmemFlags: list(oneOf('mmap', 'init_shared'), 'guest_memfd flags ("mmap", "init_shared")', 0, 2),
  gmemPages: int(1, MAX_GMEM_PAGES),
  slots,
  pfnPool: int(1, MAX_PFNS),
  starvationRetries: int(1),
  maxSteps: int(100),
  stopWhen: oneOf('duration', 'ops'),
  mmuLock: oneOf('rwlock', 'percpu'),
  prepareFailRate: fraction,
  zapYield: oneOf('contended', 'always'),
  hugepages: sub(HUGEPAGES),
  numa: (v, path, base) => (v === null ? null : numaSpec(v, path, base ?? undefined)),
  variant: (v, path) => {
    if (v === null) return null;
    const found = typeof v === 'string' ? findVariant(v) : undefined;
    if (!found) throw new ScenarioError(path, `null or a variant of the catalogue (${VARIANTS.map((x) => x.id).join(', ')}, or their names)`, got(v));
    return found.id;
  },
  actorStreams: (v, path) => {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && x >= 0)) throw new ScenarioError(path, 'an array of non-negative integers (a random stream per actor)', got(v));
    return v as number[];
  },
};

/** The whole scenario: the base settings and each actor kind's section (workload/kinds.ts). */
const SCENARIO = { ...BASE, ...Object.fromEntries(SECTION_KINDS.map((k) => [k.key, sub(k.section!.shape as Shape<unknown>)])) } as Shape<Scenario>;

/** What KVM would refuse at memslot creation (kvm_set_memory_region, kvm_gmem_bind). */
function checkSlots(s: Scenario): void {
  s.slots.forEach((slot, i) => {
    const end = slot.gmemOffset + slot.npages;
    if (end > s.gmemPages) {
      throw new ScenarioError(`slots[${i}].npages`, `at most ${s.gmemPages - slot.gmemOffset}: gmemOffset ${slot.gmemOffset} + npages must fit the ${s.gmemPages}-page guest_memfd file (gmemPages)`, got(slot.npages));
    }
    if (slot.baseGfn + slot.npages > MAX_GFNS) {
      throw new ScenarioError(`slots[${i}].baseGfn`, `at most ${MAX_GFNS - slot.npages}: baseGfn + npages must fit the ${MAX_GFNS}-gfn guest address space`, got(slot.baseGfn));
    }
    for (let j = 0; j < i; j++) {
      const o = s.slots[j]!;
      if (slot.baseGfn < o.baseGfn + o.npages && o.baseGfn < slot.baseGfn + slot.npages) {
        throw new ScenarioError(`slots[${i}].baseGfn`, `such that gfns ${slot.baseGfn}..${slot.baseGfn + slot.npages - 1} miss slots[${j}] (gfns ${o.baseGfn}..${o.baseGfn + o.npages - 1})`, `EEXIST: slots overlap; ${got(slot.baseGfn)}`);
      }
      if (slot.gmemOffset < o.gmemOffset + o.npages && o.gmemOffset < end) {
        throw new ScenarioError(`slots[${i}].gmemOffset`, `such that file pages ${slot.gmemOffset}..${end - 1} miss the binding of slots[${j}] (pages ${o.gmemOffset}..${o.gmemOffset + o.npages - 1})`, `EINVAL: bindings overlap; ${got(slot.gmemOffset)}`);
      }
    }
  });
  // Slots are disjoint by now, so the sum counts distinct gfns.
  const pages = s.slots.reduce((n, slot) => n + slot.npages, 0);
  if (s.vcpus.count > pages) {
    throw new ScenarioError('vcpus.count', `at most ${pages}, the slots' page count (each vCPU owns at least one page)`, got(s.vcpus.count));
  }
}

const GMEM_FLAG_ORDER: GmemFlag[] = ['mmap', 'init_shared'];

/**
 * What the kernel would refuse of the guest_memfd and the VM type: KVM_CREATE_GUEST_MEMFD's flags
 * (kvm_gmem_create), KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) on a VM without private memory, and an
 * mbind that needs a mapping of the file. Also puts the flags in canonical order.
 */
function checkGmem(s: Scenario): void {
  s.gmemFlags = GMEM_FLAG_ORDER.filter((f) => s.gmemFlags.includes(f));
  const refusal = gmemCreateRefusal(s, s.gmemPages, s.gmemFlags); // gmemPages >= 1: only the flags can be refused
  if (refusal) {
    const ok = gmemFlagNames(kvmGmemGetSupportedFlags(s.kernel, s.vmType)).map((f) => `"${f}"`);
    throw new ScenarioError('gmemFlags', ok.length ? `a list of ${ok.join(', ')} on a ${s.vmType} VM with kernel ${s.kernel}` : `[] with kernel ${s.kernel}`, refusal);
  }
  if (!kvmArchHasPrivateMem(s.vmType)) {
    const why = 'on a default VM: it has no private memory, KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) fails with EINVAL';
    if (s.vcpus.privateFraction > 0) throw new ScenarioError('vcpus.privateFraction', `0 ${why}`, got(s.vcpus.privateFraction));
    if (s.vcpus.conversionRate > 0) throw new ScenarioError('vcpus.conversionRate', `0 ${why}`, got(s.vcpus.conversionRate));
    if (s.converter.count > 0) throw new ScenarioError('converter.count', `0 ${why}`, got(s.converter.count));
  }
  if (s.prepareFailRate > 0 && s.vmType !== 'coco') throw new ScenarioError('prepareFailRate', `0 on a ${s.vmType} VM: only a coco VM has an arch prepare hook (kvm_arch_gmem_prepare) that can fail`, got(s.prepareFailRate));
  // kvm_gmem_mmap: a file without GUEST_MEMFD_FLAG_MMAP cannot be mapped
  if (s.hostUser.count > 0 && !s.gmemFlags.includes('mmap')) throw new ScenarioError('hostUser.count', '0 unless gmemFlags has "mmap": the host process mmaps the guest_memfd, and kvm_gmem_mmap fails with ENODEV without GUEST_MEMFD_FLAG_MMAP', got(s.hostUser.count));
  // pin_user_pages of guest_memfd memory goes through a mapping of the file
  if (s.pinner.count > 0 && !s.gmemFlags.includes('mmap')) throw new ScenarioError('pinner.count', '0 unless gmemFlags has "mmap": the device pins guest memory through the VMM\'s mapping of the guest_memfd, and kvm_gmem_mmap fails with ENODEV without GUEST_MEMFD_FLAG_MMAP', got(s.pinner.count));
  const n = s.numa;
  if (s.mbind.count > 0) {
    // mbind on the gmem mapping reaches the inode's shared policy only through kvm_gmem_set_policy (6.19+, mmap-able files)
    if (!n || n.policySource !== 'shared') throw new ScenarioError('mbind.count', '0 unless the scenario has a numa section with policySource "shared": the runtime mbind sets the gmem inode\'s shared policy', got(s.mbind.count));
    if (s.kernel === '6.18') throw new ScenarioError('mbind.count', '0 with kernel 6.18: guest_memfd has a shared policy since 6.19 (ed1ffa810bd6); use kernel 7.0', got(s.mbind.count));
    if (!s.gmemFlags.includes('mmap')) throw new ScenarioError('mbind.count', '0 unless gmemFlags has "mmap": mbind needs a mapping of the guest_memfd (kvm_gmem_mmap: ENODEV without GUEST_MEMFD_FLAG_MMAP)', got(s.mbind.count));
    if (s.gmemPages > MAX_RUNTIME_MBIND_PAGES) throw new ScenarioError('mbind.count', `0 for a file of more than ${MAX_RUNTIME_MBIND_PAGES} pages (the runtime policy tree and its ghost take words per page)`, `gmemPages is ${s.gmemPages}`);
  }
  // CONFIG_HAVE_KVM_ARCH_GMEM_POPULATE: only SNP and TDX call kvm_gmem_populate (their launch ioctls)
  if (s.populate.count > 0 && s.vmType !== 'coco') throw new ScenarioError('populate.count', `0 on a ${s.vmType} VM: kvm_gmem_populate is reached only through SNP's LAUNCH_UPDATE and TDX's INIT_MEM_REGION (vmType "coco")`, got(s.populate.count));
  // 6.12 is the model gmemsim started from (recorded scenarios replay on it): it set the shared policy without a mapping
  if (n && n.shared.length > 0 && s.kernel !== '6.12') {
    if (s.kernel === '6.18') throw new ScenarioError('numa.shared', 'empty with kernel 6.18: guest_memfd has a shared policy since 6.19 (ed1ffa810bd6); use kernel 7.0', `got ${n.shared.length} range(s)`);
    if (!s.gmemFlags.includes('mmap')) {
      throw new ScenarioError('numa.shared', 'empty unless gmemFlags has "mmap": mbind sets the shared policy through a mapping of the guest_memfd, and a file without GUEST_MEMFD_FLAG_MMAP cannot be mapped (kvm_gmem_mmap: ENODEV)', `got ${n.shared.length} range(s) and gmemFlags ${JSON.stringify(s.gmemFlags)}`);
    }
  }
}

/**
 * Huge pages: the sizes nest, and the THP series is modelled on the kernels with the VM's
 * attributes, with the actors whose paths know huge folios (not yet: the host's 4K PTE into a
 * huge folio, GUP, memory_failure's split, populate, a runtime mbind's policy for a huge allocation,
 * KVM_PRE_FAULT_MEMORY's progress clamped to the huge page).
 */
function checkHugepages(s: Scenario): void {
  const h = s.hugepages;
  if (h.pages1g <= h.pages2m) throw new ScenarioError('hugepages.pages1g', `a power of two above pages2m (${h.pages2m}): a 1G page holds whole 2M pages`, got(h.pages1g));
  if (h.gmem === 'none') return;
  if (h.gmem === 'thp') {
    if (s.kernel === 'next') throw new ScenarioError('hugepages.gmem', '"none", "hugetlb-2m" or "hugetlb-1g" with kernel "next": the THP RFC predates in-place conversion; the 1G RFC\'s hugetlb folios are its huge pages', got(h.gmem));
  } else {
    if (s.kernel !== 'next') throw new ScenarioError('hugepages.gmem', `"none" or "thp" with kernel ${s.kernel}: hugetlb-backed guest_memfd (the 1G RFC) converts in place, as kernel "next" does`, got(h.gmem));
    const nr = h.gmem === 'hugetlb-1g' ? h.pages1g : h.pages2m;
    // kvm_gmem_create with GUEST_MEMFD_FLAG_HUGETLB: the size must be a whole number of huge pages
    if (s.gmemPages % nr !== 0) throw new ScenarioError('gmemPages', `a multiple of ${nr} (the ${h.gmem} page in 4K pages): a hugetlb-backed guest_memfd's size is whole huge pages (KVM_CREATE_GUEST_MEMFD: EINVAL)`, got(s.gmemPages));
    // guestmem_hugetlb's inode_setup reserves the whole file in a subpool at creation
    const caps = s.numa ? s.numa.nodes.map((n) => n.capacity) : [s.pfnPool];
    let base = 0;
    let blocks = 0;
    for (const cap of caps) {
      blocks += Math.max(0, Math.floor((base + cap) / nr) - Math.ceil(base / nr));
      base += cap;
    }
    if (blocks < s.gmemPages / nr) throw new ScenarioError(s.numa ? 'numa.nodes' : 'pfnPool', `room for the file's ${s.gmemPages / nr} ${h.gmem} pages (${nr}-page aligned runs in a node): guestmem_hugetlb reserves them at creation, and KVM_CREATE_GUEST_MEMFD fails with ENOMEM`, `the pool holds ${blocks}`);
  }
  const unmodelled = (h.gmem === 'thp' ? (['hostUser', 'pinner', 'memoryFailure', 'populate', 'specRef', 'mbind', 'preFault'] as const) : (['memoryFailure', 'populate', 'mbind', 'preFault'] as const)).find((k) => s[k].count > 0);
  if (unmodelled) throw new ScenarioError(`${unmodelled}.count`, `0 with hugepages.gmem "${h.gmem}": that actor's path into a huge folio is not modelled`, got(s[unmodelled].count));
}

/** What the kernel would refuse of a numa section; also fixes pfnPool to the nodes' total. */
function checkNuma(s: Scenario): void {
  const n = s.numa;
  if (!n) return;
  // the nodes' pfns are the pool: their total is what gets allocated
  const total = n.nodes.reduce((t, x) => t + x.capacity, 0);
  if (total > MAX_PFNS) {
    throw new ScenarioError('numa.nodes', `nodes whose capacities add up to at most ${MAX_PFNS} pages (128 GiB, the pfn pool's limit)`, `they add up to ${total}`);
  }
  const topo = numaTopology(n);
  const errs = validateTopology(topo);
  if (errs.length) throw new ScenarioError('numa.distance', `a ${n.nodes.length}x${n.nodes.length} matrix with 10 on the diagonal and > 10 elsewhere`, errs[0].replace(/^topology\./, ''));
  const k = n.nodes.length;
  const onNode = (v: number, path: string) => {
    if (v >= k) throw new ScenarioError(path, `a node of the topology (0 to ${k - 1})`, got(v));
  };
  for (const key of PLACEMENT_KEYS) {
    const p = n.placement[key];
    if (typeof p === 'number') onNode(p, `numa.placement.${key}`);
    else p?.forEach((v, i) => onNode(v, `numa.placement.${key}[${i}]`));
  }
  n.shared.forEach((r, i) => {
    if (r.end <= r.start || r.end > s.gmemPages) {
      throw new ScenarioError(`numa.shared[${i}].end`, `greater than start (${r.start}) and at most the file's ${s.gmemPages} pages`, got(r.end));
    }
    toMempolicy(r.policy, topo, `numa.shared[${i}].policy`);
  });
  (n.mbindPolicies ?? []).forEach((p, i) => toMempolicy(p, topo, `numa.mbindPolicies[${i}]`));
  const distinct = new Set([...n.shared.map((r) => r.policy), ...(n.mbindPolicies ?? [])].filter((p) => p.mode !== 'default').map((p) => JSON.stringify(p))).size;
  if (s.mbind.count > 0 && distinct > MAX_POLICY_IDS - 1) throw new ScenarioError('numa.mbindPolicies', `at most ${MAX_POLICY_IDS - 1} distinct policies together with numa.shared's when runtime mbind actors run (mbind.count > 0)`, `got ${distinct}`);
  if (n.create) toMempolicy(n.create, topo, 'numa.create');
  if (n.task) toMempolicy(n.task, topo, 'numa.task');
  if (n.policySource === 'create' && !n.create) throw new ScenarioError('numa.create', 'a policy when policySource is "create"', got(null));
  s.pfnPool = n.nodes.reduce((t, x) => t + x.capacity, 0);
  if (s.pfnPool < 1) throw new ScenarioError('numa.nodes', 'nodes with some memory (total capacity >= 1)', got(n.nodes));
}

/** Validates parsed JSON; missing fields come from `base`. Returns a fresh object. */
export function validateScenario(input: unknown, base: Scenario = DEFAULT_SCENARIO): Scenario {
  if (!isObject(input)) throw new ScenarioError('scenario', 'a JSON object', `must be a JSON object (${got(input)})`);
  const s = record(SCENARIO, input, '', base);
  checkSlots(s);
  checkNuma(s);
  checkGmem(s);
  checkHugepages(s);
  const actors = actorCount(s);
  if (s.actorStreams && s.actorStreams.length !== actors) {
    throw new ScenarioError('actorStreams', `one stream per actor (${actors}: the vCPUs, the VMM, then each background actor)`, got(s.actorStreams));
  }
  return s;
}

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  // Node appends ", open '<path>'": the message names the file already.
  return err?.code ? err.message.split(', ')[0]! : String(err?.message ?? e);
}

/** A built-in scenario by name, or a JSON file (which may say `"base": "<built-in>"`). */
export function loadScenario(nameOrFile: string): Scenario {
  const names = Object.keys(BUILTIN_SCENARIOS).join(', ');
  if (Object.hasOwn(BUILTIN_SCENARIOS, nameOrFile)) return structuredClone(BUILTIN_SCENARIOS[nameOrFile]!);
  const allowed = `a built-in name (${names}) or a path to a .json file`;
  if (!nameOrFile.includes('/') && !nameOrFile.endsWith('.json')) {
    throw new ScenarioError('scenario', allowed, `unknown scenario ${show(nameOrFile)}: use a built-in (${names}) or a path to a .json file`);
  }
  let text: string;
  try {
    text = readFileSync(nameOrFile, 'utf8');
  } catch (e) {
    throw new ScenarioError('scenario', allowed, `cannot read ${nameOrFile}: ${reason(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError('scenario', 'valid JSON', `${nameOrFile} is not valid JSON: ${reason(e)}`);
  }
  if (!isObject(json) || !Object.hasOwn(json, 'base')) return validateScenario(json);
  const { base, ...rest } = json;
  if (typeof base !== 'string' || !Object.hasOwn(BUILTIN_SCENARIOS, base)) {
    throw new ScenarioError('base', `the name of a built-in scenario (${names})`, got(base));
  }
  return validateScenario(rest, BUILTIN_SCENARIOS[base]);
}
