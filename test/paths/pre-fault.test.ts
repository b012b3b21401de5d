// KVM_PRE_FAULT_MEMORY (kvm_vcpu_pre_fault_memory, kvm_tdp_map_page; pre_fault_memory_test at
// 3d5e48944e82): progress returns 0 with the range advanced, ENOENT past the memslots, EAGAIN on a
// memslot being deleted (3ccbf6f47098), and the 6.12 baseline's in-kernel retry on it.
import { describe, it, expect } from 'vitest';
import { kvmVcpuPreFaultMemory } from '../../src/kvm/pre_fault.js';
import { newFault } from '../../src/kvm/mmu.js';
import { EAGAIN, ENOENT } from '../../src/errno.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { sptePfn, sptePrivate } from '../../src/shm/gfn.js';
import { SlotState } from '../../src/shm/layout.js';
import { setSlotState } from '../../src/shm/slot.js';
import { actorSrcuEpoch } from '../../src/shm/actor.js';
import { sweepFindings } from '../../src/check/sweep.js';
import { runSim } from '../../src/engine/sim.js';
import { modelOf } from '../../src/workload/kinds.js';
import { BUILTIN_SCENARIOS, world } from '../helpers.js';
import { trace } from './util.js';

const PF = BUILTIN_SCENARIOS['pre-fault-memory']!;
// two memslots with a hole between them (gfns 4-7): a prefault crossing it gets ENOENT there
const HOLE = validateScenario({ ...PF, name: 'hole', gmemPages: 8, slots: [ { baseGfn: 0, npages: 4, gmemOffset: 0 }, { baseGfn: 8, npages: 4, gmemOffset: 4 } ], slotChurn: { count: 0, ops: 0, maxPages: 1 } });
const prefaulter = (w: ReturnType<typeof world>) => w.ctxs.find((c) => c.kind === 'pre-fault')!;

describe('KVM_PRE_FAULT_MEMORY', () => {
  it('maps the whole range, private where the attribute is, and returns 0 with nothing left; kvm->srcu is left', () => {
    const w = world(PF);
    const ctx = prefaulter(w);
    const range = { gfn: 0, npages: 16 };
    const { value } = trace(ctx, kvmVcpuPreFaultMemory(ctx, newFault(), range));
    expect(value).toBe(0);
    expect(range).toEqual({ gfn: 16, npages: 0 });
    for (let g = 0; g < 16; g++) {
      expect(sptePfn(w.s, g)).toBeGreaterThanOrEqual(0);
      expect(sptePrivate(w.s, g)).toBe(false);
    }
    expect(actorSrcuEpoch(w.s, ctx.id)).toBe(0);
    expect(w.violations).toEqual([]);
    expect(sweepFindings(w.s)).toEqual([]);
  });

  it('partial progress returns 0 and leaves the tail; the next call on the tail fails with ENOENT (no memslot)', () => {
    const w = world(HOLE);
    const ctx = prefaulter(w);
    const range = { gfn: 2, npages: 4 };
    expect(trace(ctx, kvmVcpuPreFaultMemory(ctx, newFault(), range)).value).toBe(0);
    expect(range).toEqual({ gfn: 4, npages: 2 });
    expect(trace(ctx, kvmVcpuPreFaultMemory(ctx, newFault(), range)).value).toBe(-ENOENT);
    expect(range).toEqual({ gfn: 4, npages: 2 });
  });

  it('a memslot being deleted (INVALID): -EAGAIN with the range untouched (3ccbf6f47098); the 6.12 baseline retries inside kvm->srcu', () => {
    const w = world(PF);
    const ctx = prefaulter(w);
    setSlotState(w.s, 0, SlotState.Invalid);
    const range = { gfn: 0, npages: 4 };
    expect(trace(ctx, kvmVcpuPreFaultMemory(ctx, newFault(), range)).value).toBe(-EAGAIN);
    expect(range).toEqual({ gfn: 0, npages: 4 });
    const old = world(validateScenario({ ...PF, kernel: '6.12' }));
    const octx = prefaulter(old);
    setSlotState(old.s, 0, SlotState.Invalid);
    expect(() => trace(octx, kvmVcpuPreFaultMemory(octx, newFault(), { gfn: 0, npages: 4 }))).toThrow(/would block/);
    expect(actorSrcuEpoch(old.s, octx.id)).not.toBe(0); // it waits holding kvm->srcu
  });

  it('against a concurrent memslot deletion: the correct model keeps I15 and DEADLOCK quiet; B27 deadlocks and B28 breaks I15', () => {
    const sc = BUILTIN_SCENARIOS['litmus-prefault']!;
    for (let seed = 1; seed <= 40; seed++) expect(runSim(modelOf(sc), { seed, variant: null }).violation).toBeNull();
    const found = (variant: 'B27' | 'B28', scenario: typeof sc) => {
      for (let seed = 1; seed <= 400; seed++) {
        const v = runSim(modelOf(scenario), { seed, variant }).violation;
        if (v) return v.invariant;
      }
      return null;
    };
    expect(found('B27', sc)).toBe('DEADLOCK');
    expect(found('B28', PF)).toBe('I15');
    for (let seed = 1; seed <= 20; seed++) expect(runSim(modelOf(PF), { seed, variant: null }).violation).toBeNull();
  });
});
