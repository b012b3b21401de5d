// Shared helpers for the path tests: named actors of the default scenario, a tracing driver, and
// small writer generators that open/close an invalidation. State is read and written through the
// shm accessors (src/shm/*), never by word offset.
import { expect } from 'vitest';
import type { ActorCtx, Gen } from '../../src/engine/ctx.js';
import { fiberOf } from '../../src/engine/fiber.js';
import { POINT_NAMES } from '../../src/engine/points.js';
import { tryProceed } from '../../src/engine/wait.js';
import { kvmMmuPageFault, newFault, type KvmPageFault } from '../../src/kvm/mmu.js';
import { kvmMmuInvalidateBegin, kvmMmuInvalidateEnd, kvmMmuInvalidateRangeAdd } from '../../src/kvm/mmu_invalidate.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../../src/shm/layout.js';
import { actorCounter } from '../../src/shm/actor.js';
import { setGfnAttr } from '../../src/shm/gfn.js';
import { nodeFree as nodeFreeOf } from '../../src/shm/node.js';
import { mmuWriteLock, mmuWriteUnlock } from '../../src/sync/ops.js';
import type { World } from '../helpers.js';
import { ONE_NODE } from '../helpers.js';
import type { Scenario } from '../../src/scenario/types.js';

/** Actor ids of the default scenario (actorDefs order). */
export const ID = { vcpu0: 0, vcpu1: 1, vcpu2: 2, vcpu3: 3, vmm: 4, converter: 5, puncher: 6, churn: 7 } as const;

export function actor(w: World, name: keyof typeof ID): ActorCtx {
  const ctx = w.ctxs[ID[name]];
  // guard against a reordering of actorDefs silently changing what a test exercises
  expect(ctx.name).toBe(name === 'converter' ? 'converter0' : name === 'puncher' ? 'puncher0' : name === 'churn' ? 'slotchurn0' : name);
  return ctx;
}

/** An actor's counter (Ctr.faults, ...). */
export const counter = (w: World, id: number, c: number) => actorCounter(w.s, id, c);

export function setAttr(w: World, gfn: number, isPrivate: boolean): void {
  setGfnAttr(w.s, gfn, isPrivate ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
}

/** Point names a generator yielded, in order. */
export const names = (points: number[]) => points.map((p) => POINT_NAMES[p]);

/**
 * Like helpers.drive, but records every yielded point and calls `at(point)` while the generator is
 * parked there (before the operation the point announces; a blocking wait is still pending).
 */
export function trace<T>(ctx: ActorCtx, g: Gen<T>, at?: (point: number) => void): { value: T; points: number[] } {
  const gen = (ctx.fiber = fiberOf(g));
  const points: number[] = [];
  for (;;) {
    if (!tryProceed(ctx.s, ctx)) throw new Error(`${ctx.name} would block: wait ${ctx.wait!.id} on ${ctx.waitArg}`);
    const r = gen.next();
    if (r.done) return { value: r.value, points };
    points.push(r.value);
    at?.(r.value);
  }
}

/** A complete fault with a fresh KvmPageFault. */
export function fault(ctx: ActorCtx, gfn: number, accessPrivate: boolean | null): { r: number; f: KvmPageFault } {
  const f = newFault();
  const { value } = trace(ctx, kvmMmuPageFault(ctx, f, gfn, accessPrivate));
  return { r: value, f };
}

/** W(mmu), begin, range_add [start, end), unlock: an invalidation left open. */
export function* openInvalidation(ctx: ActorCtx, start: number, end: number): Gen {
  yield* mmuWriteLock(ctx);
  kvmMmuInvalidateBegin(ctx);
  kvmMmuInvalidateRangeAdd(ctx, start, end);
  mmuWriteUnlock(ctx);
}

/** W(mmu), end, unlock. */
export function* closeInvalidation(ctx: ActorCtx): Gen {
  yield* mmuWriteLock(ctx);
  yield* kvmMmuInvalidateEnd(ctx);
  mmuWriteUnlock(ctx);
}

/**
 * The default scenario with the two memslots' gmem offsets and HVA bases crossed, so gfn, file
 * index and HVA index all differ: slot 0 = gfns [16, 32), gmem [0, 16), hva [0, 16);
 * slot 1 = gfns [0, 16), gmem [16, 32), hva [16, 32).
 */
export const CROSSED: Scenario = {
  ...ONE_NODE,
  name: 'crossed',
  slots: [
    { baseGfn: 16, npages: 16, gmemOffset: 0 },
    { baseGfn: 0, npages: 16, gmemOffset: 16 },
  ],
};

/** Free pages on `node`'s free stack (node 0 holds the whole pool without a numa section). */
export const nodeFree = (w: World, node = 0) => nodeFreeOf(w.s, node);
