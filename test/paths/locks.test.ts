import { describe, it, expect } from 'vitest';
import { Wait } from '../../src/engine/ctx.js';
import { P } from '../../src/engine/points.js';
import { canProceed, proceed } from '../../src/engine/wait.js';
import { A_SRCU, G_MMU_LOCK, G_SLOTS_LOCK, G_SRCU_EPOCH, PF_LOCKED, PF_UPTODATE } from '../../src/shm/layout.js';
import {
  bitCanLock,
  bitTryLock,
  bitUnlock,
  mutexCanLock,
  mutexTryLock,
  mutexUnlock,
  rwCanRead,
  rwCanWrite,
  rwReaders,
  rwReadUnlock,
  rwTryRead,
  rwTryWrite,
  rwWriteLock,
  rwWriter,
  rwWriteUnlock,
  StopError,
} from '../../src/sync/locks.js';
import { mmuReadLock, mmuReadUnlock, slotsLock, slotsUnlock } from '../../src/sync/ops.js';
import { srcuGracePeriodDone, srcuReadLock, srcuReadUnlock, synchronizeSrcu } from '../../src/sync/srcu.js';
import { world } from '../helpers.js';
import { actor, actorW, G } from './util.js';

const fresh = () => new Int32Array(new SharedArrayBuffer(64));
const PENDING = 1 << 29;

describe('rwlock (try forms)', () => {
  it('readers share, a writer is excluded while any reader holds it', () => {
    const a = fresh();
    expect(rwTryRead(a, 0)).toBe(true);
    expect(rwTryRead(a, 0)).toBe(true);
    expect(rwReaders(a, 0)).toBe(2);
    expect(rwCanWrite(a, 0)).toBe(false);
    expect(rwTryWrite(a, 0)).toBe(false);
    rwReadUnlock(a, 0);
    expect(rwTryWrite(a, 0)).toBe(false); // one reader left
    rwReadUnlock(a, 0);
    expect(rwReaders(a, 0)).toBe(0);
    expect(rwCanWrite(a, 0)).toBe(true);
    expect(rwTryWrite(a, 0)).toBe(true);
    expect(rwWriter(a, 0)).toBe(true);
  });

  it('a writer excludes readers and other writers until it unlocks', () => {
    const a = fresh();
    expect(rwTryWrite(a, 0)).toBe(true);
    expect(rwCanRead(a, 0)).toBe(false);
    expect(rwTryRead(a, 0)).toBe(false);
    expect(rwCanWrite(a, 0)).toBe(false);
    expect(rwTryWrite(a, 0)).toBe(false);
    rwWriteUnlock(a, 0);
    expect(a[0]).toBe(0);
    expect(rwWriter(a, 0)).toBe(false);
    expect(rwTryRead(a, 0)).toBe(true);
    expect(rwReaders(a, 0)).toBe(1);
  });

  it('a waiting writer sets PENDING, which holds back new readers but not the writer itself', () => {
    const a = fresh();
    expect(rwTryRead(a, 0)).toBe(true);
    // The blocking write lock marks itself pending, then gives up when told to stop.
    expect(() => rwWriteLock(a, 0, () => true)).toThrow(StopError);
    expect(a[0] & PENDING).toBe(PENDING);
    expect(rwReaders(a, 0)).toBe(1);
    expect(rwCanRead(a, 0)).toBe(false);
    expect(rwTryRead(a, 0)).toBe(false); // new readers hold back
    expect(rwTryWrite(a, 0)).toBe(false); // the old reader is still in
    rwReadUnlock(a, 0);
    expect(rwCanWrite(a, 0)).toBe(true); // only PENDING left
    expect(rwTryWrite(a, 0)).toBe(true);
    expect(a[0] & PENDING).toBe(0); // the writer took over the pending slot
    rwWriteUnlock(a, 0);
    expect(a[0]).toBe(0);
    expect(rwTryRead(a, 0)).toBe(true);
  });

  it('write unlock clears a PENDING mark (a writer still waiting re-marks it)', () => {
    const a = fresh();
    expect(rwTryWrite(a, 0)).toBe(true);
    expect(() => rwWriteLock(a, 0, () => true)).toThrow(StopError); // a second writer gives up waiting
    expect(a[0] & PENDING).toBe(PENDING);
    rwWriteUnlock(a, 0);
    expect(a[0]).toBe(0);
    expect(rwCanRead(a, 0)).toBe(true);
  });

  it('the sim engine completes a read-lock wait only once the writer is gone', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const a = w.s.i32;
    expect(rwTryWrite(a, G_MMU_LOCK)).toBe(true);
    const g = mmuReadLock(v);
    expect(g.next().value).toBe(P['mmu_lock:read']);
    expect(v.wait).toBe(Wait.Read);
    expect(canProceed(w.s, v)).toBe(false);
    rwWriteUnlock(a, G_MMU_LOCK);
    expect(canProceed(w.s, v)).toBe(true);
    proceed(w.s, v);
    expect(v.wait).toBe(Wait.None);
    expect(rwReaders(a, G_MMU_LOCK)).toBe(1);
    expect(g.next().done).toBe(true);
    mmuReadUnlock(v);
    expect(G(w, G_MMU_LOCK)).toBe(0);
  });
});

