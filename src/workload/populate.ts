// The VMM's launch thread on a confidential VM: SNP's KVM_SEV_SNP_LAUNCH_UPDATE or TDX's
// KVM_TDX_INIT_MEM_REGION, which take slots_lock (the vendor ioctl path) and call
// kvm_gmem_populate with a source buffer for a random gfn range of up to maxPages pages. The
// range may hold shared gfns (populate refuses them: -EINVAL) or pages already populated
// (6.12/6.18: -EEXIST); the vendor ioctl reports the pages done and the caller moves on.
import { opBoundary, taskWorkRun, type ActorCtx, type Gen } from '../engine/ctx.js';
import { kvmGmemPopulate } from '../gmem/populate.js';
import { slotsLock, slotsUnlock } from '../sync/ops.js';
import { pause, randomRange } from './background.js';
import { P } from '../engine/points.js';
import { registerPaths } from '../engine/fiber.js';

export function* populateProgram(ctx: ActorCtx): Gen {
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    const [start, end] = randomRange(ctx, ctx.s.l.nGfns, ctx.sc.populate.maxPages);
    const locked = !ctx.bugs.B42;
    if (locked) yield slotsLock(ctx);
    yield kvmGmemPopulate(ctx, start, end - start, true);
    if (locked) slotsUnlock(ctx);
    yield taskWorkRun(ctx); // the ioctl's return to userspace
    yield pause(ctx);
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ populateProgram });
