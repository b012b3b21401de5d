// Which memory policy an allocation uses (spec §5.1): the gmem inode's shared policy at the file
// index, the early RFC's create-time policy, or the allocating task's own; and the per-actor NUMA
// context (its node, its interleave rotor) built from the scenario.
import type { Scenario } from '../scenario/types.js';
import { numaTopology, toMempolicy } from '../scenario/schema.js';
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
  /** offset-based interleave (as shmem) instead of NO_INTERLEAVE_INDEX + the task rotor */
  byOffset: boolean;
  weights: IlWeights;
}

/** The gmem inode's shared policy tree as the scenario's mbind calls leave it (in order). */
export function sharedPolicyOf(sc: Scenario): SharedPolicy<Mempolicy> {
  const sp = new SharedPolicy<Mempolicy>();
  if (!sc.numa) return sp;
  const topo = numaTopology(sc.numa);
  sc.numa.shared.forEach((r, i) => sp.setPolicy(r.start, r.end, toMempolicy(r.policy, topo, `numa.shared[${i}].policy`)));
  return sp;
}

export function numaCtxFor(sc: Scenario, kind: string, index: number): NumaCtx | null {
  const n = sc.numa;
  if (!n) return null;
  const topo = numaTopology(n);
  const p = n.placement;
  const node = kind === 'vcpu' ? p.vcpus[index % p.vcpus.length] : kind === 'vmm' ? p.vmm : kind === 'converter' ? p.converter : kind === 'puncher' ? p.puncher : p.slotChurn;
  return {
    topo,
    node,
    il: newTaskIlState(),
    task: n.task ? toMempolicy(n.task, topo, 'numa.task') : null,
    create: n.create ? toMempolicy(n.create, topo, 'numa.create') : null,
    shared: sharedPolicyOf(sc),
    source: n.policySource,
    byOffset: n.interleave === 'offset',
    weights: Object.fromEntries(n.weights.map((w, i) => [i, w])),
  };
}

// kvm_gmem_get_folio on a miss: mpol_shared_policy_lookup, else the allocating task's policy.
// `ignoreInode` is the kernel before the NUMA series (variant N1).
export function gmemPolicy(numa: NumaCtx, index: number, ignoreInode: boolean): Mempolicy | null {
  if (!ignoreInode) {
    if (numa.source === 'shared') {
      const p = numa.shared.lookup(index);
      if (p) return p;
    } else if (numa.source === 'create') {
      return numa.create;
    }
  }
  return numa.task;
}
