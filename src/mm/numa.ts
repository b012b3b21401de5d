// NUMA node selection for one 4K page: the topology, the zonelist order, the interleave rotors
// (mm/mempolicy.c interleave_nodes & co.), policy_nodemask + the allocator's fallback walk
// (mm/page_alloc.c get_page_from_freelist, alloc_pages_preferred_many), and the numastat
// accounting of zone_statistics. Pure: the caller supplies free counts and applies the result.
import {
  MAX_NUMNODES,
  MPOL_BIND,
  MPOL_DEFAULT,
  MPOL_INTERLEAVE,
  MPOL_LOCAL,
  MPOL_PREFERRED,
  MPOL_PREFERRED_MANY,
  MPOL_WEIGHTED_INTERLEAVE,
  NUMA_NO_NODE,
  firstNode,
  modeName,
  nextNodeIn,
  nodeIsset,
  type Mempolicy,
  type Nodemask,
} from './mempolicy.js';

// ---------------------------------------------------------------------------------------------
// Topology

export interface Topology {
  /** capacity in 4K pages; 0 = no normal memory (memoryless or movable-only: not in a GFP_HIGHUSER zonelist) */
  nodes: { id: number; capacity: number }[];
  /** SLIT distances, indexed by position in `nodes` (not by id) */
  distance: number[][];
}

/** Checks a topology; returns one-line errors naming the field, empty when valid. */
export function validateTopology(topo: unknown): string[] {
  const errs: string[] = [];
  const t = topo as Partial<Topology> | null;
  if (typeof t !== 'object' || t === null) return ['topology must be an object with nodes and distance'];
  if (!Array.isArray(t.nodes) || t.nodes.length === 0) return ['topology.nodes must be a non-empty array'];
  const n = t.nodes.length;
  const seen = new Set<number>();
  t.nodes.forEach((node, i) => {
    const id = (node as { id?: unknown } | null)?.id;
    const cap = (node as { capacity?: unknown } | null)?.capacity;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= MAX_NUMNODES)
      errs.push(`topology.nodes[${i}].id must be an integer from 0 to ${MAX_NUMNODES - 1} (got ${String(id)})`);
    else if (seen.has(id)) errs.push(`topology.nodes[${i}].id ${id} is a duplicate`);
    else seen.add(id);
    if (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 0)
      errs.push(`topology.nodes[${i}].capacity must be an integer >= 0 (got ${String(cap)})`);
  });
  if (!Array.isArray(t.distance) || t.distance.length !== n) {
    errs.push(`topology.distance must be a ${n}x${n} matrix (one row per node)`);
    return errs;
  }
  t.distance.forEach((row, i) => {
    if (!Array.isArray(row) || row.length !== n) {
      errs.push(`topology.distance[${i}] must have ${n} entries`);
      return;
    }
    row.forEach((d, j) => {
      if (typeof d !== 'number' || !Number.isInteger(d)) errs.push(`topology.distance[${i}][${j}] must be an integer (got ${String(d)})`);
      else if (i === j && d !== 10) errs.push(`topology.distance[${i}][${j}] must be 10 (local distance), got ${d}`);
      else if (i !== j && d <= 10) errs.push(`topology.distance[${i}][${j}] must be > 10 (remote distance), got ${d}`);
    });
  });
  return errs;
}

function indexOf(topo: Topology, id: number): number {
  const i = topo.nodes.findIndex((n) => n.id === id);
  if (i < 0) throw new RangeError(`node ${id} is not in the topology`);
  return i;
}

/** node_distance(a, b) */
export const nodeDistance = (topo: Topology, a: number, b: number) => topo.distance[indexOf(topo, a)][indexOf(topo, b)];

/** Nodes that have normal memory (N_HIGH_MEMORY for a GFP_HIGHUSER allocation). */
export const nodesWithMemory = (topo: Topology): Nodemask =>
  topo.nodes.filter((n) => n.capacity > 0).map((n) => n.id).sort((a, b) => a - b);

