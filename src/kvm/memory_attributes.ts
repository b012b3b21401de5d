// KVM_SET_MEMORY_ATTRIBUTES (virt/kvm/kvm_main.c kvm_vm_set_mem_attributes): the pre phase
// opens an invalidation and zaps the old type, the store happens inside the window, the post
// phase ends it. All under slots_lock, so the set of memslots is the same in both phases.
import { count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { checkAttrStore, checkBalanced } from '../check/online.js';
import { ghostContentChanged } from '../gmem/ghost.js';
import { F_ATTR, gfnWord } from '../shm/layout.js';
import { memslotPieces, type Shm } from '../shm/state.js';
import { slotsLock, slotsUnlock } from '../sync/ops.js';
import { kvmMmuInvalidateRangesBegin, kvmMmuInvalidateRangesEnd } from './mmu_invalidate.js';

// kvm_mem_is_private (lockless xarray load)
export const kvmMemIsPrivate = (s: Shm, gfn: number) => Atomics.load(s.i32, gfnWord(s.l, gfn, F_ATTR)) !== 0;

// kvm_range_has_memory_attributes
function rangeHasAttributes(s: Shm, start: number, end: number, attrs: number): boolean {
  for (let g = start; g < end; g++) if (Atomics.load(s.i32, gfnWord(s.l, g, F_ATTR)) !== attrs) return false;
  return true;
}

// the xa_store loop: one yield per gfn, so a lockless reader can see a half-stored range
function* storeAttributes(ctx: ActorCtx, start: number, end: number, attrs: number): Gen {
  for (let g = start; g < end; g++) {
    yield P['attr-store'];
    Atomics.store(ctx.s.i32, gfnWord(ctx.s.l, g, F_ATTR), attrs);
    ghostContentChanged(ctx.s, g, 0);
    checkAttrStore(ctx, g);
  }
}

// kvm_vm_set_mem_attributes on gfns [start, end); returns 0
export function* kvmVmSetMemAttributes(ctx: ActorCtx, start: number, end: number, attrs: number): Gen<number> {
  yield* slotsLock(ctx);
  yield P['attr-read'];
  if (rangeHasAttributes(ctx.s, start, end, attrs)) {
    slotsUnlock(ctx);
    return 0;
  }
  // pre phase: kvm_handle_gfn_range(kvm_pre_set_memory_attributes)
  const ranges = memslotPieces(ctx.s, 'gfn', start, end, true); // kvm_handle_gfn_range's walk
  if (ranges.length > 0) yield* kvmMmuInvalidateRangesBegin(ctx, ranges);
  if (!ctx.bugs.B11) yield* storeAttributes(ctx, start, end, attrs);
  // post phase: kvm_handle_gfn_range(kvm_post_set_memory_attributes) -> invalidate_end
  if (ranges.length > 0) yield* kvmMmuInvalidateRangesEnd(ctx);
  if (ctx.bugs.B11) yield* storeAttributes(ctx, start, end, attrs);
  count(ctx, 'conversions');
  slotsUnlock(ctx);
  checkBalanced(ctx, 'kvm_vm_set_mem_attributes');
  return 0;
}
