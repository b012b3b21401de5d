// The converter: KVM_SET_MEMORY_ATTRIBUTES on random ranges, behind the guest's back.
import { opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../shm/layout.js';
import { kvmVmSetMemAttributes } from '../kvm/memory_attributes.js';
import { pause, randomRange } from './background.js';

export function* converterProgram(ctx: ActorCtx): Gen {
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield* opBoundary(ctx)); op++) {
    const [start, end] = randomRange(ctx, ctx.s.l.nGfns, ctx.sc.converter.maxPages);
    yield* kvmVmSetMemAttributes(ctx, start, end, ctx.rng.chance(0.5) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
    yield* pause(ctx);
  }
}
