// vcpuRegion walks the sorted memslots; the reference sorts every gfn (the model before issue 15).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { vcpuRegion } from '../../src/workload/vcpu.js';
import type { Scenario } from '../../src/scenario/types.js';
import { DEFAULT_SCENARIO } from '../../src/scenario/builtins.js';

function reference(sc: Scenario, index: number): [number, number] {
  const gfns: number[] = [];
  for (const s of sc.slots) for (let g = s.baseGfn; g < s.baseGfn + s.npages; g++) gfns.push(g);
  gfns.sort((a, b) => a - b);
  if (sc.vcpus.gfns === 'shared') return [gfns[0]!, gfns[gfns.length - 1]! + 1];
  const per = Math.floor(gfns.length / sc.vcpus.count);
  return [gfns[index * per]!, gfns[index * per + per - 1]! + 1];
}

describe('vcpuRegion', () => {
  it('gives every vCPU the region the sorted list of all gfns gives (disjoint slots in any order)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 30 })), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        (gapsAndSizes, count, shared) => {
          let at = 0;
          const slots = gapsAndSizes.map(([gap, npages]) => {
            const s = { baseGfn: at + gap, npages, gmemOffset: 0 };
            at = s.baseGfn + npages;
            return s;
          });
          slots.reverse(); // not in gfn order
          const total = slots.reduce((a, s) => a + s.npages, 0);
          fc.pre(shared || total >= count);
          const sc = { ...DEFAULT_SCENARIO, slots, vcpus: { ...DEFAULT_SCENARIO.vcpus, count, gfns: shared ? 'shared' : 'own' } } as Scenario;
          for (let i = 0; i < count; i++) expect(vcpuRegion(sc, i)).toEqual(reference(sc, i));
        },
      ),
    );
  });
});
