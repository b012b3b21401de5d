import { describe, it, expect } from 'vitest';
import { P } from '../../src/engine/points.js';
import { EFAULT, EIO, ENOMEM } from '../../src/errno.js';
import { kvmMmuPageFault, newFault, RET_PF_EMULATE, RET_PF_FIXED, RET_PF_RETRY, RET_PF_SPURIOUS } from '../../src/kvm/mmu.js';
import { ONE_NODE } from '../helpers.js';
import type { Scenario } from '../../src/scenario/types.js';
import { PF_LOCKED, PF_UPTODATE, PfnOwner, SPTE_PRIVATE, SPTE_WRITABLE, SlotState } from '../../src/shm/layout.js';
import { Ctr, actorSrcuEpoch } from '../../src/shm/actor.js';
import { setBinding, filemapGet, hvaGet } from '../../src/shm/file.js';
import { spteFlags, spteGen, sptePfn } from '../../src/shm/gfn.js';
import { LOCK_WORDS, mmuInvalidateInProgress, mmuInvalidateSeq } from '../../src/shm/kvm.js';
import { freeStackPeek } from '../../src/shm/node.js';
import { pfnContent, pfnFlags, pfnGen, pfnIndex, pfnOwner, pfnRef, pfnRmap, pfnRmapGfn, setPfnContent } from '../../src/shm/pfn.js';
import { setSlotFile, setSlotState } from '../../src/shm/slot.js';
import { rwCanRead, rwCanWrite } from '../../src/sync/locks.js';
import { drive, stepUntil, world, type World } from '../helpers.js';
import { CROSSED, actor, closeInvalidation, counter, fault, openInvalidation, setAttr, nodeFree } from './util.js';

