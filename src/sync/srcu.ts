// SRCU for memslot lookups (kvm->srcu): readers record the epoch they entered in; a grace
// period waits until every reader that entered at or before its start has left.
import type { ActorCtx, Gen } from '../engine/ctx.js';
import { A_SRCU, G_SRCU_EPOCH, actorWord } from '../shm/layout.js';
import type { Shm } from '../shm/state.js';
import { srcuSyncWait } from './ops.js';

// srcu_read_lock(&kvm->srcu)
export function srcuReadLock(ctx: ActorCtx): void {
  const a = ctx.s.i32;
  Atomics.store(a, ctx.base + A_SRCU, Atomics.load(a, G_SRCU_EPOCH));
}

// srcu_read_unlock(&kvm->srcu)
export function srcuReadUnlock(ctx: ActorCtx): void {
  Atomics.store(ctx.s.i32, ctx.base + A_SRCU, 0);
}

// synchronize_srcu(&kvm->srcu)
export function* synchronizeSrcu(ctx: ActorCtx): Gen {
  const target = Atomics.add(ctx.s.i32, G_SRCU_EPOCH, 1);
  yield* srcuSyncWait(ctx, target);
}

/** Can a grace period that started at `target` complete now? */
export function srcuGracePeriodDone(s: Shm, target: number): boolean {
  for (let id = 0; id < s.l.nActors; id++) {
    const e = Atomics.load(s.i32, actorWord(s.l, id, A_SRCU));
    if (e !== 0 && e <= target) return false;
  }
  return true;
}
