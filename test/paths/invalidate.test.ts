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
import { A_INSIDE, F_SPTE_PFN, G_IN_PROGRESS, G_MMU_LOCK, G_RANGE_END, G_RANGE_START, G_SEQ, INVALID_GFN, P_RMAP } from '../../src/shm/layout.js';
import { rwCanRead } from '../../src/sync/locks.js';
import { mmuWriteLock, mmuWriteUnlock } from '../../src/sync/ops.js';
import { drive, stepUntil, world } from '../helpers.js';
import { actor, actorW, counter, fault, G, gfnW, hva, names, pfnW, trace } from './util.js';

const range = (w: ReturnType<typeof world>) => [G(w, G_RANGE_START), G(w, G_RANGE_END)];

describe('kvm_mmu_invalidate_begin / range_add / end', () => {
  it('begin: in_progress++, range reset only on 0 -> 1', () => {
    const w = world();
    const c = actor(w, 'converter');
    const p = actor(w, 'puncher');
    // leftovers of an earlier, ended invalidation
    Atomics.store(w.s.i32, G_RANGE_START, 3);
    Atomics.store(w.s.i32, G_RANGE_END, 7);
    kvmMmuInvalidateBegin(c);
    expect(G(w, G_IN_PROGRESS)).toBe(1);
    expect(range(w)).toEqual([INVALID_GFN, INVALID_GFN]);
    expect(actorW(w, c.id, A_INSIDE)).toBe(1);
    expect(counter(w, c.id, 'invalidations')).toBe(1);
    kvmMmuInvalidateRangeAdd(c, 10, 12);
    expect(range(w)).toEqual([10, 12]);
    kvmMmuInvalidateBegin(p); // nested: 1 -> 2 keeps the accumulated range
    expect(G(w, G_IN_PROGRESS)).toBe(2);
    expect(range(w)).toEqual([10, 12]);
    expect(actorW(w, p.id, A_INSIDE)).toBe(1);
  });

  it('range_add accumulates the min start and max end', () => {
    const w = world();
    const c = actor(w, 'converter');
    kvmMmuInvalidateBegin(c);
    kvmMmuInvalidateRangeAdd(c, 10, 12);
    kvmMmuInvalidateRangeAdd(c, 2, 4);
    expect(range(w)).toEqual([2, 12]);
    kvmMmuInvalidateRangeAdd(c, 5, 20);
    expect(range(w)).toEqual([2, 20]);
    kvmMmuInvalidateRangeAdd(c, 6, 8); // inside: unchanged
    expect(range(w)).toEqual([2, 20]);
  });

  it('end: seq++ first, then in_progress--', () => {
    const w = world();
    const c = actor(w, 'converter');
    kvmMmuInvalidateBegin(c);
    kvmMmuInvalidateRangeAdd(c, 0, 4);
    const g = kvmMmuInvalidateEnd(c);
    stepUntil(c, g, P['invalidate-end:in_progress']);
    expect(G(w, G_SEQ)).toBe(1);
    expect(G(w, G_IN_PROGRESS)).toBe(1);
    drive(c, g);
    expect(G(w, G_SEQ)).toBe(1);
    expect(G(w, G_IN_PROGRESS)).toBe(0);
    expect(actorW(w, c.id, A_INSIDE)).toBe(0);
    expect(w.violations).toEqual([]);
  });

  it('B9: end decrements in_progress before bumping seq, same end state', () => {
    const w = world(undefined, 'B9');
    const c = actor(w, 'converter');
    kvmMmuInvalidateBegin(c);
    kvmMmuInvalidateRangeAdd(c, 0, 4);
    const g = kvmMmuInvalidateEnd(c);
    const { points } = trace(c, g, (pt) => {
      if (pt === P['invalidate-end:seq']) {
        expect(G(w, G_IN_PROGRESS)).toBe(0);
        expect(G(w, G_SEQ)).toBe(0);
      }
    });
    expect(names(points)).toEqual(['invalidate-end:in_progress', 'invalidate-end:seq']);
    expect(G(w, G_SEQ)).toBe(1);
    expect(G(w, G_IN_PROGRESS)).toBe(0);
    expect(actorW(w, c.id, A_INSIDE)).toBe(0);
  });

  it('an end without a begin drives in_progress negative and is reported (I4)', () => {
    const w = world();
    const c = actor(w, 'converter');
    drive(c, kvmMmuInvalidateEnd(c));
    expect(G(w, G_IN_PROGRESS)).toBe(-1);
    // the kernel WARNs twice: no range was ever added (I5), and in_progress went negative (I4)
    expect(w.violations.map((v) => v.invariant)).toEqual(['I5', 'I4']);
  });

  it('the kernel WARNs become I5: end with no range, range_add outside an invalidation', () => {
    const w = world();
    const c = actor(w, 'converter');
    kvmMmuInvalidateRangeAdd(c, 0, 4);
    expect(w.violations.map((v) => v.invariant)).toEqual(['I5']);
    const w2 = world();
    const c2 = actor(w2, 'converter');
    kvmMmuInvalidateBegin(c2);
    drive(c2, kvmMmuInvalidateEnd(c2));
    expect(w2.violations.map((v) => v.invariant)).toEqual(['I5']);
    expect(G(w2, G_IN_PROGRESS)).toBe(0);
  });
});

