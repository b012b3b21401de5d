import { describe, it, expect } from 'vitest';
import { P } from '../../src/engine/points.js';
import { EFAULT, EIO, ENOMEM } from '../../src/errno.js';
import { kvmMmuPageFault, newFault, RET_PF_EMULATE, RET_PF_FIXED, RET_PF_RETRY, RET_PF_SPURIOUS } from '../../src/kvm/mmu.js';
import { ONE_NODE } from '../helpers.js';
import type { Scenario } from '../../src/scenario/types.js';
import {
  A_SRCU,
  F_SPTE_FLAGS,
  F_SPTE_GEN,
  F_SPTE_PFN,
  G_IN_PROGRESS,
  G_MMU_LOCK,
  G_SEQ,
  P_CONTENT,
  P_FLAGS,
  P_GEN,
  P_INDEX,
  P_OWNER,
  P_REF,
  P_RMAP,
  P_RMAP_GFN,
  PF_LOCKED,
  PF_UPTODATE,
  PfnOwner,
  S_FILE,
  S_STATE,
  SPTE_PRIVATE,
  SPTE_WRITABLE,
  SlotState,
  pfnWord,
  slotWord,
} from '../../src/shm/layout.js';
import { drive, stepUntil, world } from '../helpers.js';
import { CROSSED, actor, actorW, closeInvalidation, counter, fault, filemap, G, gfnW, hva, openInvalidation, pfnW, setAttr, nodeFree } from './util.js';

/** the page-state bits of P_FLAGS (PF_UPTODATE | PF_LOCKED); the rest are PF_FILE and the allocating actor */
const PAGE_STATE = 3;

