// Memslot churn: delete a gmem memslot and re-create it (the same binding), as
// pre_fault_memory_test's racing thread does.
import { opBoundary, taskWorkRun, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { kvmCreateMemslot, kvmDeleteMemslot } from '../kvm/memslot.js';
import { pause } from './background.js';
import { registerPaths } from '../engine/fiber.js';

export function* slotChurnProgram(ctx: ActorCtx): Gen {
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    const slot = ctx.rng.below(ctx.s.l.nSlots);
    const deleted = (yield kvmDeleteMemslot(ctx, slot)) === 0;
    yield taskWorkRun(ctx); // each ioctl's return to userspace
    if (deleted) yield kvmCreateMemslot(ctx, slot);
    yield pause(ctx);
  }
  yield taskWorkRun(ctx); // the last syscall's return to userspace
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ slotChurnProgram });
