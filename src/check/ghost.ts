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
import { filemapGet, hostPteGet } from '../shm/file.js';
import { attrsInGmemState, hostPteClearsBump } from '../shm/attr.js';
import { kvmMemslotIsGmemOnly, memslotCovering, memslotPieces, slotState } from '../shm/slot.js';
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

/** The guest's views of gfn a gmem page backs: the private one, and the shared one too in a gmem-only memslot (one page behind both). */
const gmemViews = (s: Shm, slot: number) => (kvmMemslotIsGmemOnly(s, slot) ? ZERO_PRIVATE | ZERO_SHARED : ZERO_PRIVATE);

/** A page leaves: the gfns it backed through any memslot (also a deleted one: it is re-created in place) must read zeroes in the views it backed. */
export function ghostPageLeaving(ctx: ActorCtx, pfn: number, why: PageLeave): void {
  const s = ctx.s;
  if (why === 'truncated') {
    ghostFileContentGone(ctx, pfn);
  } else if (why === 'discarded') {
    // a gmem-only memslot's guest never maps its HVA: discarding that page changes nothing it reads
    const p = memslotPieces(s, 'hva', pfnIndex(s, pfn), pfnIndex(s, pfn) + 1, false)[0];
    if (p && !kvmMemslotIsGmemOnly(s, p.slot)) contentChanged(s, p.gfn, ZERO_SHARED);
  }
}

/** The file page pfn lost its content (truncated, or zeroed in place by a partial truncation of its huge folio): the views it backed read zeroes until written. */
export function ghostFileContentGone(ctx: ActorCtx, pfn: number): void {
  const s = ctx.s;
  {
    const index = pfnIndex(s, pfn);
    for (const p of memslotPieces(s, 'index', index, index + 1, false)) {
      contentChanged(s, p.gfn, gmemViews(s, p.slot));
      // On threads the host may have faulted a new folio in between the removal and this event
      // and written it: the gfn then shows that folio, not zeroes. Set, then look: a host PTE
      // installed after the look means the host's stores (and their events) come after the set.
      if (hostPteGet(s, index) >= 0) gfnZeroClear(s, p.gfn, gmemViews(s, p.slot));
    }
  }
}

/** An attribute store: the content the gfn shows may change (the other view's page), except in place: on "next" a gmem-only memslot's two views are one folio, which the conversion keeps (PRESERVE). */
export function ghostAttrStored(ctx: ActorCtx, gfn: number): void {
  if (inPlace(ctx.s, gfn)) return;
  contentChanged(ctx.s, gfn, 0);
}

/** Kernel "next" and a gmem-only memslot: the gfn's private and shared views are one folio, converted in place. */
export function inPlace(s: Shm, gfn: number): boolean {
  if (!attrsInGmemState(s)) return false;
  const slot = memslotCovering(s, gfn);
  return slot >= 0 && kvmMemslotIsGmemOnly(s, slot);
}
export const ghostInvalidateBegan = (ctx: ActorCtx) => ownInsideAdd(ctx.s, ctx.base, 1);
export const ghostInvalidateEnded = (ctx: ActorCtx) => ownInsideAdd(ctx.s, ctx.base, -1);
/** After the balance check of a returning writer: start its next operation from a clean count. */
export const ghostWriterReturned = (ctx: ActorCtx) => setOwnInside(ctx.s, ctx.base, 0);
/** The guest stores to gfn through `view`: the view stops reading zeroes before the tag lands (a reader that sees the tag sees the bit cleared). */
export function ghostGuestWrite(ctx: ActorCtx, gfn: number, view: number): void {
  const slot = memslotCovering(ctx.s, gfn);
  gfnZeroClear(ctx.s, gfn, slot >= 0 && kvmMemslotIsGmemOnly(ctx.s, slot) ? ZERO_PRIVATE | ZERO_SHARED : view);
}

/** kvm_gmem_populate writes launch data into gfn's gmem page: its content changes (DATA), and its gmem views stop reading zeroes (I7), as after a store through them. */
export function ghostLaunchDataWritten(ctx: ActorCtx, gfn: number): void {
  const slot = memslotCovering(ctx.s, gfn);
  contentChanged(ctx.s, gfn, 0);
  if (slot >= 0) gfnZeroClear(ctx.s, gfn, gmemViews(ctx.s, slot));
}

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

/** The host stores through its mapping: the guest's views of the gfns the page backs change legitimately (and stop reading zeroes). */
export function ghostHostAccess(ctx: ActorCtx, index: number, _pfn: number, write: boolean): void {
  if (!write) return;
  for (const p of memslotPieces(ctx.s, 'index', index, index + 1, false)) {
    gfnEpochBump(ctx.s, p.gfn);
    gfnZeroClear(ctx.s, p.gfn, ZERO_PRIVATE | ZERO_SHARED);
  }
}

/** kernel "next": a host PTE at `index` was removed (I23 tells a PTE a conversion never unmapped from a new one). */
export function ghostHostPteRemoved(ctx: ActorCtx, index: number): void {
  if (attrsInGmemState(ctx.s)) hostPteClearsBump(ctx.s, index);
}

/** A device stores through its pin: as a host store, if the page is still the file's at that index (a truncated page backs nothing). */
export function ghostDmaAccess(ctx: ActorCtx, index: number, pfn: number, write: boolean): void {
  if (write && index < ctx.s.l.filePages && filemapGet(ctx.s, index) === pfn) ghostHostAccess(ctx, index, pfn, write);
}