describe('kvmMmuPageFault: resolving and installing', () => {
  it('a private fault on a private gfn maps the page-cache folio at its file index', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const gfn = 20; // slot 1: base 16, pgoff 16 -> index 20
    setAttr(w, gfn, true);
    const { r, f } = fault(v, gfn, true);
    expect(r).toBe(RET_PF_FIXED);
    expect(f.exit.valid).toBe(false);
    const pfn = filemap(w, 20);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(f.pfn).toBe(pfn);
    // SPTE words
    expect(gfnW(w, gfn, F_SPTE_PFN)).toBe(pfn + 1);
    expect(gfnW(w, gfn, F_SPTE_GEN)).toBe(pfnW(w, pfn, P_GEN));
    expect(gfnW(w, gfn, F_SPTE_FLAGS)).toBe(SPTE_PRIVATE | SPTE_WRITABLE);
    // the folio
    expect(pfnW(w, pfn, P_OWNER)).toBe(PfnOwner.PageCache);
    expect(pfnW(w, pfn, P_INDEX)).toBe(20);
    expect(pfnW(w, pfn, P_FLAGS) & PAGE_STATE).toBe(PF_UPTODATE); // zeroed on first use, unlocked
    expect(pfnW(w, pfn, P_RMAP)).toBe(1);
    expect(pfnW(w, pfn, P_RMAP_GFN)).toBe(gfn);
    expect(pfnW(w, pfn, P_REF)).toBe(1); // the page cache's reference only: the SPTE holds none
    // nothing shared was touched
    expect(hva(w, 20)).toBe(-1);
    // bookkeeping
    expect(counter(w, v.id, 'faults')).toBe(1);
    expect(counter(w, v.id, 'installs')).toBe(1);
    expect(actorW(w, v.id, A_SRCU)).toBe(0);
    expect(G(w, G_MMU_LOCK)).toBe(0);
    expect(w.violations).toEqual([]);
  });

  it('a shared fault allocates a zeroed HVA page and maps it non-private', () => {
    const w = world();
    const v = actor(w, 'vcpu1');
    // The allocator hands out the lowest free pfn first: make it look like it held old data.
    const next = w.s.i32[w.s.l.freeStackBase + nodeFree(w) - 1];
    Atomics.store(w.s.i32, pfnWord(w.s.l, next, P_CONTENT), 0x5eed);
    const { r } = fault(v, 5, false);
    expect(r).toBe(RET_PF_FIXED);
    const pfn = hva(w, 5);
    expect(pfn).toBe(next);
    expect(pfnW(w, pfn, P_CONTENT)).toBe(0);
    expect(pfnW(w, pfn, P_OWNER)).toBe(PfnOwner.Hva);
    expect(pfnW(w, pfn, P_INDEX)).toBe(5);
    expect(pfnW(w, pfn, P_REF)).toBe(1); // the page table's reference
    expect(pfnW(w, pfn, P_RMAP)).toBe(1);
    expect(gfnW(w, 5, F_SPTE_PFN)).toBe(pfn + 1);
    expect(gfnW(w, 5, F_SPTE_FLAGS)).toBe(SPTE_WRITABLE);
    expect(filemap(w, 5)).toBe(-1); // guest_memfd untouched
    expect(nodeFree(w)).toBe(ONE_NODE.pfnPool - 1);
    expect(w.violations).toEqual([]);
  });

  it('a repeated fault on a mapped gfn is spurious and does not allocate', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    expect(fault(v, 3, false).r).toBe(RET_PF_FIXED);
    const free = nodeFree(w);
    expect(fault(v, 3, false).r).toBe(RET_PF_SPURIOUS);
    expect(nodeFree(w)).toBe(free);
    expect(counter(w, v.id, 'installs')).toBe(1);
    expect(pfnW(w, hva(w, 3), P_REF)).toBe(1);
    expect(pfnW(w, hva(w, 3), P_RMAP)).toBe(1);
  });

  it('uses the file index (gfn - base + pgoff) and HVA index of the slot, not the gfn', () => {
    const w = world(CROSSED);
    const v = actor(w, 'vcpu0');
    setAttr(w, 3, true); // slot 1: index 19, hva 19
    expect(fault(v, 3, true).r).toBe(RET_PF_FIXED);
    const priv = filemap(w, 19);
    expect(priv).toBeGreaterThanOrEqual(0);
    expect(filemap(w, 3)).toBe(-1);
    expect(gfnW(w, 3, F_SPTE_PFN)).toBe(priv + 1);
    expect(pfnW(w, priv, P_INDEX)).toBe(19);
    expect(fault(v, 20, false).r).toBe(RET_PF_FIXED); // slot 0: hva 4
    const shared = hva(w, 4);
    expect(shared).toBeGreaterThanOrEqual(0);
    expect(hva(w, 20)).toBe(-1);
    expect(gfnW(w, 20, F_SPTE_PFN)).toBe(shared + 1);
    expect(pfnW(w, shared, P_INDEX)).toBe(4);
    expect(w.violations).toEqual([]);
  });

  it('SW_PROTECTED: the access type is the attribute at fault entry', () => {
    const w = world({ ...ONE_NODE, vmType: 'sw_protected' });
    const v = actor(w, 'vcpu0');
    setAttr(w, 9, true);
    const { r, f } = fault(v, 9, null);
    expect(r).toBe(RET_PF_FIXED);
    expect(f.isPrivate).toBe(true);
    expect(gfnW(w, 9, F_SPTE_FLAGS) & SPTE_PRIVATE).toBe(SPTE_PRIVATE);
    expect(fault(v, 10, null).f.isPrivate).toBe(false);
  });
});

