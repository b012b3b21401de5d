// Memslot delete and create (virt/kvm/kvm_main.c kvm_set_memslot) for guest_memfd slots.
// A slot keeps its base, size and gmem offset while deleted, so re-creating it restores it.
import { count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { checkSlotFlushed } from '../check/online.js';
import { EEXIST, EINVAL } from '../errno.js';
import { kvmGmemBind, kvmGmemUnbind } from '../gmem/guest_memfd.js';
import { G_MN_ACTIVE, G_MN_LOCK, S_BASE_GFN, S_GENERATION, S_NPAGES, S_STATE, SlotState, slotWord } from '../shm/layout.js';
import { spinLock, spinUnlock } from '../sync/locks.js';
import { mmuWriteLock, mmuWriteUnlock, slotsLock, slotsUnlock, waitZero } from '../sync/ops.js';
import { synchronizeSrcu } from '../sync/srcu.js';
import { kvmZapGfnRange } from './mmu_invalidate.js';

// kvm_swap_active_memslots: wait out mmu-notifier invalidations, then publish the new state
function* kvmSwapActiveMemslots(ctx: ActorCtx, slot: number, state: number): Gen {
  const a = ctx.s.i32;
  if (ctx.bugs.B23) {
    // B23: publish without waiting, so a notifier's end may see other memslots than its start
    yield P['slot-install'];
    Atomics.store(a, slotWord(ctx.s.l, slot, S_STATE), state);
    Atomics.add(a, slotWord(ctx.s.l, slot, S_GENERATION), 1);
    return;
  }
  for (;;) {
    yield* waitZero(ctx, G_MN_ACTIVE, P['slot-install']);
    spinLock(a, G_MN_LOCK);
    if (Atomics.load(a, G_MN_ACTIVE) === 0) {
      Atomics.store(a, slotWord(ctx.s.l, slot, S_STATE), state);
      Atomics.add(a, slotWord(ctx.s.l, slot, S_GENERATION), 1);
      spinUnlock(a, G_MN_LOCK);
      return;
    }
    spinUnlock(a, G_MN_LOCK);
  }
}

// kvm_set_memory_region(DELETE) -> kvm_set_memslot(DELETE)
export function* kvmDeleteMemslot(ctx: ActorCtx, slot: number): Gen<number> {
  const { i32, l } = ctx.s;
  yield* slotsLock(ctx);
  if (Atomics.load(i32, slotWord(l, slot, S_STATE)) !== SlotState.Valid) {
    slotsUnlock(ctx);
    return -EINVAL;
  }
  // 1. install the KVM_MEMSLOT_INVALID copy; after the grace period no fault can newly map via the old slot
  yield P['slot-invalidate'];
  yield* kvmSwapActiveMemslots(ctx, slot, SlotState.Invalid);
  yield* synchronizeSrcu(ctx);
  // 2. kvm_arch_flush_shadow_memslot: zap every SPTE of the slot (no invalidation needed: SRCU ordered it)
  yield* mmuWriteLock(ctx);
  yield P['slot-flush'];
  const base = i32[slotWord(l, slot, S_BASE_GFN)];
  yield* kvmZapGfnRange(ctx, base, base + i32[slotWord(l, slot, S_NPAGES)]);
  Atomics.store(i32, slotWord(l, slot, S_STATE), SlotState.Flushed);
  checkSlotFlushed(ctx, slot);
  if (ctx.bugs.B22) yield* kvmGmemUnbind(ctx, slot); // B22: invalidate_lock taken under mmu_lock
  mmuWriteUnlock(ctx);
  // 3. remove it from the active set, then kvm_free_memslot -> kvm_gmem_unbind
  yield* kvmSwapActiveMemslots(ctx, slot, SlotState.Absent);
  yield* synchronizeSrcu(ctx);
  if (!ctx.bugs.B22) yield* kvmGmemUnbind(ctx, slot);
  count(ctx, 'slotDeletes');
  slotsUnlock(ctx);
  return 0;
}

// kvm_set_memory_region(CREATE) with KVM_MEM_GUEST_MEMFD: bind, then publish
export function* kvmCreateMemslot(ctx: ActorCtx, slot: number): Gen<number> {
  const { i32, l } = ctx.s;
  yield* slotsLock(ctx);
  if (Atomics.load(i32, slotWord(l, slot, S_STATE)) !== SlotState.Absent) {
    slotsUnlock(ctx);
    return -EEXIST;
  }
  const r = yield* kvmGmemBind(ctx, slot);
  if (r === 0) {
    yield* kvmSwapActiveMemslots(ctx, slot, SlotState.Valid);
    yield* synchronizeSrcu(ctx);
    count(ctx, 'slotCreates');
  }
  slotsUnlock(ctx);
  return r;
}
