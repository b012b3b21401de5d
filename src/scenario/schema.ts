// Scenario validation: user JSON in, a complete Scenario out, or a one-line error naming the field.
import { readFileSync } from 'node:fs';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from './builtins.js';
import type { BackgroundSpec, NumaSpec, PolicySpec, Scenario, SharedPolicyRange, SlotSpec, VcpuSpec } from './types.js';
import { MPOL_BIND, MPOL_DEFAULT, MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE, validatePolicy, type Mempolicy } from '../mm/mempolicy.js';
import { nodesWithMemory, validateTopology, type Topology } from '../mm/numa.js';
import { VARIANTS, findVariant } from '../variants.js';

const MAX_GMEM_PAGES = 16_777_216; // 64 GiB: the NUMA experiment touches 50 GiB
const MAX_SLOTS = 32;
const MAX_GFNS = 16_777_216;
const MAX_PFNS = 33_554_432;
const MAX_OPS = 10_000_000;

export class ScenarioError extends Error {
  constructor(public field: string, public allowed: string, detail?: string) {
    // Field 'scenario' is the input as a whole (a name, a file): there the detail says it all.
    const text = field === 'scenario' && detail !== undefined ? detail : `${field} must be ${allowed}${detail ? ` (${detail})` : ''}`;
    // Node's messages (JSON.parse quotes the source) may span lines; reports want one.
    super(`scenario: ${text}`.replace(/\s*[\r\n]+\s*/g, ' '));
    this.name = 'ScenarioError';
  }
}

function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
const got = (v: unknown) => (v === undefined ? 'missing' : `got ${show(v)}`);

/** Checks one value at `path`; `base` is what a partial object merges onto. */
type Check<T> = (v: unknown, path: string, base?: T) => T;
type Shape<T> = { [K in keyof T]-?: Check<T[K]> };
type StrictPolicy = Omit<PolicySpec, 'maxnode'>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const int = (min: number, max = Infinity): Check<number> => (v, path) => {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  throw new ScenarioError(path, max === Infinity ? `an integer >= ${min}` : `an integer from ${min} to ${max}`, got(v));
};

const fraction: Check<number> = (v, path) => {
  if (typeof v === 'number' && v >= 0 && v <= 1) return v;
  throw new ScenarioError(path, 'a number from 0 to 1', got(v));
};

const bool: Check<boolean> = (v, path) => {
  if (typeof v === 'boolean') return v;
  throw new ScenarioError(path, 'true or false', got(v));
};

const str = (minLen: number, maxLen: number): Check<string> => (v, path) => {
  if (typeof v === 'string' && v.length >= minLen && v.length <= maxLen) return v;
  throw new ScenarioError(path, minLen > 0 ? `a non-empty string of at most ${maxLen} characters` : 'a string', got(v));
};

const oneOf = <T extends string>(...values: T[]): Check<T> => (v, path) => {
  if (values.includes(v as T)) return v as T;
  throw new ScenarioError(path, `one of ${values.map((x) => `"${x}"`).join(', ')}`, got(v));
};

/** An object of `shape`: unknown keys are errors, missing keys come from `base`. */
function record<T>(shape: Shape<T>, v: unknown, path: string, base?: T): T {
  const keys = Object.keys(shape) as (keyof T & string)[];
  if (!isObject(v)) throw new ScenarioError(path, `an object with keys ${keys.join(', ')}`, got(v));
  const at = (k: string) => (path ? `${path}.${k}` : k);
  for (const k of Object.keys(v)) {
    if (!Object.hasOwn(shape, k)) throw new ScenarioError(at(k), `a known key; ${path || 'a scenario'} has ${keys.join(', ')}`, `unknown key "${k}"`);
  }
  const out = {} as T;
  for (const k of keys) out[k] = shape[k](Object.hasOwn(v, k) ? v[k] : base?.[k], at(k), base?.[k]);
  return out;
}
const sub = <T>(shape: Shape<T>): Check<T> => (v, path, base) => record(shape, v, path, base);

const SLOT: Shape<SlotSpec> = { baseGfn: int(0), npages: int(1), gmemOffset: int(0) };

// Slots are replaced as a whole: a slot never merges with the base's slot of the same index.
const slots: Check<SlotSpec[]> = (v, path) => {
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_SLOTS) {
    throw new ScenarioError(path, `a non-empty array of at most ${MAX_SLOTS} slots`, got(v));
  }
  return v.map((s, i) => record(SLOT, s, `${path}[${i}]`));
};

const VCPUS: Shape<VcpuSpec> = {
  count: int(1, 64),
  ops: int(0, MAX_OPS),
  pattern: oneOf('sequential', 'uniform', 'hotset'),
  hotPages: int(1),
  hotFraction: fraction,
  privateFraction: fraction,
  writeFraction: fraction,
  conversionRate: fraction,
  conversionMaxPages: int(1),
  fallocateOnConversion: bool,
  gfns: oneOf('own', 'shared'),
};

const BACKGROUND: Shape<BackgroundSpec> = { count: int(0, 16), ops: int(0, MAX_OPS), maxPages: int(1) };