describe('kvmMmuPageFault: exits', () => {
  it('private access to a shared gfn exits with KVM_EXIT_MEMORY_FAULT (private flag = the access)', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const free = nodeFree(w);
    const { r, f } = fault(v, 7, true);
    expect(r).toBe(-EFAULT);
    expect(f.exit).toEqual({ valid: true, gpa: 7 * 4096, size: 4096, private: true });
    expect(counter(w, v.id, 'memoryFaultExits')).toBe(1);
    expect(counter(w, v.id, 'retries')).toBe(0);
    expect(gfnW(w, 7, F_SPTE_PFN)).toBe(0);
    expect(nodeFree(w)).toBe(free); // nothing resolved
    expect(actorW(w, v.id, A_SRCU)).toBe(0);
  });

  it('shared access to a private gfn exits with the private flag clear', () => {
    const w = world();
    const v = actor(w, 'vcpu2');
    setAttr(w, 25, true);
    const { r, f } = fault(v, 25, false);
    expect(r).toBe(-EFAULT);
    expect(f.exit).toEqual({ valid: true, gpa: 25 * 4096, size: 4096, private: false });
    expect(counter(w, v.id, 'memoryFaultExits')).toBe(1);
  });

  it('no memslot: private -> memory-fault exit, shared -> emulate (MMIO)', () => {
    // a hole at gfns [16, 24)
    const sc: Scenario = {
      ...ONE_NODE,
      slots: [
        { baseGfn: 0, npages: 16, gmemOffset: 0 },
        { baseGfn: 24, npages: 8, gmemOffset: 16 },
      ],
    };
    const w = world(sc);
    const v = actor(w, 'vcpu0');
    setAttr(w, 18, true);
    const priv = fault(v, 18, true);
    expect(priv.r).toBe(-EFAULT);
    expect(priv.f.slot).toBe(-1);
    expect(priv.f.exit).toEqual({ valid: true, gpa: 18 * 4096, size: 4096, private: true });
    expect(counter(w, v.id, 'memoryFaultExits')).toBe(1);
    expect(counter(w, v.id, 'mmioExits')).toBe(0);

    const shared = fault(v, 19, false);
    expect(shared.r).toBe(RET_PF_EMULATE);
    expect(shared.f.exit.valid).toBe(false);
    expect(counter(w, v.id, 'mmioExits')).toBe(1);
    expect(counter(w, v.id, 'memoryFaultExits')).toBe(1);
    expect(gfnW(w, 19, F_SPTE_PFN)).toBe(0);
  });

  it('private fault on a slot whose gmem file is unbound: -EFAULT with a memory-fault exit', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 4, true);
    Atomics.store(w.s.i32, slotWord(w.s.l, 0, S_FILE), 0);
    const { r, f } = fault(v, 4, true);
    expect(r).toBe(-EFAULT);
    expect(f.exit).toEqual({ valid: true, gpa: 4 * 4096, size: 4096, private: true });
    expect(gfnW(w, 4, F_SPTE_PFN)).toBe(0);
  });

  it('pool exhausted: a private fault exits with -ENOMEM, a shared one fails GUP: -EFAULT without an exit', () => {
    const w = world({ ...ONE_NODE, pfnPool: 1 });
    const v = actor(w, 'vcpu0');
    expect(fault(v, 0, false).r).toBe(RET_PF_FIXED); // takes the only page
    setAttr(w, 1, true);
    const priv = fault(v, 1, true);
    expect(priv.r).toBe(-ENOMEM);
    expect(priv.f.exit).toEqual({ valid: true, gpa: 4096, size: 4096, private: true });
    const shared = fault(v, 2, false);
    expect(shared.r).toBe(-EFAULT); // kvm_handle_error_pfn
    expect(shared.f.exit.valid).toBe(false);
    expect(counter(w, v.id, 'enomem')).toBe(2);
    expect(counter(w, v.id, 'memoryFaultExits')).toBe(1);
    expect(actorW(w, v.id, A_SRCU)).toBe(0);
  });

  it('private fault where the binding belongs to another slot: -EIO with a memory-fault exit', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 4, true);
    Atomics.store(w.s.i32, w.s.l.bindingBase + 4, 2); // index 4 bound to slot 1
    const { r, f } = fault(v, 4, true);
    expect(r).toBe(-EIO);
    expect(f.exit.valid).toBe(true);
    expect(counter(w, v.id, 'memoryFaultExits')).toBe(1);
  });
});