/**
 * The fallback zonelist of `start` (build_zonelists): node ids by distance from `start`, ties by id.
 * Only nodes with memory have a zone in it unless `all`; `start` is first when it has memory.
 */
export function fallbackOrder(topo: Topology, start: number, all = false): number[] {
  // Zonelists are built once per topology (build_all_zonelists); allocation only reads them.
  let cache = ZONELISTS.get(topo);
  if (!cache) ZONELISTS.set(topo, (cache = new Map()));
  const key = all ? -1 - start : start;
  let order = cache.get(key);
  if (!order) cache.set(key, (order = buildZonelist(topo, start, all)));
  return order;
}
const ZONELISTS = new WeakMap<Topology, Map<number, number[]>>();

function buildZonelist(topo: Topology, start: number, all: boolean): number[] {
  const row = topo.distance[indexOf(topo, start)];
  return topo.nodes
    .map((n, i) => ({ id: n.id, d: row[i], cap: n.capacity }))
    .filter((x) => all || x.cap > 0)
    .sort((a, b) => a.d - b.d || a.id - b.id)
    .map((x) => x.id);
}

// ---------------------------------------------------------------------------------------------
// Interleave rotors

/** task_struct il_prev / il_weight */
export interface TaskIlState {
  ilPrev: number;
  ilWeight: number;
}

/** A fresh task, or one after set_mempolicy(INTERLEAVE/WEIGHTED_INTERLEAVE). */
export const newTaskIlState = (): TaskIlState => ({ ilPrev: MAX_NUMNODES - 1, ilWeight: 0 });

/** do_set_mempolicy's rotor reset: only when the new task policy interleaves (mbind never resets). */
export function setMempolicyResetRotor(task: TaskIlState, pol: Mempolicy | null): void {
  if (pol && (pol.mode === MPOL_INTERLEAVE || pol.mode === MPOL_WEIGHTED_INTERLEAVE)) {
    task.ilPrev = MAX_NUMNODES - 1;
    task.ilWeight = 0;
  }
}

/** /sys/kernel/mm/mempolicy/weighted_interleave/nodeN values by node id; absent or 0 means 1. */
export type IlWeights = Readonly<Record<number, number>>;

/** get_il_weight */
export function ilWeight(weights: IlWeights | undefined, node: number): number {
  const w = weights?.[node];
  return w !== undefined && w >= 1 ? Math.floor(w) : 1;
}

/** interleave_nodes: the node after il_prev in pol.nodes, wrapping; records it. NUMA_NO_NODE (local) when empty. */
export function interleaveNodes(pol: Mempolicy, task: TaskIlState): number {
  const nid = nextNodeIn(task.ilPrev, pol.nodes);
  if (nid !== NUMA_NO_NODE) task.ilPrev = nid;
  return nid;
}

/** weighted_interleave_nodes: stay on il_prev while credit remains, else advance and take its weight. */
export function weightedInterleaveNodes(pol: Mempolicy, task: TaskIlState, weights?: IlWeights): number {
  let node = task.ilPrev;
  if (task.ilWeight === 0 || !nodeIsset(node, pol.nodes)) {
    node = nextNodeIn(node, pol.nodes);
    if (node === NUMA_NO_NODE) return node;
    task.ilPrev = node;
    task.ilWeight = ilWeight(weights, node);
  }
  task.ilWeight--;
  return node;
}

/** interleave_nid: the (ilx mod |nodes|)-th node; NUMA_NO_NODE (local) when empty. Not used by gmem. */
export function interleaveNid(pol: Mempolicy, ilx: number): number {
  const n = pol.nodes.length;
  if (!n) return NUMA_NO_NODE;
  return pol.nodes[ilx % n];
}

