import { describe, it, expect } from 'vitest';
import { P } from '../../src/engine/points.js';
import { EEXIST, EINVAL } from '../../src/errno.js';
import { kvmCreateMemslot, kvmDeleteMemslot } from '../../src/kvm/memslot.js';
import { kvmMmuPageFault, newFault, RET_PF_FIXED, RET_PF_RETRY } from '../../src/kvm/mmu.js';
import { SlotState } from '../../src/shm/layout.js';
import { Ctr, actorSrcuEpoch } from '../../src/shm/actor.js';
import { bindingOf } from '../../src/shm/file.js';
import { sptePfn } from '../../src/shm/gfn.js';
import { LOCK_WORDS } from '../../src/shm/kvm.js';
import { setSlotState, slotFile, slotGeneration, slotState } from '../../src/shm/slot.js';
import { mutexCanLock, rwCanRead, rwReaders } from '../../src/sync/locks.js';
import { SRCU_SYNC } from '../../src/sync/srcu.js';
import { drive, stepUntil, world, type World } from '../helpers.js';
import { actor, counter, fault, names, setAttr, trace } from './util.js';

/** mmu_lock's word is 0: no writer, no writer pending, no reader */
const mmuFree = (w: World) => rwCanRead(w.s.i32, LOCK_WORDS.mmuLock) && rwReaders(w.s.i32, LOCK_WORDS.mmuLock) === 0;
/** slots_lock's word is 0 */
const slotsFree = (w: World) => mutexCanLock(w.s.i32, LOCK_WORDS.slotsLock);

describe('kvm_set_memslot(DELETE)', () => {
  it('Invalid, then (after the grace period and flush) no SPTE, then Absent and unbound', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const d = actor(w, 'churn');
    setAttr(w, 3, true);
    expect(fault(v, 3, true).r).toBe(RET_PF_FIXED);
    expect(fault(v, 9, false).r).toBe(RET_PF_FIXED);
    expect(fault(v, 20, false).r).toBe(RET_PF_FIXED); // slot 1
    const gen = slotGeneration(w.s, 0);
    let installs = 0;
    const seen: string[] = [];
    const { value, points } = trace(d, kvmDeleteMemslot(d, 0), (pt) => {
      if (pt === P['srcu:sync'] && seen.length === 0) {
        seen.push('sync1');
        expect(slotState(w.s, 0)).toBe(SlotState.Invalid);
        expect(sptePfn(w.s, 3)).not.toBe(-1); // not flushed yet
      }
      if (pt === P['slot-install'] && ++installs === 2) {
        seen.push('swap2');
        expect(slotState(w.s, 0)).toBe(SlotState.Flushed);
        for (let g = 0; g < 16; g++) expect(sptePfn(w.s, g)).toBe(-1);
        expect(bindingOf(w.s, 0)).toBe(0); // still bound until after the second grace period
      }
      if (pt === P.unbind) {
        seen.push('unbind');
        expect(slotState(w.s, 0)).toBe(SlotState.Absent);
      }
    });
    expect(value).toBe(0);
    expect(seen).toEqual(['sync1', 'swap2', 'unbind']);
    expect(names(points).filter((n) => n === 'srcu:sync').length).toBe(2);
    expect(slotState(w.s, 0)).toBe(SlotState.Absent);
    expect(slotFile(w.s, 0)).toBe(0);
    expect(slotGeneration(w.s, 0)).toBe(gen + 2);
    for (let i = 0; i < 16; i++) expect(bindingOf(w.s, i)).toBe(-1);
    expect(bindingOf(w.s, 16)).toBe(1);
    expect(sptePfn(w.s, 20)).not.toBe(-1); // the other slot keeps its SPTEs
    expect(counter(w, d.id, Ctr.slotDeletes)).toBe(1);
    expect(slotsFree(w)).toBe(true);
    expect(mmuFree(w)).toBe(true);
    expect(w.violations).toEqual([]);
    // a fault on the deleted range now has no memslot: MMIO
    expect(fault(v, 9, false).f.slot).toBe(-1);
  });

  it('deleting a slot that is not Valid fails with -EINVAL', () => {
    const w = world();
    const d = actor(w, 'churn');
    expect(drive(d, kvmDeleteMemslot(d, 0))).toBe(0);
    expect(drive(d, kvmDeleteMemslot(d, 0))).toBe(-EINVAL); // Absent
    setSlotState(w.s, 1, SlotState.Invalid);
    expect(drive(d, kvmDeleteMemslot(d, 1))).toBe(-EINVAL);
    expect(counter(w, d.id, Ctr.slotDeletes)).toBe(1);
    expect(slotsFree(w)).toBe(true);
  });
});

