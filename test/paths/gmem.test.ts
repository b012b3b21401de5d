import { describe, it, expect } from 'vitest';
import { P } from '../../src/engine/points.js';
import { EFAULT, EINVAL, EIO, ENOMEM } from '../../src/errno.js';
import { kvmGmemAllocate, kvmGmemBind, kvmGmemGetPfn, kvmGmemPunchHole, kvmGmemUnbind } from '../../src/gmem/guest_memfd.js';
import { kvmMmuPageFault, newFault, RET_PF_FIXED, RET_PF_RETRY, RET_PF_SPURIOUS } from '../../src/kvm/mmu.js';
import { pagePut } from '../../src/mm/page_alloc.js';
import { ONE_NODE } from '../helpers.js';
import {
  A_INSIDE,
  F_SPTE_PFN,
  F_ZERO,
  G_INV_LOCK,
  G_IN_PROGRESS,
  G_MMU_LOCK,
  G_RANGE_END,
  G_RANGE_START,
  G_SEQ,
  P_CONTENT,
  P_FLAGS,
  P_GEN,
  P_OWNER,
  P_REF,
  P_RMAP,
  PF_LOCKED,
  PF_UPTODATE,
  PfnOwner,
  S_FILE,
  S_PGOFF,
  ZERO_PRIVATE,
  pfnWord,
  slotWord,
} from '../../src/shm/layout.js';
import { drive, stepUntil, world, type World } from '../helpers.js';
import { CROSSED, actor, actorW, binding, counter, fault, filemap, G, gfnW, names, pfnW, setAttr, slotW, trace, nodeFree } from './util.js';

/** the page-state bits of P_FLAGS (PF_UPTODATE | PF_LOCKED); the rest are PF_FILE and the allocating actor */
const PAGE_STATE = 3;

const POOL = ONE_NODE.pfnPool;

/** Private faults on `gfns` (attribute set first); returns the folios. */
function mapPrivate(w: World, gfns: number[]): number[] {
  const v = actor(w, 'vcpu0');
  return gfns.map((g) => {
    setAttr(w, g, true);
    expect(fault(v, g, true).r).toBe(RET_PF_FIXED);
    return gfnW(w, g, F_SPTE_PFN) - 1;
  });
}

