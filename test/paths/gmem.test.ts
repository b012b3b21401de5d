import { describe, it, expect } from 'vitest';
import { P } from '../../src/engine/points.js';
import { EFAULT, EINVAL, EIO, ENOMEM } from '../../src/errno.js';
import { kvmGmemAllocate, kvmGmemBind, kvmGmemGetPfn, kvmGmemPunchHole, kvmGmemUnbind } from '../../src/gmem/guest_memfd.js';
import { kvmMmuPageFault, newFault, RET_PF_FIXED, RET_PF_RETRY, RET_PF_SPURIOUS } from '../../src/kvm/mmu.js';
import { pagePut } from '../../src/mm/page_alloc.js';
import { ONE_NODE } from '../helpers.js';
import { PF_LOCKED, PF_UPTODATE, PfnOwner, ZERO_PRIVATE } from '../../src/shm/layout.js';
import { Ctr, actorInside } from '../../src/shm/actor.js';
import { bindingOf, filemapGet, setBinding } from '../../src/shm/file.js';
import { gfnZero, sptePfn } from '../../src/shm/gfn.js';
import { LOCK_WORDS, mmuInvalidateInProgress, mmuInvalidateRangeEnd, mmuInvalidateRangeStart, mmuInvalidateSeq } from '../../src/shm/kvm.js';
import { freeStackPeek } from '../../src/shm/node.js';
import { pfnContent, pfnFlags, pfnGen, pfnOwner, pfnRef, pfnRmap, setPfnContent } from '../../src/shm/pfn.js';
import { setSlotFile, setSlotPgoff, slotFile } from '../../src/shm/slot.js';
import { rwCanRead, rwCanWrite } from '../../src/sync/locks.js';
import { drive, stepUntil, world, type World } from '../helpers.js';
import { CROSSED, actor, counter, fault, names, setAttr, trace, nodeFree } from './util.js';

/** the lock's word is 0: no reader, no writer, no writer pending */
const lockFree = (w: World, word: number) => rwCanRead(w.s.i32, word) && rwCanWrite(w.s.i32, word);
const range = (w: World) => [mmuInvalidateRangeStart(w.s), mmuInvalidateRangeEnd(w.s)];

/** the page-state bits of P_FLAGS (PF_UPTODATE | PF_LOCKED); the rest are PF_FILE and the allocating actor */
const PAGE_STATE = 3;

const POOL = ONE_NODE.pfnPool;

/** Private faults on `gfns` (attribute set first); returns the folios. */
function mapPrivate(w: World, gfns: number[]): number[] {
  const v = actor(w, 'vcpu0');
  return gfns.map((g) => {
    setAttr(w, g, true);
    expect(fault(v, g, true).r).toBe(RET_PF_FIXED);
    return sptePfn(w.s, g);
  });
}

