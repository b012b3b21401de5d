// A scenario's policy specs in the kernel's terms: the topology a numa section describes, and the
// Mempolicy each PolicySpec becomes (validated in the kernel's order, as set_mempolicy/mbind do).
import type { NumaSpec, PolicySpec } from '../scenario/types.js';
import { ScenarioError } from '../scenario/errors.js';
import { MPOL_BIND, MPOL_DEFAULT, MPOL_F_NUMA_BALANCING, MPOL_F_RELATIVE_NODES, MPOL_F_STATIC_NODES, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE, validatePolicy, type Mempolicy } from './mempolicy.js';
import { nodesWithMemory, type Topology } from './numa.js';

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
