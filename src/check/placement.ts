// The NUMA predicates: where a new guest_memfd folio may land (I11), judged from the policy in
// force at its file offset (spec §5.2) independently of how the allocator chose; and what
// get_mempolicy(MPOL_F_ADDR) must report (I12). The "unless it was full" exceptions are judged
// only under sim, where the free counts cannot change under us.
import type { ActorCtx } from '../engine/ctx.js';
import { getMempolicyReport, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE, nextNodeIn, type Mempolicy, type MempolicyReport } from '../mm/mempolicy.js';
import { nodesWithMemory } from '../mm/numa.js';
import { gmemPolicy, mbindCalls } from '../mm/policy.js';
import { nodeFree, pfnNode } from '../shm/node.js';
import type { Scenario } from '../scenario/types.js';

/** I11: `ilPrev` is the allocating task's il_prev just before this allocation (the rotor it had to follow). */
export function misplacedFolio(ctx: ActorCtx, index: number, pfn: number, ilPrev: number): string | null {
  const numa = ctx.numa;
  if (!numa) return null;
  const pol: Mempolicy | null = gmemPolicy(numa, index);
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

/** I12: what get_mempolicy(MPOL_F_ADDR) must say at offset x: the last mbind covering it, MPOL_DEFAULT where none does. */
export function wrongPolicyReport(sc: Scenario, x: number, got: MempolicyReport): string | null {
  let expected: Mempolicy | null = null;
  for (const [start, end, pol] of mbindCalls(sc)) if (x >= start && x < end) expected = pol;
  const want = getMempolicyReport(expected);
  if (got.mode === want.mode && got.nodes.join() === want.nodes.join()) return null;
  return `get_mempolicy(MPOL_F_ADDR) at file page ${x} reports mode ${got.mode} nodes [${got.nodes}], but the mbind calls leave mode ${want.mode} nodes [${want.nodes}] there`;
}
