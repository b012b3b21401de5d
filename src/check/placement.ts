// The NUMA predicates: where a new guest_memfd folio may land (I11), judged from the policy in
// force at its file offset (spec §5.2) independently of how the allocator chose; and what
// get_mempolicy(MPOL_F_ADDR) must report (I12). The "unless it was full" exceptions are judged
// only under sim, where the free counts cannot change under us.
import type { ActorCtx } from '../engine/ctx.js';
import { getMempolicyReport, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE, nextNodeIn, type Mempolicy, type MempolicyReport } from '../mm/mempolicy.js';
import { nodesWithMemory } from '../mm/numa.js';
import { policyTable } from '../mm/policy.js';
import { policiesInForce } from './policy_ghost.js';
import { nodeFree, pfnNode } from '../shm/node.js';

/**
 * I11: `ilPrev` is the allocating task's il_prev just before this allocation (the rotor it had to
 * follow). The policies it may have followed: the task's or the create-time one where the inode's
 * shared policy does not apply, else each shared policy in force at the index at some moment of the
 * lookup (mbind is linearizable), MPOL_DEFAULT meaning the task's. Legal if one of them allows it.
 */
export function misplacedFolio(ctx: ActorCtx, index: number, pfn: number, ilPrev: number): string | null {
  const numa = ctx.numa;
  if (!numa) return null;
  if (!numa.inodePolicy || numa.source === 'task') return misplacedBy(ctx, numa.task, index, pfn, ilPrev);
  if (numa.source === 'create') return misplacedBy(ctx, numa.create, index, pfn, ilPrev);
  const ids = policiesInForce(ctx, index);
  let first: string | null = null;
  for (const id of ids) {
    const m = misplacedBy(ctx, numa.table[id] ?? numa.task, index, pfn, ilPrev);
    if (m === null) return null;
    first ??= m;
  }
  if (ids.length <= 1) return first;
  return `${first} (and no other policy in force there during the allocation allows it: ${ids.map((id) => policyName(numa.table[id])).join(', ')})`;
}

const policyName = (p: Mempolicy | null) => (p === null ? 'MPOL_DEFAULT' : `mode ${p.mode} nodes ${p.nodes.join(',')}`);

function misplacedBy(ctx: ActorCtx, pol: Mempolicy | null, index: number, pfn: number, ilPrev: number): string | null {
  const numa = ctx.numa!;
  const node = pfnNode(ctx.s, pfn);
  const sim = ctx.clock === null;
  const full = (n: number) => nodeFree(ctx.s, n) === 0;
  const fail = (why: string) => `file page ${index}: folio on node ${node}, but ${why}`;
  const mode = pol ? pol.mode : MPOL_LOCAL;
  switch (mode) {
    case MPOL_BIND:
      // apply_policy_zone: a BIND to nodes without normal memory is not enforced
      return pol!.nodes.some((n) => nodesWithMemory(numa.topo).includes(n)) && !pol!.nodes.includes(node) ? fail(`the policy binds it to nodes ${pol!.nodes.join(',')}`) : null;
    case MPOL_PREFERRED_MANY:
      return !pol!.nodes.includes(node) && sim && !pol!.nodes.every(full) ? fail(`it prefers nodes ${pol!.nodes.join(',')} and one of them had free pages`) : null;
    case MPOL_PREFERRED:
      return node !== pol!.nodes[0] && sim && !full(pol!.nodes[0]) ? fail(`it prefers node ${pol!.nodes[0]}, which had free pages`) : null;
    case MPOL_INTERLEAVE: {
      const want = numa.byOffset ? pol!.nodes[index % pol!.nodes.length] : nextNodeIn(ilPrev, pol!.nodes);
      return node !== want && sim && !full(want) ? fail(`interleave over ${pol!.nodes.join(',')} picks node ${want} next (${numa.byOffset ? 'by offset' : "this actor's rotor"}), which had free pages`) : null;
    }
    case MPOL_WEIGHTED_INTERLEAVE:
      return !pol!.nodes.includes(node) && sim && !pol!.nodes.every(full) ? fail(`weighted interleave is over nodes ${pol!.nodes.join(',')}`) : null;
    default:
      // no policy, DEFAULT or LOCAL: the allocating task's node first
      return node !== numa.node && sim && !full(numa.node) ? fail(`no policy applies and the allocating actor's node ${numa.node} had free pages`) : null;
  }
}

/** I12: what get_mempolicy(MPOL_F_ADDR) must say at offset x: the policy the mbind calls set there (one in force at some moment of the call), MPOL_DEFAULT where none did. */
export function wrongPolicyReport(ctx: ActorCtx, x: number, got: MempolicyReport): string | null {
  const ids = policiesInForce(ctx, x);
  const table = policyTable(ctx.sc);
  for (const id of ids) {
    const want = getMempolicyReport(table[id] ?? null);
    if (got.mode === want.mode && got.nodes.join() === want.nodes.join()) return null;
  }
  const want = getMempolicyReport(table[ids[0]] ?? null);
  return `get_mempolicy(MPOL_F_ADDR) at file page ${x} reports mode ${got.mode} nodes [${got.nodes}], but the mbind calls leave mode ${want.mode} nodes [${want.nodes}] there${ids.length > 1 ? ' (or another policy being set there)' : ''}`;
}