/** mmu_lock's word is 0: no reader, no writer, no writer pending */
const mmuLockFree = (w: World) => rwCanRead(w.s.i32, LOCK_WORDS.mmuLock) && rwCanWrite(w.s.i32, LOCK_WORDS.mmuLock);

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
    const pfn = filemapGet(w.s, 20);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(f.pfn).toBe(pfn);
    // SPTE words
    expect(sptePfn(w.s, gfn)).toBe(pfn);
    expect(spteGen(w.s, gfn)).toBe(pfnGen(w.s, pfn));
    expect(spteFlags(w.s, gfn)).toBe(SPTE_PRIVATE | SPTE_WRITABLE);
    // the folio
    expect(pfnOwner(w.s, pfn)).toBe(PfnOwner.PageCache);
    expect(pfnIndex(w.s, pfn)).toBe(20);
    expect(pfnFlags(w.s, pfn) & PAGE_STATE).toBe(PF_UPTODATE); // zeroed on first use, unlocked
    expect(pfnRmap(w.s, pfn)).toBe(1);
    expect(pfnRmapGfn(w.s, pfn)).toBe(gfn);
    expect(pfnRef(w.s, pfn)).toBe(1); // the page cache's reference only: the SPTE holds none
    // nothing shared was touched
    expect(hvaGet(w.s, 20)).toBe(-1);
    // bookkeeping
    expect(counter(w, v.id, Ctr.faults)).toBe(1);
    expect(counter(w, v.id, Ctr.installs)).toBe(1);
    expect(actorSrcuEpoch(w.s, v.id)).toBe(0);
    expect(mmuLockFree(w)).toBe(true);
    expect(w.violations).toEqual([]);
  });

  it('a shared fault allocates a zeroed HVA page and maps it non-private', () => {
    const w = world();
    const v = actor(w, 'vcpu1');
    // The allocator hands out the lowest free pfn first: make it look like it held old data.
    const next = freeStackPeek(w.s, 0);
    setPfnContent(w.s, next, 0x5eed);
    const { r } = fault(v, 5, false);
    expect(r).toBe(RET_PF_FIXED);
    const pfn = hvaGet(w.s, 5);
    expect(pfn).toBe(next);
    expect(pfnContent(w.s, pfn)).toBe(0);
    expect(pfnOwner(w.s, pfn)).toBe(PfnOwner.Hva);
    expect(pfnIndex(w.s, pfn)).toBe(5);
    expect(pfnRef(w.s, pfn)).toBe(1); // the page table's reference
    expect(pfnRmap(w.s, pfn)).toBe(1);
    expect(sptePfn(w.s, 5)).toBe(pfn);
    expect(spteFlags(w.s, 5)).toBe(SPTE_WRITABLE);
    expect(filemapGet(w.s, 5)).toBe(-1); // guest_memfd untouched
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
    expect(counter(w, v.id, Ctr.installs)).toBe(1);
    expect(pfnRef(w.s, hvaGet(w.s, 3))).toBe(1);
    expect(pfnRmap(w.s, hvaGet(w.s, 3))).toBe(1);
  });

  it('uses the file index (gfn - base + pgoff) and HVA index of the slot, not the gfn', () => {
    const w = world(CROSSED);
    const v = actor(w, 'vcpu0');
    setAttr(w, 3, true); // slot 1: index 19, hva 19
    expect(fault(v, 3, true).r).toBe(RET_PF_FIXED);
    const priv = filemapGet(w.s, 19);
    expect(priv).toBeGreaterThanOrEqual(0);
    expect(filemapGet(w.s, 3)).toBe(-1);
    expect(sptePfn(w.s, 3)).toBe(priv);
    expect(pfnIndex(w.s, priv)).toBe(19);
    expect(fault(v, 20, false).r).toBe(RET_PF_FIXED); // slot 0: hva 4
    const shared = hvaGet(w.s, 4);
    expect(shared).toBeGreaterThanOrEqual(0);
    expect(hvaGet(w.s, 20)).toBe(-1);
    expect(sptePfn(w.s, 20)).toBe(shared);
    expect(pfnIndex(w.s, shared)).toBe(4);
    expect(w.violations).toEqual([]);
  });

  it('SW_PROTECTED: the access type is the attribute at fault entry', () => {
    const w = world({ ...ONE_NODE, vmType: 'sw_protected' });
    const v = actor(w, 'vcpu0');
    setAttr(w, 9, true);
    const { r, f } = fault(v, 9, null);
    expect(r).toBe(RET_PF_FIXED);
    expect(f.isPrivate).toBe(true);
    expect(spteFlags(w.s, 9) & SPTE_PRIVATE).toBe(SPTE_PRIVATE);
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
    expect(counter(w, v.id, Ctr.memoryFaultExits)).toBe(1);
    expect(counter(w, v.id, Ctr.retries)).toBe(0);
    expect(sptePfn(w.s, 7)).toBe(-1);
    expect(nodeFree(w)).toBe(free); // nothing resolved
    expect(actorSrcuEpoch(w.s, v.id)).toBe(0);
  });

  it('shared access to a private gfn exits with the private flag clear', () => {
    const w = world();
    const v = actor(w, 'vcpu2');
    setAttr(w, 25, true);
    const { r, f } = fault(v, 25, false);
    expect(r).toBe(-EFAULT);
    expect(f.exit).toEqual({ valid: true, gpa: 25 * 4096, size: 4096, private: false });
    expect(counter(w, v.id, Ctr.memoryFaultExits)).toBe(1);
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
    expect(counter(w, v.id, Ctr.memoryFaultExits)).toBe(1);
    expect(counter(w, v.id, Ctr.mmioExits)).toBe(0);

    const shared = fault(v, 19, false);
    expect(shared.r).toBe(RET_PF_EMULATE);
    expect(shared.f.exit.valid).toBe(false);
    expect(counter(w, v.id, Ctr.mmioExits)).toBe(1);
    expect(counter(w, v.id, Ctr.memoryFaultExits)).toBe(1);
    expect(sptePfn(w.s, 19)).toBe(-1);
  });

  it('private fault on a slot whose gmem file is unbound: -EFAULT with a memory-fault exit', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 4, true);
    setSlotFile(w.s, 0, 0);
    const { r, f } = fault(v, 4, true);
    expect(r).toBe(-EFAULT);
    expect(f.exit).toEqual({ valid: true, gpa: 4 * 4096, size: 4096, private: true });
    expect(sptePfn(w.s, 4)).toBe(-1);
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
    expect(counter(w, v.id, Ctr.enomem)).toBe(2);
    expect(counter(w, v.id, Ctr.memoryFaultExits)).toBe(1);
    expect(actorSrcuEpoch(w.s, v.id)).toBe(0);
  });

  it('private fault where the binding belongs to another slot: -EIO with a memory-fault exit', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 4, true);
    setBinding(w.s, 4, 1); // index 4 bound to slot 1
    const { r, f } = fault(v, 4, true);
    expect(r).toBe(-EIO);
    expect(f.exit.valid).toBe(true);
    expect(counter(w, v.id, Ctr.memoryFaultExits)).toBe(1);
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
    expect(pfnRef(w.s, pfn)).toBe(2); // page cache + the fault's reference
    drive(c, openInvalidation(c, 4, 8));
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('lockless');
    expect(counter(w, v.id, Ctr.retryLockless)).toBe(1);
    expect(counter(w, v.id, Ctr.retryStale)).toBe(0);
    expect(sptePfn(w.s, 6)).toBe(-1);
    expect(pfnRef(w.s, pfn)).toBe(1); // the fault dropped its reference
    expect(actorSrcuEpoch(w.s, v.id)).toBe(0);
  });

  it('invalidation opened after the lockless checks but before mmu_lock: the locked check retries (stale)', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 6, false);
    stepUntil(v, g, P['mmu_lock:read']); // the read lock is requested, not yet held
    drive(c, openInvalidation(c, 6, 7));
    expect(mmuInvalidateInProgress(w.s)).toBe(1);
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('stale');
    expect(counter(w, v.id, Ctr.retryStale)).toBe(1);
    expect(counter(w, v.id, Ctr.retryLockless)).toBe(0);
    expect(sptePfn(w.s, 6)).toBe(-1);
    expect(pfnRef(w.s, f.pfn)).toBe(1);
    expect(mmuLockFree(w)).toBe(true); // released on the retry path
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
    expect(mmuInvalidateInProgress(w.s)).toBe(1);
  });

  it('an invalidation that fully ended between snapshot and mmu_lock: seq moved -> stale', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 6, false);
    stepUntil(v, g, P['mmu_lock:read']);
    const seq = mmuInvalidateSeq(w.s);
    drive(c, openInvalidation(c, 6, 7));
    drive(c, closeInvalidation(c));
    expect(mmuInvalidateSeq(w.s)).toBe(seq + 1);
    expect(mmuInvalidateInProgress(w.s)).toBe(0);
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
    expect(hvaGet(w.s, 6)).toBe(-1);
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
    setSlotState(w.s, 1, SlotState.Invalid);
    const free = nodeFree(w);
    const { r, f } = fault(v, 17, false);
    expect(r).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('invalid-slot');
    expect(counter(w, v.id, Ctr.retryInvalidSlot)).toBe(1);
    expect(sptePfn(w.s, 17)).toBe(-1);
    expect(nodeFree(w)).toBe(free);
    // the other slot is unaffected
    expect(fault(v, 1, false).r).toBe(RET_PF_FIXED);
  });

  it('the fault holds no folio lock and no extra reference after returning', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 2, true);
    fault(v, 2, true);
    const pfn = filemapGet(w.s, 2);
    expect(pfnFlags(w.s, pfn) & PF_LOCKED).toBe(0);
    expect(pfnRef(w.s, pfn)).toBe(1);
  });
});
