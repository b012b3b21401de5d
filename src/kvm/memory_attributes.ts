// KVM_SET_MEMORY_ATTRIBUTES (virt/kvm/kvm_main.c kvm_vm_set_mem_attributes): the pre phase
// opens an invalidation and zaps the old type, the store happens inside the window, the post
// phase ends it. All under slots_lock, so the set of memslots is the same in both phases.
import { count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { alternatives } from '../alternatives.js';
import { gfnAttr, setGfnAttr } from '../shm/gfn.js';
import { memslotPieces, type SlotPiece } from '../shm/slot.js';
import type { Shm } from '../shm/state.js';
import { LockClass, lockdepAssertHeld } from '../sync/lockdep.js';
import { slotsLock, slotsUnlock } from '../sync/ops.js';
import { kvmMmuInvalidateRangesBegin, kvmMmuInvalidateRangesEnd, kvmMmuUnmapGfnRange } from './mmu_invalidate.js';

// kvm_mem_is_private (lockless xarray load)
export const kvmMemIsPrivate = (s: Shm, gfn: number) => gfnAttr(s, gfn) !== 0;

// kvm_range_has_memory_attributes
function rangeHasAttributes(s: Shm, start: number, end: number, attrs: number): boolean {
  for (let g = start; g < end; g++) if (gfnAttr(s, g) !== attrs) return false;
  return true;
}

// the xa_store loop: one yield per gfn, so a lockless reader can see a half-stored range
function* storeAttributes(ctx: ActorCtx, start: number, end: number, attrs: number): Gen {
  for (let g = start; g < end; g++) {
    yield P['attr-store'];
    setGfnAttr(ctx.s, g, attrs);
    ctx.ev.attrStored(ctx, g);
  }
}

// kvm_pre_set_memory_attributes -> kvm_arch_pre_set_memory_attributes: range_add, zap the old type
function* kvmPreSetMemoryAttributes(ctx: ActorCtx, start: number, end: number): Gen {
  lockdepAssertHeld(ctx, LockClass.Slots, false, 'kvm_arch_pre_set_memory_attributes');
  yield* kvmMmuUnmapGfnRange(ctx, start, end);
}

// kvm_arch_post_set_memory_attributes (under the write mmu_lock, after invalidate_end)
const kvmPostSetMemoryAttributes = (ctx: ActorCtx) => lockdepAssertHeld(ctx, LockClass.Slots, false, 'kvm_arch_post_set_memory_attributes');

// The invalidation window and the store: the store inside it (upstream), or, B11, after its end.
const setMemAttributesWindow = alternatives('kvm_vm_set_mem_attributes', {
  upstream: function* storeInsideWindow(ctx: ActorCtx, ranges: SlotPiece[], start: number, end: number, attrs: number): Gen {
    if (ranges.length > 0) yield* kvmMmuInvalidateRangesBegin(ctx, ranges, kvmPreSetMemoryAttributes);
    yield* storeAttributes(ctx, start, end, attrs);
    if (ranges.length > 0) yield* kvmMmuInvalidateRangesEnd(ctx, kvmPostSetMemoryAttributes);
  },
  B11: function* storeAfterEnd(ctx: ActorCtx, ranges: SlotPiece[], start: number, end: number, attrs: number): Gen {
    if (ranges.length > 0) yield* kvmMmuInvalidateRangesBegin(ctx, ranges, kvmPreSetMemoryAttributes);
    if (ranges.length > 0) yield* kvmMmuInvalidateRangesEnd(ctx, kvmPostSetMemoryAttributes);
    yield* storeAttributes(ctx, start, end, attrs);
  },
});

// kvm_vm_set_mem_attributes on gfns [start, end); returns 0
export function* kvmVmSetMemAttributes(ctx: ActorCtx, start: number, end: number, attrs: number): Gen<number> {
  yield* slotsLock(ctx);
  yield P['attr-read'];
  if (rangeHasAttributes(ctx.s, start, end, attrs)) {
    slotsUnlock(ctx);
    return 0;
  }
  // kvm_handle_gfn_range's walk: the memslots of the active set meeting the range (no memslot: no invalidation)
  const ranges = memslotPieces(ctx.s, 'gfn', start, end, true);
  yield* setMemAttributesWindow(ctx, ranges, start, end, attrs);
  count(ctx, 'conversions');
  slotsUnlock(ctx);
  ctx.ev.writerReturned(ctx, 'kvm_vm_set_mem_attributes');
  return 0;
}
