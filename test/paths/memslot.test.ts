import { describe, it, expect } from 'vitest';
import { Wait } from '../../src/engine/ctx.js';
import { P } from '../../src/engine/points.js';
import { canProceed } from '../../src/engine/wait.js';
import { EEXIST, EINVAL } from '../../src/errno.js';
import { kvmCreateMemslot, kvmDeleteMemslot } from '../../src/kvm/memslot.js';
import { kvmMmuPageFault, newFault, RET_PF_FIXED, RET_PF_RETRY } from '../../src/kvm/mmu.js';
import { A_SRCU, F_SPTE_PFN, G_MMU_LOCK, G_SLOTS_LOCK, S_FILE, S_GENERATION, S_STATE, SlotState, slotWord } from '../../src/shm/layout.js';
import { drive, stepUntil, world } from '../helpers.js';
import { actor, actorW, binding, counter, fault, G, gfnW, names, setAttr, slotW, trace } from './util.js';

describe('kvm_set_memslot(DELETE)', () => {
  it('Invalid, then (after the grace period and flush) no SPTE, then Absent and unbound', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const d = actor(w, 'churn');
    setAttr(w, 3, true);
    expect(fault(v, 3, true).r).toBe(RET_PF_FIXED);
    expect(fault(v, 9, false).r).toBe(RET_PF_FIXED);
    expect(fault(v, 20, false).r).toBe(RET_PF_FIXED); // slot 1
    const gen = slotW(w, 0, S_GENERATION);
    let installs = 0;
    const seen: string[] = [];
    const { value, points } = trace(d, kvmDeleteMemslot(d, 0), (pt) => {
      if (pt === P['srcu:sync'] && seen.length === 0) {
        seen.push('sync1');
        expect(slotW(w, 0, S_STATE)).toBe(SlotState.Invalid);
        expect(gfnW(w, 3, F_SPTE_PFN)).not.toBe(0); // not flushed yet
      }
      if (pt === P['slot-install'] && ++installs === 2) {
        seen.push('swap2');
        expect(slotW(w, 0, S_STATE)).toBe(SlotState.Flushed);
        for (let g = 0; g < 16; g++) expect(gfnW(w, g, F_SPTE_PFN)).toBe(0);
        expect(binding(w, 0)).toBe(0); // still bound until after the second grace period
      }
      if (pt === P.unbind) {
        seen.push('unbind');
        expect(slotW(w, 0, S_STATE)).toBe(SlotState.Absent);
      }
    });
    expect(value).toBe(0);
    expect(seen).toEqual(['sync1', 'swap2', 'unbind']);
    expect(names(points).filter((n) => n === 'srcu:sync').length).toBe(2);
    expect(slotW(w, 0, S_STATE)).toBe(SlotState.Absent);
    expect(slotW(w, 0, S_FILE)).toBe(0);
    expect(slotW(w, 0, S_GENERATION)).toBe(gen + 2);
    for (let i = 0; i < 16; i++) expect(binding(w, i)).toBe(-1);
    expect(binding(w, 16)).toBe(1);
    expect(gfnW(w, 20, F_SPTE_PFN)).not.toBe(0); // the other slot keeps its SPTEs
    expect(counter(w, d.id, 'slotDeletes')).toBe(1);
    expect(G(w, G_SLOTS_LOCK)).toBe(0);
    expect(G(w, G_MMU_LOCK)).toBe(0);
    expect(w.violations).toEqual([]);
    // a fault on the deleted range now has no memslot: MMIO
    expect(fault(v, 9, false).f.slot).toBe(-1);
  });

  it('deleting a slot that is not Valid fails with -EINVAL', () => {
    const w = world();
    const d = actor(w, 'churn');
    expect(drive(d, kvmDeleteMemslot(d, 0))).toBe(0);
    expect(drive(d, kvmDeleteMemslot(d, 0))).toBe(-EINVAL); // Absent
    Atomics.store(w.s.i32, slotWord(w.s.l, 1, S_STATE), SlotState.Invalid);
    expect(drive(d, kvmDeleteMemslot(d, 1))).toBe(-EINVAL);
    expect(counter(w, d.id, 'slotDeletes')).toBe(1);
    expect(G(w, G_SLOTS_LOCK)).toBe(0);
  });
});

