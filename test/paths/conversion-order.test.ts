// The VMM's conversion order (vcpus.conversionOrder): private_mem_conversions_test changes the
// backing first (fallocate, or PUNCH_HOLE to shared) and then the attributes; QEMU's
// kvm_convert_memory the attributes first and then discards the side left; `legacy` is the
// order of gmemsim before it was selectable, kept for recorded scenarios.
import { describe, expect, it } from 'vitest';
import { vmmConvert } from '../../src/workload/vmm.js';
import { P } from '../../src/engine/points.js';
import { kvmMemIsPrivate } from '../../src/kvm/memory_attributes.js';
import { Ctr } from '../../src/shm/actor.js';
import type { ConversionOrder } from '../../src/workload/vcpu.js';
import { ONE_NODE, world } from '../helpers.js';
import { actor, counter, setAttr, trace } from './util.js';
import { replayScenarioBase } from '../../src/scenario/replay.js';
import { validateScenario } from '../../src/scenario/schema.js';

/** Convert gfn 2 (private) to shared or (shared) to private with backing changes; at which step each thing happened. */
function order(o: ConversionOrder, toPrivate: boolean): string[] {
  const w = world({ ...ONE_NODE, vcpus: { ...ONE_NODE.vcpus, conversionOrder: o } });
  const vmm = actor(w, 'vmm');
  setAttr(w, 2, !toPrivate);
  const seen: string[] = [];
  const note = (point?: number) => {
    if (kvmMemIsPrivate(w.s, 2) === toPrivate && !seen.includes('attributes')) seen.push('attributes');
    if (counter(w, vmm.id, Ctr.fallocates) > 0 && !seen.includes('allocate')) seen.push('allocate');
    if (counter(w, vmm.id, Ctr.punchHoles) > 0 && !seen.includes('punch')) seen.push('punch');
    if (point === P['hva-unmap'] && !seen.includes('discard shared')) seen.push('discard shared'); // madvise(DONTNEED) of the shared copy
  };
  trace(vmm, vmmConvert(vmm, 2, 3, toPrivate, true), note);
  note();
  expect(w.violations).toEqual([]);
  return seen;
}

describe('vmmConvert in each order', () => {
  it('selftest: fallocate or punch first, then the attributes; the shared copy is left alone', () => {
    expect(order('selftest', false)).toEqual(['punch', 'attributes']);
    expect(order('selftest', true)).toEqual(['allocate', 'attributes']);
  });

  it('qemu: the attributes first, then the discard of the side left', () => {
    expect(order('qemu', false)).toEqual(['attributes', 'punch']);
    expect(order('qemu', true)).toEqual(['attributes', 'discard shared']);
  });

  it('legacy: to private allocate, attributes, discard; to shared attributes, punch', () => {
    expect(order('legacy', false)).toEqual(['attributes', 'punch']);
    expect(order('legacy', true)).toEqual(['allocate', 'attributes', 'discard shared']);
  });

  it('a recorded scenario without the field replays in the old order; a new one takes the built-in default\'s', () => {
    const recorded = { ...ONE_NODE, vcpus: { ...ONE_NODE.vcpus } } as Record<string, any>;
    delete recorded.vcpus.conversionOrder;
    expect(validateScenario(recorded, replayScenarioBase()).vcpus.conversionOrder).toBe('legacy');
    expect(validateScenario({ vcpus: { count: 2 } }).vcpus.conversionOrder).toBe('qemu');
    expect(() => validateScenario({ vcpus: { conversionOrder: 'bogus' } })).toThrow(/vcpus\.conversionOrder/);
  });
});
