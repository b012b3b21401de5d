import { describe, it, expect } from 'vitest';
import { P } from '../../src/engine/points.js';
import { ZERO } from '../../src/engine/wait.js';
import { kvmDeleteMemslot } from '../../src/kvm/memslot.js';
import { kvmMmuPageFault, newFault, RET_PF_FIXED, RET_PF_RETRY } from '../../src/kvm/mmu.js';
import { hvaDiscardRange } from '../../src/kvm/mmu_notifier.js';
import { PfnOwner, SlotState, ZERO_SHARED } from '../../src/shm/layout.js';
import { Ctr, actorInside } from '../../src/shm/actor.js';
import { filemapGet, hvaGet } from '../../src/shm/file.js';
import { gfnZero, sptePfn } from '../../src/shm/gfn.js';
import { LOCK_WORDS, mmuInvalidateInProgress, mmuInvalidateRangeEnd, mmuInvalidateRangeStart, mmuInvalidateSeq, mnActiveInvalidateCount } from '../../src/shm/kvm.js';
import { pfnGen, pfnOwner, pfnRef, pfnRmap } from '../../src/shm/pfn.js';
import { setSlotState, slotState } from '../../src/shm/slot.js';
import { rwCanRead, rwReaders } from '../../src/sync/locks.js';
import { drive, stepUntil, world, type World } from '../helpers.js';
import { CROSSED, actor, counter, fault, setAttr, trace, nodeFree } from './util.js';

/** mmu_lock's word is 0: no writer, no writer pending, no reader */
const mmuFree = (w: World) => rwCanRead(w.s.i32, LOCK_WORDS.mmuLock) && rwReaders(w.s.i32, LOCK_WORDS.mmuLock) === 0;