describe('mutex and bit lock', () => {
  it('mutex: one holder at a time', () => {
    const a = fresh();
    expect(mutexCanLock(a, 0)).toBe(true);
    expect(mutexTryLock(a, 0)).toBe(true);
    expect(mutexCanLock(a, 0)).toBe(false);
    expect(mutexTryLock(a, 0)).toBe(false);
    mutexUnlock(a, 0);
    expect(mutexTryLock(a, 0)).toBe(true);
  });

  it('slots_lock as a yield point blocks a second actor until released', () => {
    const w = world();
    const c = actor(w, 'converter');
    const p = actor(w, 'puncher');
    const g1 = slotsLock(c);
    g1.next();
    expect(canProceed(w.s, c)).toBe(true);
    proceed(w.s, c);
    const g2 = slotsLock(p);
    g2.next();
    expect(p.wait).toBe(Wait.Mutex);
    expect(canProceed(w.s, p)).toBe(false);
    slotsUnlock(c);
    expect(G(w, G_SLOTS_LOCK)).toBe(0);
    expect(canProceed(w.s, p)).toBe(true);
  });

  it('bit lock takes and releases only its bit', () => {
    const a = fresh();
    a[0] = PF_UPTODATE;
    expect(bitCanLock(a, 0, PF_LOCKED)).toBe(true);
    expect(bitTryLock(a, 0, PF_LOCKED)).toBe(true);
    expect(a[0]).toBe(PF_UPTODATE | PF_LOCKED);
    expect(bitCanLock(a, 0, PF_LOCKED)).toBe(false);
    expect(bitTryLock(a, 0, PF_LOCKED)).toBe(false);
    expect(a[0]).toBe(PF_UPTODATE | PF_LOCKED);
    bitUnlock(a, 0, PF_LOCKED);
    expect(a[0]).toBe(PF_UPTODATE);
    expect(bitTryLock(a, 0, PF_LOCKED)).toBe(true);
  });
});

describe('SRCU', () => {
  it('a reader records the current epoch and clears it on unlock', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    expect(G(w, G_SRCU_EPOCH)).toBe(1);
    srcuReadLock(v);
    expect(actorW(w, v.id, A_SRCU)).toBe(1);
    srcuReadUnlock(v);
    expect(actorW(w, v.id, A_SRCU)).toBe(0);
  });

  it('a grace period waits only for readers that entered at or before it', () => {
    const w = world();
    const early = actor(w, 'vcpu0');
    const late = actor(w, 'vcpu1');
    const d = actor(w, 'churn');
    srcuReadLock(early);
    const gp = synchronizeSrcu(d);
    expect(gp.next().value).toBe(P['srcu:sync']);
    expect(d.wait).toBe(Wait.SrcuSync);
    const target = d.waitArg;
    expect(G(w, G_SRCU_EPOCH)).toBe(target + 1);
    expect(canProceed(w.s, d)).toBe(false); // `early` entered at the target epoch
    srcuReadLock(late); // enters after the grace period started
    expect(actorW(w, late.id, A_SRCU)).toBe(target + 1);
    expect(canProceed(w.s, d)).toBe(false);
    srcuReadUnlock(early);
    expect(canProceed(w.s, d)).toBe(true); // `late` does not hold it back
    proceed(w.s, d);
    expect(gp.next().done).toBe(true);

    // A second grace period does wait for `late`.
    const gp2 = synchronizeSrcu(d);
    gp2.next();
    expect(d.waitArg).toBe(target + 1);
    expect(canProceed(w.s, d)).toBe(false);
    srcuReadUnlock(late);
    expect(canProceed(w.s, d)).toBe(true);
  });

  it('srcuGracePeriodDone ignores readers newer than the target', () => {
    const w = world();
    const v = actor(w, 'vcpu2');
    Atomics.store(w.s.i32, G_SRCU_EPOCH, 5);
    srcuReadLock(v);
    expect(srcuGracePeriodDone(w.s, 4)).toBe(true);
    expect(srcuGracePeriodDone(w.s, 5)).toBe(false);
    expect(srcuGracePeriodDone(w.s, 6)).toBe(false);
    srcuReadUnlock(v);
    expect(srcuGracePeriodDone(w.s, 6)).toBe(true);
  });
});
