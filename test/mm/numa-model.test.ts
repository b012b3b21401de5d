// NUMA wired into the model: guest_memfd allocations follow the policy in force (shared, create,
// task), node counters add up, BIND exhaustion is ENOMEM, the selftest flow of test_numa_allocation.
import { describe, expect, it } from 'vitest';
import { runSim } from '../../src/engine/sim.js';
import { explore } from '../../src/explore/explore.js';
import { kvmGmemPunchHole } from '../../src/gmem/guest_memfd.js';
import { filemapGet } from '../../src/shm/file.js';
import { kvmMmuPageFault, newFault, RET_PF_FIXED } from '../../src/kvm/mmu.js';
import { pfnNode } from '../../src/shm/node.js';
import { toMempolicy } from '../../src/mm/policy_spec.js';
import { policyIdOf, policyTable, spPidAt } from '../../src/mm/policy.js';
import { kvmGmemSetPolicy } from '../../src/gmem/guest_memfd.js';
import { numaInterleaveScenario, DEFAULT_SCENARIO, NUMA_MBIND_SCENARIO } from '../../src/scenario/builtins.js';
import { NUMA_DEFAULTS, ScenarioError, validateScenario } from '../../src/scenario/schema.js';
import type { NumaSpec, PolicySpec, Scenario } from '../../src/scenario/types.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../../src/shm/layout.js';
import { setGfnAttr } from '../../src/shm/gfn.js';
import { modelOf } from '../../src/workload/kinds.js';
import { drive, world } from '../helpers.js';

const share = (r: ReturnType<typeof runSim>) => {
  const t = r.stats.nodes.reduce((a, n) => a + n.filePages, 0);
  return { total: t, node0: r.stats.nodes[0].filePages / t, node1: r.stats.nodes[1].filePages / t };
};

describe('the numa-interleave experiment (small scale, sim)', () => {
  const sc = numaInterleaveScenario(0.0005); // 6,552 pages

  it('honoured: each node gains half (±1%), every allocation an interleave hit', () => {
    const r = runSim(modelOf(sc), { seed: 1, variant: null });
    expect(r.violation).toBeNull();
    const s = share(r);
    expect(s.total).toBe(sc.gmemPages);
    expect(Math.abs(s.node0 - 0.5)).toBeLessThanOrEqual(0.01);
    expect(r.stats.nodes[0].interleave_hit + r.stats.nodes[1].interleave_hit).toBe(sc.gmemPages);
    // vCPUs run on node 0: what node 1 got is other_node
    expect(r.stats.nodes[1].other_node).toBe(r.stats.nodes[1].filePages);
    expect(r.stats.nodes[0].local_node).toBe(r.stats.nodes[0].filePages);
    // the memcg view: each vCPU charged on both nodes
    for (const n of r.stats.nodes) expect(Object.keys(n.byActor).sort()).toEqual(['vcpu0', 'vcpu1', 'vcpu2', 'vcpu3']);
  });

  it('policy ignored (N1, the kernel before the series): node 0 gains it all', () => {
    const r = runSim(modelOf(sc), { seed: 1, variant: 'N1' });
    expect(r.violation).toBeNull();
    expect(share(r).node0).toBe(1);
    expect(r.stats.nodes[1].filePages).toBe(0);
  });

  it('offset-based interleave places file page i on node i mod 2; the per-task rotor follows allocation order instead', () => {
    // random access order, so the order of allocation differs from the order of file offsets
    const base = structuredClone(sc);
    base.vcpus.pattern = 'uniform';
    const touched = (r: ReturnType<typeof runSim>) =>
      Array.from({ length: base.gmemPages }, (_, i) => i).filter((i) => filemapGet(r.s, i) >= 0);
    const off = structuredClone(base);
    off.numa!.interleave = 'offset';
    const r = runSim(modelOf(off), { seed: 3, variant: null });
    expect(r.violation).toBeNull();
    const pages = touched(r);
    expect(pages.length).toBeGreaterThan(1000);
    for (const i of pages) expect(pfnNode(r.s, filemapGet(r.s, i))).toBe(i % 2);
    const rot = runSim(modelOf(base), { seed: 3, variant: null });
    const rp = touched(rot);
    const offByIndex = rp.filter((i) => pfnNode(rot.s, filemapGet(rot.s, i)) !== i % 2).length;
    // about half the pages sit where offset interleave would not have put them, yet the split is even
    expect(offByIndex / rp.length).toBeGreaterThan(0.3);
    expect(offByIndex / rp.length).toBeLessThan(0.7);
    expect(Math.abs(share(rot).node0 - 0.5)).toBeLessThanOrEqual(0.01);
  });
});

