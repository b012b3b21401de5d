import { describe, it, expect } from 'vitest';
import { P } from '../../src/engine/points.js';
import { kvmVmSetMemAttributes } from '../../src/kvm/memory_attributes.js';
import { RET_PF_FIXED, RET_PF_RETRY } from '../../src/kvm/mmu.js';
import { ONE_NODE } from '../helpers.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE as PRIV } from '../../src/shm/layout.js';
import { Ctr, actorInside } from '../../src/shm/actor.js';
import { gfnAttr, gfnEpoch, sptePfn } from '../../src/shm/gfn.js';
import { LOCK_WORDS, mmuInvalidateInProgress, mmuInvalidateRangeEnd, mmuInvalidateRangeStart, mmuInvalidateSeq } from '../../src/shm/kvm.js';
import { mutexCanLock, rwCanRead, rwReaders } from '../../src/sync/locks.js';
import { stepUntil, drive, world, type World } from '../helpers.js';
import { actor, counter, fault, names, setAttr, trace } from './util.js';

/** mmu_lock's word is 0: no writer, no writer pending, no reader */
const mmuFree = (w: World) => rwCanRead(w.s.i32, LOCK_WORDS.mmuLock) && rwReaders(w.s.i32, LOCK_WORDS.mmuLock) === 0;
/** slots_lock's word is 0 */
const slotsFree = (w: World) => mutexCanLock(w.s.i32, LOCK_WORDS.slotsLock);

