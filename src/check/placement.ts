// I11: where a new guest_memfd folio may land, judged from the policy in force at its file offset
// (spec §5.2), independently of how the allocator chose. The "unless it was full" exceptions are
// judged only under sim, where the free counts cannot change under us.
import type { ActorCtx } from '../engine/ctx.js';
import { getMempolicyReport, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE, nextNodeIn, type Mempolicy } from '../mm/mempolicy.js';
import { nodesWithMemory } from '../mm/numa.js';
import { pfnToNid } from '../mm/page_alloc.js';
import { gmemPolicy, kvmGmemGetPolicy, mbindCalls } from '../mm/policy.js';
import { N_FREE_TOP, nodeWord } from '../shm/layout.js';

/** `ilPrev`: the allocating task's il_prev just before this allocation (the rotor it had to follow). */
export function checkPlacement(ctx: ActorCtx, index: number, pfn: number, ilPrev: number): void {
  const numa = ctx.numa;
  if (!numa) return;
  const pol: Mempolicy | null = gmemPolicy(numa, index, ctx.bugs.N1);
  const node = pfnToNid(ctx.s, pfn);
  const sim = ctx.clock === null;
  const full = (n: number) => Atomics.load(ctx.s.i32, nodeWord(ctx.s.l, n, N_FREE_TOP)) === 0;
  const fail = (why: string) => ctx.report('I11', `file page ${index}: folio on node ${node}, but ${why}`);
  const mode = pol ? pol.mode : MPOL_LOCAL;
  switch (mode) {
    case MPOL_BIND:
      // apply_policy_zone: a BIND to nodes without normal memory is not enforced
      if (pol!.nodes.some((n) => nodesWithMemory(numa.topo).includes(n)) && !pol!.nodes.includes(node)) fail(`the policy binds it to nodes ${pol!.nodes.join(',')}`);
      return;
    case MPOL_PREFERRED_MANY:
      if (!pol!.nodes.includes(node) && sim && !pol!.nodes.every(full)) fail(`it prefers nodes ${pol!.nodes.join(',')} and one of them had free pages`);
      return;
    case MPOL_PREFERRED:
      if (node !== pol!.nodes[0] && sim && !full(pol!.nodes[0])) fail(`it prefers node ${pol!.nodes[0]}, which had free pages`);
      return;
    case MPOL_INTERLEAVE: {
      let want: number;
      if (numa.byOffset) {
        want = pol!.nodes[index % pol!.nodes.length];
      } else {
        want = nextNodeIn(ilPrev, pol!.nodes);
      }
      if (node !== want && sim && !full(want)) fail(`interleave over ${pol!.nodes.join(',')} picks node ${want} next (${numa.byOffset ? 'by offset' : "this actor's rotor"}), which had free pages`);
      return;
    }
    case MPOL_WEIGHTED_INTERLEAVE:
      if (!pol!.nodes.includes(node) && sim && !pol!.nodes.every(full)) fail(`weighted interleave is over nodes ${pol!.nodes.join(',')}`);
      return;
    default:
      // no policy, DEFAULT or LOCAL: the allocating task's node first
      if (node !== numa.node && sim && !full(numa.node)) fail(`no policy applies and the allocating actor's node ${numa.node} had free pages`);
  }
}

/**
 * I12, the selftest's test_mbind: get_mempolicy(MPOL_F_ADDR) on the gmem mapping reports, at every
 * file offset, the policy of the last mbind call covering it, and MPOL_DEFAULT where none does.
 * The report is constant between the calls' boundaries, so it is asked at each boundary.
 */
export function checkPolicyReports(ctx: ActorCtx): void {
  const numa = ctx.numa;
  if (!numa || numa.source !== 'shared') return;
  const calls = mbindCalls(ctx.sc);
  const points = new Set<number>([0]);
  for (const [start, end] of calls) points.add(start).add(end);
  for (const x of points) {
    if (x >= ctx.s.l.filePages) continue;
    let expected: Mempolicy | null = null;
    for (const [start, end, pol] of calls) if (x >= start && x < end) expected = pol;
    const want = getMempolicyReport(expected);
    const got = getMempolicyReport(kvmGmemGetPolicy(numa, x, ctx.bugs.B19));
    if (got.mode !== want.mode || got.nodes.join() !== want.nodes.join()) {
      ctx.report('I12', `get_mempolicy(MPOL_F_ADDR) at file page ${x} reports mode ${got.mode} nodes [${got.nodes}], but the mbind calls leave mode ${want.mode} nodes [${want.nodes}] there`);
      return;
    }
  }
}
