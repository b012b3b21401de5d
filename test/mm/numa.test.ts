import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
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
  mpolSetHomeNode,
  validatePolicy,
  type Mempolicy,
  type PolicyInput,
} from '../../src/mm/mempolicy.js';
import {
  countAllocation,
  fallbackOrder,
  ilWeight,
  interleaveNid,
  interleaveNodes,
  newNumaStats,
  newTaskIlState,
  nodeDistance,
  nodesWithMemory,
  selectNode,
  setMempolicyResetRotor,
  validateTopology,
  weightedInterleaveNid,
  weightedInterleaveNodes,
  type IlWeights,
  type Placement,
  type SelectCtx,
  type SelectResult,
  type TaskIlState,
  type Topology,
} from '../../src/mm/numa.js';

const TWO: Topology = {
  nodes: [
    { id: 0, capacity: 100 },
    { id: 1, capacity: 100 },
  ],
  distance: [
    [10, 20],
    [20, 10],
  ],
};

//      0   1   2   3
const FOUR: Topology = {
  nodes: [0, 1, 2, 3].map((id) => ({ id, capacity: 100 })),
  distance: [
    [10, 20, 20, 30],
    [20, 10, 30, 20],
    [20, 30, 10, 20],
    [30, 20, 20, 10],
  ],
};

/** FOUR with node 3 memoryless (or movable-only: no normal memory). */
const FOUR_CXL: Topology = { ...FOUR, nodes: FOUR.nodes.map((n) => (n.id === 3 ? { id: 3, capacity: 0 } : n)) };

function pol(input: PolicyInput, topo: Topology = FOUR): Mempolicy | null {
  const r = validatePolicy(input, topo.nodes.map((n) => n.id));
  if (!r.ok) throw new Error(`${r.errno}: ${r.reason}`);
  return r.policy;
}

/** A ctx whose free counts come from `full` (those nodes have 0 free pages, the rest 100). */
function ctx(topo: Topology, local: number, full: number[] = [], extra: Partial<SelectCtx> = {}): SelectCtx {
  return { topo, local, free: (n) => (full.includes(n) ? 0 : 100), task: newTaskIlState(), ...extra };
}

function placed(r: SelectResult): Placement {
  if ('errno' in r) throw new Error(`expected a page, got ${r.errno}: ${r.reason}`);
  return r;
}

describe('topology', () => {
  it('a valid topology has no errors', () => {
    expect(validateTopology(TWO)).toEqual([]);
    expect(validateTopology(FOUR)).toEqual([]);
    expect(validateTopology(FOUR_CXL)).toEqual([]);
    // asymmetric distances are allowed
    expect(validateTopology({ ...TWO, distance: [[10, 20], [25, 10]] })).toEqual([]);
  });

  it.each([
    ['not an object', null, 'topology must be'],
    ['no nodes', { nodes: [], distance: [] }, 'topology.nodes must be a non-empty array'],
    ['negative capacity', { ...TWO, nodes: [{ id: 0, capacity: -1 }, { id: 1, capacity: 1 }] }, 'topology.nodes[0].capacity'],
    ['fractional capacity', { ...TWO, nodes: [{ id: 0, capacity: 1 }, { id: 1, capacity: 0.5 }] }, 'topology.nodes[1].capacity'],
    ['duplicate id', { ...TWO, nodes: [{ id: 1, capacity: 1 }, { id: 1, capacity: 1 }] }, 'topology.nodes[1].id 1 is a duplicate'],
    ['id too big', { ...TWO, nodes: [{ id: 0, capacity: 1 }, { id: 1024, capacity: 1 }] }, 'topology.nodes[1].id must be'],
    ['not square (rows)', { ...TWO, distance: [[10, 20]] }, 'topology.distance must be a 2x2 matrix'],
    ['not square (cols)', { ...TWO, distance: [[10, 20], [20]] }, 'topology.distance[1] must have 2 entries'],
    ['self distance', { ...TWO, distance: [[10, 20], [20, 11]] }, 'topology.distance[1][1] must be 10'],
    ['remote distance 10', { ...TWO, distance: [[10, 10], [20, 10]] }, 'topology.distance[0][1] must be > 10'],
    ['non-integer distance', { ...TWO, distance: [[10, 'x'], [20, 10]] }, 'topology.distance[0][1] must be an integer'],
  ])('%s', (_, topo, fragment) => {
    const errs = validateTopology(topo);
    expect(errs.length).toBeGreaterThan(0);
    expect(errs.some((e) => e.includes(fragment))).toBe(true);
    for (const e of errs) expect(e).not.toMatch(/[\r\n]/);
  });

  it('fallbackOrder is by distance, ties by id, start first', () => {
    expect(fallbackOrder(TWO, 0)).toEqual([0, 1]);
    expect(fallbackOrder(TWO, 1)).toEqual([1, 0]);
    expect(fallbackOrder(FOUR, 0)).toEqual([0, 1, 2, 3]);
    expect(fallbackOrder(FOUR, 1)).toEqual([1, 0, 3, 2]);
    expect(fallbackOrder(FOUR, 2)).toEqual([2, 0, 3, 1]);
    expect(fallbackOrder(FOUR, 3)).toEqual([3, 1, 2, 0]);
    expect(nodeDistance(FOUR, 3, 0)).toBe(30);
    expect(() => fallbackOrder(FOUR, 7)).toThrow(RangeError);
  });

  it('nodes without normal memory have no zone in the zonelist', () => {
    expect(fallbackOrder(FOUR_CXL, 3)).toEqual([1, 2, 0]);
    expect(fallbackOrder(FOUR_CXL, 0)).toEqual([0, 1, 2]);
    expect(fallbackOrder(FOUR_CXL, 3, true)).toEqual([3, 1, 2, 0]);
    expect(nodesWithMemory(FOUR_CXL)).toEqual([0, 1, 2]);
  });
});

