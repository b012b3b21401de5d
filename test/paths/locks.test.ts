import { fiberOf } from '../../src/engine/fiber.js';
import { describe, it, expect } from 'vitest';
import { P } from '../../src/engine/points.js';
import { tryProceed } from '../../src/engine/wait.js';
import { actorSrcuEpoch } from '../../src/shm/actor.js';
import { LOCK_WORDS, setSrcuEpoch, srcuEpoch } from '../../src/shm/kvm.js';
import { PF_LOCKED, PF_UPTODATE } from '../../src/shm/layout.js';
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
import { MMU_LOCK_RWLOCK, SLOTS_LOCK, mmuReadLock, mmuReadUnlock, slotsLock, slotsUnlock } from '../../src/sync/ops.js';
import { SRCU_SYNC, srcuGracePeriodDone, srcuReadLock, srcuReadUnlock, synchronizeSrcu } from '../../src/sync/srcu.js';
import { world } from '../helpers.js';
import { actor } from './util.js';

const fresh = () => new Int32Array(new SharedArrayBuffer(64));
const PENDING = 1 << 29;
/** the rwlock's word is 0: no writer, no writer pending, no reader */
const rwFree = (a: Int32Array, w: number) => rwCanRead(a, w) && rwReaders(a, w) === 0;

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
    const MMU = LOCK_WORDS.mmuLock;
    expect(rwTryWrite(a, MMU)).toBe(true);
    const g = mmuReadLock(v);
    expect(fiberOf(g).next().value).toBe(P['mmu_lock:read']);
    expect(v.wait).toBe(MMU_LOCK_RWLOCK.read);
    expect(v.wait!.canProceed(w.s, v)).toBe(false);
    rwWriteUnlock(a, MMU);
    expect(v.wait!.canProceed(w.s, v)).toBe(true);
    expect(tryProceed(w.s, v)).toBe(true);
    expect(v.wait).toBeNull();
    expect(rwReaders(a, MMU)).toBe(1);
    expect(fiberOf(g).next().done).toBe(true);
    mmuReadUnlock(v);
    expect(rwFree(a, MMU)).toBe(true);
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
    fiberOf(g1).next();
    expect(c.wait!.canProceed(w.s, c)).toBe(true);
    expect(tryProceed(w.s, c)).toBe(true);
    const g2 = slotsLock(p);
    fiberOf(g2).next();
    expect(p.wait).toBe(SLOTS_LOCK.lock);
    expect(p.wait!.canProceed(w.s, p)).toBe(false);
    slotsUnlock(c);
    expect(mutexCanLock(w.s.i32, LOCK_WORDS.slotsLock)).toBe(true); // the word is 0
    expect(p.wait!.canProceed(w.s, p)).toBe(true);
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
    expect(srcuEpoch(w.s)).toBe(1);
    srcuReadLock(v);
    expect(actorSrcuEpoch(w.s, v.id)).toBe(1);
    srcuReadUnlock(v);
    expect(actorSrcuEpoch(w.s, v.id)).toBe(0);
  });

  it('a grace period waits only for readers that entered at or before it', () => {
    const w = world();
    const early = actor(w, 'vcpu0');
    const late = actor(w, 'vcpu1');
    const d = actor(w, 'churn');
    srcuReadLock(early);
    const gp = synchronizeSrcu(d);
    expect(fiberOf(gp).next().value).toBe(P['srcu:sync']);
    expect(d.wait).toBe(SRCU_SYNC);
    const target = d.waitArg;
    expect(srcuEpoch(w.s)).toBe(target + 1);
    expect(d.wait!.canProceed(w.s, d)).toBe(false); // `early` entered at the target epoch
    srcuReadLock(late); // enters after the grace period started
    expect(actorSrcuEpoch(w.s, late.id)).toBe(target + 1);
    expect(d.wait!.canProceed(w.s, d)).toBe(false);
    srcuReadUnlock(early);
    expect(d.wait!.canProceed(w.s, d)).toBe(true); // `late` does not hold it back
    expect(tryProceed(w.s, d)).toBe(true);
    expect(fiberOf(gp).next().done).toBe(true);

    // A second grace period does wait for `late`.
    const gp2 = synchronizeSrcu(d);
    fiberOf(gp2).next();
    expect(d.wait).toBe(SRCU_SYNC);
    expect(d.waitArg).toBe(target + 1);
    expect(d.wait!.canProceed(w.s, d)).toBe(false);
    srcuReadUnlock(late);
    expect(d.wait!.canProceed(w.s, d)).toBe(true);
  });

  it('srcuGracePeriodDone ignores readers newer than the target', () => {
    const w = world();
    const v = actor(w, 'vcpu2');
    setSrcuEpoch(w.s, 5);
    srcuReadLock(v);
    expect(srcuGracePeriodDone(w.s, 4)).toBe(true);
    expect(srcuGracePeriodDone(w.s, 5)).toBe(false);
    expect(srcuGracePeriodDone(w.s, 6)).toBe(false);
    srcuReadUnlock(v);
    expect(srcuGracePeriodDone(w.s, 6)).toBe(true);
  });
});
