// Wires the checkers to the kernel paths' events: for each event, the ghost bookkeeping that must
// be current first, then the enabled invariants that judge it (in registry order, so the first
// report of a step is the same every run), then the ghost bookkeeping that must come after.
import type { ActorCtx } from '../engine/ctx.js';
import { KERNEL_EVENTS, type KernelEventName, type KernelEvents } from '../engine/events.js';
import { ghostDmaAccess, ghostFileContentGone, ghostHostPteRemoved, ghostAttrStored, ghostGuestWrite, ghostLaunchDataWritten, ghostHostAccess, ghostInvalidateBegan, ghostInvalidateEnded, ghostPageLeaving, ghostSpteChanged, ghostWriterReturned } from './ghost.js';
import { ghostLookupBegan, ghostLookupEnded, ghostMbindBegan, ghostMbindReturned } from './policy_ghost.js';
import { INVARIANTS, INVARIANT_IDS, type Invariant, type InvariantId } from './invariants.js';

type AnyHandler = (ctx: ActorCtx, a?: unknown, b?: unknown, c?: unknown, d?: unknown) => void;

const GHOST_BEFORE: Partial<Record<KernelEventName, AnyHandler>> = {
  spteChanged: ghostSpteChanged as AnyHandler,
  pageLeaving: ghostPageLeaving as AnyHandler,
  folioZeroed: ghostFileContentGone as AnyHandler,
  attrStored: ghostAttrStored as AnyHandler,
  invalidateBegan: ghostInvalidateBegan,
  invalidateEnded: ghostInvalidateEnded,
  guestWrite: ghostGuestWrite as AnyHandler,
  hostAccess: ghostHostAccess as AnyHandler,
  dmaAccess: ghostDmaAccess as AnyHandler,
  hostPteRemoved: ghostHostPteRemoved as AnyHandler,
  mbindBegan: ghostMbindBegan as AnyHandler,
  policyLookupBegan: ghostLookupBegan as AnyHandler,
  // launch data replaces what the gfn held (for DATA, as a conversion does)
  launchDataWritten: ghostLaunchDataWritten as AnyHandler,
};
const GHOST_AFTER: Partial<Record<KernelEventName, AnyHandler>> = {
  writerReturned: ghostWriterReturned,
  mbindReturned: ghostMbindReturned as AnyHandler,
  folioAllocated: ghostLookupEnded,
  policyReported: ghostLookupEnded,
};

function dispatcher(handlers: AnyHandler[]): AnyHandler {
  switch (handlers.length) {
    case 0:
      return () => {};
    case 1:
      return handlers[0];
    default:
      return (ctx, a, b, c, d) => {
        for (let i = 0; i < handlers.length; i++) handlers[i](ctx, a, b, c, d);
      };
  }
}

const BUILT = new Map<string, KernelEvents>();

/** The events object for a run checking `enabled` (undefined: every invariant). Shared by every actor of such runs: it holds no state. */
export function checkerEvents(enabled?: ReadonlySet<InvariantId>): KernelEvents {
  const key = enabled ? [...enabled].sort().join(',') : '*';
  let ev = BUILT.get(key);
  if (ev) return ev;
  const out: Partial<Record<KernelEventName, AnyHandler>> = {};
  for (const name of KERNEL_EVENTS) {
    const hs: AnyHandler[] = [];
    if (GHOST_BEFORE[name]) hs.push(GHOST_BEFORE[name]!);
    for (const id of INVARIANT_IDS) {
      if (enabled && !enabled.has(id)) continue;
      const h = (INVARIANTS[id] as Invariant).on?.[name];
      if (h) hs.push(h as AnyHandler);
    }
    if (GHOST_AFTER[name]) hs.push(GHOST_AFTER[name]!);
    out[name] = dispatcher(hs);
  }
  ev = out as unknown as KernelEvents;
  BUILT.set(key, ev);
  return ev;
}
