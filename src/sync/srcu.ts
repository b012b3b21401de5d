// SRCU for memslot lookups (kvm->srcu): readers record the epoch they entered in; a grace
// period waits until every reader that entered at or before its start has left.
import type { ActorCtx, Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { pollUntil, registerWaitable, WaitId, type Waitable } from '../engine/wait.js';
import { actorSrcuEpoch, setActorSrcuEpoch } from '../shm/actor.js';
import { srcuEpoch, srcuEpochAdvance } from '../shm/kvm.js';
import type { Shm } from '../shm/state.js';
import { LockClass, lockdepReadRecursive, lockdepRelease, lockdepSync } from './lockdep.js';
import { blockOn } from './ops.js';
import { registerPaths } from '../engine/fiber.js';

// srcu_read_lock(&kvm->srcu)
export function srcuReadLock(ctx: ActorCtx): void {
  lockdepReadRecursive(ctx, LockClass.Srcu, P['srcu:read']);
  setActorSrcuEpoch(ctx.s, ctx.base, srcuEpoch(ctx.s));
}

// srcu_read_unlock(&kvm->srcu)
export function srcuReadUnlock(ctx: ActorCtx): void {
  setActorSrcuEpoch(ctx.s, ctx.base, 0);
  lockdepRelease(ctx, LockClass.Srcu);
}

/** Can a grace period that started at `target` complete now? */
export function srcuGracePeriodDone(s: Shm, target: number): boolean {
  for (let id = 0; id < s.l.nActors; id++) {
    const e = actorSrcuEpoch(s, id);
    if (e !== 0 && e <= target) return false;
  }
  return true;
}

/** Waiting out the readers of a grace period (waitArg: the epoch it started at). */
export const SRCU_SYNC: Waitable = registerWaitable({
  id: WaitId.SrcuSync,
  canProceed: (s, ctx) => srcuGracePeriodDone(s, ctx.waitArg),
  proceed: () => {},
  block(s, ctx, stop) {
    pollUntil(s, ctx, stop, 0, false);
    return 0;
  },
  describe: (_s, arg) => `an SRCU grace period (epoch ${arg}) to end: a vCPU is still inside a memslot lookup`,
});

// synchronize_srcu(&kvm->srcu)
export function* synchronizeSrcu(ctx: ActorCtx): Gen {
  lockdepSync(ctx, LockClass.Srcu, P['srcu:sync']);
  const target = srcuEpochAdvance(ctx.s);
  yield blockOn(ctx, SRCU_SYNC, P['srcu:sync'], target);
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ synchronizeSrcu });
