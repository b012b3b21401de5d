import { describe, it, expect } from 'vitest';
import type { ActorCtx, Gen } from '../../src/engine/ctx.js';
import { P } from '../../src/engine/points.js';
import {
  kvmMmuInvalidateBegin,
  kvmMmuInvalidateEnd,
  kvmMmuInvalidateRangeAdd,
  kvmMmuUnmapGfnRange,
  kvmZapGfnRange,
  mmuInvalidateRetryGfn,
  mmuInvalidateRetryGfnUnsafe,
  ZAP_CHUNK,
} from '../../src/kvm/mmu_invalidate.js';
import { Ctr, actorInside } from '../../src/shm/actor.js';
import { hvaGet } from '../../src/shm/file.js';
import { sptePfn } from '../../src/shm/gfn.js';
import {
  INVALID_GFN,
  LOCK_WORDS,
  mmuInvalidateInProgress,
  mmuInvalidateRangeEnd,
  mmuInvalidateRangeStart,
  mmuInvalidateSeq,
  setMmuInvalidateRange,
} from '../../src/shm/kvm.js';
import { pfnRmap } from '../../src/shm/pfn.js';
import { rwCanRead, rwCanWrite } from '../../src/sync/locks.js';
import { mmuReadLock, mmuReadUnlock, mmuWriteLock, mmuWriteUnlock } from '../../src/sync/ops.js';
import { ONE_NODE, drive, stepUntil, world } from '../helpers.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { actor, counter, fault, names, trace } from './util.js';

const range = (w: ReturnType<typeof world>) => [mmuInvalidateRangeStart(w.s), mmuInvalidateRangeEnd(w.s)];
/** mmu_lock's word is 0: no reader, no writer, no writer pending */
const mmuLockFree = (w: ReturnType<typeof world>) => rwCanRead(w.s.i32, LOCK_WORDS.mmuLock) && rwCanWrite(w.s.i32, LOCK_WORDS.mmuLock);
/** Take / drop mmu_lock for write outside a generator (begin, range_add and end require it: lockdep_assert_held_write). */
const writeLock = (ctx: ActorCtx) => drive(ctx, mmuWriteLock(ctx));
const writeUnlock = (ctx: ActorCtx) => mmuWriteUnlock(ctx);