describe('interleave rotors', () => {
  it('a fresh task starts after MAX_NUMNODES-1, without credit', () => {
    expect(newTaskIlState()).toEqual({ ilPrev: MAX_NUMNODES - 1, ilWeight: 0 });
  });

  it('interleave_nodes: 0,1,0,1 and records il_prev', () => {
    const p = pol({ mode: MPOL_INTERLEAVE, nodes: [0, 1] })!;
    const t = newTaskIlState();
    expect([0, 1, 2, 3].map(() => interleaveNodes(p, t))).toEqual([0, 1, 0, 1]);
    expect(t.ilPrev).toBe(1);
    const q = pol({ mode: MPOL_INTERLEAVE, nodes: [1, 3] })!;
    expect([0, 1, 2].map(() => interleaveNodes(q, t))).toEqual([3, 1, 3]);
  });

  it('an empty mask returns NUMA_NO_NODE (local) and leaves il_prev', () => {
    const p: Mempolicy = { ...pol({ mode: MPOL_INTERLEAVE, nodes: [0] })!, nodes: [] };
    const t: TaskIlState = { ilPrev: 5, ilWeight: 0 };
    expect(interleaveNodes(p, t)).toBe(NUMA_NO_NODE);
    expect(weightedInterleaveNodes(p, t)).toBe(NUMA_NO_NODE);
    expect(t).toEqual({ ilPrev: 5, ilWeight: 0 });
    expect(interleaveNid(p, 3)).toBe(NUMA_NO_NODE);
    expect(weightedInterleaveNid(p, 3)).toBe(NUMA_NO_NODE);
  });

  it('weighted: {0:3,1:1} gives 0,0,0,1,0,0,0,1', () => {
    const p = pol({ mode: MPOL_WEIGHTED_INTERLEAVE, nodes: [0, 1] })!;
    const t = newTaskIlState();
    const w: IlWeights = { 0: 3, 1: 1 };
    expect(Array.from({ length: 8 }, () => weightedInterleaveNodes(p, t, w))).toEqual([0, 0, 0, 1, 0, 0, 0, 1]);
    expect(t).toEqual({ ilPrev: 1, ilWeight: 0 });
  });

  it('weighted: weight 0 or absent counts as 1', () => {
    expect(ilWeight(undefined, 3)).toBe(1);
    expect(ilWeight({ 3: 0 }, 3)).toBe(1);
    expect(ilWeight({ 3: 4 }, 3)).toBe(4);
    const p = pol({ mode: MPOL_WEIGHTED_INTERLEAVE, nodes: [0, 2] })!;
    const t = newTaskIlState();
    expect(Array.from({ length: 4 }, () => weightedInterleaveNodes(p, t, { 0: 0 }))).toEqual([0, 2, 0, 2]);
  });

  it('weighted: leftover credit on a node that left the mask is dropped', () => {
    const p = pol({ mode: MPOL_WEIGHTED_INTERLEAVE, nodes: [1, 2] })!;
    const t: TaskIlState = { ilPrev: 0, ilWeight: 5 };
    expect(weightedInterleaveNodes(p, t, { 1: 2 })).toBe(1);
    expect(t).toEqual({ ilPrev: 1, ilWeight: 1 });
  });

  it('offset-based: the (ilx mod n)-th node; weighted by cumulative weight', () => {
    const p = pol({ mode: MPOL_INTERLEAVE, nodes: [1, 2, 3] })!;
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => interleaveNid(p, i))).toEqual([1, 2, 3, 1, 2, 3, 1]);
    const w = pol({ mode: MPOL_WEIGHTED_INTERLEAVE, nodes: [0, 1] })!;
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => weightedInterleaveNid(w, i, { 0: 3, 1: 1 }))).toEqual([0, 0, 0, 1, 0, 0, 0, 1]);
    expect([0, 1, 2, 3, 4].map((i) => weightedInterleaveNid(w, i, { 1: 2 }))).toEqual([0, 1, 1, 0, 1]);
  });

  it('set_mempolicy resets the rotor only for interleaving policies', () => {
    const t: TaskIlState = { ilPrev: 2, ilWeight: 3 };
    setMempolicyResetRotor(t, pol({ mode: MPOL_BIND, nodes: [0] }));
    setMempolicyResetRotor(t, null);
    expect(t).toEqual({ ilPrev: 2, ilWeight: 3 });
    setMempolicyResetRotor(t, pol({ mode: MPOL_WEIGHTED_INTERLEAVE, nodes: [0] }));
    expect(t).toEqual(newTaskIlState());
    t.ilPrev = 0;
    setMempolicyResetRotor(t, pol({ mode: MPOL_INTERLEAVE, nodes: [0] }));
    expect(t).toEqual(newTaskIlState());
  });
});