describe('kvm_gmem_get_pfn', () => {
  it('-EFAULT when the slot has no file', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    Atomics.store(w.s.i32, slotWord(w.s.l, 0, S_FILE), 0);
    expect(drive(v, kvmGmemGetPfn(v, 0, 3))).toBe(-EFAULT);
    expect(filemap(w, 3)).toBe(-1);
    expect(nodeFree(w)).toBe(POOL);
  });

  it('-EIO when the binding at the index belongs to another slot, or to none', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    Atomics.store(w.s.i32, w.s.l.bindingBase + 3, 1 + 1); // index 3 -> slot 1
    expect(drive(v, kvmGmemGetPfn(v, 0, 3))).toBe(-EIO);
    Atomics.store(w.s.i32, w.s.l.bindingBase + 3, 0); // unbound index
    expect(drive(v, kvmGmemGetPfn(v, 0, 3))).toBe(-EIO);
    expect(filemap(w, 3)).toBe(-1);
    expect(nodeFree(w)).toBe(POOL);
    // the slot's own binding works
    expect(drive(v, kvmGmemGetPfn(v, 0, 4))).toBeGreaterThanOrEqual(0);
  });

  it('returns the folio with a reference for the caller, unlocked, at index gfn - base + pgoff', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const pfn = drive(v, kvmGmemGetPfn(v, 1, 21)); // slot 1: base 16, pgoff 16
    expect(filemap(w, 21)).toBe(pfn);
    expect(pfnW(w, pfn, P_REF)).toBe(2);
    expect(pfnW(w, pfn, P_FLAGS) & PF_LOCKED).toBe(0);
    expect(drive(v, kvmGmemGetPfn(v, 1, 21))).toBe(pfn); // same folio, another reference
    expect(pfnW(w, pfn, P_REF)).toBe(3);
  });

  it('two faults allocating the same index: the loser frees its page and uses the winner\'s folio', () => {
    const w = world();
    const a = actor(w, 'vcpu0');
    const b = actor(w, 'vcpu1');
    setAttr(w, 6, true);
    const fa = newFault();
    const ga = kvmMmuPageFault(a, fa, 6, true);
    stepUntil(a, ga, P['filemap-insert']); // allocated, not yet in the page cache
    const lost = w.s.i32[w.s.l.freeStackBase + nodeFree(w)]; // the pfn just popped
    expect(pfnW(w, lost, P_FLAGS) & PAGE_STATE).toBe(PF_LOCKED);
    expect(fault(b, 6, true).r).toBe(RET_PF_FIXED);
    const won = filemap(w, 6);
    expect(won).not.toBe(lost);
    expect(drive(a, ga)).toBe(RET_PF_SPURIOUS); // b already installed the same SPTE
    expect(fa.pfn).toBe(won);
    expect(pfnW(w, lost, P_OWNER)).toBe(PfnOwner.Free);
    expect(pfnW(w, lost, P_FLAGS) & PAGE_STATE).toBe(0);
    expect(pfnW(w, lost, P_GEN)).toBe(1);
    expect(pfnW(w, won, P_REF)).toBe(1);
    expect(nodeFree(w)).toBe(POOL - 1);
    expect(w.violations).toEqual([]);
  });

  it('zeroes a recycled pfn on first use only (the uptodate gate)', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const p = actor(w, 'puncher');
    const pfn = drive(v, kvmGmemGetPfn(v, 0, 3));
    expect(pfnW(w, pfn, P_FLAGS) & PAGE_STATE).toBe(PF_UPTODATE);
    Atomics.store(w.s.i32, pfnWord(w.s.l, pfn, P_CONTENT), 0xabc); // the guest writes
    pagePut(v, pfn);
    // uptodate: a second lookup must not wipe the data
    expect(drive(v, kvmGmemGetPfn(v, 0, 3))).toBe(pfn);
    expect(pfnW(w, pfn, P_CONTENT)).toBe(0xabc);
    pagePut(v, pfn);
    // punch frees it; fallocate re-allocates the same pfn (top of the free stack) elsewhere, not zeroed
    drive(p, kvmGmemPunchHole(p, 3, 4));
    expect(pfnW(w, pfn, P_OWNER)).toBe(PfnOwner.Free);
    expect(drive(p, kvmGmemAllocate(p, 5, 6))).toBe(0);
    expect(filemap(w, 5)).toBe(pfn);
    expect(pfnW(w, pfn, P_CONTENT)).toBe(0xabc);
    expect(pfnW(w, pfn, P_FLAGS) & PF_UPTODATE).toBe(0);
    // first use through KVM zeroes it
    const { value, points } = trace(v, kvmGmemGetPfn(v, 0, 5));
    expect(value).toBe(pfn);
    expect(names(points)).toContain('folio-zero');
    expect(pfnW(w, pfn, P_CONTENT)).toBe(0);
    expect(pfnW(w, pfn, P_FLAGS) & PAGE_STATE).toBe(PF_UPTODATE);
  });
});

