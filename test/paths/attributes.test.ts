import { describe, it, expect } from 'vitest';
import { P } from '../../src/engine/points.js';
import { kvmVmSetMemAttributes } from '../../src/kvm/memory_attributes.js';
import { RET_PF_FIXED, RET_PF_RETRY } from '../../src/kvm/mmu.js';
import { ONE_NODE } from '../helpers.js';
import {
  A_INSIDE,
  F_ATTR,
  F_EPOCH,
  F_SPTE_PFN,
  G_IN_PROGRESS,
  G_MMU_LOCK,
  G_RANGE_END,
  G_RANGE_START,
  G_SEQ,
  G_SLOTS_LOCK,
  KVM_MEMORY_ATTRIBUTE_PRIVATE as PRIV,
} from '../../src/shm/layout.js';
import { stepUntil, drive, world } from '../helpers.js';
import { actor, actorW, counter, fault, G, gfnW, names, setAttr, trace } from './util.js';

describe('kvm_vm_set_mem_attributes', () => {
  it('is a no-op when the attributes already match: no invalidation, SPTEs kept', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    fault(v, 1, false);
    const { value, points } = trace(c, kvmVmSetMemAttributes(c, 0, 4, 0));
    expect(value).toBe(0);
    expect(names(points)).toEqual(['slots_lock', 'attr-read']);
    expect(counter(w, c.id, 'invalidations')).toBe(0);
    expect(counter(w, c.id, 'conversions')).toBe(0);
    expect(G(w, G_SEQ)).toBe(0);
    expect(gfnW(w, 1, F_SPTE_PFN)).not.toBe(0);
    expect(G(w, G_SLOTS_LOCK)).toBe(0);
  });

  it('a partly matching range is not a no-op', () => {
    const w = world();
    const c = actor(w, 'converter');
    setAttr(w, 0, true);
    drive(c, kvmVmSetMemAttributes(c, 0, 2, PRIV));
    expect(counter(w, c.id, 'invalidations')).toBe(1);
    expect(gfnW(w, 1, F_ATTR)).toBe(PRIV);
  });

  it('begin, zap, store inside the window, end', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    for (const g of [2, 3, 10]) expect(fault(v, g, false).r).toBe(RET_PF_FIXED);
    const epoch = gfnW(w, 2, F_EPOCH);
    let stores = 0;
    const { value } = trace(c, kvmVmSetMemAttributes(c, 0, 8, PRIV), (pt) => {
      if (pt !== P['attr-store']) return;
      // one yield per gfn (the xa_store loop): gfns before this one are stored, this one not yet;
      // all of it while the invalidation covering the range is open, SPTEs already gone
      const g = stores++;
      expect(G(w, G_IN_PROGRESS)).toBe(1);
      expect([G(w, G_RANGE_START), G(w, G_RANGE_END)]).toEqual([0, 8]);
      expect(gfnW(w, 2, F_SPTE_PFN)).toBe(0);
      expect(gfnW(w, g, F_ATTR)).toBe(0);
      if (g > 0) expect(gfnW(w, g - 1, F_ATTR)).toBe(PRIV);
      expect(G(w, G_MMU_LOCK)).toBe(0); // the store itself is outside mmu_lock
    });
    expect(stores).toBe(8);
    expect(value).toBe(0);
    expect(G(w, G_IN_PROGRESS)).toBe(0);
    expect(G(w, G_SEQ)).toBe(1);
    for (let g = 0; g < 8; g++) expect(gfnW(w, g, F_ATTR)).toBe(PRIV);
    expect(gfnW(w, 8, F_ATTR)).toBe(0);
    expect(gfnW(w, 2, F_SPTE_PFN)).toBe(0);
    expect(gfnW(w, 3, F_SPTE_PFN)).toBe(0);
    expect(gfnW(w, 10, F_SPTE_PFN)).not.toBe(0); // outside the range
    expect(gfnW(w, 2, F_EPOCH)).toBe(epoch + 1);
    expect(counter(w, c.id, 'invalidations')).toBe(1);
    expect(counter(w, c.id, 'conversions')).toBe(1);
    expect(counter(w, c.id, 'zaps')).toBe(2);
    expect(actorW(w, c.id, A_INSIDE)).toBe(0);
    expect(G(w, G_SLOTS_LOCK)).toBe(0);
    expect(G(w, G_MMU_LOCK)).toBe(0);
    expect(w.violations).toEqual([]);
  });

  it('converting back to shared zaps the private SPTEs', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    drive(c, kvmVmSetMemAttributes(c, 4, 6, PRIV));
    expect(fault(v, 4, true).r).toBe(RET_PF_FIXED);
    drive(c, kvmVmSetMemAttributes(c, 4, 6, 0));
    expect(gfnW(w, 4, F_SPTE_PFN)).toBe(0);
    expect(gfnW(w, 4, F_ATTR)).toBe(0);
    expect(G(w, G_SEQ)).toBe(2);
    expect(w.violations).toEqual([]);
  });

  it('a range spanning both memslots opens one invalidation and zaps in both', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    fault(v, 14, false);
    fault(v, 17, false);
    trace(c, kvmVmSetMemAttributes(c, 12, 20, PRIV), (pt) => {
      if (pt === P['attr-store']) expect([G(w, G_RANGE_START), G(w, G_RANGE_END)]).toEqual([12, 20]);
    });
    expect(gfnW(w, 14, F_SPTE_PFN)).toBe(0);
    expect(gfnW(w, 17, F_SPTE_PFN)).toBe(0);
    expect(counter(w, c.id, 'invalidations')).toBe(1);
    expect(G(w, G_SEQ)).toBe(1);
    expect(G(w, G_IN_PROGRESS)).toBe(0);
    for (let g = 12; g < 20; g++) expect(gfnW(w, g, F_ATTR)).toBe(PRIV);
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
    expect(counter(w, c.id, 'invalidations')).toBe(0);
    expect(G(w, G_SEQ)).toBe(0);
    for (let g = 17; g < 20; g++) expect(gfnW(w, g, F_ATTR)).toBe(PRIV);
    expect(actorW(w, c.id, A_INSIDE)).toBe(0);
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
    expect(gfnW(w, 0, F_ATTR)).toBe(PRIV);
    drive(c, g);
  });

  it('B11: the store happens after end (attributes unchanged while the window closes)', () => {
    const w = world(undefined, 'B11');
    const c = actor(w, 'converter');
    const g = kvmVmSetMemAttributes(c, 0, 4, PRIV);
    stepUntil(c, g, P['invalidate-end:in_progress']);
    expect(G(w, G_SEQ)).toBe(1); // seq already bumped
    for (let x = 0; x < 4; x++) expect(gfnW(w, x, F_ATTR)).toBe(0);
    stepUntil(c, g, P['attr-store']);
    expect(G(w, G_IN_PROGRESS)).toBe(0); // the window is closed before the store
    drive(c, g);
    for (let x = 0; x < 4; x++) expect(gfnW(w, x, F_ATTR)).toBe(PRIV);
    expect(G(w, G_IN_PROGRESS)).toBe(0);
    expect(G(w, G_SEQ)).toBe(1);
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
    expect(gfnW(w, 4, F_SPTE_PFN)).toBe(0);
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
    expect(gfnW(w, 4, F_SPTE_PFN)).not.toBe(0);
    expect(w.violations.map((x) => x.invariant)).toEqual(['I2']);
  });
});