function twoNodes(numa: Partial<NumaSpec>, over: Partial<Scenario> = {}): Scenario {
  return validateScenario({
    gmemFlags: numa.shared?.length ? ['mmap'] : [], // mbind needs a mapping of the file
    ...over,
    // a whole section: nothing inherited from the default scenario's own numa policies
    numa: { ...NUMA_DEFAULTS, nodes: [{ capacity: 256 }, { capacity: 16 }], ...numa },
  });
}

describe('BIND to a node smaller than the working set', () => {
  const sc = twoNodes(
    { policySource: 'task', task: { mode: 'bind', nodes: [1], flags: [] } },
    { vcpus: { ...DEFAULT_SCENARIO.vcpus, ops: 20, privateFraction: 1, conversionRate: 0, writeFraction: 1 }, converter: { count: 0, ops: 0, maxPages: 1 }, puncher: { count: 0, ops: 0, maxPages: 1 }, slotChurn: { count: 0, ops: 0, maxPages: 1 } },
  );

  it('vCPU faults end in ENOMEM memory-fault exits, nothing lands outside node 1, no invariant fires', () => {
    const r = explore(sc, { seed: 1, schedules: 5, variant: null });
    expect(r.violations).toEqual([]);
    expect(r.stats.total.enomem).toBeGreaterThan(0);
    expect(r.stats.total.memoryFaultExits).toBeGreaterThan(0);
    const last = runSim(modelOf(sc), { seed: 2, variant: null });
    expect(last.stats.nodes[0].filePages).toBe(0);
    expect(last.stats.nodes[1].filePages).toBeLessThanOrEqual(16);
  });

  it('PREFERRED to the same small node falls back to node 0 instead (numa_miss / numa_foreign)', () => {
    const pref = twoNodes({ policySource: 'task', task: { mode: 'preferred', nodes: [1], flags: [] } }, { vcpus: sc.vcpus, converter: sc.converter, puncher: sc.puncher, slotChurn: sc.slotChurn });
    const r = runSim(modelOf(pref), { seed: 2, variant: null });
    expect(r.violation).toBeNull();
    expect(r.stats.total.enomem).toBe(0);
    expect(r.stats.nodes[0].filePages).toBeGreaterThan(0);
    expect(r.stats.nodes[0].numa_miss).toBe(r.stats.nodes[1].numa_foreign);
    expect(r.stats.nodes[0].numa_miss).toBeGreaterThan(0);
  });
});

describe('invalid policies are refused as the kernel would (field + errno)', () => {
  const cases: Array<[string, Partial<NumaSpec>, string, string]> = [
    ['BIND with an empty nodemask', { task: { mode: 'bind', nodes: [], flags: [] } }, 'numa.task', 'EINVAL'],
    ['a node that does not exist', { shared: [{ start: 0, end: 4, policy: { mode: 'bind', nodes: [7], flags: [] } }] }, 'numa.shared[0].policy', 'EINVAL'],
    ['DEFAULT with a nodemask', { create: { mode: 'default', nodes: [0], flags: [] } }, 'numa.create', 'EINVAL'],
    ['STATIC and RELATIVE together', { task: { mode: 'interleave', nodes: [0, 1], flags: ['static', 'relative'] } }, 'numa.task', 'EINVAL'],
  ];
  it.each(cases)('%s', (_, numa, field, errno) => {
    let err: unknown;
    try {
      twoNodes(numa);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ScenarioError);
    expect((err as ScenarioError).field).toBe(field);
    expect((err as Error).message).toContain(errno);
    expect((err as Error).message).not.toContain('\n');
  });
});

