// The VMM closing its guest_memfd fd while the VM runs (a VMM tearing down, or a bug that closes
// it early): it waits `ops - 1` times (sim: a scheduling point each; threads: 2000 x --pause-ms
// each, 100 ms at the default), then close(2). With no other holder the last fput queues
// __fput, which runs kvm_gmem_release when the closer returns to userspace; a fault or a syscall
// holding a transient reference at that moment runs it instead, when it returns. A host process
// that has the file mapped holds a reference until it exits, after the run.
import { opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { gmemClose } from '../gmem/release.js';
import { int, MAX_OPS, type Shape } from '../scenario/check.js';
import { sleepWord } from '../shm/actor.js';
import type { BackgroundSpec } from './background.js';
import { registerPaths } from '../engine/fiber.js';

/** One fd to close: at most one closer. Its ops are its own (waits before the close), on sim and threads alike. */
export const GMEM_CLOSE_SHAPE: Shape<BackgroundSpec> = { count: int(0, 1), ops: int(1, MAX_OPS), maxPages: int(1) };
export const GMEM_CLOSE_NONE: BackgroundSpec = { count: 0, ops: 1, maxPages: 1 };

export function* gmemCloseProgram(ctx: ActorCtx): Gen {
  yield P.start;
  let go = true;
  for (let op = 1; op < ctx.opsLimit && go && (yield opBoundary(ctx)); op++) {
    yield P['close-wait'];
    go = yield waitParkable(ctx, ctx.pauseMs);
  }
  if (go && !ctx.stopping()) yield gmemClose(ctx);
  yield opBoundary(ctx); // the return to userspace: a last fput's __fput runs here
}

/** Threads: sleep `ms` in 1 ms slices, parking for a pause barrier between them; false if the run stops meanwhile. Nothing under sim. */
function* waitParkable(ctx: ActorCtx, ms: number): Gen<boolean> {
  if (ms <= 0 || !ctx.clock) return true;
  const until = ctx.clock() + ms;
  while (ctx.clock() < until) {
    if (!(yield opBoundary(ctx))) return false;
    Atomics.wait(ctx.s.i32, sleepWord(ctx.s, ctx.base), 0, Math.min(1, until - ctx.clock()));
  }
  return true;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ gmemCloseProgram, waitParkable });
