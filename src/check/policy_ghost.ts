// Ghost bookkeeping for the shared policy: which policy is in force at each file index, judged from
// the mbind calls themselves (their arguments and their return), never from the tree. An mbind is
// linearizable: an allocation or a get_mempolicy that overlaps one may see the old policy or the
// new, nothing else. So each lookup collects the ids (a bit each) in force at its index at any
// moment from its start to its judgement: the committed one at the start, every mbind in progress
// over the index then or begun since, the committed one at the end. Lives in the shared state
// (actor words and, for files that runtime mbind can change, a word per index).
import type { ActorCtx } from '../engine/ctx.js';
import { setSplLookup, spGhostMask, spGhostMaskCas, splIndex, splMask, splMaskOr, spwBegin, spwEnd, spwEndOp, spwPid, spwSeq, spwStart } from '../shm/sp.js';
import type { Shm } from '../shm/state.js';
import type { Scenario } from '../scenario/types.js';
import { sharedPolicyOf } from '../mm/policy.js';
import type { SharedPolicy } from '../mm/shared_policy.js';

// A file no runtime mbind can change keeps what the scenario's calls set (no word per index).
const STATIC = new WeakMap<Scenario, SharedPolicy<number>>();
function staticTree(sc: Scenario): SharedPolicy<number> {
  let t = STATIC.get(sc);
  if (!t) STATIC.set(sc, (t = sharedPolicyOf(sc)));
  return t;
}

/**
 * The policy ids (a bit each) the completed mbind calls may have left at file index i: one, unless
 * two mbinds over i overlapped in time, which the kernel may have ordered either way.
 */
export function committedMask(s: Shm, sc: Scenario, i: number): number {
  if (s.l.spGhostPages > 0) return spGhostMask(s, i);
  return 1 << (staticTree(sc).lookup(i) ?? 0);
}

/** Bits of the policy ids mbind calls in progress are setting at file index i. */
function pendingMask(s: Shm, i: number, except = -1): number {
  let m = 0;
  for (let a = 0; a < s.l.nActors; a++) {
    if (a === except) continue;
    for (;;) {
      const q = spwSeq(s, a);
      if ((q & 1) === 0) break; // no mbind in progress
      const p = spwPid(s, a);
      const st = spwStart(s, a);
      const en = spwEnd(s, a);
      if (spwSeq(s, a) !== q) continue; // it returned or began another meanwhile: read again
      if (i >= st && i < en) m |= 1 << p;
      break;
    }
  }
  return m;
}

/** The ids in force at index i now: the committed one and those being set. */
// Pending first, then committed: an mbind commits before it stops being pending, so one that
// completes between the two reads is seen as pending or as committed, never as neither.
export function inForceNow(s: Shm, sc: Scenario, i: number): number {
  const pending = pendingMask(s, i);
  return pending | committedMask(s, sc, i);
}

/** mbind is about to set `pid` on [start, end): publish it (range first), then add it to every lookup in progress inside the range. */
export function ghostMbindBegan(ctx: ActorCtx, start: number, end: number, pid: number): void {
  const s = ctx.s;
  spwBegin(s, ctx.id, start, end, pid);
  for (let a = 0; a < s.l.nActors; a++) {
    const i = splIndex(s, a);
    if (i >= start && i < end) splMaskOr(s, a, 1 << pid);
  }
}

/**
 * The mbind returned: a success commits its policy over the range, before it stops being pending
 * (never neither). Its write section and another's over the same index may have come in either
 * order when the two overlapped in time: an mbind still in progress there, or one that committed
 * there while this one was in progress (it left this one's bit in), keeps its policy possible too.
 */
export function ghostMbindReturned(ctx: ActorCtx, err: number): void {
  const s = ctx.s;
  if ((spwSeq(s, ctx.id) & 1) === 0) return;
  const mine = 1 << spwPid(s, ctx.id);
  if (err === 0 && s.l.spGhostPages > 0) {
    // still pending while it commits: a concurrent commit sees it
    for (let i = spwStart(s, ctx.id), e = spwEnd(s, ctx.id); i < e; i++) {
      // a compare-and-swap: another mbind's commit over the same index may run at the same time
      for (;;) {
        const before = spGhostMask(s, i);
        if (spGhostMaskCas(s, i, before, mine | pendingMask(s, i, ctx.id) | (before & mine ? before : 0))) break;
      }
    }
  }
  spwEndOp(s, ctx.id);
}

/** A lookup at file index `index` begins: publish the index, then collect what is in force (or-ed: a concurrent mbind may add its bit meanwhile). */
export function ghostLookupBegan(ctx: ActorCtx, index: number): void {
  const s = ctx.s;
  if (s.l.spGhostPages === 0) return; // nothing changes the tree: policiesInForce reads the scenario's
  setSplLookup(s, ctx.id, index);
  splMaskOr(s, ctx.id, inForceNow(s, ctx.sc, index));
}

/** The policy ids the actor's lookup at `index` may have legitimately used (what was in force since it began, and now). */
export function lookupMask(ctx: ActorCtx, index: number): number {
  const s = ctx.s;
  const mine = splIndex(s, ctx.id) === index ? splMask(s, ctx.id) : 0;
  return mine | inForceNow(s, ctx.sc, index);
}

/** The lookup is over (its allocation judged). */
export function ghostLookupEnded(ctx: ActorCtx): void {
  if (ctx.s.l.spGhostPages > 0) setSplLookup(ctx.s, ctx.id, -1);
}

/**
 * The policy ids that may legitimately have been in force at `index` during the actor's lookup:
 * the one the scenario's calls left, for a file no runtime mbind changes (ids need not fit a mask
 * then); else those collected since the lookup began, and now.
 */
export function policiesInForce(ctx: ActorCtx, index: number): number[] {
  if (ctx.s.l.spGhostPages === 0) return [staticTree(ctx.sc).lookup(index) ?? 0];
  return maskIds(lookupMask(ctx, index));
}

/** The ids in a mask, lowest first. */
export function maskIds(m: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < 32; b++) if (m & (1 << b)) out.push(b);
  return out;
}
