// Ghost bookkeeping: state the checkers need that the kernel does not keep. Kept current from
// the kernel paths' events, before the checkers judge the same event (and after, for a writer
// returning: the balance check reads the count this resets). Lives in the shared state, so every
// worker thread sees the same ghost.
import type { ActorCtx } from '../engine/ctx.js';
import type { PageLeave } from '../engine/events.js';
import { actorInside, ownInsideAdd, setOwnInside } from '../shm/actor.js';
import { gfnEpochBump, gfnZeroClear, gfnZeroSet } from '../shm/gfn.js';
import { SlotState, ZERO_PRIVATE, ZERO_SHARED } from '../shm/layout.js';
import { pfnIndex, pfnRmapAdd, setPfnRmapGfn } from '../shm/pfn.js';
import { memslotPieces, slotState } from '../shm/slot.js';
import type { Shm } from '../shm/state.js';

/** The SPTE of gfn now maps newPfn instead of oldPfn: the reverse map (how many SPTEs map a pfn, the last gfn). */
export function ghostSpteChanged(ctx: ActorCtx, gfn: number, oldPfn: number, newPfn: number): void {
  const s = ctx.s;
  if (oldPfn >= 0) pfnRmapAdd(s, oldPfn, -1);
  if (newPfn >= 0) {
    pfnRmapAdd(s, newPfn, 1);
    setPfnRmapGfn(s, newPfn, gfn);
  }
}

/** A gfn's content may legitimately change (conversion, truncation, discard); a punched/discarded view must read zeroes until written. */
function contentChanged(s: Shm, gfn: number, zeroView: number): void {
  gfnEpochBump(s, gfn);
  if (zeroView) gfnZeroSet(s, gfn, zeroView);
}

/** The gfns file page `index` backs through any memslot's binding (also a deleted slot's: it is re-created in place). */
export const gfnsOfIndex = (s: Shm, index: number) => memslotPieces(s, 'index', index, index + 1, false).map((p) => p.gfn);

/** The gfn HVA page `hva` backs, or -1. */
export const gfnOfHva = (s: Shm, hva: number) => memslotPieces(s, 'hva', hva, hva + 1, false)[0]?.gfn ?? -1;

export function ghostPageLeaving(ctx: ActorCtx, pfn: number, why: PageLeave): void {
  const s = ctx.s;
  if (why === 'truncated') {
    for (const g of gfnsOfIndex(s, pfnIndex(s, pfn))) contentChanged(s, g, ZERO_PRIVATE);
  } else if (why === 'discarded') {
    const g = gfnOfHva(s, pfnIndex(s, pfn));
    if (g >= 0) contentChanged(s, g, ZERO_SHARED);
  }
}

export const ghostAttrStored = (ctx: ActorCtx, gfn: number) => contentChanged(ctx.s, gfn, 0);
export const ghostInvalidateBegan = (ctx: ActorCtx) => ownInsideAdd(ctx.s, ctx.base, 1);
export const ghostInvalidateEnded = (ctx: ActorCtx) => ownInsideAdd(ctx.s, ctx.base, -1);
/** After the balance check of a returning writer: start its next operation from a clean count. */
export const ghostWriterReturned = (ctx: ActorCtx) => setOwnInside(ctx.s, ctx.base, 0);
/** The guest stores to gfn through `view`: the view stops reading zeroes before the tag lands (a reader that sees the tag sees the bit cleared). */
export const ghostGuestWrite = (ctx: ActorCtx, gfn: number, view: number) => gfnZeroClear(ctx.s, gfn, view);

/**
 * Does a writer at work explain a fault's retry: some actor inside an invalidation it began, or a
 * memslot being deleted? Only retries nothing explains count toward starvation.
 */
export function writerAtWork(s: Shm): boolean {
  for (let id = 0; id < s.l.nActors; id++) if (actorInside(s, id) > 0) return true;
  for (let id = 0; id < s.l.nSlots; id++) {
    const st = slotState(s, id);
    if (st === SlotState.Invalid || st === SlotState.Flushed) return true;
  }
  return false;
}
