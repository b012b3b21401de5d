// KVM_SET_MEMORY_ATTRIBUTES (virt/kvm/kvm_main.c kvm_vm_set_mem_attributes): the pre phase
// opens an invalidation and zaps the old type, the store happens inside the window, the post
// phase ends it. All under slots_lock, so the set of memslots is the same in both phases.
import { Ctr, NO_CALL, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { orders } from '../alternatives.js';
import { gfnAttr, setGfnAttr } from '../shm/gfn.js';
import { memAttrOfGfn } from '../shm/attr.js';
import { memslotPieces, type SlotPiece } from '../shm/slot.js';
import type { Shm } from '../shm/state.js';
import { LockClass, lockdepAssertHeld } from '../sync/lockdep.js';
import { slotsLock, slotsUnlock } from '../sync/ops.js';
import { kvmMmuInvalidateEnd, kvmMmuInvalidateRangeAdd, kvmMmuInvalidateRangesBegin, kvmMmuInvalidateRangesEnd, kvmMmuUnmapGfnRange } from './mmu_invalidate.js';
import { hugeOn } from '../shm/huge.js';
import { kvmArchPostSetMemoryAttributes, preSetWidening } from './lpage_info.js';
import { mmuWriteLock, mmuWriteUnlock } from '../sync/ops.js';
import { EINVAL } from '../errno.js';
import { kvmArchHasPrivateMem } from '../gmem/create.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../shm/layout.js';
import type { VmType } from '../scenario/types.js';
import { registerPaths } from '../engine/fiber.js';

// kvm_supported_mem_attributes (x86): PRIVATE only on a VM with private memory
export const kvmSupportedMemAttributes = (vmType: VmType) => (kvmArchHasPrivateMem(vmType) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);

// kvm_mem_is_private (lockless: the VM's xarray, or on "next" guest_memfd's attributes)
export const kvmMemIsPrivate = (s: Shm, gfn: number) => memAttrOfGfn(s, gfn) !== 0;

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

// kvm_pre_set_memory_attributes for one memslot's piece with huge pages on: range_add, x86's
// widening to the head and tail huge pages (kvm_arch_pre_set_memory_attributes; B12 leaves it
// out), then the zap of the old type (only the piece itself: a huge leaf it touches goes whole)
const preSetRangeHuge = (ctx: ActorCtx, start: number, end: number, slot: number): Gen =>
  kvmMmuUnmapGfnRange(ctx, start, end, slot, ctx.bugs.B12 ? undefined : (c) => {
    for (const [a, b] of preSetWidening(c.s, slot, start, end)) kvmMmuInvalidateRangeAdd(c, a, b);
  });

// The pre phase (kvm_handle_gfn_range(kvm_pre_set_memory_attributes): begin, then per memslot
// range_add and zap the old type) and the post phase (invalidate_end), when a memslot is met.
const preSetPhase = (ctx: ActorCtx, ranges: SlotPiece[]): Gen => (ranges.length === 0 ? NO_CALL : hugeOn(ctx.s) ? kvmMmuInvalidateRangesBegin(ctx, ranges, preSetRangeHuge) : kvmMmuInvalidateRangesBegin(ctx, ranges));
function* postSetPhase(ctx: ActorCtx, ranges: SlotPiece[], _start: number, _end: number, attrs: number): Gen {
  if (ranges.length === 0) return;
  // kvm_arch_post_set_memory_attributes runs under slots_lock (it asserts it): the memslots it
  // walks are the ones the pre phase zapped
  lockdepAssertHeld(ctx, LockClass.Slots, false, 'kvm_arch_post_set_memory_attributes');
  if (!hugeOn(ctx.s)) return yield kvmMmuInvalidateRangesEnd(ctx);
  // on_lock = kvm_mmu_invalidate_end, then per memslot the MIXED recompute, in one write section
  // (a fault reads lpage_info under mmu_lock: it sees the flags before or after, never between);
  // B13 leaves the recompute out
  yield mmuWriteLock(ctx);
  yield kvmMmuInvalidateEnd(ctx);
  if (!ctx.bugs.B13) for (const p of ranges) kvmArchPostSetMemoryAttributes(ctx.s, p.slot, p.gfn, p.gfn + p.n, attrs);
  mmuWriteUnlock(ctx);
}
const store = (ctx: ActorCtx, _ranges: SlotPiece[], start: number, end: number, attrs: number) => storeAttributes(ctx, start, end, attrs);

// The store inside the invalidation window (upstream); B11 stores after its end
const SET_MEM_ATTRIBUTES = orders<[SlotPiece[], number, number, number]>('kvm_vm_set_mem_attributes', {
  upstream: [preSetPhase, store, postSetPhase],
  B11: [preSetPhase, postSetPhase, store],
});

// kvm_vm_ioctl_set_mem_attributes -> kvm_vm_set_mem_attributes on gfns [start, end); 0 or -EINVAL
export function* kvmVmSetMemAttributes(ctx: ActorCtx, start: number, end: number, attrs: number): Gen<number> {
  if ((attrs & ~kvmSupportedMemAttributes(ctx.sc.vmType)) !== 0) return -EINVAL;
  yield slotsLock(ctx);
  yield P['attr-read'];
  if (rangeHasAttributes(ctx.s, start, end, attrs)) {
    slotsUnlock(ctx);
    return 0;
  }
  // kvm_handle_gfn_range's walk: the memslots of the active set meeting the range (no memslot: no invalidation)
  const ranges = memslotPieces(ctx.s, 'gfn', start, end, true);
  for (const step of SET_MEM_ATTRIBUTES.of(ctx)) yield step(ctx, ranges, start, end, attrs);
  count(ctx, Ctr.conversions);
  ctx.ev.memAttrsSet(ctx, start, end);
  slotsUnlock(ctx);
  ctx.ev.writerReturned(ctx, 'kvm_vm_set_mem_attributes');
  return 0;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ storeAttributes, postSetPhase, kvmVmSetMemAttributes });
