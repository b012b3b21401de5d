// The gmem inode's shared policy as the kernel edits and reads it while vCPUs fault: mbind's
// set_policy (mpol_set_shared_policy -> shared_policy_replace under sp->lock for write, with the
// split's allocation done with the lock dropped and the walk restarted), and the allocation's
// lookup (mpol_shared_policy_lookup: the lockless empty-tree test, sp_lookup and mpol_get under
// sp->lock for read; mpol_cond_put after the allocation). mm/mempolicy.c as read at torvalds/linux
// 003fde4492c8 (shared_policy_replace's restart is 42288fe366c4's, 3.8; 4ad099559b00 gave the
// restart's mpol_new its refcount).
//
// The tree is an array sorted by start in the shared state (src/shm/sp.ts); each edit of the walk
// is one step under the write lock, so a reader that skips the lock can see what the kernel's
// could: a node deleted and its replacement not yet inserted, a node freed under it.
import type { ActorCtx, Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { ENOMEM } from '../errno.js';
import type { Scenario } from '../scenario/types.js';
import type { Shm } from '../shm/state.js';
import {
  setSpNodeEnd,
  setSpNodeStart,
  setSpGhostMask,
  setSpObjPid,
  spCount,
  spEraseAt,
  spHandleObj,
  spInsertAt,
  spInsertPos,
  spNodeEnd,
  spNodePolicy,
  spNodeStart,
  spObjAlloc,
  spObjGet,
  spObjHandle,
  spObjPid,
  spObjPut,
} from '../shm/sp.js';
import { spReadLock, spReadUnlock, spWriteLock, spWriteUnlock } from '../sync/ops.js';
import { sharedPolicyOf, spLookup } from './policy.js';
import { registerPaths } from '../engine/fiber.js';

/** Write the tree the scenario's mbind calls leave (before the run: the VMM's setup), each node with its own policy object, and the ghost's copy of it. */
export function initSharedPolicy(s: Shm, sc: Scenario): void {
  if (s.l.spNodes === 0) return;
  const ranges = sharedPolicyOf(sc).ranges();
  ranges.forEach((r, k) => {
    const o = spObjAlloc(s, r.policy, 1); // the node's reference (sp_alloc -> mpol_dup)
    if (o < 0 || !spInsertAt(s, k, r.start, r.end, o)) throw new Error('shared policy: the layout is too small for the scenario\'s mbind calls');
  });
  if (s.l.spGhostPages > 0) for (let i = 0; i < s.l.spGhostPages; i++) setSpGhostMask(s, i, 1); // MPOL_DEFAULT's bit
  if (s.l.spGhostPages > 0) for (const r of ranges) for (let i = r.start; i < r.end; i++) setSpGhostMask(s, i, 1 << r.policy);
}

/**
 * mpol_shared_policy_lookup(sp, index): a handle on the policy object of the node containing
 * `index`, with a reference taken for the caller, or -1 (no node: the caller uses the task's
 * policy). The empty-tree test is lockless, as the kernel's `if (!sp->root.rb_node)` is.
 */
export function* mpolSharedPolicyLookup(ctx: ActorCtx, index: number): Gen<number> {
  const s = ctx.s;
  if (spCount(s) === 0) return -1;
  const locked = !ctx.bugs.B38;
  if (locked) yield spReadLock(ctx);
  yield P['sp-lookup'];
  const k = spLookup(s, index);
  if (k < 0) {
    if (locked) spReadUnlock(ctx);
    return -1;
  }
  const obj = spNodePolicy(s, k);
  const h = spObjHandle(s, obj); // the pointer sn->policy as read
  yield P['mpol-get'];
  ctx.ev.objectUsed(ctx, 'mempolicy', h, 'mpol_shared_policy_lookup (mpol_get)');
  spObjGet(s, obj);
  if (locked) spReadUnlock(ctx);
  return h;
}

/** mpol_cond_put: a shared policy's reference is dropped (the last one frees it). */
export function mpolCondPut(ctx: ActorCtx, h: number): void {
  spObjPut(ctx.s, spHandleObj(h));
}

/**
 * mpol_set_shared_policy(sp, vma, npol) for file pages [start, end) and policy id `pid` (0:
 * MPOL_DEFAULT, which only removes what overlaps): sp_alloc's node and policy copy first, then
 * shared_policy_replace. Returns 0 or -ENOMEM (nothing changed).
 */
export function* mpolSetSharedPolicy(ctx: ActorCtx, start: number, end: number, pid: number): Gen<number> {
  const s = ctx.s;
  let obj = -1;
  if (pid !== 0) {
    yield P['sp-alloc'];
    obj = spObjAlloc(s, pid, 1); // mpol_dup: the new node's own copy, one reference (the tree's)
    if (obj < 0) return -ENOMEM;
  }
  const err = yield sharedPolicyReplace(ctx, start, end, obj);
  if (err !== 0 && obj >= 0) spObjPut(s, obj); // sp_free(new)
  return err;
}

/**
 * shared_policy_replace(sp, start, end, new): under sp->lock for write, every node overlapping
 * [start, end) is deleted (inside it), trimmed (sticking out on one side) or split (straddling
 * both ends: the right part becomes a new node with a copy of its policy). The split needs memory,
 * which is allocated with the lock dropped; the walk then starts over, since the tree may have
 * changed meanwhile, and a copy it then does not need is freed. `obj` is the new node's policy
 * object (-1: MPOL_DEFAULT, nothing inserted).
 */
function* sharedPolicyReplace(ctx: ActorCtx, start: number, end: number, obj: number): Gen<number> {
  const s = ctx.s;
  let mpolNew = -1; // the split's policy copy, allocated with the lock dropped (n_new comes with it)
  for (;;) {
    yield spWriteLock(ctx);
    // the walk adds at most two nodes (the split's copy, the new one); the kernel has both allocated
    // before it edits (sp_alloc, n_new): a full tree is the same -ENOMEM, refused before any edit
    if (spCount(s) + 2 > s.l.spNodes) {
      spWriteUnlock(ctx);
      if (mpolNew >= 0) spObjPut(s, mpolNew);
      return -ENOMEM;
    }
    let k = 0; // sp_lookup(sp, start, end): the leftmost node overlapping the range
    while (k < spCount(s) && spNodeEnd(s, k) <= start) k++;
    let needAlloc = false;
    while (k < spCount(s) && spNodeStart(s, k) < end) {
      yield P['sp-replace'];
      const ns = spNodeStart(s, k);
      const ne = spNodeEnd(s, k);
      if (ns >= start) {
        if (ne <= end) {
          const old = spNodePolicy(s, k);
          spEraseAt(s, k); // sp_delete: rb_erase, then sp_free -> mpol_put
          spObjPut(s, old);
          continue;
        }
        setSpNodeStart(s, k, end);
        k++;
      } else if (ne > end) {
        // the old node spans the whole new range
        if (mpolNew < 0) {
          needAlloc = true;
          break;
        }
        setSpObjPid(s, mpolNew, spObjPid(s, spNodePolicy(s, k))); // *mpol_new = *n->policy, refcount 1
        setSpNodeEnd(s, k, start);
        // sp_node_init(n_new, end, n->end, mpol_new); B39 swaps the bounds as 42288fe366c4 (3.8) did until 2013
        const [rs, re] = ctx.bugs.B39 ? [ne, end] : [end, ne];
        if (!spInsertAt(s, spInsertPos(s, rs), rs, re, mpolNew)) {
          spWriteUnlock(ctx);
          spObjPut(s, mpolNew);
          return -ENOMEM;
        }
        mpolNew = -1;
        break;
      } else {
        setSpNodeEnd(s, k, start);
        k++;
      }
    }
    if (needAlloc) {
      spWriteUnlock(ctx);
      yield P['sp-alloc']; // kmem_cache_alloc(sn_cache / policy_cache, GFP_KERNEL): may sleep
      mpolNew = spObjAlloc(s, 0, 1); // refcount_set(&mpol_new->refcnt, 1): 4ad099559b00
      if (mpolNew < 0) return -ENOMEM;
      continue; // goto restart
    }
    if (obj >= 0) yield P['sp-replace']; // sp_insert(sp, new)
    if (obj >= 0 && !spInsertAt(s, spInsertPos(s, start), start, end, obj)) {
      spWriteUnlock(ctx);
      if (mpolNew >= 0) spObjPut(s, mpolNew);
      return -ENOMEM;
    }
    spWriteUnlock(ctx);
    // err_out: a copy allocated for a split the restarted walk no longer needed. B40: leaked, as
    // before 4ad099559b00 (its refcount was never set, so mpol_put could not free it)
    if (mpolNew >= 0 && !ctx.bugs.B40) spObjPut(s, mpolNew);
    return 0;
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ mpolSharedPolicyLookup, mpolSetSharedPolicy, sharedPolicyReplace });
