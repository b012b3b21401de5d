import { describe, it, expect } from 'vitest';
import { Wait } from '../../src/engine/ctx.js';
import { P } from '../../src/engine/points.js';
import { canProceed } from '../../src/engine/wait.js';
import { kvmDeleteMemslot } from '../../src/kvm/memslot.js';
import { kvmMmuPageFault, newFault, RET_PF_FIXED, RET_PF_RETRY } from '../../src/kvm/mmu.js';
import { hvaDiscardRange } from '../../src/kvm/mmu_notifier.js';
import {
  A_INSIDE,
  F_SPTE_PFN,
  F_ZERO,
  G_IN_PROGRESS,
  G_MMU_LOCK,
  G_MN_ACTIVE,
  G_RANGE_END,
  G_RANGE_START,
  G_SEQ,
  P_GEN,
  P_OWNER,
  P_REF,
  P_RMAP,
  PfnOwner,
  S_STATE,
  SlotState,
  ZERO_SHARED,
  slotWord,
} from '../../src/shm/layout.js';
import { drive, stepUntil, world } from '../helpers.js';
import { CROSSED, actor, actorW, counter, fault, filemap, G, gfnW, hva, pfnW, setAttr, slotW, trace, nodeFree } from './util.js';

describe('hvaDiscardRange (mmu notifier invalidate_range_start/end)', () => {
  it('zaps shared SPTEs, frees the HVA pages, marks the gfns zero, balances begin/end', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    for (const g of [2, 3, 6]) expect(fault(v, g, false).r).toBe(RET_PF_FIXED);
    const [a, b, keep] = [hva(w, 2), hva(w, 3), hva(w, 6)];
    const genA = pfnW(w, a, P_GEN);
    let unmaps = 0;
    trace(m, hvaDiscardRange(m, 0, 4), (pt) => {
      if (pt !== P['hva-unmap'] || unmaps++ > 0) return;
      // between start and end: invalidation open over the gfns, SPTEs gone, pages still mapped in the HVA
      expect(G(w, G_MN_ACTIVE)).toBe(1);
      expect(G(w, G_IN_PROGRESS)).toBe(1);
      expect([G(w, G_RANGE_START), G(w, G_RANGE_END)]).toEqual([0, 4]);
      expect(gfnW(w, 2, F_SPTE_PFN)).toBe(0);
      expect(hva(w, 2)).toBe(a);
      expect(G(w, G_MMU_LOCK)).toBe(0);
    });
    expect(unmaps).toBe(4);
    expect(gfnW(w, 2, F_SPTE_PFN)).toBe(0);
    expect(gfnW(w, 3, F_SPTE_PFN)).toBe(0);
    expect(hva(w, 2)).toBe(-1);
    expect(hva(w, 3)).toBe(-1);
    for (const pfn of [a, b]) {
      expect(pfnW(w, pfn, P_OWNER)).toBe(PfnOwner.Free);
      expect(pfnW(w, pfn, P_REF)).toBe(0);
      expect(pfnW(w, pfn, P_RMAP)).toBe(0);
    }
    expect(pfnW(w, a, P_GEN)).toBe(genA + 1);
    expect(nodeFree(w)).toBe(w.sc.pfnPool - 1);
    expect(gfnW(w, 2, F_ZERO) & ZERO_SHARED).toBe(ZERO_SHARED);
    expect(gfnW(w, 3, F_ZERO) & ZERO_SHARED).toBe(ZERO_SHARED);
    expect(gfnW(w, 1, F_ZERO)).toBe(0); // nothing was mapped there
    // outside the range
    expect(hva(w, 6)).toBe(keep);
    expect(gfnW(w, 6, F_SPTE_PFN)).toBe(keep + 1);
    // balanced
    expect(G(w, G_SEQ)).toBe(1);
    expect(G(w, G_IN_PROGRESS)).toBe(0);
    expect(G(w, G_MN_ACTIVE)).toBe(0);
    expect(actorW(w, m.id, A_INSIDE)).toBe(0);
    expect(counter(w, m.id, 'invalidations')).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('maps HVA pages of the second slot to its gfns', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    fault(v, 17, false); // slot 1: hva base 16 -> hva 17
    drive(m, hvaDiscardRange(m, 17, 18));
    expect(gfnW(w, 17, F_SPTE_PFN)).toBe(0);
    expect(gfnW(w, 17, F_ZERO)).toBe(ZERO_SHARED);
    expect([G(w, G_RANGE_START), G(w, G_RANGE_END)]).toEqual([17, 18]);
  });

  it('maps HVA indices to the gfns of the slot whose userspace range holds them', () => {
    const w = world(CROSSED);
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    fault(v, 20, false); // slot 0: hva 4
    fault(v, 4, false); // slot 1: hva 20
    drive(m, hvaDiscardRange(m, 4, 5));
    expect(gfnW(w, 20, F_SPTE_PFN)).toBe(0);
    expect(gfnW(w, 20, F_ZERO)).toBe(ZERO_SHARED);
    expect(gfnW(w, 4, F_SPTE_PFN)).not.toBe(0);
    expect(gfnW(w, 4, F_ZERO)).toBe(0);
    expect([G(w, G_RANGE_START), G(w, G_RANGE_END)]).toEqual([20, 21]);
    expect(w.violations).toEqual([]);
  });

  it('on a non-TDX VM the notifier zaps private SPTEs in range too, but leaves the gmem folio', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    setAttr(w, 2, true);
    expect(fault(v, 2, true).r).toBe(RET_PF_FIXED);
    const folio = filemap(w, 2);
    drive(m, hvaDiscardRange(m, 0, 4));
    expect(gfnW(w, 2, F_SPTE_PFN)).toBe(0);
    expect(filemap(w, 2)).toBe(folio);
    expect(pfnW(w, folio, P_OWNER)).toBe(PfnOwner.PageCache);
    expect(gfnW(w, 2, F_ZERO)).toBe(0); // no HVA page there
    expect(w.violations).toEqual([]);
  });

  it('no memslot over the HVA range: no begin/end, pages still freed', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    fault(v, 18, false);
    const pfn = hva(w, 18);
    Atomics.store(w.s.i32, slotWord(w.s.l, 1, S_STATE), SlotState.Absent);
    const { points } = trace(m, hvaDiscardRange(m, 16, 20));
    expect(points).not.toContain(P['mmu_lock:write']);
    expect(counter(w, m.id, 'invalidations')).toBe(0);
    expect(G(w, G_SEQ)).toBe(0);
    expect(G(w, G_MN_ACTIVE)).toBe(0);
    expect(hva(w, 18)).toBe(-1);
    expect(pfnW(w, pfn, P_OWNER)).toBe(PfnOwner.Free);
  });

  it('memslot swaps wait while a notifier invalidation is active', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const m = actor(w, 'vmm');
    const d = actor(w, 'churn');
    fault(v, 2, false);
    const mg = hvaDiscardRange(m, 0, 4);
    stepUntil(m, mg, P['hva-unmap']);
    expect(G(w, G_MN_ACTIVE)).toBe(1);
    const dg = kvmDeleteMemslot(d, 0);
    stepUntil(d, dg, P['slot-install']);
    expect(d.wait).toBe(Wait.Zero);
    expect(canProceed(w.s, d)).toBe(false);
    expect(slotW(w, 0, S_STATE)).toBe(SlotState.Valid); // the INVALID copy is not installed yet
    drive(m, mg);
    expect(G(w, G_MN_ACTIVE)).toBe(0);
    expect(canProceed(w.s, d)).toBe(true);
    expect(drive(d, dg)).toBe(0);
    expect(slotW(w, 0, S_STATE)).toBe(SlotState.Absent);
    expect(G(w, G_IN_PROGRESS)).toBe(0);
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
    expect(pfnW(w, pfn, P_REF)).toBe(2); // page table + the fault
    drive(m, hvaDiscardRange(m, 0, 4));
    expect(pfnW(w, pfn, P_OWNER)).toBe(PfnOwner.Removed); // unmapped, kept alive by the fault's reference
    expect(pfnW(w, pfn, P_REF)).toBe(1);
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('stale');
    expect(pfnW(w, pfn, P_OWNER)).toBe(PfnOwner.Free);
    expect(counter(w, v.id, 'frees')).toBe(1);
    expect(gfnW(w, 2, F_SPTE_PFN)).toBe(0);
    expect(w.violations).toEqual([]);
    // the refault gets a fresh page
    expect(fault(v, 2, false).r).toBe(RET_PF_FIXED);
    expect(pfnW(w, hva(w, 2), P_OWNER)).toBe(PfnOwner.Hva);
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