describe('retry checks', () => {
  it('in progress with the range still INVALID: the locked check retries, the lockless one does not', () => {
    const w = world();
    const c = actor(w, 'converter');
    kvmMmuInvalidateBegin(c);
    expect(range(w)).toEqual([INVALID_GFN, INVALID_GFN]);
    for (const gfn of [0, 5, 31]) {
      expect(mmuInvalidateRetryGfn(w.s, 0, gfn)).toBe(true);
      expect(mmuInvalidateRetryGfnUnsafe(w.s, 0, gfn)).toBe(false);
    }
    expect(w.violations).toEqual([]);
    // a fault that reaches the locked check then is what the kernel WARNs about: I5
    const v = actor(w, 'vcpu0');
    expect(mmuInvalidateRetryGfn(w.s, 0, 3, v)).toBe(true);
    expect(w.violations.map((x) => [x.invariant, x.actor])).toEqual([['I5', v.id]]);
  });

  it('range membership is [start, end) and a moved seq always retries', () => {
    const w = world();
    const c = actor(w, 'converter');
    kvmMmuInvalidateBegin(c);
    kvmMmuInvalidateRangeAdd(c, 4, 8);
    for (const check of [mmuInvalidateRetryGfn, mmuInvalidateRetryGfnUnsafe]) {
      expect(check(w.s, 0, 3)).toBe(false);
      expect(check(w.s, 0, 4)).toBe(true);
      expect(check(w.s, 0, 7)).toBe(true);
      expect(check(w.s, 0, 8)).toBe(false);
      expect(check(w.s, 1, 3)).toBe(true); // snapshot differs from seq (0)
    }
    drive(c, kvmMmuInvalidateEnd(c));
    for (const check of [mmuInvalidateRetryGfn, mmuInvalidateRetryGfnUnsafe]) {
      expect(check(w.s, 0, 5)).toBe(true); // seq moved past the snapshot
      expect(check(w.s, 1, 5)).toBe(false); // range no longer counts once in_progress is 0
    }
  });
});

function* zapUnder(ctx: ActorCtx, start: number, end: number): Gen {
  yield* mmuWriteLock(ctx);
  yield* kvmZapGfnRange(ctx, start, end);
  mmuWriteUnlock(ctx);
}

describe('kvmZapGfnRange', () => {
  it('zaps every SPTE in chunks of ZAP_CHUNK, dropping mmu_lock between chunks', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const p = actor(w, 'puncher');
    const n = 10;
    for (let g = 0; g < n; g++) fault(v, g, false);
    fault(v, n, false); // just outside the range
    const pfns = Array.from({ length: n }, (_, g) => hva(w, g));
    let reschedSeen = 0;
    const { points } = trace(p, zapUnder(p, 0, n), (pt) => {
      if (pt !== P['zap-resched']) return;
      reschedSeen++;
      expect(G(w, G_MMU_LOCK)).toBe(0); // lock dropped: a fault could get in
      expect(rwCanRead(w.s.i32, G_MMU_LOCK)).toBe(true);
      // chunks before this point are zapped, the rest are not yet
      for (let g = 0; g < n; g++) expect(gfnW(w, g, F_SPTE_PFN) === 0).toBe(g < reschedSeen * ZAP_CHUNK);
    });
    const chunks = Math.ceil(n / ZAP_CHUNK);
    expect(points.filter((x) => x === P.zap).length).toBe(chunks);
    expect(reschedSeen).toBe(chunks - 1);
    for (let g = 0; g < n; g++) {
      expect(gfnW(w, g, F_SPTE_PFN)).toBe(0);
      expect(pfnW(w, pfns[g], P_RMAP)).toBe(0);
    }
    expect(gfnW(w, n, F_SPTE_PFN)).not.toBe(0);
    expect(counter(w, p.id, 'zaps')).toBe(n);
    expect(G(w, G_MMU_LOCK)).toBe(0);
  });

  it('kvm_mmu_unmap_gfn_range adds the range before the first zap', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const p = actor(w, 'puncher');
    fault(v, 12, false);
    kvmMmuInvalidateBegin(p);
    const { points } = trace(p, kvmMmuUnmapGfnRange(p, 12, 14), (pt) => {
      if (pt === P.zap) {
        expect(range(w)).toEqual([12, 14]);
        expect(gfnW(w, 12, F_SPTE_PFN)).not.toBe(0);
      }
    });
    expect(names(points)).toEqual(['range-add', 'zap']);
    expect(gfnW(w, 12, F_SPTE_PFN)).toBe(0);
  });
});