describe('kvm_set_memslot(CREATE)', () => {
  it('re-binds and makes the slot Valid; faults work again', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const d = actor(w, 'churn');
    drive(d, kvmDeleteMemslot(d, 1));
    expect(drive(d, kvmCreateMemslot(d, 1))).toBe(0);
    expect(slotState(w.s, 1)).toBe(SlotState.Valid);
    expect(slotFile(w.s, 1)).toBe(1);
    for (let i = 16; i < 32; i++) expect(bindingOf(w.s, i)).toBe(1);
    expect(counter(w, d.id, Ctr.slotCreates)).toBe(1);
    setAttr(w, 22, true);
    expect(fault(v, 22, true).r).toBe(RET_PF_FIXED);
    expect(w.violations).toEqual([]);
  });

  it('creating a slot that exists fails with -EEXIST and leaves it alone', () => {
    const w = world();
    const d = actor(w, 'churn');
    const gen = slotGeneration(w.s, 0);
    expect(drive(d, kvmCreateMemslot(d, 0))).toBe(-EEXIST);
    expect(slotState(w.s, 0)).toBe(SlotState.Valid);
    expect(slotGeneration(w.s, 0)).toBe(gen);
    expect(slotsFree(w)).toBe(true);
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
    expect(actorSrcuEpoch(w.s, v.id)).not.toBe(0);
    const dg = kvmDeleteMemslot(d, 0);
    stepUntil(d, dg, P['srcu:sync']);
    expect(slotState(w.s, 0)).toBe(SlotState.Invalid);
    expect(d.wait).toBe(SRCU_SYNC);
    expect(d.wait!.canProceed(w.s, d)).toBe(false);
    // A fault that starts now sees the INVALID slot and retries, without holding back the grace period.
    const late = actor(w, 'vcpu1');
    const lg = kvmMmuPageFault(late, newFault(), 6, false);
    stepUntil(late, lg, P['slot-check']);
    expect(d.wait!.canProceed(w.s, d)).toBe(false); // still only because of vcpu0
    expect(drive(late, lg)).toBe(RET_PF_RETRY);
    // The old fault still maps through the slot it looked up.
    expect(drive(v, g)).toBe(RET_PF_FIXED);
    expect(sptePfn(w.s, 5)).not.toBe(-1);
    expect(actorSrcuEpoch(w.s, v.id)).toBe(0);
    expect(d.wait!.canProceed(w.s, d)).toBe(true);
    expect(drive(d, dg)).toBe(0);
    expect(sptePfn(w.s, 5)).toBe(-1); // the flush got it
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
    expect(d.wait!.canProceed(w.s, d)).toBe(true);
    stepUntil(d, dg, P['srcu:sync']); // the second grace period (after the Absent swap)
    expect(slotState(w.s, 0)).toBe(SlotState.Absent);
    expect(d.wait!.canProceed(w.s, d)).toBe(false);
    expect(drive(v, g)).toBe(RET_PF_FIXED);
    expect(d.wait!.canProceed(w.s, d)).toBe(true);
    expect(drive(d, dg)).toBe(0);
  });
});
