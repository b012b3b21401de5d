// Background actors that race the vCPUs: a converter (KVM_SET_MEMORY_ATTRIBUTES behind the
// guest's back), a puncher (fallocate PUNCH_HOLE, sometimes re-allocating), and memslot churn
// (delete and re-create a gmem memslot, as pre_fault_memory_test's racing thread does).
import { opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { A_SLEEP, KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../shm/layout.js';
import { kvmGmemAllocate, kvmGmemPunchHole } from '../gmem/guest_memfd.js';
import { kvmVmSetMemAttributes } from '../kvm/memory_attributes.js';
import { kvmCreateMemslot, kvmDeleteMemslot } from '../kvm/memslot.js';

function* pause(ctx: ActorCtx): Gen {
  if (ctx.pauseMs > 0) Atomics.wait(ctx.s.i32, ctx.base + A_SLEEP, 0, ctx.pauseMs);
}

function randomRange(ctx: ActorCtx, size: number, maxPages: number): [number, number] {
  const len = 1 + ctx.rng.below(Math.min(size, maxPages));
  const start = ctx.rng.below(size - len + 1);
  return [start, start + len];
}

export function* converterProgram(ctx: ActorCtx): Gen {
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield* opBoundary(ctx)); op++) {
    const [start, end] = randomRange(ctx, ctx.s.l.nGfns, ctx.sc.converter.maxPages);
    yield* kvmVmSetMemAttributes(ctx, start, end, ctx.rng.chance(0.5) ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0);
    yield* pause(ctx);
  }
}

export function* puncherProgram(ctx: ActorCtx): Gen {
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield* opBoundary(ctx)); op++) {
    const [start, end] = randomRange(ctx, ctx.s.l.filePages, ctx.sc.puncher.maxPages);
    yield* kvmGmemPunchHole(ctx, start, end);
    if (ctx.rng.chance(0.5)) yield* kvmGmemAllocate(ctx, start, end);
    yield* pause(ctx);
  }
}

export function* slotChurnProgram(ctx: ActorCtx): Gen {
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield* opBoundary(ctx)); op++) {
    const slot = ctx.rng.below(ctx.s.l.nSlots);
    if ((yield* kvmDeleteMemslot(ctx, slot)) === 0) yield* kvmCreateMemslot(ctx, slot);
    yield* pause(ctx);
  }
}