// runtime mbind through the model's own path (the tree in the shared state, the ghost told): an mbind actor that does nothing on its own
const withMbind = (over: Partial<Scenario>): Partial<Scenario> => ({ ...over, gmemFlags: ['mmap'], mbind: { count: 1, ops: 0, maxPages: 1 } });
function mbindNow(w: ReturnType<typeof world>, start: number, end: number, spec: PolicySpec): number {
  const m = w.ctxs.find((c) => c.kind === 'mbind')!;
  return drive(m, kvmGmemSetPolicy(m, start, end, policyIdOf(w.sc, spec)));
}
const bindTo = (node: number): PolicySpec => ({ mode: 'bind', nodes: [node], flags: [] });

describe('selftest test_numa_allocation, as a flow through kvm_gmem_get_pfn', () => {
  it('bind pages 0-1 to node 1 and 2-3 to node 0: [1,1,0,0]; punch all, swap, touch again: [0,0,1,1]', () => {
    const sc = twoNodes({ policySource: 'shared' }, withMbind({ gmemPages: 4, slots: [{ baseGfn: 0, npages: 4, gmemOffset: 0 }], vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 1 } }));
    const w = world(sc);
    const v = w.ctxs[0];
    for (let g = 0; g < 4; g++) setGfnAttr(w.s, g, KVM_MEMORY_ATTRIBUTE_PRIVATE);
    const touch = () => {
      for (let g = 0; g < 4; g++) expect(drive(v, kvmMmuPageFault(v, newFault(), g, true))).toBe(RET_PF_FIXED);
      return [0, 1, 2, 3].map((i) => pfnNode(w.s, filemapGet(w.s, i)));
    };
    expect(mbindNow(w, 0, 2, bindTo(1))).toBe(0);
    expect(mbindNow(w, 2, 4, bindTo(0))).toBe(0);
    expect(touch()).toEqual([1, 1, 0, 0]);
    drive(v, kvmGmemPunchHole(v, 0, 4));
    mbindNow(w, 0, 2, bindTo(0));
    mbindNow(w, 2, 4, bindTo(1));
    expect(touch()).toEqual([0, 0, 1, 1]);
    expect(w.violations).toEqual([]);
  });

  it('a policy change moves nothing already allocated (I10)', () => {
    const sc = twoNodes({ policySource: 'shared' }, withMbind({ gmemPages: 4, slots: [{ baseGfn: 0, npages: 4, gmemOffset: 0 }], vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 1 } }));
    const w = world(sc);
    const v = w.ctxs[0];
    setGfnAttr(w.s, 0, KVM_MEMORY_ATTRIBUTE_PRIVATE);
    drive(v, kvmMmuPageFault(v, newFault(), 0, true));
    const before = pfnNode(w.s, filemapGet(w.s, 0));
    expect(before).toBe(0); // default policy: local
    mbindNow(w, 0, 4, bindTo(1));
    drive(v, kvmMmuPageFault(v, newFault(), 0, true));
    expect(pfnNode(w.s, filemapGet(w.s, 0))).toBe(before);
    expect(w.violations).toEqual([]);
  });
});