describe('kvm_gmem_get_pfn', () => {
  it('-EFAULT when the slot has no file', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    setSlotFile(w.s, 0, 0);
    expect(drive(v, kvmGmemGetPfn(v, 0, 3))).toBe(-EFAULT);
    expect(filemapGet(w.s, 3)).toBe(-1);
    expect(nodeFree(w)).toBe(POOL);
  });

  it('-EIO when the binding at the index belongs to another slot, or to none', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    setBinding(w.s, 3, 1); // index 3 -> slot 1
    expect(drive(v, kvmGmemGetPfn(v, 0, 3))).toBe(-EIO);
    setBinding(w.s, 3, -1); // unbound index
    expect(drive(v, kvmGmemGetPfn(v, 0, 3))).toBe(-EIO);
    expect(filemapGet(w.s, 3)).toBe(-1);
    expect(nodeFree(w)).toBe(POOL);
    // the slot's own binding works
    expect(drive(v, kvmGmemGetPfn(v, 0, 4))).toBeGreaterThanOrEqual(0);
  });

  it('returns the folio with a reference for the caller, unlocked, at index gfn - base + pgoff', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const pfn = drive(v, kvmGmemGetPfn(v, 1, 21)); // slot 1: base 16, pgoff 16
    expect(filemapGet(w.s, 21)).toBe(pfn);
    expect(pfnRef(w.s, pfn)).toBe(2);
    expect(pfnFlags(w.s, pfn) & PF_LOCKED).toBe(0);
    expect(drive(v, kvmGmemGetPfn(v, 1, 21))).toBe(pfn); // same folio, another reference
    expect(pfnRef(w.s, pfn)).toBe(3);
  });

  it('two faults allocating the same index: the loser frees its page and uses the winner\'s folio', () => {
    const w = world();
    const a = actor(w, 'vcpu0');
    const b = actor(w, 'vcpu1');
    setAttr(w, 6, true);
    const fa = newFault();
    const ga = kvmMmuPageFault(a, fa, 6, true);
    const lost = freeStackPeek(w.s, 0); // the pfn a's allocation pops
    stepUntil(a, ga, P['filemap-insert']); // allocated, not yet in the page cache
    expect(nodeFree(w)).toBe(POOL - 1); // exactly that one page was popped
    expect(pfnFlags(w.s, lost) & PAGE_STATE).toBe(PF_LOCKED);
    expect(fault(b, 6, true).r).toBe(RET_PF_FIXED);
    const won = filemapGet(w.s, 6);
    expect(won).not.toBe(lost);
    expect(drive(a, ga)).toBe(RET_PF_SPURIOUS); // b already installed the same SPTE
    expect(fa.pfn).toBe(won);
    expect(pfnOwner(w.s, lost)).toBe(PfnOwner.Free);
    expect(pfnFlags(w.s, lost) & PAGE_STATE).toBe(0);
    expect(pfnGen(w.s, lost)).toBe(1);
    expect(pfnRef(w.s, won)).toBe(1);
    expect(nodeFree(w)).toBe(POOL - 1);
    expect(w.violations).toEqual([]);
  });

  it('zeroes a recycled pfn on first use only (the uptodate gate)', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const p = actor(w, 'puncher');
    const pfn = drive(v, kvmGmemGetPfn(v, 0, 3));
    expect(pfnFlags(w.s, pfn) & PAGE_STATE).toBe(PF_UPTODATE);
    setPfnContent(w.s, pfn, 0xabc); // the guest writes
    pagePut(v, pfn);
    // uptodate: a second lookup must not wipe the data
    expect(drive(v, kvmGmemGetPfn(v, 0, 3))).toBe(pfn);
    expect(pfnContent(w.s, pfn)).toBe(0xabc);
    pagePut(v, pfn);
    // punch frees it; fallocate re-allocates the same pfn (top of the free stack) elsewhere, not zeroed
    drive(p, kvmGmemPunchHole(p, 3, 4));
    expect(pfnOwner(w.s, pfn)).toBe(PfnOwner.Free);
    expect(drive(p, kvmGmemAllocate(p, 5, 6))).toBe(0);
    expect(filemapGet(w.s, 5)).toBe(pfn);
    expect(pfnContent(w.s, pfn)).toBe(0xabc);
    expect(pfnFlags(w.s, pfn) & PF_UPTODATE).toBe(0);
    // first use through KVM zeroes it
    const { value, points } = trace(v, kvmGmemGetPfn(v, 0, 5));
    expect(value).toBe(pfn);
    expect(names(points)).toContain('folio-zero');
    expect(pfnContent(w.s, pfn)).toBe(0);
    expect(pfnFlags(w.s, pfn) & PAGE_STATE).toBe(PF_UPTODATE);
  });
});

