// The puncher: fallocate(PUNCH_HOLE) on random file ranges, sometimes re-allocating them.
import { opBoundary, taskWorkRun, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { kvmGmemAllocate, kvmGmemPunchHole } from '../gmem/guest_memfd.js';
import { pause, randomRange } from './background.js';
import { registerPaths } from '../engine/fiber.js';

export function* puncherProgram(ctx: ActorCtx): Gen {
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    const [start, end] = randomRange(ctx, ctx.s.l.filePages, ctx.sc.puncher.maxPages);
    yield kvmGmemPunchHole(ctx, start, end);
    yield taskWorkRun(ctx); // each syscall's return to userspace
    if (ctx.rng.chance(0.5)) yield kvmGmemAllocate(ctx, start, end);
    yield pause(ctx);
  }
  yield taskWorkRun(ctx); // the last syscall's return to userspace
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ puncherProgram });