describe('hvaDiscardRange (mmu notifier invalidate_range_start/end)', () => {
  it('zaps shared SPTEs, frees the HVA pages, marks the gfns zero, balances begin/end', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    for (const g of [2, 3, 6]) expect(fault(v, g, false).r).toBe(RET_PF_FIXED);
    const [a, b, keep] = [hvaGet(w.s, 2), hvaGet(w.s, 3), hvaGet(w.s, 6)];
    const genA = pfnGen(w.s, a);
    let unmaps = 0;
    trace(m, hvaDiscardRange(m, 0, 4), (pt) => {
      if (pt !== P['hva-unmap'] || unmaps++ > 0) return;
      // between start and end: invalidation open over the gfns, SPTEs gone, pages still mapped in the HVA
      expect(mnActiveInvalidateCount(w.s)).toBe(1);
      expect(mmuInvalidateInProgress(w.s)).toBe(1);
      expect([mmuInvalidateRangeStart(w.s), mmuInvalidateRangeEnd(w.s)]).toEqual([0, 4]);
      expect(sptePfn(w.s, 2)).toBe(-1);
      expect(hvaGet(w.s, 2)).toBe(a);
      expect(mmuFree(w)).toBe(true);
    });
    expect(unmaps).toBe(4);
    expect(sptePfn(w.s, 2)).toBe(-1);
    expect(sptePfn(w.s, 3)).toBe(-1);
    expect(hvaGet(w.s, 2)).toBe(-1);
    expect(hvaGet(w.s, 3)).toBe(-1);
    for (const pfn of [a, b]) {
      expect(pfnOwner(w.s, pfn)).toBe(PfnOwner.Free);
      expect(pfnRef(w.s, pfn)).toBe(0);
      expect(pfnRmap(w.s, pfn)).toBe(0);
    }
    expect(pfnGen(w.s, a)).toBe(genA + 1);
    expect(nodeFree(w)).toBe(w.sc.pfnPool - 1);
    expect(gfnZero(w.s, 2) & ZERO_SHARED).toBe(ZERO_SHARED);
    expect(gfnZero(w.s, 3) & ZERO_SHARED).toBe(ZERO_SHARED);
    expect(gfnZero(w.s, 1)).toBe(0); // nothing was mapped there
    // outside the range
    expect(hvaGet(w.s, 6)).toBe(keep);
    expect(sptePfn(w.s, 6)).toBe(keep);
    // balanced
    expect(mmuInvalidateSeq(w.s)).toBe(1);
    expect(mmuInvalidateInProgress(w.s)).toBe(0);
    expect(mnActiveInvalidateCount(w.s)).toBe(0);
    expect(actorInside(w.s, m.id)).toBe(0);
    expect(counter(w, m.id, Ctr.invalidations)).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('maps HVA pages of the second slot to its gfns', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    fault(v, 17, false); // slot 1: hva base 16 -> hva 17
    drive(m, hvaDiscardRange(m, 17, 18));
    expect(sptePfn(w.s, 17)).toBe(-1);
    expect(gfnZero(w.s, 17)).toBe(ZERO_SHARED);
    expect([mmuInvalidateRangeStart(w.s), mmuInvalidateRangeEnd(w.s)]).toEqual([17, 18]);
  });

  it('maps HVA indices to the gfns of the slot whose userspace range holds them', () => {
    const w = world(CROSSED);
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    fault(v, 20, false); // slot 0: hva 4
    fault(v, 4, false); // slot 1: hva 20
    drive(m, hvaDiscardRange(m, 4, 5));
    expect(sptePfn(w.s, 20)).toBe(-1);
    expect(gfnZero(w.s, 20)).toBe(ZERO_SHARED);
    expect(sptePfn(w.s, 4)).not.toBe(-1);
    expect(gfnZero(w.s, 4)).toBe(0);
    expect([mmuInvalidateRangeStart(w.s), mmuInvalidateRangeEnd(w.s)]).toEqual([20, 21]);
    expect(w.violations).toEqual([]);
  });

  it('on a non-TDX VM the notifier zaps private SPTEs in range too, but leaves the gmem folio', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    setAttr(w, 2, true);
    expect(fault(v, 2, true).r).toBe(RET_PF_FIXED);
    const folio = filemapGet(w.s, 2);
    drive(m, hvaDiscardRange(m, 0, 4));
    expect(sptePfn(w.s, 2)).toBe(-1);
    expect(filemapGet(w.s, 2)).toBe(folio);
    expect(pfnOwner(w.s, folio)).toBe(PfnOwner.PageCache);
    expect(gfnZero(w.s, 2)).toBe(0); // no HVA page there
    expect(w.violations).toEqual([]);
  });

  it('no memslot over the HVA range: no begin/end, pages still freed', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    fault(v, 18, false);
    const pfn = hvaGet(w.s, 18);
    setSlotState(w.s, 1, SlotState.Absent);
    const { points } = trace(m, hvaDiscardRange(m, 16, 20));
    expect(points).not.toContain(P['mmu_lock:write']);
    expect(counter(w, m.id, Ctr.invalidations)).toBe(0);
    expect(mmuInvalidateSeq(w.s)).toBe(0);
    expect(mnActiveInvalidateCount(w.s)).toBe(0);
    expect(hvaGet(w.s, 18)).toBe(-1);
    expect(pfnOwner(w.s, pfn)).toBe(PfnOwner.Free);
  });

  it('memslot swaps wait while a notifier invalidation is active', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    const d = actor(w, 'churn');
    fault(v, 2, false);
    const mg = hvaDiscardRange(m, 0, 4);
    stepUntil(m, mg, P['hva-unmap']);
    expect(mnActiveInvalidateCount(w.s)).toBe(1);
    const dg = kvmDeleteMemslot(d, 0);
    stepUntil(d, dg, P['slot-install']);
    expect(d.wait).toBe(ZERO);
    expect(d.wait!.canProceed(w.s, d)).toBe(false);
    expect(slotState(w.s, 0)).toBe(SlotState.Valid); // the INVALID copy is not installed yet
    drive(m, mg);
    expect(mnActiveInvalidateCount(w.s)).toBe(0);
    expect(d.wait!.canProceed(w.s, d)).toBe(true);
    expect(drive(d, dg)).toBe(0);
    expect(slotState(w.s, 0)).toBe(SlotState.Absent);
    expect(mmuInvalidateInProgress(w.s)).toBe(0);
    expect(w.violations).toEqual([]);
  });

  it('a shared fault that resolved the HVA page before the discard retries; its put frees the page', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 2, false);
    stepUntil(v, g, P['mmu_lock:read']);
    const pfn = f.pfn;
    expect(pfnRef(w.s, pfn)).toBe(2); // page table + the fault
    drive(m, hvaDiscardRange(m, 0, 4));
    expect(pfnOwner(w.s, pfn)).toBe(PfnOwner.Removed); // unmapped, kept alive by the fault's reference
    expect(pfnRef(w.s, pfn)).toBe(1);
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('stale');
    expect(pfnOwner(w.s, pfn)).toBe(PfnOwner.Free);
    expect(counter(w, v.id, Ctr.frees)).toBe(1);
    expect(sptePfn(w.s, 2)).toBe(-1);
    expect(w.violations).toEqual([]);
    // the refault gets a fresh page
    expect(fault(v, 2, false).r).toBe(RET_PF_FIXED);
    expect(pfnOwner(w.s, hvaGet(w.s, 2))).toBe(PfnOwner.Hva);
  });

  it('B1 (no stale check): the same interleaving maps the discarded page (I1)', () => {
    const w = world(undefined, 'B1');
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    const g = kvmMmuPageFault(v, newFault(), 2, false);
    stepUntil(v, g, P['mmu_lock:read']);
    drive(m, hvaDiscardRange(m, 0, 4));
    expect(drive(v, g)).toBe(RET_PF_FIXED);
    expect(w.violations.map((x) => x.invariant)).toContain('I1');
  });
});
