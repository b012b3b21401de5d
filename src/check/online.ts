// Invariant checks made at the moment the kernel path does the thing they guard (both engines):
// an SPTE install, a page leaving the page cache, an attribute store, a memslot flush, and a
// writer path returning. Each reports through ctx.report; the engine decides what happens next.
import type { ActorCtx } from '../engine/ctx.js';
import { tlbHolder } from '../kvm/tlb.js';
import {
  A_INSIDE,
  F_ATTR,
  F_SPTE_FLAGS,
  F_SPTE_PFN,
  G_IN_PROGRESS,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  P_GEN,
  P_INDEX,
  P_OWNER,
  P_RMAP,
  P_RMAP_GFN,
  PfnOwner,
  S_BASE_GFN,
  S_FILE,
  S_NPAGES,
  S_STATE,
  SPTE_PRIVATE,
  SlotState,
  gfnWord,
  pfnWord,
  slotWord,
} from '../shm/layout.js';

const OWNER_NAMES = ['free', 'page-cache', 'hva', 'removed'];

/** At SPTE install (under mmu_lock held for read): I1, I2, I8. */
export function checkInstall(
  ctx: ActorCtx,
  slot: number,
  gfn: number,
  pfn: number,
  gen: number,
  isPrivate: boolean,
  index: number,
): void {
  const { i32, l } = ctx.s;
  const owner = Atomics.load(i32, pfnWord(l, pfn, P_OWNER));
  const wantOwner = isPrivate ? PfnOwner.PageCache : PfnOwner.Hva;
  const curGen = Atomics.load(i32, pfnWord(l, pfn, P_GEN));
  if (curGen !== gen || owner !== wantOwner || Atomics.load(i32, pfnWord(l, pfn, P_INDEX)) !== index) {
    ctx.report(
      'I1',
      `gfn ${gfn}: SPTE installed to pfn ${pfn} which is ${curGen !== gen ? 'freed since it was resolved' : OWNER_NAMES[owner]}` +
        ` (expected ${isPrivate ? 'page cache' : 'HVA'} index ${index})`,
    );
  }
  const attrPrivate = (Atomics.load(i32, gfnWord(l, gfn, F_ATTR)) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0;
  if (attrPrivate !== isPrivate) {
    ctx.report('I2', `gfn ${gfn}: ${isPrivate ? 'private' : 'shared'} SPTE installed while the attribute is ${attrPrivate ? 'private' : 'shared'}`);
  }
  const st = Atomics.load(i32, slotWord(l, slot, S_STATE));
  if (st === SlotState.Flushed || st === SlotState.Absent) {
    ctx.report('I8', `gfn ${gfn}: SPTE installed for memslot ${slot} after it was flushed for deletion`);
  } else if (isPrivate && (Atomics.load(i32, slotWord(l, slot, S_FILE)) === 0 || Atomics.load(i32, l.bindingBase + index) !== slot + 1)) {
    ctx.report('I8', `gfn ${gfn}: SPTE installed for gmem index ${index} which is not bound to memslot ${slot}`);
  }
}

/** A page leaves the page cache / HVA (truncate, discard) or is freed: no SPTE may still map it (I1). */
export function checkPfnRemoved(ctx: ActorCtx, pfn: number, why: 'truncated' | 'discarded' | 'freed'): void {
  const { i32, l } = ctx.s;
  const n = Atomics.load(i32, pfnWord(l, pfn, P_RMAP));
  if (n > 0) {
    const gfn = Atomics.load(i32, pfnWord(l, pfn, P_RMAP_GFN));
    ctx.report('I1', `pfn ${pfn} ${why} while an SPTE (gfn ${gfn}) still maps it`);
    return;
  }
  const t = tlbHolder(ctx.s, pfn);
  if (t) ctx.report('I9', `pfn ${pfn} ${why} while actor ${t.actor}'s TLB still translates gfn ${t.gfn} to it (no remote flush reached it)`);
}

/** After an attribute store: an SPTE of the old type must not survive (I2). */
export function checkAttrStore(ctx: ActorCtx, gfn: number): void {
  const { i32, l } = ctx.s;
  if (Atomics.load(i32, gfnWord(l, gfn, F_SPTE_PFN)) === 0) return;
  const sptePrivate = (Atomics.load(i32, gfnWord(l, gfn, F_SPTE_FLAGS)) & SPTE_PRIVATE) !== 0;
  const attrPrivate = (Atomics.load(i32, gfnWord(l, gfn, F_ATTR)) & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0;
  if (sptePrivate !== attrPrivate) {
    ctx.report('I2', `gfn ${gfn}: ${sptePrivate ? 'private' : 'shared'} SPTE survives conversion to ${attrPrivate ? 'private' : 'shared'}`);
  }
}

/** After kvm_arch_flush_shadow_memslot: the slot has no SPTE left (I8). */
export function checkSlotFlushed(ctx: ActorCtx, slot: number): void {
  const { i32, l } = ctx.s;
  const base = i32[slotWord(l, slot, S_BASE_GFN)];
  const n = i32[slotWord(l, slot, S_NPAGES)];
  for (let g = base; g < base + n; g++) {
    if (Atomics.load(i32, gfnWord(l, g, F_SPTE_PFN)) !== 0) {
      ctx.report('I8', `gfn ${g}: SPTE survives the flush of memslot ${slot}`);
      return;
    }
  }
}

/** kvm_mmu_invalidate_end: KVM_BUG_ON(in_progress < 0) (I4). */
export function checkInProgress(ctx: ActorCtx): void {
  const v = Atomics.load(ctx.s.i32, G_IN_PROGRESS);
  if (v < 0) ctx.report('I4', `mmu_invalidate_in_progress went negative (${v}): an invalidation ended that never began`);
}

/** A writer path returns: every invalidation it began it must have ended (I4). */
export function checkBalanced(ctx: ActorCtx, path: string): void {
  const open = Atomics.load(ctx.s.i32, ctx.base + A_INSIDE);
  if (open !== 0) {
    ctx.report('I4', `${path} returned with ${open > 0 ? `${open} invalidation(s) still open` : `${-open} more end(s) than begin(s)`}`);
    Atomics.store(ctx.s.i32, ctx.base + A_INSIDE, 0);
  }
}
