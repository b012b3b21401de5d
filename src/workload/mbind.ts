// A process with the guest_memfd mapped that changes its NUMA policy at runtime (numactl on a
// running VM, a tiering daemon): each operation mbinds a random range of up to maxPages pages to a
// policy drawn from numa.mbindPolicies (or the scenario's shared ranges' policies and MPOL_DEFAULT),
// then reads it back with get_mempolicy(MPOL_F_ADDR) at the range's first page, as test_mbind does.
// The process keeps its VMAs' cached vm_policy, which mbind compares before calling set_policy.
// Each instance is a process of its own (its own mmap_lock): two can be in shared_policy_replace at once.
import { opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { getMempolicyAddrLocked, kvmGmemSetPolicy } from '../gmem/guest_memfd.js';
import { runtimePolicyIds } from '../mm/policy.js';
import { pause, randomRange } from './background.js';
import { registerPaths } from '../engine/fiber.js';

export function* mbindProgram(ctx: ActorCtx): Gen {
  yield P.start;
  const ids = runtimePolicyIds(ctx.sc);
  // this process's mapping of the whole file: each page's VMA's cached vm_policy (a fresh mapping: NULL, MPOL_DEFAULT)
  const vmPolicy = new Int32Array(ctx.s.l.filePages);
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    const [start, end] = randomRange(ctx, ctx.s.l.filePages, ctx.sc.mbind.maxPages);
    const pid = ids[ctx.rng.below(ids.length)];
    yield mbindRange(ctx, vmPolicy, start, end, pid);
    ctx.ev.policyReported(ctx, start, yield getMempolicyAddrLocked(ctx, start));
    yield pause(ctx);
  }
}

// mbind_range (mm/mempolicy.c): for each VMA piece of the range, nothing if its cached vm_policy
// equals the new one (mpol_equal; NULL equals NULL), else vma_modify_policy: set_policy on the
// piece (kvm_gmem_set_policy) and the policy cached. The first error stops it.
function* mbindRange(ctx: ActorCtx, vmPolicy: Int32Array, start: number, end: number, pid: number): Gen<number> {
  for (let a = start; a < end; ) {
    let b = a + 1;
    while (b < end && vmPolicy[b] === vmPolicy[a]) b++;
    if (vmPolicy[a] !== pid) {
      const err = yield kvmGmemSetPolicy(ctx, a, b, pid);
      if (err !== 0) return err;
      vmPolicy.fill(pid, a, b);
    }
    a = b;
  }
  return 0;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ mbindProgram, mbindRange });
