// A process with the guest_memfd mapped that changes its NUMA policy at runtime (numactl on a
// running VM, a tiering daemon): each operation mbinds a random range of up to maxPages pages to a
// policy drawn from numa.mbindPolicies (or the scenario's shared ranges' policies and MPOL_DEFAULT),
// then reads it back with get_mempolicy(MPOL_F_ADDR) at the range's first page, as test_mbind does.
// Each instance is a process of its own (its own mmap_lock): two can be in shared_policy_replace at once.
import { opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { getMempolicyAddrLocked, kvmGmemSetPolicy } from '../gmem/guest_memfd.js';
import { runtimePolicyIds } from '../mm/policy.js';
import { pause, randomRange } from './background.js';

export function* mbindProgram(ctx: ActorCtx): Gen {
  yield P.start;
  const ids = runtimePolicyIds(ctx.sc);
  for (let op = 0; op < ctx.opsLimit && (yield* opBoundary(ctx)); op++) {
    const [start, end] = randomRange(ctx, ctx.s.l.filePages, ctx.sc.mbind.maxPages);
    const pid = ids[ctx.rng.below(ids.length)];
    yield* kvmGmemSetPolicy(ctx, start, end, pid);
    ctx.ev.policyReported(ctx, start, yield* getMempolicyAddrLocked(ctx, start));
    yield* pause(ctx);
  }
}