describe('kvm_mmu_invalidate_begin / range_add / end', () => {
  it('begin: in_progress++, range reset only on 0 -> 1', () => {
    const w = world();
    const c = actor(w, 'converter');
    const p = actor(w, 'puncher');
    // leftovers of an earlier, ended invalidation
    setMmuInvalidateRange(w.s, 3, 7);
    writeLock(c);
    kvmMmuInvalidateBegin(c);
    expect(mmuInvalidateInProgress(w.s)).toBe(1);
    expect(range(w)).toEqual([INVALID_GFN, INVALID_GFN]);
    expect(actorInside(w.s, c.id)).toBe(1);
    expect(counter(w, c.id, Ctr.invalidations)).toBe(1);
    kvmMmuInvalidateRangeAdd(c, 10, 12);
    expect(range(w)).toEqual([10, 12]);
    writeUnlock(c);
    writeLock(p);
    kvmMmuInvalidateBegin(p); // nested: 1 -> 2 keeps the accumulated range
    writeUnlock(p);
    expect(mmuInvalidateInProgress(w.s)).toBe(2);
    expect(range(w)).toEqual([10, 12]);
    expect(actorInside(w.s, p.id)).toBe(1);
  });

  it('range_add accumulates the min start and max end', () => {
    const w = world();
    const c = actor(w, 'converter');
    writeLock(c);
    kvmMmuInvalidateBegin(c);
    kvmMmuInvalidateRangeAdd(c, 10, 12);
    kvmMmuInvalidateRangeAdd(c, 2, 4);
    expect(range(w)).toEqual([2, 12]);
    kvmMmuInvalidateRangeAdd(c, 5, 20);
    expect(range(w)).toEqual([2, 20]);
    kvmMmuInvalidateRangeAdd(c, 6, 8); // inside: unchanged
    expect(range(w)).toEqual([2, 20]);
    writeUnlock(c);
  });

  it('end: seq++ first, then in_progress--', () => {
    const w = world();
    const c = actor(w, 'converter');
    writeLock(c);
    kvmMmuInvalidateBegin(c);
    kvmMmuInvalidateRangeAdd(c, 0, 4);
    const g = kvmMmuInvalidateEnd(c);
    stepUntil(c, g, P['invalidate-end:in_progress']);
    expect(mmuInvalidateSeq(w.s)).toBe(1);
    expect(mmuInvalidateInProgress(w.s)).toBe(1);
    drive(c, g);
    writeUnlock(c);
    expect(mmuInvalidateSeq(w.s)).toBe(1);
    expect(mmuInvalidateInProgress(w.s)).toBe(0);
    expect(actorInside(w.s, c.id)).toBe(0);
    expect(w.violations).toEqual([]);
  });

  it('B9: end decrements in_progress before bumping seq, same end state', () => {
    const w = world(undefined, 'B9');
    const c = actor(w, 'converter');
    writeLock(c);
    kvmMmuInvalidateBegin(c);
    kvmMmuInvalidateRangeAdd(c, 0, 4);
    const g = kvmMmuInvalidateEnd(c);
    const { points } = trace(c, g, (pt) => {
      if (pt === P['invalidate-end:seq']) {
        expect(mmuInvalidateInProgress(w.s)).toBe(0);
        expect(mmuInvalidateSeq(w.s)).toBe(0);
      }
    });
    writeUnlock(c);
    expect(names(points)).toEqual(['invalidate-end:in_progress', 'invalidate-end:seq']);
    expect(mmuInvalidateSeq(w.s)).toBe(1);
    expect(mmuInvalidateInProgress(w.s)).toBe(0);
    expect(actorInside(w.s, c.id)).toBe(0);
  });

  it('an end without a begin drives in_progress negative and is reported (I4)', () => {
    const w = world();
    const c = actor(w, 'converter');
    writeLock(c);
    drive(c, kvmMmuInvalidateEnd(c));
    writeUnlock(c);
    expect(mmuInvalidateInProgress(w.s)).toBe(-1);
    // the kernel WARNs twice: no range was ever added (I5), and in_progress went negative (I4)
    expect(w.violations.map((v) => v.invariant)).toEqual(['I5', 'I4']);
  });

  it('the kernel WARNs become I5: end with no range, range_add outside an invalidation', () => {
    const w = world();
    const c = actor(w, 'converter');
    writeLock(c);
    kvmMmuInvalidateRangeAdd(c, 0, 4);
    writeUnlock(c);
    expect(w.violations.map((v) => v.invariant)).toEqual(['I5']);
    const w2 = world();
    const c2 = actor(w2, 'converter');
    writeLock(c2);
    kvmMmuInvalidateBegin(c2);
    drive(c2, kvmMmuInvalidateEnd(c2));
    writeUnlock(c2);
    expect(w2.violations.map((v) => v.invariant)).toEqual(['I5']);
    expect(mmuInvalidateInProgress(w2.s)).toBe(0);
  });
});