describe('kvm_gmem_punch_hole', () => {
  it('zaps before truncating, removes and frees folios, marks the gfns zero, bumps seq', () => {
    const w = world();
    const p = actor(w, 'puncher');
    const [a, b, keep] = mapPrivate(w, [2, 3, 18]);
    const genA = pfnW(w, a, P_GEN);
    let truncates = 0;
    const { value } = trace(p, kvmGmemPunchHole(p, 0, 4), (pt) => {
      if (pt !== P.truncate || truncates++ > 0) return;
      // first truncate: the invalidation is open and the SPTEs are gone, the folios still cached
      expect(G(w, G_IN_PROGRESS)).toBe(1);
      expect([G(w, G_RANGE_START), G(w, G_RANGE_END)]).toEqual([0, 4]);
      expect(gfnW(w, 2, F_SPTE_PFN)).toBe(0);
      expect(gfnW(w, 3, F_SPTE_PFN)).toBe(0);
      expect(filemap(w, 2)).toBe(a);
      expect(G(w, G_MMU_LOCK)).toBe(0);
    });
    expect(value).toBe(0);
    expect(truncates).toBe(4);
    expect(filemap(w, 2)).toBe(-1);
    expect(filemap(w, 3)).toBe(-1);
    for (const pfn of [a, b]) {
      expect(pfnW(w, pfn, P_OWNER)).toBe(PfnOwner.Free);
      expect(pfnW(w, pfn, P_REF)).toBe(0);
      expect(pfnW(w, pfn, P_RMAP)).toBe(0);
    }
    expect(pfnW(w, a, P_GEN)).toBe(genA + 1);
    expect(nodeFree(w)).toBe(POOL - 1); // only gfn 18's folio remains allocated
    expect(counter(w, p.id, 'frees')).toBe(2);
    expect(gfnW(w, 2, F_ZERO) & ZERO_PRIVATE).toBe(ZERO_PRIVATE);
    expect(gfnW(w, 3, F_ZERO) & ZERO_PRIVATE).toBe(ZERO_PRIVATE);
    expect(gfnW(w, 0, F_ZERO)).toBe(0); // no folio was there
    // outside the hole
    expect(filemap(w, 18)).toBe(keep);
    expect(gfnW(w, 18, F_SPTE_PFN)).toBe(keep + 1);
    expect(gfnW(w, 18, F_ZERO)).toBe(0);
    expect(G(w, G_SEQ)).toBe(1);
    expect(G(w, G_IN_PROGRESS)).toBe(0);
    expect(actorW(w, p.id, A_INSIDE)).toBe(0);
    expect(G(w, G_INV_LOCK)).toBe(0);
    expect(counter(w, p.id, 'punchHoles')).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('a fault racing the punch repopulates the hole with a fresh zeroed folio, retries, then maps it', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const p = actor(w, 'puncher');
    setAttr(w, 2, true);
    drive(p, kvmGmemAllocate(p, 2, 3));
    const old = filemap(w, 2);
    Atomics.store(w.s.i32, pfnWord(w.s.l, old, P_CONTENT), 0x77); // stale data in the old folio
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 2, true);
    stepUntil(v, g, P['folio_lock']); // found the old folio, holds a reference, waits for its lock
    drive(p, kvmGmemPunchHole(p, 0, 4));
    expect(filemap(w, 2)).toBe(-1);
    expect(pfnW(w, old, P_OWNER)).toBe(PfnOwner.Removed);
    expect(pfnW(w, old, P_REF)).toBe(1); // only the fault's reference
    const oldGen = pfnW(w, old, P_GEN);
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('lockless'); // seq moved since the snapshot
    const fresh = filemap(w, 2);
    expect(fresh).toBeGreaterThanOrEqual(0);
    // the old folio was freed by the fault's put; the allocator may hand the same pfn back, but as a new generation
    expect(pfnW(w, old, P_GEN)).toBeGreaterThan(oldGen);
    expect(pfnW(w, fresh, P_OWNER)).toBe(PfnOwner.PageCache);
    expect(pfnW(w, fresh, P_CONTENT)).toBe(0);
    expect(pfnW(w, fresh, P_REF)).toBe(1);
    expect(gfnW(w, 2, F_SPTE_PFN)).toBe(0);
    expect(fault(v, 2, true).r).toBe(RET_PF_FIXED);
    expect(gfnW(w, 2, F_SPTE_PFN)).toBe(fresh + 1);
    expect(w.violations).toEqual([]);
  });

  it('maps file indices back to the gfns of the slot bound there', () => {
    const w = world(CROSSED);
    const p = actor(w, 'puncher');
    const [pfn] = mapPrivate(w, [3]); // slot 1 -> index 19
    mapPrivate(w, [19]); // slot 0 -> index 3
    expect(filemap(w, 19)).toBe(pfn);
    drive(p, kvmGmemPunchHole(p, 19, 20));
    expect(gfnW(w, 3, F_SPTE_PFN)).toBe(0);
    expect(gfnW(w, 3, F_ZERO)).toBe(ZERO_PRIVATE);
    expect(gfnW(w, 19, F_SPTE_PFN)).not.toBe(0); // gfn 19 is backed by index 3, not punched
    expect(gfnW(w, 19, F_ZERO)).toBe(0);
    expect([G(w, G_RANGE_START), G(w, G_RANGE_END)]).toEqual([3, 4]);
    expect(pfnW(w, pfn, P_OWNER)).toBe(PfnOwner.Free);
    expect(w.violations).toEqual([]);
  });

  it('B7 (truncate before begin) is caught: a mapped folio leaves the page cache (I1)', () => {
    const w = world(undefined, 'B7');
    const p = actor(w, 'puncher');
    mapPrivate(w, [2]);
    drive(p, kvmGmemPunchHole(p, 0, 4));
    expect(w.violations.map((x) => x.invariant)).toContain('I1');
  });

  it('beyond the end of the file: the present part is punched, the absent part ignored', () => {
    const w = world();
    const p = actor(w, 'puncher');
    const [x, y] = mapPrivate(w, [30, 31]);
    for (let g = 0; g < 4; g++) fault(actor(w, 'vcpu1'), g, false); // HVA words populated (they follow the binding words)
    expect(drive(p, kvmGmemPunchHole(p, 30, 40))).toBe(0);
    expect(filemap(w, 30)).toBe(-1);
    expect(filemap(w, 31)).toBe(-1);
    expect(pfnW(w, x, P_OWNER)).toBe(PfnOwner.Free);
    expect(pfnW(w, y, P_OWNER)).toBe(PfnOwner.Free);
    expect([G(w, G_RANGE_START), G(w, G_RANGE_END)]).toEqual([30, 32]); // clipped to the slot
    expect(G(w, G_SEQ)).toBe(1);
    // entirely beyond: no invalidation at all
    const { value, points } = trace(p, kvmGmemPunchHole(p, 32, 40));
    expect(value).toBe(0);
    expect(points).not.toContain(P['mmu_lock:write']);
    expect(G(w, G_SEQ)).toBe(1);
    expect(counter(w, p.id, 'invalidations')).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('a range covering both bindings opens one invalidation and zaps both slots', () => {
    const w = world();
    const p = actor(w, 'puncher');
    mapPrivate(w, [15, 16]);
    drive(p, kvmGmemPunchHole(p, 14, 18));
    expect(gfnW(w, 15, F_SPTE_PFN)).toBe(0);
    expect(gfnW(w, 16, F_SPTE_PFN)).toBe(0);
    expect(counter(w, p.id, 'invalidations')).toBe(1);
    expect([G(w, G_RANGE_START), G(w, G_RANGE_END)]).toEqual([14, 18]);
    expect(w.violations).toEqual([]);
  });
});

describe('kvm_gmem_allocate', () => {
  it('keeps partial success and returns -ENOMEM when the pool runs out', () => {
    const w = world({ ...ONE_NODE, pfnPool: 3 });
    const p = actor(w, 'puncher');
    expect(drive(p, kvmGmemAllocate(p, 0, 5))).toBe(-ENOMEM);
    for (let i = 0; i < 3; i++) {
      const pfn = filemap(w, i);
      expect(pfn).toBeGreaterThanOrEqual(0);
      expect(pfnW(w, pfn, P_REF)).toBe(1);
      expect(pfnW(w, pfn, P_FLAGS) & PAGE_STATE).toBe(0); // unlocked, not zeroed
      expect(pfnW(w, pfn, P_OWNER)).toBe(PfnOwner.PageCache);
    }
    expect(filemap(w, 3)).toBe(-1);
    expect(filemap(w, 4)).toBe(-1);
    expect(counter(w, p.id, 'enomem')).toBe(1);
    expect(counter(w, p.id, 'allocations')).toBe(3);
    expect(G(w, G_INV_LOCK)).toBe(0);
  });

  it('leaves existing folios alone and rejects a range past the end of the file', () => {
    const w = world();
    const p = actor(w, 'puncher');
    drive(p, kvmGmemAllocate(p, 0, 1));
    const first = filemap(w, 0);
    expect(drive(p, kvmGmemAllocate(p, 0, 2))).toBe(0);
    expect(filemap(w, 0)).toBe(first);
    expect(counter(w, p.id, 'allocations')).toBe(2);
    expect(drive(p, kvmGmemAllocate(p, 30, 33))).toBe(-EINVAL);
    expect(filemap(w, 30)).toBe(-1);
  });
});

describe('kvm_gmem_bind / unbind', () => {
  it('unbind clears only the slot\'s bindings and its file word', () => {
    const w = world();
    const c = actor(w, 'churn');
    drive(c, kvmGmemUnbind(c, 0));
    for (let i = 0; i < 16; i++) expect(binding(w, i)).toBe(-1);
    for (let i = 16; i < 32; i++) expect(binding(w, i)).toBe(1);
    expect(slotW(w, 0, S_FILE)).toBe(0);
    expect(slotW(w, 1, S_FILE)).toBe(1);
    expect(G(w, G_INV_LOCK)).toBe(0);
  });

  it('unbind does not clear an index bound to another slot', () => {
    const w = world();
    const c = actor(w, 'churn');
    Atomics.store(w.s.i32, w.s.l.bindingBase + 5, 2); // crafted: index 5 -> slot 1
    drive(c, kvmGmemUnbind(c, 0));
    expect(binding(w, 5)).toBe(1);
  });

  it('bind overlapping an existing binding fails with -EINVAL and binds nothing', () => {
    const w = world();
    const c = actor(w, 'churn');
    expect(drive(c, kvmGmemBind(c, 1))).toBe(-EINVAL); // already bound to itself
    drive(c, kvmGmemUnbind(c, 0));
    Atomics.store(w.s.i32, slotWord(w.s.l, 0, S_PGOFF), 10); // [10, 26) overlaps slot 1's [16, 32)
    expect(drive(c, kvmGmemBind(c, 0))).toBe(-EINVAL);
    for (let i = 10; i < 16; i++) expect(binding(w, i)).toBe(-1);
    expect(slotW(w, 0, S_FILE)).toBe(0);
    expect(G(w, G_INV_LOCK)).toBe(0);
    Atomics.store(w.s.i32, slotWord(w.s.l, 0, S_PGOFF), 0);
    expect(drive(c, kvmGmemBind(c, 0))).toBe(0);
    for (let i = 0; i < 16; i++) expect(binding(w, i)).toBe(0);
    expect(slotW(w, 0, S_FILE)).toBe(1);
  });

  it('after unbind, a punch of the unbound range truncates without an invalidation', () => {
    const w = world();
    const c = actor(w, 'churn');
    const p = actor(w, 'puncher');
    drive(p, kvmGmemAllocate(p, 0, 2));
    drive(c, kvmGmemUnbind(c, 0));
    drive(p, kvmGmemPunchHole(p, 0, 2));
    expect(filemap(w, 0)).toBe(-1);
    expect(counter(w, p.id, 'invalidations')).toBe(0);
    expect(G(w, G_SEQ)).toBe(0);
    expect(w.violations).toEqual([]);
  });
});
