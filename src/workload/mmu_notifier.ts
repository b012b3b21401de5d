// A standalone mmu-notifier source on the VMM's shared memory (NUMA balancing's hinting scan, KSM):
// each operation changes the protection of a random HVA range of up to maxPages pages, between
// invalidate_range_start and _end; its pace on threads is --pause-ms (the rate).
import { opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { hvaChangeProtection } from '../kvm/mmu_notifier.js';
import { pause, randomRange } from './background.js';
import { registerPaths } from '../engine/fiber.js';

export function* mmuNotifierProgram(ctx: ActorCtx): Gen {
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    const [start, end] = randomRange(ctx, ctx.s.l.hvaPages, ctx.sc.mmuNotifier.maxPages);
    yield hvaChangeProtection(ctx, start, end);
    yield pause(ctx);
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ mmuNotifierProgram });
