// The converter: KVM_SET_MEMORY_ATTRIBUTES on random ranges, behind the guest's back (on "next",
// KVM_SET_MEMORY_ATTRIBUTES2 on random ranges of the guest_memfd).
import { opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../shm/layout.js';
import { kvmVmSetMemAttributes } from '../kvm/memory_attributes.js';
import { pause, randomRange } from './background.js';
import { attrsInGmemState } from '../shm/attr.js';
import { gmemConvertRetrying } from './vmm.js';
import { registerPaths } from '../engine/fiber.js';

export function* converterProgram(ctx: ActorCtx): Gen {
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    // the range first, then the attribute (recorded schedules drew them in this order)
    if (attrsInGmemState(ctx.s)) {
      // "next": KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd, retrying -EAGAIN as the VMM does
      const [start, end] = randomRange(ctx, ctx.s.l.filePages, ctx.sc.converter.maxPages);
      yield gmemConvertRetrying(ctx, start, end - start, ctx.rng.chance(0.5) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
    } else {
      const [start, end] = randomRange(ctx, ctx.s.l.nGfns, ctx.sc.converter.maxPages);
      yield kvmVmSetMemAttributes(ctx, start, end, ctx.rng.chance(0.5) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
    }
    yield pause(ctx);
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ converterProgram });