describe('kvmMmuPageFault: retry protocol', () => {
  it('invalidation opened after the pfn was resolved: the second lockless check retries', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    setAttr(w, 6, true);
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 6, true);
    stepUntil(v, g, P['precheck-lockless-2']);
    const pfn = f.pfn;
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(pfnW(w, pfn, P_REF)).toBe(2); // page cache + the fault's reference
    drive(c, openInvalidation(c, 4, 8));
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('lockless');
    expect(counter(w, v.id, 'retryLockless')).toBe(1);
    expect(counter(w, v.id, 'retryStale')).toBe(0);
    expect(gfnW(w, 6, F_SPTE_PFN)).toBe(0);
    expect(pfnW(w, pfn, P_REF)).toBe(1); // the fault dropped its reference
    expect(actorW(w, v.id, A_SRCU)).toBe(0);
  });

  it('invalidation opened after the lockless checks but before mmu_lock: the locked check retries (stale)', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 6, false);
    stepUntil(v, g, P['mmu_lock:read']); // the read lock is requested, not yet held
    drive(c, openInvalidation(c, 6, 7));
    expect(G(w, G_IN_PROGRESS)).toBe(1);
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('stale');
    expect(counter(w, v.id, 'retryStale')).toBe(1);
    expect(counter(w, v.id, 'retryLockless')).toBe(0);
    expect(gfnW(w, 6, F_SPTE_PFN)).toBe(0);
    expect(pfnW(w, f.pfn, P_REF)).toBe(1);
    expect(G(w, G_MMU_LOCK)).toBe(0); // released on the retry path
  });

  it('a writer cannot open an invalidation while the fault holds mmu_lock for read (at stale-check)', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    const g = kvmMmuPageFault(v, newFault(), 6, false);
    stepUntil(v, g, P['stale-check']);
    const wg = openInvalidation(c, 6, 7);
    expect(() => drive(c, wg)).toThrow(/would block/);
    expect(drive(v, g)).toBe(RET_PF_FIXED);
    drive(c, wg); // now it can
    expect(G(w, G_IN_PROGRESS)).toBe(1);
  });

  it('an invalidation that fully ended between snapshot and mmu_lock: seq moved -> stale', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 6, false);
    stepUntil(v, g, P['mmu_lock:read']);
    const seq = G(w, G_SEQ);
    drive(c, openInvalidation(c, 6, 7));
    drive(c, closeInvalidation(c));
    expect(G(w, G_SEQ)).toBe(seq + 1);
    expect(G(w, G_IN_PROGRESS)).toBe(0);
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('stale');
  });

  it('seq moved between snapshot and the first lockless check: retry before any pfn is taken', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 6, false);
    stepUntil(v, g, P['precheck-lockless']);
    // an unrelated range: only the seq bump makes it retry
    drive(c, openInvalidation(c, 20, 22));
    drive(c, closeInvalidation(c));
    const free = nodeFree(w);
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('lockless');
    expect(f.pfn).toBe(-1);
    expect(nodeFree(w)).toBe(free);
    expect(hva(w, 6)).toBe(-1);
  });

  it('an invalidation that ended before the snapshot does not make the fault retry', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    const g = kvmMmuPageFault(v, newFault(), 6, false);
    stepUntil(v, g, P['seq-snapshot']); // yielded before the load
    drive(c, openInvalidation(c, 6, 7));
    drive(c, closeInvalidation(c));
    expect(drive(v, g)).toBe(RET_PF_FIXED);
  });

  it('an open invalidation of another range does not stop a fault whose snapshot is current', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    drive(c, openInvalidation(c, 8, 12));
    expect(fault(v, 12, false).r).toBe(RET_PF_FIXED); // range end is exclusive
    expect(fault(v, 7, false).r).toBe(RET_PF_FIXED);
    const inside = fault(v, 8, false);
    expect(inside.r).toBe(RET_PF_RETRY);
    expect(inside.f.retryReason).toBe('lockless');
  });

  it('a fault on a memslot in state Invalid retries (invalid-slot)', () => {
    const w = world();
    const v = actor(w, 'vcpu3');
    Atomics.store(w.s.i32, slotWord(w.s.l, 1, S_STATE), SlotState.Invalid);
    const free = nodeFree(w);
    const { r, f } = fault(v, 17, false);
    expect(r).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('invalid-slot');
    expect(counter(w, v.id, 'retryInvalidSlot')).toBe(1);
    expect(gfnW(w, 17, F_SPTE_PFN)).toBe(0);
    expect(nodeFree(w)).toBe(free);
    // the other slot is unaffected
    expect(fault(v, 1, false).r).toBe(RET_PF_FIXED);
  });

  it('the fault holds no folio lock and no extra reference after returning', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 2, true);
    fault(v, 2, true);
    const pfn = filemap(w, 2);
    expect(pfnW(w, pfn, P_FLAGS) & PF_LOCKED).toBe(0);
    expect(pfnW(w, pfn, P_REF)).toBe(1);
  });
});
