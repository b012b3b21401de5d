// The zap walk's yield rule (tdp_mmu_zap_leafs with tdp_mmu_iter_cond_resched at 5b0d0d85422d):
// drop mmu_lock between chunks only for a waiter ("contended", the default) or at every chunk
// ("always", the model before issue 12), flushing a pending zap before yielding and at the end;
// and the standalone mmu-notifier actor (change_prot_numa between the notifiers) with B37.
import { describe, it, expect } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { RET_PF_FIXED } from '../../src/kvm/mmu.js';
import { kvmMmuInvalidateBegin, kvmMmuInvalidateEnd, kvmMmuInvalidateRangeAdd, kvmZapGfnRange } from '../../src/kvm/mmu_invalidate.js';
import { hvaChangeProtection } from '../../src/kvm/mmu_notifier.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { replayScenarioBase } from '../../src/scenario/replay.js';
import { Ctr } from '../../src/shm/actor.js';
import { hvaGet } from '../../src/shm/file.js';
import { sptePfn } from '../../src/shm/gfn.js';
import { mmuInvalidateInProgress, mmuLockWaitersAdd } from '../../src/shm/kvm.js';
import { mmuWriteLock, mmuWriteUnlock } from '../../src/sync/ops.js';
import type { ActorCtx, Gen } from '../../src/engine/ctx.js';
import { BUILTIN_SCENARIOS, drive, world, type World } from '../helpers.js';
import { ONE_NODE } from '../helpers.js';
import { actor, counter, fault, names, setAttr, trace } from './util.js';

/** Map gfns 0-11 (shared, HVA-backed), then zap them in one write section under an invalidation. */
function zapTwelve(w: World, during?: (ctx: ActorCtx) => void): string[] {
  const v = actor(w, 'vcpu0');
  for (let g = 0; g < 12; g++) {
    setAttr(w, g, false);
    expect(fault(v, g, false).r).toBe(RET_PF_FIXED);
  }
  const z = actor(w, 'puncher');
  function* section(): Gen {
    yield* mmuWriteLock(z);
    kvmMmuInvalidateBegin(z);
    kvmMmuInvalidateRangeAdd(z, 0, 12);
    during?.(z);
    yield* kvmZapGfnRange(z, 0, 12);
    mmuWriteUnlock(z);
    yield* mmuWriteLock(z);
    yield* kvmMmuInvalidateEnd(z);
    mmuWriteUnlock(z);
  }
  const pts = names(trace(z, section()).points);
  for (let g = 0; g < 12; g++) expect(sptePfn(w.s, g)).toBe(-1);
  expect(mmuInvalidateInProgress(w.s)).toBe(0);
  return pts;
}

describe('the zap walk yields as the kernel does', () => {
  it('contended (the default): no waiter, no yield, one flush at the end', () => {
    const w = world();
    const pts = zapTwelve(w);
    expect(pts.filter((p) => p === 'zap-resched')).toHaveLength(0);
    expect(counter(w, actor(w, 'puncher').id, Ctr.tlbFlushes)).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('contended, with an actor waiting for mmu_lock: yields between chunks, flushing the pending zap before each yield', () => {
    const w = world();
    const pts = zapTwelve(w, (z) => mmuLockWaitersAdd(z.s, 1));
    expect(pts.filter((p) => p === 'zap-resched')).toHaveLength(2); // 12 gfns, chunks of 4
    expect(counter(w, actor(w, 'puncher').id, Ctr.zapYields)).toBe(2);
    expect(counter(w, actor(w, 'puncher').id, Ctr.tlbFlushes)).toBe(3);
  });

  it('always (zapYield "always", the model before issue 12 and what a recorded scenario without the field replays with): a yield at every chunk', () => {
    const w = world(validateScenario({ ...ONE_NODE, zapYield: 'always' }));
    const pts = zapTwelve(w);
    expect(pts.filter((p) => p === 'zap-resched')).toHaveLength(2);
    expect(replayScenarioBase().zapYield).toBe('always');
  });
});

describe('the standalone mmu-notifier actor (change_prot_numa between the notifiers)', () => {
  it('zaps the range, keeps the pages: the next fault maps the same page again', () => {
    const w = world(BUILTIN_SCENARIOS['numa-balancing']!);
    const v = w.ctxs[0]!;
    setAttr(w, 2, false);
    expect(fault(v, 2, false).r).toBe(RET_PF_FIXED);
    const page = hvaGet(w.s, 2);
    const n = w.ctxs.find((c) => c.kind === 'mmu-notifier')!;
    const pts = names(trace(n, hvaChangeProtection(n, 0, 4)).points);
    expect(pts).toContain('hva-change-prot');
    expect(sptePfn(w.s, 2)).toBe(-1);
    expect(hvaGet(w.s, 2)).toBe(page);
    expect(fault(v, 2, false).r).toBe(RET_PF_FIXED);
    expect(sptePfn(w.s, 2)).toBe(page);
    expect(counter(w, n.id, Ctr.notifierInvalidations)).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('the correct model is quiet on numa-balancing and litmus-numa-balancing; B37 (the count dropped before the end) unbalances the invalidation (I4)', () => {
    for (const name of ['numa-balancing', 'litmus-numa-balancing']) expect(explore(BUILTIN_SCENARIOS[name]!, { seed: 1, schedules: 100, variant: null }).violations).toEqual([]);
    expect(explore(BUILTIN_SCENARIOS['litmus-numa-balancing']!, { seed: 1, schedules: 400, variant: 'B37' }).violations[0]?.invariant).toBe('I4');
  });

  it('an invalidation over every HVA page of both memslots opens and closes one invalidation', () => {
    const w = world(BUILTIN_SCENARIOS['numa-balancing']!);
    const n = w.ctxs.find((c) => c.kind === 'mmu-notifier')!;
    drive(n, hvaChangeProtection(n, 0, 32));
    expect(mmuInvalidateInProgress(w.s)).toBe(0);
  });
});