describe('kvm_set_memslot(CREATE)', () => {
  it('re-binds and makes the slot Valid; faults work again', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const d = actor(w, 'churn');
    drive(d, kvmDeleteMemslot(d, 1));
    expect(drive(d, kvmCreateMemslot(d, 1))).toBe(0);
    expect(slotW(w, 1, S_STATE)).toBe(SlotState.Valid);
    expect(slotW(w, 1, S_FILE)).toBe(1);
    for (let i = 16; i < 32; i++) expect(binding(w, i)).toBe(1);
    expect(counter(w, d.id, 'slotCreates')).toBe(1);
    setAttr(w, 22, true);
    expect(fault(v, 22, true).r).toBe(RET_PF_FIXED);
    expect(w.violations).toEqual([]);
  });

  it('creating a slot that exists fails with -EEXIST and leaves it alone', () => {
    const w = world();
    const d = actor(w, 'churn');
    const gen = slotW(w, 0, S_GENERATION);
    expect(drive(d, kvmCreateMemslot(d, 0))).toBe(-EEXIST);
    expect(slotW(w, 0, S_STATE)).toBe(SlotState.Valid);
    expect(slotW(w, 0, S_GENERATION)).toBe(gen);
    expect(G(w, G_SLOTS_LOCK)).toBe(0);
  });
});

describe('delete vs. a fault inside SRCU', () => {
  it('a fault holding SRCU blocks the grace period; its SPTE is flushed after', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const d = actor(w, 'churn');
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 5, false);
    stepUntil(v, g, P['seq-snapshot']); // slot looked up (Valid), inside srcu_read_lock
    expect(actorW(w, v.id, A_SRCU)).not.toBe(0);
    const dg = kvmDeleteMemslot(d, 0);
    stepUntil(d, dg, P['srcu:sync']);
    expect(slotW(w, 0, S_STATE)).toBe(SlotState.Invalid);
    expect(d.wait).toBe(Wait.SrcuSync);
    expect(canProceed(w.s, d)).toBe(false);
    // A fault that starts now sees the INVALID slot and retries, without holding back the grace period.
    const late = actor(w, 'vcpu1');
    const lg = kvmMmuPageFault(late, newFault(), 6, false);
    stepUntil(late, lg, P['slot-check']);
    expect(canProceed(w.s, d)).toBe(false); // still only because of vcpu0
    expect(drive(late, lg)).toBe(RET_PF_RETRY);
    // The old fault still maps through the slot it looked up.
    expect(drive(v, g)).toBe(RET_PF_FIXED);
    expect(gfnW(w, 5, F_SPTE_PFN)).not.toBe(0);
    expect(actorW(w, v.id, A_SRCU)).toBe(0);
    expect(canProceed(w.s, d)).toBe(true);
    expect(drive(d, dg)).toBe(0);
    expect(gfnW(w, 5, F_SPTE_PFN)).toBe(0); // the flush got it
    expect(w.violations).toEqual([]);
  });

  it('a reader that entered after the first grace period does not block it, but blocks the second', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const d = actor(w, 'churn');
    const dg = kvmDeleteMemslot(d, 0);
    stepUntil(d, dg, P['srcu:sync']);
    const g = kvmMmuPageFault(v, newFault(), 20, false); // slot 1, unaffected
    stepUntil(v, g, P['seq-snapshot']);
    expect(canProceed(w.s, d)).toBe(true);
    stepUntil(d, dg, P['srcu:sync']); // the second grace period (after the Absent swap)
    expect(slotW(w, 0, S_STATE)).toBe(SlotState.Absent);
    expect(canProceed(w.s, d)).toBe(false);
    expect(drive(v, g)).toBe(RET_PF_FIXED);
    expect(canProceed(w.s, d)).toBe(true);
    expect(drive(d, dg)).toBe(0);
  });
});
