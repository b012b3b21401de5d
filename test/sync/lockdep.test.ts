// lockdep for the model: the lock-order graph every run records, the cycles it reports as
// LOCK_ORDER (with both acquisitions) whether or not the run deadlocked, and the lock assertions
// it reports as LOCK_HELD. Proven on ad-hoc programs (runSim over a model of a test's own
// generators), on the injected B22 and B5, and quiet on the correct model.
import { describe, expect, it } from 'vitest';
import { INVARIANT_IDS, type InvariantId } from '../../src/check/invariants.js';
import type { ActorCtx, Gen } from '../../src/engine/ctx.js';
import { opBoundary } from '../../src/engine/ctx.js';
import { programActor, type Model } from '../../src/engine/model.js';
import { P } from '../../src/engine/points.js';
import { LenientScheduler, ReplayScheduler } from '../../src/engine/scheduler.js';
import { runSim } from '../../src/engine/sim.js';
import { runThreads } from '../../src/engine/threads.js';
import { exploreDfs } from '../../src/explore/dfs.js';
import { scheduleSeed } from '../../src/explore/explore.js';
import { kvmMmuInvalidateBegin, kvmMmuInvalidateEnd, kvmMmuInvalidateRangeAdd, kvmZapGfnRange } from '../../src/kvm/mmu_invalidate.js';
import { invLock, invUnlock, mmuWriteLock, mmuWriteUnlock, slotsLock, slotsUnlock } from '../../src/sync/ops.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { modelOf } from '../../src/workload/kinds.js';
import { BUILTIN_SCENARIOS } from '../helpers.js';
import { registerPaths } from '../../src/engine/fiber.js';
import { UPSTREAM_FINDINGS } from '../../src/scenario/builtins.js';

const LITMUS = BUILTIN_SCENARIOS['litmus-lock-order']!;
const without = (...ids: InvariantId[]) => new Set(INVARIANT_IDS.filter((id) => !ids.includes(id)));
/** A model of ad-hoc programs over the litmus scenario's state. */
const adHoc = (...programs: Array<[string, (ctx: ActorCtx) => Gen]>): Model => ({ sc: LITMUS, actors: programs.map(([n, p]) => programActor(n, p)) });

function* takeInvThenMmu(ctx: ActorCtx): Gen {
  yield P.start;
  yield invLock(ctx);
  yield mmuWriteLock(ctx);
  mmuWriteUnlock(ctx);
  invUnlock(ctx);
}
function* takeMmuThenInv(ctx: ActorCtx): Gen {
  yield P.start;
  yield mmuWriteLock(ctx);
  yield invLock(ctx);
  invUnlock(ctx);
  mmuWriteUnlock(ctx);
}

registerPaths({ takeInvThenMmu, takeMmuThenInv }); // named in lockdep's reports