/** weighted_interleave_nid: t = ilx mod Σweights, walk the nodes subtracting weights until t < weight. */
export function weightedInterleaveNid(pol: Mempolicy, ilx: number, weights?: IlWeights): number {
  if (!pol.nodes.length) return NUMA_NO_NODE;
  const total = pol.nodes.reduce((s, n) => s + ilWeight(weights, n), 0);
  let target = ilx % total;
  let nid = pol.nodes[0];
  while (target) {
    const w = ilWeight(weights, nid);
    if (target < w) break;
    target -= w;
    nid = nextNodeIn(nid, pol.nodes);
  }
  return nid;
}

// ---------------------------------------------------------------------------------------------
// Node selection

export interface SelectCtx {
  /** numa_node_id() of the allocating task's CPU */
  local: number;
  /** free 4K pages on a node (0 = full, i.e. below the watermark) */
  free: (node: number) => number;
  /** the allocating task's rotor; INTERLEAVE/WEIGHTED_INTERLEAVE advance it */
  task: TaskIlState;
  weights?: IlWeights;
  /** an interleave index: offset-based interleave (interleave_nid) instead of the task rotor */
  ilx?: number;
  topo: Topology;
}

export interface Placement {
  /** the node the page came from */
  node: number;
  /** the preferred zone's node (first node of the zonelist walk that succeeded): numa_hit iff node === target */
  target: number;
  /** the page did not come from the first node tried, or PREFERRED_MANY needed its second pass */
  viaFallback: boolean;
  /** INTERLEAVE/WEIGHTED_INTERLEAVE: the node the rotor/index chose (interleave_hit iff node === it) */
  interleaveNid?: number;
  /** PREFERRED_MANY: which pass succeeded */
  pass?: 1 | 2;
}
export type SelectResult = Placement | { errno: 'ENOMEM'; reason: string };

interface Walk {
  node: number;
  target: number;
}

/** get_page_from_freelist over the zonelist of `start`, filtered by `mask`; target = preferred zone. */
function walkZonelist(ctx: SelectCtx, start: number, mask: Nodemask | null): Walk | { target: number } {
  const order = fallbackOrder(ctx.topo, start).filter((n) => mask === null || mask.includes(n));
  const target = order.length ? order[0] : NUMA_NO_NODE;
  for (const n of order) if (ctx.free(n) > 0) return { node: n, target };
  return { target };
}

/**
 * alloc_pages_mpol for one 4K GFP_HIGHUSER page: policy_nodemask picks the start node and the mask,
 * then the zonelist walk. null is the system default (MPOL_LOCAL). BIND falls back only inside its
 * nodes (then ENOMEM: gmem is unevictable, so reclaim/OOM cannot help) — unless none of them has
 * normal memory (apply_policy_zone), then unrestricted; PREFERRED_MANY tries its nodes, then any.
 */
export function selectNode(pol: Mempolicy | null, ctx: SelectCtx): SelectResult {
  const mode = pol === null ? MPOL_LOCAL : pol.mode;
  const home = pol && pol.homeNode !== NUMA_NO_NODE ? pol.homeNode : ctx.local;
  let start = ctx.local;
  let mask: Nodemask | null = null;
  let il: number | undefined;
  switch (mode) {
    case MPOL_DEFAULT:
    case MPOL_LOCAL:
      break;
    case MPOL_PREFERRED:
      start = firstNode(pol!.nodes);
      if (start === NUMA_NO_NODE) start = ctx.local;
      break;
    case MPOL_PREFERRED_MANY:
      return preferredMany(pol!, ctx, home);
    case MPOL_BIND: {
      start = home;
      const withMem = nodesWithMemoryIn(ctx.topo, pol!.nodes);
      if (withMem) mask = pol!.nodes;
      break;
    }
    case MPOL_INTERLEAVE:
      il = ctx.ilx !== undefined ? interleaveNid(pol!, ctx.ilx) : interleaveNodes(pol!, ctx.task);
      break;
    case MPOL_WEIGHTED_INTERLEAVE:
      il = ctx.ilx !== undefined ? weightedInterleaveNid(pol!, ctx.ilx, ctx.weights) : weightedInterleaveNodes(pol!, ctx.task, ctx.weights);
      break;
    default:
      throw new RangeError(`selectNode: ${modeName(mode)} is not a policy mode`);
  }
  if (il !== undefined) {
    if (il === NUMA_NO_NODE) il = ctx.local; // empty nodes (after a rebind race): the local node
    start = il;
  }
  const w = walkZonelist(ctx, start, mask);
  if (!('node' in w)) {
    const where = mask ? `${modeName(mode)} nodes ${mask.join(',')}` : 'any node';
    return { errno: 'ENOMEM', reason: `no free page on ${where} (walk from node ${start})` };
  }
  const res: Placement = { node: w.node, target: w.target, viaFallback: w.node !== w.target };
  if (il !== undefined) res.interleaveNid = il;
  return res;
}

