// Which memory policy an allocation uses (spec §5.1): the gmem inode's shared policy at the file
// index, the early RFC's create-time policy, or the allocating task's own; the per-actor NUMA
// context (its node, its interleave rotor) built from the scenario; and the scenario's policy table.
//
// The shared policy tree lives in the shared state (src/shm/sp.ts) so that a runtime mbind by one
// actor is seen by every other, on worker threads too. Its nodes name policy objects, and each
// object holds a policy id: an index into the table compiled here from the scenario (id 0 is
// MPOL_DEFAULT, the NULL policy). Every worker compiles the same table from the same scenario.
import type { PolicySpec, Scenario } from '../scenario/types.js';
import { numaTopology, toMempolicy } from './policy_spec.js';
import type { Mempolicy } from './mempolicy.js';
import { newTaskIlState, type IlWeights, type TaskIlState, type Topology } from './numa.js';
import { SharedPolicy } from './shared_policy.js';
import type { Shm } from '../shm/state.js';
import { spCount, spNodeEnd, spNodePolicy, spNodeStart, spObjPid } from '../shm/sp.js';

/** Policy ids fit a 32-bit mask (the ghost's "policies in force during a lookup"): id 0 and 31 more. */
export const MAX_POLICY_IDS = 32;

export interface NumaCtx {
  topo: Topology;
  /** numa_node_id() of the CPU the actor runs on */
  node: number;
  /** current->il_prev / il_weight */
  il: TaskIlState;
  task: Mempolicy | null;
  create: Mempolicy | null;
  /** policy id -> policy (0: null, MPOL_DEFAULT) */
  table: ReadonlyArray<Mempolicy | null>;
  /** runtime mbind actors can change the tree during the run: lookups take sp->lock and a reference */
  dynamic: boolean;
  source: 'shared' | 'create' | 'task';
  /** kvm_gmem_get_folio honours the inode's policy (false: the kernel before the NUMA series, variant N1: only the task's applies) */
  inodePolicy: boolean;
  /** offset-based interleave (as shmem) instead of NO_INTERLEAVE_INDEX + the task rotor */
  byOffset: boolean;
  weights: IlWeights;
}

/** What a scenario's numa section compiles to once: validation (nodemask parsing) is not cheap. */
interface Compiled {
  topo: Topology;
  task: Mempolicy | null;
  create: Mempolicy | null;
  /** id -> policy; id 0 is MPOL_DEFAULT */
  table: Array<Mempolicy | null>;
  /** id of each policy spec, by its JSON */
  ids: Map<string, number>;
  /** the mbind calls, in order: file range and policy id */
  ranges: Array<[number, number, number]>;
  /** the policy ids a runtime mbind actor chooses from */
  runtime: number[];
  weights: IlWeights;
}
const COMPILED = new WeakMap<Scenario, Compiled>();

function compile(sc: Scenario): Compiled {
  let c = COMPILED.get(sc);
  if (c) return c;
  const n = sc.numa!;
  const topo = numaTopology(n);
  const table: Array<Mempolicy | null> = [null];
  const ids = new Map<string, number>();
  const idOf = (spec: PolicySpec, path: string): number => {
    const key = JSON.stringify(spec);
    let id = ids.get(key);
    if (id !== undefined) return id;
    const pol = toMempolicy(spec, topo, path);
    id = pol === null ? 0 : table.push(pol) - 1;
    ids.set(key, id);
    return id;
  };
  const ranges = n.shared.map((r, i): [number, number, number] => [r.start, r.end, idOf(r.policy, `numa.shared[${i}].policy`)]);
  const listed = (n.mbindPolicies ?? []).map((p, i) => idOf(p, `numa.mbindPolicies[${i}]`));
  const runtime = listed.length > 0 ? [...new Set(listed)] : [...new Set([0, ...ranges.map((r) => r[2])])];
  c = {
    topo,
    task: n.task ? toMempolicy(n.task, topo, 'numa.task') : null,
    create: n.create ? toMempolicy(n.create, topo, 'numa.create') : null,
    table,
    ids,
    ranges,
    runtime,
    weights: Object.fromEntries(n.weights.map((w, i) => [i, w])),
  };
  COMPILED.set(sc, c);
  return c;
}

/** The scenario's policy table: id -> policy (0: MPOL_DEFAULT). */
export const policyTable = (sc: Scenario): ReadonlyArray<Mempolicy | null> => (sc.numa ? compile(sc).table : [null]);