describe('lock order (LOCK_ORDER)', () => {
  it('two programs taking two locks in opposite orders, one after the other: no deadlock, LOCK_ORDER with both acquisitions', () => {
    const model = adHoc(['a', takeInvThenMmu], ['b', takeMmuThenInv]);
    // a runs to its end first, then b: the run cannot deadlock, and without lockdep it does not
    const sequential = [0, 0, 0, 0, 1, 1, 1, 1];
    const quiet = runSim(model, { seed: 1, variant: null, scheduler: new LenientScheduler(sequential), invariants: without('LOCK_ORDER') });
    expect(quiet.violation).toBeNull();
    const r = runSim(model, { seed: 1, variant: null, scheduler: new LenientScheduler(sequential), lockdepStacks: true });
    expect(r.violation?.invariant).toBe('LOCK_ORDER');
    expect(r.violation!.message).toMatch(/circular locking dependency: kvm->mmu_lock -> filemap invalidate_lock -> kvm->mmu_lock/);
    // both acquisitions, each with the functions on the way
    expect(r.violation!.message).toMatch(/b took filemap invalidate_lock while holding kvm->mmu_lock \(stack: takeMmuThenInv > invLock\)/);
    expect(r.violation!.message).toMatch(/a took kvm->mmu_lock while holding filemap invalidate_lock \(stack: takeInvThenMmu > mmuWriteLock\)/);
  });

  it('the same two programs both in the documented order are quiet in every schedule', () => {
    const r = exploreDfs(adHoc(['a', takeInvThenMmu], ['b', takeInvThenMmu]), { seed: 1, variant: null, preemptions: 3, maxSchedules: 10_000 });
    expect(r.violation).toBeNull();
    expect(r.exhausted).toBe(true);
  });

  it('an interleaving that deadlocks is reported as LOCK_ORDER at the second acquire, before the actors block', () => {
    const model = adHoc(['a', takeInvThenMmu], ['b', takeMmuThenInv]);
    // a takes inv, b takes mmu, then each wants the other's
    const interleaved = [0, 0, 1, 1, 0, 1];
    expect(runSim(model, { seed: 1, variant: null, scheduler: new LenientScheduler(interleaved), invariants: without('LOCK_ORDER') }).violation?.invariant).toBe('DEADLOCK');
    const r = runSim(model, { seed: 1, variant: null, scheduler: new LenientScheduler(interleaved) });
    expect(r.violation?.invariant).toBe('LOCK_ORDER');
  });

  it('taking a lock class already held is recursive locking', () => {
    function* twice(ctx: ActorCtx): Gen {
      yield P.start;
      yield slotsLock(ctx);
      yield slotsLock(ctx);
    }
    const r = runSim(adHoc(['a', twice]), { seed: 1, variant: null });
    expect(r.violation?.invariant).toBe('LOCK_ORDER');
    expect(r.violation!.message).toMatch(/possible recursive locking: a takes kvm->slots_lock/);
  });

  it('B22 (unbind under mmu_lock): every non-preemptive schedule of litmus-lock-order is deadlock-free, and lockdep reports LOCK_ORDER in the first', () => {
    const model = modelOf(LITMUS);
    const seed = scheduleSeed(1, 0);
    const noLockdep = exploreDfs(model, { seed, variant: 'B22', preemptions: 0, maxSchedules: 10_000, invariants: without('LOCK_ORDER') });
    expect(noLockdep.violation).toBeNull(); // no schedule of this space deadlocks
    expect(noLockdep.exhausted).toBe(true);
    const r = exploreDfs(model, { seed, variant: 'B22', preemptions: 0, maxSchedules: 10_000 });
    expect(r.violation?.invariant).toBe('LOCK_ORDER');
    expect(r.schedules).toBe(1);
    // the reported run itself, without lockdep, runs to its end
    expect(runSim(model, { seed, variant: 'B22', scheduler: new LenientScheduler(r.decisions!), invariants: without('LOCK_ORDER') }).violation).toBeNull();
    // with preemptions, some schedule does deadlock: lockdep saw it coming in every run that takes both orders
    const c2 = exploreDfs(model, { seed, variant: 'B22', preemptions: 2, maxSchedules: 10_000, invariants: without('LOCK_ORDER') });
    expect(c2.violation?.invariant).toBe('DEADLOCK');
    expect(c2.violation!.message).toMatch(/held by slotchurn0|held by puncher0/); // the locks know their holders
  });

  it('the correct model records an acyclic lock order on every built-in (lockdep quiet)', () => {
    for (const [name, sc] of Object.entries(BUILTIN_SCENARIOS)) {
      if (name in UPSTREAM_FINDINGS) continue; // upstream's own inversion: test/paths/memory-failure.test.ts
      const small = name === 'numa-interleave' ? validateScenario({ gmemPages: 64, slots: [{ baseGfn: 0, npages: 64, gmemOffset: 0 }], vcpus: { ops: 16 }, numa: { ...sc.numa!, nodes: [{ capacity: 80 }, { capacity: 80 }], shared: [{ start: 0, end: 64, policy: { mode: 'interleave', nodes: [0, 1], flags: [] } }] } }, sc) : sc;
      const model = modelOf(small);
      for (let seed = 1; seed <= 30; seed++) {
        const r = runSim(model, { seed, variant: null, invariants: new Set(['LOCK_ORDER', 'LOCK_HELD']) });
        expect(r.violation, `${name} seed ${seed}`).toBeNull();
      }
    }
  });

  it('on worker threads the graph is shared: B22 is reported as LOCK_ORDER (a bounded run)', async () => {
    const sc = validateScenario({ stopWhen: 'ops', puncher: { count: 1, ops: 20, maxPages: 1 }, slotChurn: { count: 1, ops: 20, maxPages: 1 } }, LITMUS);
    const r = await runThreads(modelOf(sc), { seed: 1, variant: 'B22', sweepEveryMs: 0, watchdogMs: 60_000 });
    expect(r.violation?.invariant).toBe('LOCK_ORDER');
    // whichever thread closed the cycle, it reads the other's dependency whole (published after its stack)
    expect(r.violation!.message).toMatch(/puncher0 took kvm->mmu_lock while holding filemap invalidate_lock \(stack: puncherProgram > /);
    expect(r.violation!.message).toMatch(/slotchurn0 took filemap invalidate_lock while holding kvm->mmu_lock \(stack: slotChurnProgram > /);
    const clean = await runThreads(modelOf(sc), { seed: 1, variant: null, sweepEveryMs: 0, watchdogMs: 60_000 });
    expect(clean.violation).toBeNull();
  });
});

describe('lock assertions (LOCK_HELD)', () => {
  const run = (program: (ctx: ActorCtx) => Gen) => runSim(adHoc(['a', program]), { seed: 1, variant: null });

  it('kvm_mmu_invalidate_begin without the write mmu_lock (lockdep_assert_held_write); quiet with it', () => {
    const bare = run(function* (ctx) {
      yield P.start;
      kvmMmuInvalidateBegin(ctx);
    });
    expect(bare.violation?.invariant).toBe('LOCK_HELD');
    expect(bare.violation!.message).toMatch(/kvm_mmu_invalidate_begin: lockdep_assert_held_write\(kvm->mmu_lock\) fails/);
    const held = run(function* (ctx) {
      yield P.start;
      yield mmuWriteLock(ctx);
      kvmMmuInvalidateBegin(ctx);
      kvmMmuInvalidateRangeAdd(ctx, 0, 1);
      yield kvmMmuInvalidateEnd(ctx);
      mmuWriteUnlock(ctx);
    });
    expect(held.violation).toBeNull();
  });

  it('a zap outside any invalidation needs slots_lock (the kernel\'s assert in kvm_unmap_gfn_range)', () => {
    const zapOnly = function* (ctx: ActorCtx): Gen {
      yield mmuWriteLock(ctx);
      yield kvmZapGfnRange(ctx, 0, 1);
      mmuWriteUnlock(ctx);
    };
    const bare = run(function* (ctx) {
      yield P.start;
      yield zapOnly(ctx);
    });
    expect(bare.violation?.invariant).toBe('LOCK_HELD');
    expect(bare.violation!.message).toMatch(/kvm_unmap_gfn_range: lockdep_assert_once/);
    const slots = run(function* (ctx) {
      yield P.start;
      yield slotsLock(ctx); // memslot deletion: SRCU ordered it
      yield zapOnly(ctx);
      slotsUnlock(ctx);
    });
    expect(slots.violation).toBeNull();
  });

  it('a lock still held at an operation boundary, or at the end; an unlock of a lock not held', () => {
    const atBoundary = run(function* (ctx) {
      yield P.start;
      yield slotsLock(ctx);
      yield opBoundary(ctx);
    });
    expect(atBoundary.violation?.invariant).toBe('LOCK_HELD');
    expect(atBoundary.violation!.message).toMatch(/a reached an operation boundary still holding kvm->slots_lock/);
    const atEnd = run(function* (ctx) {
      yield P.start;
      yield slotsLock(ctx);
    });
    expect(atEnd.violation?.invariant).toBe('LOCK_HELD');
    expect(atEnd.violation!.message).toMatch(/a returned still holding kvm->slots_lock/);
    const unbalanced = run(function* (ctx) {
      yield P.start;
      slotsUnlock(ctx);
    });
    expect(unbalanced.violation?.invariant).toBe('LOCK_HELD');
    expect(unbalanced.violation!.message).toMatch(/bad unlock balance/);
  });

  it('B5 (begin after the zap) is caught by the kernel\'s own zap assertion before anything is mapped stale', () => {
    const model = modelOf(BUILTIN_SCENARIOS['litmus-punch']!);
    const r = exploreDfs(model, { seed: scheduleSeed(1, 0), variant: 'B5', preemptions: 0, maxSchedules: 100 });
    expect(r.violation?.invariant).toBe('LOCK_HELD');
    // without lockdep the same bug maps a freed page (I1) in some schedule
    const later = exploreDfs(model, { seed: scheduleSeed(1, 0), variant: 'B5', preemptions: 2, maxSchedules: 10_000, invariants: without('LOCK_HELD') });
    expect(later.violation?.invariant).toBe('I1');
    expect(runSim(model, { seed: scheduleSeed(1, 0), variant: 'B5', scheduler: new ReplayScheduler(later.decisions!), invariants: without('LOCK_HELD') }).traceHash).toBe(later.traceHash);
  });
});
