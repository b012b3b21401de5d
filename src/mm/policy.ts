// Which memory policy an allocation uses (spec §5.1): the gmem inode's shared policy at the file
// index, the early RFC's create-time policy, or the allocating task's own; and the per-actor NUMA
// context (its node, its interleave rotor) built from the scenario.
import type { Scenario } from '../scenario/types.js';
import { numaTopology, toMempolicy } from './policy_spec.js';
import type { Mempolicy } from './mempolicy.js';
import { newTaskIlState, type IlWeights, type TaskIlState, type Topology } from './numa.js';
import { SharedPolicy } from './shared_policy.js';

export interface NumaCtx {
  topo: Topology;
  /** numa_node_id() of the CPU the actor runs on */
  node: number;
  /** current->il_prev / il_weight */
  il: TaskIlState;
  task: Mempolicy | null;
  create: Mempolicy | null;
  shared: SharedPolicy<Mempolicy>;
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
  /** the mbind calls, in order: file range and policy (null = MPOL_DEFAULT) */
  ranges: Array<[number, number, Mempolicy | null]>;
  weights: IlWeights;
}
const COMPILED = new WeakMap<Scenario, Compiled>();

function compile(sc: Scenario): Compiled {
  let c = COMPILED.get(sc);
  if (c) return c;
  const n = sc.numa!;
  const topo = numaTopology(n);
  c = {
    topo,
    task: n.task ? toMempolicy(n.task, topo, 'numa.task') : null,
    create: n.create ? toMempolicy(n.create, topo, 'numa.create') : null,
    ranges: n.shared.map((r, i) => [r.start, r.end, toMempolicy(r.policy, topo, `numa.shared[${i}].policy`)]),
    weights: Object.fromEntries(n.weights.map((w, i) => [i, w])),
  };
  COMPILED.set(sc, c);
  return c;
}

/** The scenario's mbind calls on the gmem file, in order: [start, end, policy (null = MPOL_DEFAULT)]. */
export function mbindCalls(sc: Scenario): ReadonlyArray<[number, number, Mempolicy | null]> {
  return sc.numa ? compile(sc).ranges : [];
}

/** The gmem inode's shared policy tree as the scenario's mbind calls leave it (in order). */
export function sharedPolicyOf(sc: Scenario): SharedPolicy<Mempolicy> {
  const sp = new SharedPolicy<Mempolicy>();
  if (sc.numa) for (const [start, end, pol] of compile(sc).ranges) sp.setPolicy(start, end, pol);
  return sp;
}

// One tree per guest_memfd inode, i.e. per run's shared state, seen by every actor of the run
// (worker threads each build the same one: policies do not change during a run).
const TREES = new WeakMap<object, SharedPolicy<Mempolicy>>();

/**
 * The actor's NUMA context: it runs on `node`; `run` identifies the run (its SharedArrayBuffer),
 * whose actors share one policy tree; `inodePolicy` false is the kernel before the NUMA series.
 */
export function numaCtxFor(sc: Scenario, node: number, run: object, inodePolicy = true): NumaCtx | null {
  const n = sc.numa;
  if (!n) return null;
  const c = compile(sc);
  let shared = TREES.get(run);
  if (!shared) TREES.set(run, (shared = sharedPolicyOf(sc)));
  return {
    topo: c.topo,
    node,
    il: newTaskIlState(),
    task: c.task,
    create: c.create,
    shared,
    source: n.policySource,
    inodePolicy,
    byOffset: n.interleave === 'offset',
    weights: c.weights,
  };
}

// kvm_gmem_get_folio on a miss: mpol_shared_policy_lookup (or the early RFC's create-time
// policy), else the allocating task's policy.
export function gmemPolicy(numa: NumaCtx, index: number): Mempolicy | null {
  if (numa.inodePolicy) {
    if (numa.source === 'shared') {
      const p = numa.shared.lookup(index);
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