describe('selectNode: every mode', () => {
  it('no policy and LOCAL: the local node, then the nearest', () => {
    for (const p of [null, pol({ mode: MPOL_LOCAL }), pol({ mode: MPOL_PREFERRED })]) {
      expect(selectNode(p, ctx(FOUR, 2))).toEqual({ node: 2, target: 2, viaFallback: false });
      expect(selectNode(p, ctx(FOUR, 2, [2]))).toEqual({ node: 0, target: 2, viaFallback: true });
      expect(selectNode(p, ctx(FOUR, 2, [2, 0]))).toEqual({ node: 3, target: 2, viaFallback: true });
      expect(selectNode(p, ctx(TWO, 1, [1]))).toEqual({ node: 0, target: 1, viaFallback: true });
      expect(selectNode(p, ctx(TWO, 1, [0, 1]))).toMatchObject({ errno: 'ENOMEM' });
    }
  });

  it('PREFERRED: its node, then the nearest other node to it', () => {
    const p = pol({ mode: MPOL_PREFERRED, nodes: [3] });
    expect(selectNode(p, ctx(FOUR, 0))).toEqual({ node: 3, target: 3, viaFallback: false });
    expect(selectNode(p, ctx(FOUR, 0, [3]))).toEqual({ node: 1, target: 3, viaFallback: true });
    expect(selectNode(p, ctx(FOUR, 0, [3, 1]))).toEqual({ node: 2, target: 3, viaFallback: true });
    expect(selectNode(pol({ mode: MPOL_PREFERRED, nodes: [1] }, TWO), ctx(TWO, 0, [1]))).toEqual({ node: 0, target: 1, viaFallback: true });
  });

  it('PREFERRED to a node without normal memory: the nearest node with memory is the target', () => {
    const p = pol({ mode: MPOL_PREFERRED, nodes: [3] }, FOUR_CXL);
    expect(selectNode(p, ctx(FOUR_CXL, 0))).toEqual({ node: 1, target: 1, viaFallback: false });
  });

  it('BIND: only its nodes, nearest to the local node first, then ENOMEM', () => {
    const p = pol({ mode: MPOL_BIND, nodes: [1, 2] });
    expect(selectNode(p, ctx(FOUR, 1))).toEqual({ node: 1, target: 1, viaFallback: false });
    expect(selectNode(p, ctx(FOUR, 0))).toEqual({ node: 1, target: 1, viaFallback: false });
    expect(selectNode(p, ctx(FOUR, 3, [1]))).toEqual({ node: 2, target: 1, viaFallback: true });
    const r = selectNode(p, ctx(FOUR, 0, [1, 2]));
    expect(r).toMatchObject({ errno: 'ENOMEM' });
    expect('reason' in r && r.reason).toContain('MPOL_BIND');
    // to a full node: ENOMEM although node 0 is free
    expect(selectNode(pol({ mode: MPOL_BIND, nodes: [1] }, TWO), ctx(TWO, 0, [1]))).toMatchObject({ errno: 'ENOMEM' });
  });

  it('BIND with a home node starts there', () => {
    const b = pol({ mode: MPOL_BIND, nodes: [0, 1, 2, 3] });
    const h = mpolSetHomeNode(b, 3, [0, 1, 2, 3]);
    const p = h.ok ? h.policy : null;
    expect(selectNode(p, ctx(FOUR, 0))).toEqual({ node: 3, target: 3, viaFallback: false });
    expect(selectNode(p, ctx(FOUR, 0, [3]))).toEqual({ node: 1, target: 3, viaFallback: true });
  });

  it('BIND caveat: none of its nodes has normal memory, so the mask is not applied', () => {
    const p = pol({ mode: MPOL_BIND, nodes: [3] }, FOUR_CXL);
    expect(selectNode(p, ctx(FOUR_CXL, 0))).toEqual({ node: 0, target: 0, viaFallback: false });
    expect(selectNode(p, ctx(FOUR_CXL, 0, [0]))).toEqual({ node: 1, target: 0, viaFallback: true });
    // one node with memory in the mask: the mask applies (no page from node 0)
    const q = pol({ mode: MPOL_BIND, nodes: [2, 3] }, FOUR_CXL);
    expect(selectNode(q, ctx(FOUR_CXL, 0))).toEqual({ node: 2, target: 2, viaFallback: false });
    expect(selectNode(q, ctx(FOUR_CXL, 0, [2]))).toMatchObject({ errno: 'ENOMEM' });
  });

  it('PREFERRED_MANY: pass 1 on its nodes, pass 2 anywhere from the local node', () => {
    const p = pol({ mode: MPOL_PREFERRED_MANY, nodes: [2, 3] });
    expect(selectNode(p, ctx(FOUR, 0))).toEqual({ node: 2, target: 2, viaFallback: false, pass: 1 });
    expect(selectNode(p, ctx(FOUR, 1))).toEqual({ node: 3, target: 3, viaFallback: false, pass: 1 });
    expect(selectNode(p, ctx(FOUR, 0, [2]))).toEqual({ node: 3, target: 2, viaFallback: true, pass: 1 });
    expect(selectNode(p, ctx(FOUR, 0, [2, 3]))).toEqual({ node: 0, target: 0, viaFallback: true, pass: 2 });
    expect(selectNode(p, ctx(FOUR, 0, [2, 3, 0]))).toEqual({ node: 1, target: 0, viaFallback: true, pass: 2 });
    expect(selectNode(p, ctx(FOUR, 0, [0, 1, 2, 3]))).toMatchObject({ errno: 'ENOMEM' });
    const two = pol({ mode: MPOL_PREFERRED_MANY, nodes: [1] }, TWO);
    expect(selectNode(two, ctx(TWO, 0, [1]))).toEqual({ node: 0, target: 0, viaFallback: true, pass: 2 });
  });

  it('PREFERRED_MANY with a home node walks from it', () => {
    const h = mpolSetHomeNode(pol({ mode: MPOL_PREFERRED_MANY, nodes: [1, 2] }), 2, [0, 1, 2, 3]);
    const p = h.ok ? h.policy : null;
    expect(selectNode(p, ctx(FOUR, 0))).toMatchObject({ node: 2, target: 2, pass: 1 });
    expect(selectNode(p, ctx(FOUR, 0, [1, 2]))).toMatchObject({ node: 0, target: 2, pass: 2 });
  });

  it('INTERLEAVE: the rotor gives 0,1,0,1 per task; tasks are independent', () => {
    const p = pol({ mode: MPOL_INTERLEAVE, nodes: [0, 1] }, TWO);
    const a = ctx(TWO, 0);
    const b = ctx(TWO, 1);
    const seq: number[] = [];
    for (let i = 0; i < 4; i++) seq.push(placed(selectNode(p, a)).node);
    expect(seq).toEqual([0, 1, 0, 1]);
    expect(placed(selectNode(p, b)).node).toBe(0); // b's own rotor starts fresh
    expect(placed(selectNode(p, a)).node).toBe(0);
    expect(placed(selectNode(p, b)).node).toBe(1);
    expect(selectNode(p, ctx(TWO, 1))).toEqual({ node: 0, target: 0, viaFallback: false, interleaveNid: 0 });
  });

  it('INTERLEAVE: a full target falls back normally; the rotor still moves', () => {
    const p = pol({ mode: MPOL_INTERLEAVE, nodes: [1, 3] });
    const c = ctx(FOUR, 0, [3]);
    expect(selectNode(p, c)).toEqual({ node: 1, target: 1, viaFallback: false, interleaveNid: 1 });
    expect(selectNode(p, c)).toEqual({ node: 1, target: 3, viaFallback: true, interleaveNid: 3 });
    expect(c.task.ilPrev).toBe(3);
    // the interleave node has no memory: target is the nearest node with memory, never an interleave hit
    const q = pol({ mode: MPOL_INTERLEAVE, nodes: [3] }, FOUR_CXL);
    expect(selectNode(q, ctx(FOUR_CXL, 0))).toEqual({ node: 1, target: 1, viaFallback: false, interleaveNid: 3 });
  });

  it('WEIGHTED_INTERLEAVE with {0:3,1:1}: 0,0,0,1,...', () => {
    const p = pol({ mode: MPOL_WEIGHTED_INTERLEAVE, nodes: [0, 1] }, TWO);
    const c = ctx(TWO, 1, [], { weights: { 0: 3, 1: 1 } });
    expect(Array.from({ length: 8 }, () => placed(selectNode(p, c)).node)).toEqual([0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('offset-based interleave by ilx does not touch the rotor', () => {
    const p = pol({ mode: MPOL_INTERLEAVE, nodes: [0, 1] }, TWO);
    const task = newTaskIlState();
    const nodes = [0, 1, 2, 3, 4].map((ilx) => placed(selectNode(p, ctx(TWO, 1, [], { ilx, task }))).node);
    expect(nodes).toEqual([0, 1, 0, 1, 0]);
    expect(task).toEqual(newTaskIlState());
    const w = pol({ mode: MPOL_WEIGHTED_INTERLEAVE, nodes: [0, 1] }, TWO);
    const wn = [0, 1, 2, 3].map((ilx) => placed(selectNode(w, ctx(TWO, 1, [], { ilx, weights: { 0: 3 } }))).node);
    expect(wn).toEqual([0, 0, 0, 1]);
  });

  it('interleave over an emptied mask allocates locally', () => {
    const p: Mempolicy = { ...pol({ mode: MPOL_INTERLEAVE, nodes: [0] })!, nodes: [] };
    expect(selectNode(p, ctx(FOUR, 2))).toEqual({ node: 2, target: 2, viaFallback: false, interleaveNid: 2 });
  });

  it('rejects a mode that is not a policy', () => {
    const p: Mempolicy = { ...pol({ mode: MPOL_BIND, nodes: [0] })!, mode: 9 };
    expect(() => selectNode(p, ctx(FOUR, 0))).toThrow(RangeError);
    expect(selectNode({ ...p, mode: MPOL_DEFAULT }, ctx(FOUR, 1))).toEqual({ node: 1, target: 1, viaFallback: false });
  });
});

describe('countAllocation (zone_statistics + interleave_hit)', () => {
  const ev = (r: SelectResult, local: number) => countAllocation(null, r, local).map((e) => `${e.counter}@${e.node}`).sort();

  it('hit on the target, local or other vs the task node', () => {
    expect(ev({ node: 1, target: 1, viaFallback: false }, 1)).toEqual(['local_node@1', 'numa_hit@1']);
    expect(ev({ node: 1, target: 1, viaFallback: false }, 0)).toEqual(['numa_hit@1', 'other_node@1']);
  });

  it('miss on the node that served, foreign on the target that failed', () => {
    expect(ev({ node: 0, target: 1, viaFallback: true }, 0)).toEqual(['local_node@0', 'numa_foreign@1', 'numa_miss@0']);
    expect(ev({ node: 2, target: 1, viaFallback: true }, 0)).toEqual(['numa_foreign@1', 'numa_miss@2', 'other_node@2']);
  });

  it('interleave_hit only when the interleave node was satisfied', () => {
    expect(ev({ node: 1, target: 1, viaFallback: false, interleaveNid: 1 }, 0)).toEqual(['interleave_hit@1', 'numa_hit@1', 'other_node@1']);
    expect(ev({ node: 0, target: 1, viaFallback: true, interleaveNid: 1 }, 0)).toEqual(['local_node@0', 'numa_foreign@1', 'numa_miss@0']);
    expect(ev({ node: 1, target: 1, viaFallback: false, interleaveNid: 3 }, 1)).toEqual(['local_node@1', 'numa_hit@1']);
  });

  it('a failed allocation counts nothing; stats are applied when given', () => {
    const stats = newNumaStats(TWO);
    expect(countAllocation(stats, { errno: 'ENOMEM', reason: 'full' }, 0)).toEqual([]);
    const p = pol({ mode: MPOL_INTERLEAVE, nodes: [0, 1] }, TWO);
    const c = ctx(TWO, 0, [1]);
    for (let i = 0; i < 4; i++) countAllocation(stats, selectNode(p, c), 0);
    expect(stats[0]).toEqual({ numa_hit: 2, numa_miss: 2, numa_foreign: 0, interleave_hit: 2, local_node: 4, other_node: 0 });
    expect(stats[1]).toEqual({ numa_hit: 0, numa_miss: 0, numa_foreign: 2, interleave_hit: 0, local_node: 0, other_node: 0 });
    countAllocation(stats, { node: 7, target: 7, viaFallback: false }, 0);
    expect(stats[7].numa_hit).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// properties

const topoArb: fc.Arbitrary<Topology> = fc.integer({ min: 2, max: 6 }).chain((n) =>
  fc
    .record({
      caps: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: n, maxLength: n }),
      dist: fc.array(fc.array(fc.integer({ min: 11, max: 40 }), { minLength: n, maxLength: n }), { minLength: n, maxLength: n }),
    })
    .map(({ caps, dist }) => ({
      nodes: caps.map((capacity, id) => ({ id, capacity })),
      distance: dist.map((row, i) => row.map((d, j) => (i === j ? 10 : d))),
    })),
);

const MODES = [MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE];

/** A topology, a valid policy on it, a local node and a free-page map. */
const scenarioArb = topoArb.chain((topo) => {
  const ids = topo.nodes.map((n) => n.id);
  return fc.record({
    topo: fc.constant(topo),
    mode: fc.constantFrom(...MODES),
    nodes: fc.subarray(ids, { minLength: 1 }),
    local: fc.constantFrom(...ids),
    free: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: ids.length, maxLength: ids.length }),
    ilPrev: fc.constantFrom(MAX_NUMNODES - 1, ...ids),
    ilx: fc.option(fc.nat({ max: 50 }), { nil: undefined }),
    weights: fc.dictionary(fc.constantFrom(...ids.map(String)), fc.integer({ min: 0, max: 4 })),
  });
});

function build(s: { topo: Topology; mode: number; nodes: number[]; local: number; free: number[]; ilPrev: number; ilx?: number; weights: Record<string, number> }) {
  const noMask = s.mode === MPOL_DEFAULT || s.mode === MPOL_LOCAL;
  const r = validatePolicy({ mode: s.mode, nodes: noMask ? [] : s.nodes }, s.topo.nodes.map((n) => n.id));
  if (!r.ok) throw new Error(r.reason);
  // a node without memory has no free pages either
  const free = (n: number) => (s.topo.nodes[n].capacity > 0 ? s.free[n] : 0);
  const c: SelectCtx = { topo: s.topo, local: s.local, free, task: { ilPrev: s.ilPrev, ilWeight: 0 }, ilx: s.ilx, weights: s.weights };
  return { policy: r.policy, c, free };
}

describe('selectNode properties', () => {
  it('interleave visits every node of any mask equally over k·|mask| allocations', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: MAX_NUMNODES - 1 }),
        (ids, k, ilPrev) => {
          const topo: Topology = {
            nodes: ids.map((id) => ({ id, capacity: 1000 })),
            distance: ids.map((_, i) => ids.map((__, j) => (i === j ? 10 : 20))),
          };
          const p = pol({ mode: MPOL_INTERLEAVE, nodes: ids }, topo);
          const c: SelectCtx = { topo, local: ids[0], free: () => 1000, task: { ilPrev, ilWeight: 0 } };
          const count = new Map<number, number>();
          for (let i = 0; i < k * ids.length; i++) {
            const r = placed(selectNode(p, c));
            expect(r.node).toBe(r.interleaveNid);
            count.set(r.node, (count.get(r.node) ?? 0) + 1);
          }
          expect([...count.keys()].sort((a, b) => a - b)).toEqual([...ids].sort((a, b) => a - b));
          for (const v of count.values()) expect(v).toBe(k);
        },
      ),
    );
  });

  it('weighted interleave from a fresh rotor gives each node k·weight pages over k·Σweights', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 4 }), (ws, k) => {
        const ids = ws.map((_, i) => i);
        const topo: Topology = { nodes: ids.map((id) => ({ id, capacity: 1000 })), distance: ids.map((i) => ids.map((j) => (i === j ? 10 : 20))) };
        const weights: IlWeights = Object.fromEntries(ws.map((w, i) => [i, w]));
        const p = pol({ mode: MPOL_WEIGHTED_INTERLEAVE, nodes: ids }, topo);
        const c: SelectCtx = { topo, local: 0, free: () => 1000, task: newTaskIlState(), weights };
        const total = ws.reduce((s, w) => s + Math.max(w, 1), 0);
        const count = new Array<number>(ids.length).fill(0);
        for (let i = 0; i < k * total; i++) count[placed(selectNode(p, c)).node]++;
        expect(count).toEqual(ws.map((w) => k * Math.max(w, 1)));
      }),
    );
  });

  it('never returns a node outside a BIND mask that has memory; a returned node has free pages', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { policy, c, free } = build(s);
        const r = selectNode(policy, c);
        if ('errno' in r) return;
        expect(free(r.node)).toBeGreaterThan(0);
        expect(c.topo.nodes.find((n) => n.id === r.node)!.capacity).toBeGreaterThan(0);
        if (policy?.mode === MPOL_BIND && policy.nodes.some((n) => s.topo.nodes[n].capacity > 0)) expect(policy.nodes).toContain(r.node);
      }),
    );
  });

  it('ENOMEM only when every allowed candidate is full', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { policy, c, free } = build(s);
        const r = selectNode(policy, c);
        const withMem = s.topo.nodes.filter((n) => n.capacity > 0).map((n) => n.id);
        const bindMask = policy?.mode === MPOL_BIND && policy.nodes.some((n) => withMem.includes(n)) ? policy.nodes : null;
        const candidates = bindMask ? withMem.filter((n) => bindMask.includes(n)) : withMem;
        const anyFree = candidates.some((n) => free(n) > 0);
        expect('errno' in r).toBe(!anyFree);
      }),
    );
  });

  it('the target is a node with memory, and the first choice of the walk that served', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { policy, c } = build(s);
        const r = selectNode(policy, c);
        if ('errno' in r) return;
        expect(s.topo.nodes[r.target].capacity).toBeGreaterThan(0);
        expect(r.viaFallback || r.node === r.target).toBe(true);
        const ev = countAllocation(null, r, s.local);
        expect(ev.filter((e) => e.counter === 'numa_hit' || e.counter === 'numa_miss')).toHaveLength(1);
        expect(ev.filter((e) => e.counter === 'local_node' || e.counter === 'other_node')).toHaveLength(1);
      }),
    );
  });
});