describe('kvm_gmem_punch_hole', () => {
  it('zaps before truncating, removes and frees folios, marks the gfns zero, bumps seq', () => {
    const w = world();
    const p = actor(w, 'puncher');
    const [a, b, keep] = mapPrivate(w, [2, 3, 18]);
    const genA = pfnGen(w.s, a);
    let truncates = 0;
    const { value } = trace(p, kvmGmemPunchHole(p, 0, 4), (pt) => {
      if (pt !== P.truncate || truncates++ > 0) return;
      // first truncate: the invalidation is open and the SPTEs are gone, the folios still cached
      expect(mmuInvalidateInProgress(w.s)).toBe(1);
      expect(range(w)).toEqual([0, 4]);
      expect(sptePfn(w.s, 2)).toBe(-1);
      expect(sptePfn(w.s, 3)).toBe(-1);
      expect(filemapGet(w.s, 2)).toBe(a);
      expect(lockFree(w, LOCK_WORDS.mmuLock)).toBe(true);
    });
    expect(value).toBe(0);
    expect(truncates).toBe(4);
    expect(filemapGet(w.s, 2)).toBe(-1);
    expect(filemapGet(w.s, 3)).toBe(-1);
    for (const pfn of [a, b]) {
      expect(pfnOwner(w.s, pfn)).toBe(PfnOwner.Free);
      expect(pfnRef(w.s, pfn)).toBe(0);
      expect(pfnRmap(w.s, pfn)).toBe(0);
    }
    expect(pfnGen(w.s, a)).toBe(genA + 1);
    expect(nodeFree(w)).toBe(POOL - 1); // only gfn 18's folio remains allocated
    expect(counter(w, p.id, Ctr.frees)).toBe(2);
    expect(gfnZero(w.s, 2) & ZERO_PRIVATE).toBe(ZERO_PRIVATE);
    expect(gfnZero(w.s, 3) & ZERO_PRIVATE).toBe(ZERO_PRIVATE);
    expect(gfnZero(w.s, 0)).toBe(0); // no folio was there
    // outside the hole
    expect(filemapGet(w.s, 18)).toBe(keep);
    expect(sptePfn(w.s, 18)).toBe(keep);
    expect(gfnZero(w.s, 18)).toBe(0);
    expect(mmuInvalidateSeq(w.s)).toBe(1);
    expect(mmuInvalidateInProgress(w.s)).toBe(0);
    expect(actorInside(w.s, p.id)).toBe(0);
    expect(lockFree(w, LOCK_WORDS.invalidateLock)).toBe(true);
    expect(counter(w, p.id, Ctr.punchHoles)).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('a fault racing the punch repopulates the hole with a fresh zeroed folio, retries, then maps it', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const p = actor(w, 'puncher');
    setAttr(w, 2, true);
    drive(p, kvmGmemAllocate(p, 2, 3));
    const old = filemapGet(w.s, 2);
    setPfnContent(w.s, old, 0x77); // stale data in the old folio
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 2, true);
    stepUntil(v, g, P['folio_lock']); // found the old folio, holds a reference, waits for its lock
    drive(p, kvmGmemPunchHole(p, 0, 4));
    expect(filemapGet(w.s, 2)).toBe(-1);
    expect(pfnOwner(w.s, old)).toBe(PfnOwner.Removed);
    expect(pfnRef(w.s, old)).toBe(1); // only the fault's reference
    const oldGen = pfnGen(w.s, old);
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.retryReason).toBe('lockless'); // seq moved since the snapshot
    const fresh = filemapGet(w.s, 2);
    expect(fresh).toBeGreaterThanOrEqual(0);
    // the old folio was freed by the fault's put; the allocator may hand the same pfn back, but as a new generation
    expect(pfnGen(w.s, old)).toBeGreaterThan(oldGen);
    expect(pfnOwner(w.s, fresh)).toBe(PfnOwner.PageCache);
    expect(pfnContent(w.s, fresh)).toBe(0);
    expect(pfnRef(w.s, fresh)).toBe(1);
    expect(sptePfn(w.s, 2)).toBe(-1);
    expect(fault(v, 2, true).r).toBe(RET_PF_FIXED);
    expect(sptePfn(w.s, 2)).toBe(fresh);
    expect(w.violations).toEqual([]);
  });

  it('maps file indices back to the gfns of the slot bound there', () => {
    const w = world(CROSSED);
    const p = actor(w, 'puncher');
    const [pfn] = mapPrivate(w, [3]); // slot 1 -> index 19
    mapPrivate(w, [19]); // slot 0 -> index 3
    expect(filemapGet(w.s, 19)).toBe(pfn);
    drive(p, kvmGmemPunchHole(p, 19, 20));
    expect(sptePfn(w.s, 3)).toBe(-1);
    expect(gfnZero(w.s, 3)).toBe(ZERO_PRIVATE);
    expect(sptePfn(w.s, 19)).not.toBe(-1); // gfn 19 is backed by index 3, not punched
    expect(gfnZero(w.s, 19)).toBe(0);
    expect(range(w)).toEqual([3, 4]);
    expect(pfnOwner(w.s, pfn)).toBe(PfnOwner.Free);
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
    expect(filemapGet(w.s, 30)).toBe(-1);
    expect(filemapGet(w.s, 31)).toBe(-1);
    expect(pfnOwner(w.s, x)).toBe(PfnOwner.Free);
    expect(pfnOwner(w.s, y)).toBe(PfnOwner.Free);
    expect(range(w)).toEqual([30, 32]); // clipped to the slot
    expect(mmuInvalidateSeq(w.s)).toBe(1);
    // entirely beyond: no invalidation at all
    const { value, points } = trace(p, kvmGmemPunchHole(p, 32, 40));
    expect(value).toBe(0);
    expect(points).not.toContain(P['mmu_lock:write']);
    expect(mmuInvalidateSeq(w.s)).toBe(1);
    expect(counter(w, p.id, Ctr.invalidations)).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('a range covering both bindings opens one invalidation and zaps both slots', () => {
    const w = world();
    const p = actor(w, 'puncher');
    mapPrivate(w, [15, 16]);
    drive(p, kvmGmemPunchHole(p, 14, 18));
    expect(sptePfn(w.s, 15)).toBe(-1);
    expect(sptePfn(w.s, 16)).toBe(-1);
    expect(counter(w, p.id, Ctr.invalidations)).toBe(1);
    expect(range(w)).toEqual([14, 18]);
    expect(w.violations).toEqual([]);
  });
});

describe('kvm_gmem_allocate', () => {
  it('keeps partial success and returns -ENOMEM when the pool runs out', () => {
    const w = world({ ...ONE_NODE, pfnPool: 3 });
    const p = actor(w, 'puncher');
    expect(drive(p, kvmGmemAllocate(p, 0, 5))).toBe(-ENOMEM);
    for (let i = 0; i < 3; i++) {
      const pfn = filemapGet(w.s, i);
      expect(pfn).toBeGreaterThanOrEqual(0);
      expect(pfnRef(w.s, pfn)).toBe(1);
      expect(pfnFlags(w.s, pfn) & PAGE_STATE).toBe(0); // unlocked, not zeroed
      expect(pfnOwner(w.s, pfn)).toBe(PfnOwner.PageCache);
    }
    expect(filemapGet(w.s, 3)).toBe(-1);
    expect(filemapGet(w.s, 4)).toBe(-1);
    expect(counter(w, p.id, Ctr.enomem)).toBe(1);
    expect(counter(w, p.id, Ctr.allocations)).toBe(3);
    expect(lockFree(w, LOCK_WORDS.invalidateLock)).toBe(true);
  });

  it('leaves existing folios alone and rejects a range past the end of the file', () => {
    const w = world();
    const p = actor(w, 'puncher');
    drive(p, kvmGmemAllocate(p, 0, 1));
    const first = filemapGet(w.s, 0);
    expect(drive(p, kvmGmemAllocate(p, 0, 2))).toBe(0);
    expect(filemapGet(w.s, 0)).toBe(first);
    expect(counter(w, p.id, Ctr.allocations)).toBe(2);
    expect(drive(p, kvmGmemAllocate(p, 30, 33))).toBe(-EINVAL);
    expect(filemapGet(w.s, 30)).toBe(-1);
  });
});

describe('kvm_gmem_bind / unbind', () => {
  it('unbind clears only the slot\'s bindings and its file word', () => {
    const w = world();
    const c = actor(w, 'churn');
    drive(c, kvmGmemUnbind(c, 0));
    for (let i = 0; i < 16; i++) expect(bindingOf(w.s, i)).toBe(-1);
    for (let i = 16; i < 32; i++) expect(bindingOf(w.s, i)).toBe(1);
    expect(slotFile(w.s, 0)).toBe(0);
    expect(slotFile(w.s, 1)).toBe(1);
    expect(lockFree(w, LOCK_WORDS.invalidateLock)).toBe(true);
  });

  it('unbind does not clear an index bound to another slot', () => {
    const w = world();
    const c = actor(w, 'churn');
    setBinding(w.s, 5, 1); // crafted: index 5 -> slot 1
    drive(c, kvmGmemUnbind(c, 0));
    expect(bindingOf(w.s, 5)).toBe(1);
  });

  it('bind overlapping an existing binding fails with -EINVAL and binds nothing', () => {
    const w = world();
    const c = actor(w, 'churn');
    expect(drive(c, kvmGmemBind(c, 1))).toBe(-EINVAL); // already bound to itself
    drive(c, kvmGmemUnbind(c, 0));
    setSlotPgoff(w.s, 0, 10); // [10, 26) overlaps slot 1's [16, 32)
    expect(drive(c, kvmGmemBind(c, 0))).toBe(-EINVAL);
    for (let i = 10; i < 16; i++) expect(bindingOf(w.s, i)).toBe(-1);
    expect(slotFile(w.s, 0)).toBe(0);
    expect(lockFree(w, LOCK_WORDS.invalidateLock)).toBe(true);
    setSlotPgoff(w.s, 0, 0);
    expect(drive(c, kvmGmemBind(c, 0))).toBe(0);
    for (let i = 0; i < 16; i++) expect(bindingOf(w.s, i)).toBe(0);
    expect(slotFile(w.s, 0)).toBe(1);
  });

  it('after unbind, a punch of the unbound range truncates without an invalidation', () => {
    const w = world();
    const c = actor(w, 'churn');
    const p = actor(w, 'puncher');
    drive(p, kvmGmemAllocate(p, 0, 2));
    drive(c, kvmGmemUnbind(c, 0));
    drive(p, kvmGmemPunchHole(p, 0, 2));
    expect(filemapGet(w.s, 0)).toBe(-1);
    expect(counter(w, p.id, Ctr.invalidations)).toBe(0);
    expect(mmuInvalidateSeq(w.s)).toBe(0);
    expect(w.violations).toEqual([]);
  });
});