describe('retry checks', () => {
  it('in progress with the range still INVALID: the locked check retries, the lockless one does not', () => {
    const w = world();
    const c = actor(w, 'converter');
    writeLock(c);
    kvmMmuInvalidateBegin(c);
    writeUnlock(c);
    expect(range(w)).toEqual([INVALID_GFN, INVALID_GFN]);
    for (const gfn of [0, 5, 31]) expect(mmuInvalidateRetryGfnUnsafe(w.s, 0, gfn)).toBe(false);
    expect(w.violations).toEqual([]);
    // a fault that reaches the locked check (under mmu_lock for read) then is what the kernel WARNs about: I5
    const v = actor(w, 'vcpu0');
    drive(v, mmuReadLock(v));
    expect(mmuInvalidateRetryGfn(v, 0, 3)).toBe(true);
    expect(w.violations.map((x) => [x.invariant, x.actor])).toEqual([['I5', v.id]]);
    // the locked check retries whatever the gfn; it now always takes the faulting vCPU, which gets the WARN each time
    for (const gfn of [0, 5, 31]) expect(mmuInvalidateRetryGfn(v, 0, gfn)).toBe(true);
    mmuReadUnlock(v);
    expect(w.violations.map((x) => [x.invariant, x.actor])).toEqual(Array.from({ length: 4 }, () => ['I5', v.id]));
  });

  it('range membership is [start, end) and a moved seq always retries', () => {
    const w = world();
    const c = actor(w, 'converter');
    const v = actor(w, 'vcpu0');
    writeLock(c);
    kvmMmuInvalidateBegin(c);
    kvmMmuInvalidateRangeAdd(c, 4, 8);
    writeUnlock(c);
    // the locked check as a fault makes it: the vCPU holding mmu_lock for read
    const locked = (seq: number, gfn: number) => {
      drive(v, mmuReadLock(v));
      const r = mmuInvalidateRetryGfn(v, seq, gfn);
      mmuReadUnlock(v);
      return r;
    };
    const lockless = (seq: number, gfn: number) => mmuInvalidateRetryGfnUnsafe(w.s, seq, gfn);
    for (const check of [locked, lockless]) {
      expect(check(0, 3)).toBe(false);
      expect(check(0, 4)).toBe(true);
      expect(check(0, 7)).toBe(true);
      expect(check(0, 8)).toBe(false);
      expect(check(1, 3)).toBe(true); // snapshot differs from seq (0)
    }
    writeLock(c);
    drive(c, kvmMmuInvalidateEnd(c));
    writeUnlock(c);
    for (const check of [locked, lockless]) {
      expect(check(0, 5)).toBe(true); // seq moved past the snapshot
      expect(check(1, 5)).toBe(false); // range no longer counts once in_progress is 0
    }
  });
});

function* zapUnder(ctx: ActorCtx, start: number, end: number): Gen {
  yield* mmuWriteLock(ctx);
  yield* kvmZapGfnRange(ctx, start, end);
  mmuWriteUnlock(ctx);
}

describe('kvmZapGfnRange', () => {
  it('zaps every SPTE in chunks of ZAP_CHUNK, dropping mmu_lock between chunks (zapYield "always"; "contended" drops it only for a waiter: zap-yield.test.ts)', () => {
    const w = world(validateScenario({ zapYield: 'always' }, ONE_NODE));
    const v = actor(w, 'vcpu0');
    const p = actor(w, 'puncher');
    const n = 10;
    for (let g = 0; g < n; g++) fault(v, g, false);
    fault(v, n, false); // just outside the range
    const pfns = Array.from({ length: n }, (_, g) => hvaGet(w.s, g));
    let reschedSeen = 0;
    const { points } = trace(p, zapUnder(p, 0, n), (pt) => {
      if (pt !== P['zap-resched']) return;
      reschedSeen++;
      expect(mmuLockFree(w)).toBe(true); // lock dropped: a fault could get in
      expect(rwCanRead(w.s.i32, LOCK_WORDS.mmuLock)).toBe(true);
      // chunks before this point are zapped, the rest are not yet
      for (let g = 0; g < n; g++) expect(sptePfn(w.s, g) === -1).toBe(g < reschedSeen * ZAP_CHUNK);
    });
    const chunks = Math.ceil(n / ZAP_CHUNK);
    expect(points.filter((x) => x === P.zap).length).toBe(chunks);
    expect(reschedSeen).toBe(chunks - 1);
    for (let g = 0; g < n; g++) {
      expect(sptePfn(w.s, g)).toBe(-1);
      expect(pfnRmap(w.s, pfns[g])).toBe(0);
    }
    expect(sptePfn(w.s, n)).not.toBe(-1);
    expect(counter(w, p.id, Ctr.zaps)).toBe(n);
    expect(mmuLockFree(w)).toBe(true);
  });

  it('kvm_mmu_unmap_gfn_range adds the range before the first zap', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const p = actor(w, 'puncher');
    fault(v, 12, false);
    writeLock(p);
    kvmMmuInvalidateBegin(p);
    const { points } = trace(p, kvmMmuUnmapGfnRange(p, 12, 14), (pt) => {
      if (pt === P.zap) {
        expect(range(w)).toEqual([12, 14]);
        expect(sptePfn(w.s, 12)).not.toBe(-1);
      }
    });
    expect(names(points)).toEqual(['range-add', 'zap']);
    expect(sptePfn(w.s, 12)).toBe(-1);
    writeUnlock(p);
  });
});
