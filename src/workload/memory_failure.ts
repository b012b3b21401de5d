// A memory-failure injector (a machine check or a scrubber's report, or MADV_HWPOISON in a test):
// each operation reports a random page of the guest_memfd as poisoned, if it is in the page cache.
import { opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { memoryFailure } from '../mm/memory_failure.js';
import { P } from '../engine/points.js';
import { pause } from './background.js';
import { registerPaths } from '../engine/fiber.js';

export function* memoryFailureProgram(ctx: ActorCtx): Gen {
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    yield memoryFailure(ctx, ctx.rng.below(ctx.s.l.filePages));
    yield pause(ctx);
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ memoryFailureProgram });