const nodesWithMemoryIn = (topo: Topology, nodes: Nodemask) => topo.nodes.some((n) => n.capacity > 0 && nodes.includes(n.id));

/** alloc_pages_preferred_many: pass 1 only the policy's nodes (no reclaim), pass 2 any node. */
function preferredMany(pol: Mempolicy, ctx: SelectCtx, start: number): SelectResult {
  const p1 = walkZonelist(ctx, start, pol.nodes);
  if ('node' in p1) return { node: p1.node, target: p1.target, viaFallback: p1.node !== p1.target, pass: 1 };
  const p2 = walkZonelist(ctx, start, null);
  if ('node' in p2) return { node: p2.node, target: p2.target, viaFallback: true, pass: 2 };
  return { errno: 'ENOMEM', reason: `no free page on any node (MPOL_PREFERRED_MANY, both passes from node ${start})` };
}

// ---------------------------------------------------------------------------------------------
// numastat accounting

export type NumaCounter = 'numa_hit' | 'numa_miss' | 'numa_foreign' | 'interleave_hit' | 'local_node' | 'other_node';
export const NUMA_COUNTERS: readonly NumaCounter[] = ['numa_hit', 'numa_miss', 'numa_foreign', 'interleave_hit', 'local_node', 'other_node'];
export type NodeNumaStats = Record<NumaCounter, number>;
/** per node id */
export type NumaStats = Record<number, NodeNumaStats>;

export function newNumaStats(topo: Topology): NumaStats {
  const s: NumaStats = {};
  for (const n of topo.nodes) s[n.id] = zeroCounters();
  return s;
}
const zeroCounters = (): NodeNumaStats => ({ numa_hit: 0, numa_miss: 0, numa_foreign: 0, interleave_hit: 0, local_node: 0, other_node: 0 });

export interface NumaEvent {
  node: number;
  counter: NumaCounter;
}

/**
 * zone_statistics (+ alloc_pages_mpol's NUMA_INTERLEAVE_HIT) for one page: numa_hit on the node that
 * got it when it is the target, else numa_miss there and numa_foreign on the target; local_node or
 * other_node vs the allocating CPU's node; interleave_hit when the interleave node was satisfied.
 * Applies the events to `stats` when given and returns them. A failed allocation counts nothing.
 */
export function countAllocation(stats: NumaStats | null, res: SelectResult, local: number): NumaEvent[] {
  if ('errno' in res) return [];
  const ev: NumaEvent[] = [];
  if (res.node === res.target) ev.push({ node: res.node, counter: 'numa_hit' });
  else ev.push({ node: res.node, counter: 'numa_miss' }, { node: res.target, counter: 'numa_foreign' });
  ev.push({ node: res.node, counter: res.node === local ? 'local_node' : 'other_node' });
  if (res.interleaveNid !== undefined && res.node === res.interleaveNid) ev.push({ node: res.node, counter: 'interleave_hit' });
  if (stats) for (const e of ev) (stats[e.node] ??= zeroCounters())[e.counter]++;
  return ev;
}