const nodeId: Check<number> = int(0, 63);
const list = <T>(each: Check<T>, what: string, min = 0): Check<T[]> => (v, path) => {
  if (!Array.isArray(v) || v.length < min) throw new ScenarioError(path, `an array of ${what}${min ? ` (at least ${min})` : ''}`, got(v));
  return v.map((x, i) => each(x, `${path}[${i}]`));
};
const POLICY: Shape<StrictPolicy> = {
  mode: oneOf('default', 'preferred', 'bind', 'interleave', 'local', 'preferred_many', 'weighted_interleave'),
  nodes: list(int(0), 'node ids'),
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
  nodes: list((v, path) => record({ capacity: int(0, MAX_PFNS) }, v, path), 'nodes {"capacity": pages}', 1),
  distance: (v, path) => (v === null ? null : list(list(int(10, 255), 'distances'), 'rows')(v, path)),
  placement: sub({ vcpus: list(nodeId, 'node ids', 1), vmm: nodeId, converter: nodeId, puncher: nodeId, slotChurn: nodeId }),
  policySource: oneOf('shared', 'create', 'task'),
  shared: list((v, path) => record(RANGE, v, path), 'ranges {start, end, policy}'),
  create: nullablePolicy,
  task: nullablePolicy,
  interleave: oneOf('rotor', 'offset'),
  weights: list(int(0, 255), 'weights'),
};
/** The defaults a `numa` section starts from: 2 nodes, everything on node 0, no policy. */
export const NUMA_DEFAULTS: NumaSpec = {
  nodes: [{ capacity: 64 }, { capacity: 64 }],
  distance: null,
  placement: { vcpus: [0], vmm: 0, converter: 0, puncher: 0, slotChurn: 0 },
  policySource: 'shared',
  shared: [],
  create: null,
  task: null,
  interleave: 'rotor',
  weights: [],
};
const numaSpec = (v: unknown, path: string, base?: NumaSpec) => record(NUMA, v, path, base ?? NUMA_DEFAULTS);

const SCENARIO: Shape<Scenario> = {
  name: str(1, 64),
  description: str(0, Infinity),
  vmType: oneOf('sw_protected', 'coco'),
  gmemPages: int(1, MAX_GMEM_PAGES),
  slots,
  pfnPool: int(1, MAX_PFNS),
  vcpus: sub(VCPUS),
  converter: sub(BACKGROUND),
  puncher: sub(BACKGROUND),
  slotChurn: sub(BACKGROUND),
  starvationRetries: int(1),
  maxSteps: int(100),
  stopWhen: oneOf('duration', 'ops'),
  mmuLock: oneOf('rwlock', 'percpu'),
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

/** The topology a numa section describes (distance null: 10 local, 20 remote). */
export function numaTopology(n: NumaSpec): Topology {
  const k = n.nodes.length;
  return {
    nodes: n.nodes.map((x, id) => ({ id, capacity: x.capacity })),
    distance: n.distance ?? Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => (i === j ? 10 : 20))),
  };
}

const MODES: Record<PolicySpec['mode'], number> = {
  default: MPOL_DEFAULT,
  preferred: MPOL_PREFERRED,
  bind: MPOL_BIND,
  interleave: MPOL_INTERLEAVE,
  local: MPOL_LOCAL,
  preferred_many: MPOL_PREFERRED_MANY,
  weighted_interleave: MPOL_WEIGHTED_INTERLEAVE,
};
const FLAGS = { static: MPOL_F_STATIC_NODES, relative: MPOL_F_RELATIVE_NODES, numa_balancing: MPOL_F_NUMA_BALANCING };

/** The kernel's policy for a PolicySpec (set_mempolicy/mbind validation, in the kernel's order), or a one-line error naming the field and the errno. */
export function toMempolicy(p: PolicySpec, topo: Topology, path: string): Mempolicy | null {
  const flags = p.flags.reduce((f, x) => f | FLAGS[x], 0);
  const r = validatePolicy({ mode: MODES[p.mode], flags, nodes: p.nodes, maxnode: p.maxnode }, nodesWithMemory(topo));
  if (!r.ok) throw new ScenarioError(path, 'a policy the kernel accepts', `${r.errno}: ${r.reason}`);
  return r.policy;
}

/** What the kernel would refuse of a numa section; also fixes pfnPool to the nodes' total. */
function checkNuma(s: Scenario): void {
  const n = s.numa;
  if (!n) return;
  const topo = numaTopology(n);
  const errs = validateTopology(topo);
  if (errs.length) throw new ScenarioError('numa.distance', `a ${n.nodes.length}x${n.nodes.length} matrix with 10 on the diagonal and > 10 elsewhere`, errs[0].replace(/^topology\./, ''));
  const k = n.nodes.length;
  const onNode = (v: number, path: string) => {
    if (v >= k) throw new ScenarioError(path, `a node of the topology (0 to ${k - 1})`, got(v));
  };
  n.placement.vcpus.forEach((v, i) => onNode(v, `numa.placement.vcpus[${i}]`));
  for (const kind of ['vmm', 'converter', 'puncher', 'slotChurn'] as const) onNode(n.placement[kind], `numa.placement.${kind}`);
  n.shared.forEach((r, i) => {
    if (r.end <= r.start || r.end > s.gmemPages) {
      throw new ScenarioError(`numa.shared[${i}].end`, `greater than start (${r.start}) and at most the file's ${s.gmemPages} pages`, got(r.end));
    }
    toMempolicy(r.policy, topo, `numa.shared[${i}].policy`);
  });
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
  const actors = s.vcpus.count + 1 + s.converter.count + s.puncher.count + s.slotChurn.count;
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
