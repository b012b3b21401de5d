// vcpus.gfns: 'shared': every vCPU faults on every gfn, so faults on the same page contend.
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { runThreads } from '../../src/engine/threads.js';
import { modelOf } from '../../src/workload/kinds.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { findVariant } from '../../src/variants.js';
import { accessPage, newVcpuState, vcpuRegion } from '../../src/workload/vcpu.js';
import { gfnZero, gfnZeroSet, sptePfn } from '../../src/shm/gfn.js';
import { pfnContent, setPfnContent } from '../../src/shm/pfn.js';
import { ZERO_PRIVATE } from '../../src/shm/layout.js';
import { actor, fault, setAttr } from '../paths/util.js';
import { DEFAULT_SCENARIO, ONE_NODE, world } from '../helpers.js';

const SHARED = validateScenario({ vcpus: { gfns: 'shared' } }, DEFAULT_SCENARIO);

/** Watch every Atomics.store into `a` while `f` runs. */
function spyStores<T>(a: Int32Array, seen: (index: number, value: number) => void, f: () => T): T {
  const store = Atomics.store;
  (Atomics as { store: unknown }).store = (arr: Int32Array, index: number, value: number) => {
    if (arr === a) seen(index, value);
    return store(arr, index, value);
  };
  try {
    return f();
  } finally {
    (Atomics as { store: typeof Atomics.store }).store = store;
  }
}

describe('shared gfns', () => {
  it('every vCPU gets the whole gfn range; own splits it', () => {
    const all = vcpuRegion(SHARED, 0);
    for (let i = 0; i < SHARED.vcpus.count; i++) expect(vcpuRegion(SHARED, i)).toEqual(all);
    const own = [0, 1].map((i) => vcpuRegion(DEFAULT_SCENARIO, i));
    expect(own[0][1]).toBeLessThanOrEqual(own[1][0]);
  });

  it('vCPUs race to install the same SPTE (SPURIOUS outcomes), which disjoint regions never do; the model stays clean', () => {
    const shared = explore(SHARED, { seed: 2, schedules: 150, variant: null });
    const own = explore(DEFAULT_SCENARIO, { seed: 2, schedules: 150, variant: null });
    expect(shared.violations).toEqual([]);
    expect(shared.stats.total.outSpurious).toBeGreaterThan(0);
    expect(own.stats.total.outSpurious).toBe(0);
  });

  it('the checkers still fire: B1 and B4 are caught with shared gfns, by an invariant they are known to break', () => {
    for (const id of ['B1', 'B4'] as const) {
      const v = findVariant(id)!;
      const f = explore(SHARED, { seed: 1, schedules: 300, variant: id }).violations[0];
      expect([v.expect, ...v.alsoBreaks], id).toContain(f?.invariant);
    }
  });

  it('on worker threads: clean, quiescent, every vCPU faults', async () => {
    const r = await runThreads(modelOf(SHARED), { seed: 4, variant: null, ops: 40 });
    expect(r.violation).toBeNull();
    expect(r.quiescent).toBe(true);
    for (const a of r.stats.actors.filter((x) => x.kind === 'vcpu')) expect(a.counters.faults, a.name).toBeGreaterThan(0);
  });
});

describe('a write through a view that must read zeroes (after a punch)', () => {
  it('clears the zero bit before the tag lands, so another vCPU never sees the tag with the bit still set (a false I7)', () => {
    const w = world(validateScenario({ vcpus: { gfns: 'shared' } }, ONE_NODE));
    const v = actor(w, 'vcpu1');
    setAttr(w, 2, true);
    const { r } = fault(v, 2, true);
    expect(r).toBeGreaterThanOrEqual(0);
    const a = w.s.i32;
    const pfn = sptePfn(w.s, 2);
    expect(pfn).toBeGreaterThanOrEqual(0);
    // the content word of pfn: the one setPfnContent stores to (rewriting the value it holds)
    let cw = -1;
    spyStores(a, (index) => (cw = index), () => setPfnContent(w.s, pfn, pfnContent(w.s, pfn)));
    expect(cw).toBeGreaterThanOrEqual(0);
    gfnZeroSet(w.s, 2, ZERO_PRIVATE); // as a punch leaves it
    const bitWhenTagStored: number[] = [];
    spyStores(
      a,
      (index) => {
        if (index === cw) bitWhenTagStored.push(gfnZero(w.s, 2) & ZERO_PRIVATE);
      },
      () => accessPage(v, newVcpuState(w.sc, v.index), 2, pfn, true, true),
    );
    expect(bitWhenTagStored).toEqual([0]);
    expect(pfnContent(w.s, pfn)).not.toBe(0);
  });
});