describe('I11 placement', () => {
  it('B18 (policy looked up at the memslot-relative offset) puts memslot 1 pages outside their BIND mask', () => {
    const r = explore(NUMA_MBIND_SCENARIO, { seed: 1, schedules: 50, variant: 'B18' });
    expect(r.violations[0]?.invariant).toBe('I11');
    expect(r.violations[0]?.message).toMatch(/binds it to nodes 1/);
  });

  it('the correct model and N1 (no inode policy in force) stay quiet on the same budget', () => {
    for (const variant of [null, 'N1'] as const) {
      const r = explore(NUMA_MBIND_SCENARIO, { seed: 1, schedules: 300, variant });
      expect(r.violations, String(variant)).toEqual([]);
    }
  });

  it('fires on a hand-made misplacement for each kind of policy, and not on a legal one', async () => {
    const { nodePfnBase } = await import('../../src/shm/node.js');
    const { MAX_NUMNODES } = await import('../../src/mm/mempolicy.js');
    const cases: Array<[string, Partial<NumaSpec>, number, boolean]> = [
      ['bind {1}, page on node 0', { task: { mode: 'bind', nodes: [1], flags: [] }, policySource: 'task' }, 0, true],
      ['bind {1}, page on node 1', { task: { mode: 'bind', nodes: [1], flags: [] }, policySource: 'task' }, 1, false],
      ['preferred 1 with room, page on node 0', { task: { mode: 'preferred', nodes: [1], flags: [] }, policySource: 'task' }, 0, true],
      ['no policy, page off the local node', { policySource: 'task' }, 1, true],
      ['interleave: first pick of a fresh rotor is node 0', { shared: [{ start: 0, end: 4, policy: { mode: 'interleave', nodes: [0, 1], flags: [] } }] }, 1, true],
      ['interleave: node 0 first is right', { shared: [{ start: 0, end: 4, policy: { mode: 'interleave', nodes: [0, 1], flags: [] } }] }, 0, false],
    ];
    for (const [what, numa, node, fires] of cases) {
      const sc = twoNodes(numa, { gmemPages: 4, slots: [{ baseGfn: 0, npages: 4, gmemOffset: 0 }], vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 1 } });
      const w = world(sc);
      const v = w.ctxs[0];
      const pfn = nodePfnBase(w.s, node); // a page of that node
      v.ev.folioAllocated(v, 0, pfn, MAX_NUMNODES - 1); // kvm_gmem_get_folio allocated it for file page 0: I11 judges it
      expect(w.violations.map((x) => x.invariant), what).toEqual(fires ? ['I11'] : []);
    }
  });
});

describe('a policy\'s maxnode (as mbind/set_mempolicy/the RFC create ioctl take it)', () => {
  it('is optional (libnuma: highest node + 2), and a maxnode too small to reach the node empties the mask: EINVAL', () => {
    expect(twoNodes({ policySource: 'create', create: { mode: 'bind', nodes: [1], flags: [] } }).numa!.create).not.toHaveProperty('maxnode');
    expect(twoNodes({ policySource: 'create', create: { mode: 'bind', nodes: [1], flags: [], maxnode: 3 } }).numa!.create!.maxnode).toBe(3);
    expect(() => twoNodes({ policySource: 'create', create: { mode: 'bind', nodes: [1], flags: [], maxnode: 1 } })).toThrow(/numa\.create .*EINVAL/);
    expect(() => twoNodes({ task: { mode: 'bind', nodes: [1], flags: [], maxnode: 'x' as unknown as number } })).toThrow(/numa\.task\.maxnode must be an integer/);
  });

  it('the create-time policy is what every allocation follows when policySource is "create"', () => {
    const sc = twoNodes({ policySource: 'create', create: { mode: 'bind', nodes: [1], flags: [], maxnode: 3 } }, { vcpus: { ...DEFAULT_SCENARIO.vcpus, privateFraction: 1, conversionRate: 0 }, converter: { count: 0, ops: 0, maxPages: 1 }, puncher: { count: 0, ops: 0, maxPages: 1 }, slotChurn: { count: 0, ops: 0, maxPages: 1 } });
    const r = runSim(modelOf(sc), { seed: 4, variant: null });
    expect(r.violation).toBeNull();
    expect(r.stats.nodes[0].filePages).toBe(0);
    expect(r.stats.nodes[1].filePages).toBeGreaterThan(0);
  });
});

describe('one shared policy tree per guest_memfd inode', () => {
  it('lives in the run\'s shared state: an mbind by one actor is what every actor of the run looks up, and no other run sees it', () => {
    const sc = validateScenario({ mbind: { count: 1, ops: 0, maxPages: 1 } }, NUMA_MBIND_SCENARIO);
    const a = world(sc);
    const b = world(sc);
    expect(spPidAt(a.s, 20)).toBe(spPidAt(b.s, 20));
    expect(policyTable(sc)[spPidAt(a.s, 20)]?.mode).toBe(2); // MPOL_BIND, from the scenario
    expect(mbindNow(a, 0, 32, { mode: 'default', nodes: [], flags: [] })).toBe(0);
    expect(spPidAt(a.s, 20)).toBe(0); // MPOL_DEFAULT: no node
    expect(policyTable(sc)[spPidAt(b.s, 20)]?.mode).toBe(2);
    expect(a.violations).toEqual([]);
  });
});