describe('kvm_vm_set_mem_attributes', () => {
  it('is a no-op when the attributes already match: no invalidation, SPTEs kept', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    fault(v, 1, false);
    const { value, points } = trace(c, kvmVmSetMemAttributes(c, 0, 4, 0));
    expect(value).toBe(0);
    expect(names(points)).toEqual(['slots_lock', 'attr-read']);
    expect(counter(w, c.id, Ctr.invalidations)).toBe(0);
    expect(counter(w, c.id, Ctr.conversions)).toBe(0);
    expect(mmuInvalidateSeq(w.s)).toBe(0);
    expect(sptePfn(w.s, 1)).not.toBe(-1);
    expect(slotsFree(w)).toBe(true);
  });

  it('a partly matching range is not a no-op', () => {
    const w = world();
    const c = actor(w, 'converter');
    setAttr(w, 0, true);
    drive(c, kvmVmSetMemAttributes(c, 0, 2, PRIV));
    expect(counter(w, c.id, Ctr.invalidations)).toBe(1);
    expect(gfnAttr(w.s, 1)).toBe(PRIV);
  });

  it('begin, zap, store inside the window, end', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    for (const g of [2, 3, 10]) expect(fault(v, g, false).r).toBe(RET_PF_FIXED);
    const epoch = gfnEpoch(w.s, 2);
    let stores = 0;
    const { value } = trace(c, kvmVmSetMemAttributes(c, 0, 8, PRIV), (pt) => {
      if (pt !== P['attr-store']) return;
      // one yield per gfn (the xa_store loop): gfns before this one are stored, this one not yet;
      // all of it while the invalidation covering the range is open, SPTEs already gone
      const g = stores++;
      expect(mmuInvalidateInProgress(w.s)).toBe(1);
      expect([mmuInvalidateRangeStart(w.s), mmuInvalidateRangeEnd(w.s)]).toEqual([0, 8]);
      expect(sptePfn(w.s, 2)).toBe(-1);
      expect(gfnAttr(w.s, g)).toBe(0);
      if (g > 0) expect(gfnAttr(w.s, g - 1)).toBe(PRIV);
      expect(mmuFree(w)).toBe(true); // the store itself is outside mmu_lock
    });
    expect(stores).toBe(8);
    expect(value).toBe(0);
    expect(mmuInvalidateInProgress(w.s)).toBe(0);
    expect(mmuInvalidateSeq(w.s)).toBe(1);
    for (let g = 0; g < 8; g++) expect(gfnAttr(w.s, g)).toBe(PRIV);
    expect(gfnAttr(w.s, 8)).toBe(0);
    expect(sptePfn(w.s, 2)).toBe(-1);
    expect(sptePfn(w.s, 3)).toBe(-1);
    expect(sptePfn(w.s, 10)).not.toBe(-1); // outside the range
    expect(gfnEpoch(w.s, 2)).toBe(epoch + 1);
    expect(counter(w, c.id, Ctr.invalidations)).toBe(1);
    expect(counter(w, c.id, Ctr.conversions)).toBe(1);
    expect(counter(w, c.id, Ctr.zaps)).toBe(2);
    expect(actorInside(w.s, c.id)).toBe(0);
    expect(slotsFree(w)).toBe(true);
    expect(mmuFree(w)).toBe(true);
    expect(w.violations).toEqual([]);
  });

  it('converting back to shared zaps the private SPTEs', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    drive(c, kvmVmSetMemAttributes(c, 4, 6, PRIV));
    expect(fault(v, 4, true).r).toBe(RET_PF_FIXED);
    drive(c, kvmVmSetMemAttributes(c, 4, 6, 0));
    expect(sptePfn(w.s, 4)).toBe(-1);
    expect(gfnAttr(w.s, 4)).toBe(0);
    expect(mmuInvalidateSeq(w.s)).toBe(2);
    expect(w.violations).toEqual([]);
  });

  it('a range spanning both memslots opens one invalidation and zaps in both', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    fault(v, 14, false);
    fault(v, 17, false);
    trace(c, kvmVmSetMemAttributes(c, 12, 20, PRIV), (pt) => {
      if (pt === P['attr-store']) expect([mmuInvalidateRangeStart(w.s), mmuInvalidateRangeEnd(w.s)]).toEqual([12, 20]);
    });
    expect(sptePfn(w.s, 14)).toBe(-1);
    expect(sptePfn(w.s, 17)).toBe(-1);
    expect(counter(w, c.id, Ctr.invalidations)).toBe(1);
    expect(mmuInvalidateSeq(w.s)).toBe(1);
    expect(mmuInvalidateInProgress(w.s)).toBe(0);
    for (let g = 12; g < 20; g++) expect(gfnAttr(w.s, g)).toBe(PRIV);
  });

  it('no memslot in range: attributes stored without any invalidation', () => {
    const w = world({
      ...ONE_NODE,
      slots: [
        { baseGfn: 0, npages: 16, gmemOffset: 0 },
        { baseGfn: 24, npages: 8, gmemOffset: 16 },
      ],
    });
    const c = actor(w, 'converter');
    const { points } = trace(c, kvmVmSetMemAttributes(c, 17, 20, PRIV));
    expect(points).not.toContain(P['mmu_lock:write']);
    expect(counter(w, c.id, Ctr.invalidations)).toBe(0);
    expect(mmuInvalidateSeq(w.s)).toBe(0);
    for (let g = 17; g < 20; g++) expect(gfnAttr(w.s, g)).toBe(PRIV);
    expect(actorInside(w.s, c.id)).toBe(0);
    expect(w.violations).toEqual([]);
  });

  it('holds slots_lock throughout: a second setter waits', () => {
    const w = world();
    const c = actor(w, 'converter');
    const m = actor(w, 'vmm');
    const g = kvmVmSetMemAttributes(c, 0, 2, PRIV);
    stepUntil(c, g, P['attr-store']);
    expect(() => drive(m, kvmVmSetMemAttributes(m, 0, 2, 0))).toThrow(/would block/);
    drive(c, g);
  });

  it('without B11 the attributes are already stored when the invalidation ends', () => {
    const w = world();
    const c = actor(w, 'converter');
    const g = kvmVmSetMemAttributes(c, 0, 4, PRIV);
    stepUntil(c, g, P['invalidate-end:in_progress']);
    expect(gfnAttr(w.s, 0)).toBe(PRIV);
    drive(c, g);
  });

  it('B11: the store happens after end (attributes unchanged while the window closes)', () => {
    const w = world(undefined, 'B11');
    const c = actor(w, 'converter');
    const g = kvmVmSetMemAttributes(c, 0, 4, PRIV);
    stepUntil(c, g, P['invalidate-end:in_progress']);
    expect(mmuInvalidateSeq(w.s)).toBe(1); // seq already bumped
    for (let x = 0; x < 4; x++) expect(gfnAttr(w.s, x)).toBe(0);
    stepUntil(c, g, P['attr-store']);
    expect(mmuInvalidateInProgress(w.s)).toBe(0); // the window is closed before the store
    drive(c, g);
    for (let x = 0; x < 4; x++) expect(gfnAttr(w.s, x)).toBe(PRIV);
    expect(mmuInvalidateInProgress(w.s)).toBe(0);
    expect(mmuInvalidateSeq(w.s)).toBe(1);
  });

  it('a fault racing the store inside the window retries, and no old-type SPTE survives', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    const g = kvmVmSetMemAttributes(c, 4, 6, PRIV);
    stepUntil(c, g, P['attr-store']);
    const r = fault(v, 4, false); // attribute still shared, but the invalidation is open over it
    expect(r.r).toBe(RET_PF_RETRY);
    expect(r.f.retryReason).toBe('lockless');
    drive(c, g);
    expect(sptePfn(w.s, 4)).toBe(-1);
    expect(w.violations).toEqual([]);
  });

  it('B11 is caught: a fault between end and the late store maps the old type (I2)', () => {
    const w = world(undefined, 'B11');
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    const g = kvmVmSetMemAttributes(c, 4, 6, PRIV);
    stepUntil(c, g, P['attr-store']);
    expect(fault(v, 4, false).r).toBe(RET_PF_FIXED); // nothing tells it the gfn is converting
    drive(c, g);
    expect(sptePfn(w.s, 4)).not.toBe(-1);
    expect(w.violations.map((x) => x.invariant)).toEqual(['I2']);
  });
});