/** The id of a policy spec in the scenario's table, adding it if new (tests' and flows' own mbind calls). */
export function policyIdOf(sc: Scenario, spec: PolicySpec): number {
  const c = compile(sc);
  const key = JSON.stringify(spec);
  const id = c.ids.get(key);
  if (id !== undefined) return id;
  const pol = toMempolicy(spec, c.topo, 'mbind');
  const nid = pol === null ? 0 : c.table.push(pol) - 1;
  if (nid >= MAX_POLICY_IDS) throw new RangeError(`policy table: more than ${MAX_POLICY_IDS - 1} distinct policies`);
  c.ids.set(key, nid);
  return nid;
}

/** The distinct policies a scenario names (numa.shared and numa.mbindPolicies), MPOL_DEFAULT aside. */
export const policyCount = (sc: Scenario) => (sc.numa ? compile(sc).table.length - 1 : 0);

/** The scenario's mbind calls on the gmem file, in order: [start, end, policy id]. */
export function mbindCalls(sc: Scenario): ReadonlyArray<[number, number, number]> {
  return sc.numa ? compile(sc).ranges : [];
}

/** The policy ids a runtime mbind actor picks from (numa.mbindPolicies; else numa.shared's and MPOL_DEFAULT). */
export const runtimePolicyIds = (sc: Scenario): readonly number[] => (sc.numa ? compile(sc).runtime : [0]);

/** The tree of policy ids the scenario's mbind calls leave (in order), as the kernel's shared_policy_replace would. */
export function sharedPolicyOf(sc: Scenario): SharedPolicy<number> {
  const sp = new SharedPolicy<number>();
  for (const [start, end, id] of mbindCalls(sc)) sp.setPolicy(start, end, id === 0 ? null : id);
  return sp;
}

/** The scenario has a per-inode shared policy the runtime can change: runtime mbind actors. */
export const runtimeMbind = (sc: Scenario) => sc.numa !== null && sc.numa.policySource === 'shared' && (sc.mbind?.count ?? 0) > 0;

/**
 * The actor's NUMA context: it runs on `node`; `inodePolicy` false is the kernel before the NUMA
 * series. The shared policy itself is in the run's shared state.
 */
export function numaCtxFor(sc: Scenario, node: number, inodePolicy = true): NumaCtx | null {
  const n = sc.numa;
  if (!n) return null;
  const c = compile(sc);
  return {
    topo: c.topo,
    node,
    il: newTaskIlState(),
    task: c.task,
    create: c.create,
    table: c.table,
    dynamic: runtimeMbind(sc),
    source: n.policySource,
    inodePolicy,
    byOffset: n.interleave === 'offset',
    weights: c.weights,
  };
}

/** sp_lookup(sp, index, index + 1): the tree node containing file index `index`, or -1. */
export function spLookup(s: Shm, index: number): number {
  const n = spCount(s);
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (spNodeStart(s, mid) <= index) lo = mid + 1;
    else hi = mid;
  }
  const k = lo - 1;
  return k >= 0 && index < spNodeEnd(s, k) ? k : -1;
}

/** The policy id the tree holds at `index` now (0: none), read without the lock: for a tree nobody changes, or a holder of sp->lock. */
export function spPidAt(s: Shm, index: number): number {
  const k = spLookup(s, index);
  return k < 0 ? 0 : spObjPid(s, spNodePolicy(s, k));
}

// kvm_gmem_get_folio on a miss when nothing changes the tree during the run: the inode's policy at
// the index (or the early RFC's create-time policy), else the allocating task's. With no writer the
// lookup commutes with every other step, so it is one step, without sp->lock or a reference.
export function gmemPolicy(numa: NumaCtx, s: Shm, index: number): Mempolicy | null {
  if (numa.inodePolicy) {
    if (numa.source === 'shared') {
      const p = numa.table[spPidAt(s, index)];
      if (p) return p;
    } else if (numa.source === 'create') {
      return numa.create;
    }
  }
  return numa.task;
}

/** The file offsets get_mempolicy's answer can change at: 0 and every mbind call's boundaries (test_mbind asks at each). */
export function mbindBoundaries(sc: Scenario, filePages: number): number[] {
  const points = new Set<number>([0]);
  for (const [start, end] of mbindCalls(sc)) points.add(start).add(end);
  return [...points].filter((x) => x < filePages);
}
