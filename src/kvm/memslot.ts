// Memslot delete and create (virt/kvm/kvm_main.c kvm_set_memslot) for guest_memfd slots.
// A slot keeps its base, size and gmem offset while deleted, so re-creating it restores it.
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { orders } from '../alternatives.js';
import { EEXIST, EINVAL } from '../errno.js';
import { kvmGmemBind, kvmGmemUnbind } from '../gmem/guest_memfd.js';
import { LOCK_WORDS, MN_ACTIVE_WORD, mnActiveInvalidateCount } from '../shm/kvm.js';
import { SlotState } from '../shm/layout.js';
import { hugeOn } from '../shm/huge.js';
import { initLpageInfo } from './lpage_info.js';
import { setMemslotAllocated, setSlotState, slotBaseGfn, slotGenerationBump, slotNpages, slotState } from '../shm/slot.js';
import { spinLock, spinUnlock } from '../sync/locks.js';
import { mmuWriteLock, mmuWriteUnlock, slotsLock, slotsUnlock, waitZero } from '../sync/ops.js';
import { synchronizeSrcu } from '../sync/srcu.js';
import { kvmZapGfnRange } from './mmu_invalidate.js';
import { registerPaths } from '../engine/fiber.js';

// kvm_swap_active_memslots: wait out mmu-notifier invalidations, then publish the new state
function* kvmSwapActiveMemslots(ctx: ActorCtx, slot: number, state: number): Gen {
  const s = ctx.s;
  for (;;) {
    if (ctx.bugs.B23) yield P['slot-install']; // B23: no wait, so a notifier's end may see other memslots than its start
    else yield waitZero(ctx, MN_ACTIVE_WORD, P['slot-install']);
    spinLock(s.i32, LOCK_WORDS.mnInvalidateLock);
    if (ctx.bugs.B23 || mnActiveInvalidateCount(s) === 0) {
      setSlotState(s, slot, state);
      slotGenerationBump(s, slot);
      spinUnlock(s.i32, LOCK_WORDS.mnInvalidateLock);
      return;
    }
    spinUnlock(s.i32, LOCK_WORDS.mnInvalidateLock);
  }
}

// kvm_arch_flush_shadow_memslot: zap every SPTE of the slot (no invalidation needed: SRCU ordered it); caller holds mmu_lock for write
function* kvmArchFlushShadowMemslot(ctx: ActorCtx, slot: number): Gen {
  yield P['slot-flush'];
  const base = slotBaseGfn(ctx.s, slot);
  yield kvmZapGfnRange(ctx, base, base + slotNpages(ctx.s, slot));
  setSlotState(ctx.s, slot, SlotState.Flushed);
  ctx.ev.slotFlushed(ctx, slot);
}

// remove the slot from the active set (the second swap), after which no reader can find it
function* kvmRemoveMemslot(ctx: ActorCtx, slot: number): Gen {
  yield kvmSwapActiveMemslots(ctx, slot, SlotState.Absent);
  yield synchronizeSrcu(ctx);
}

const writeLockMmu = (ctx: ActorCtx) => mmuWriteLock(ctx);
function* writeUnlockMmu(ctx: ActorCtx): Gen {
  mmuWriteUnlock(ctx);
}

// After the INVALID copy is published: the flush under the write mmu_lock, the removal, and
// kvm_free_memslot's kvm_gmem_unbind; B22 unbinds (taking invalidate_lock) under mmu_lock,
// before the removal
const DELETE_MEMSLOT = orders<[number]>('kvm_set_memslot(DELETE)', {
  upstream: [writeLockMmu, kvmArchFlushShadowMemslot, writeUnlockMmu, kvmRemoveMemslot, kvmGmemUnbind],
  B22: [writeLockMmu, kvmArchFlushShadowMemslot, kvmGmemUnbind, writeUnlockMmu, kvmRemoveMemslot],
});

// kvm_set_memory_region(DELETE) -> kvm_set_memslot(DELETE)
export function* kvmDeleteMemslot(ctx: ActorCtx, slot: number): Gen<number> {
  yield slotsLock(ctx);
  if (slotState(ctx.s, slot) !== SlotState.Valid) {
    slotsUnlock(ctx);
    return -EINVAL;
  }
  // 1. install the KVM_MEMSLOT_INVALID copy; after the grace period no fault can newly map via the old slot
  yield P['slot-invalidate'];
  yield kvmSwapActiveMemslots(ctx, slot, SlotState.Invalid);
  yield synchronizeSrcu(ctx);
  // 2. flush, 3. remove and unbind
  for (const step of DELETE_MEMSLOT.of(ctx)) yield step(ctx, slot);
  setMemslotAllocated(ctx.s, slot, false); // kvm_free_memslot: the old struct is freed
  count(ctx, Ctr.slotDeletes);
  slotsUnlock(ctx);
  return 0;
}

// kvm_set_memory_region(CREATE) with KVM_MEM_GUEST_MEMFD: bind (fget of the gmem fd: -EBADF once
// it is closed, so a memslot deleted after the close stays deleted), then publish
export function* kvmCreateMemslot(ctx: ActorCtx, slot: number): Gen<number> {
  yield slotsLock(ctx);
  if (slotState(ctx.s, slot) !== SlotState.Absent) {
    slotsUnlock(ctx);
    return -EEXIST;
  }
  setMemslotAllocated(ctx.s, slot, true); // the new struct kvm_memory_slot
  const r = yield kvmGmemBind(ctx, slot);
  if (r === 0) {
    // kvm_arch_prepare_memory_region -> kvm_alloc_memslot_metadata: lpage_info, MIXED from the attributes
    if (hugeOn(ctx.s)) initLpageInfo(ctx.s, slot);
    yield kvmSwapActiveMemslots(ctx, slot, SlotState.Valid);
    yield synchronizeSrcu(ctx);
    count(ctx, Ctr.slotCreates);
  } else {
    setMemslotAllocated(ctx.s, slot, false); // kfree(new): -EBADF once the fd is closed, -EINVAL on a taken range
  }
  slotsUnlock(ctx);
  return r;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmSwapActiveMemslots, kvmArchFlushShadowMemslot, kvmRemoveMemslot, writeUnlockMmu, kvmDeleteMemslot, kvmCreateMemslot });
