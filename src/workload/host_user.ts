// A host user process with the guest_memfd mmap'd MAP_SHARED (guest_memfd_test's host side, or a
// device backend): loads and stores to random file ranges through its mapping, faulting pages in
// with kvm_gmem_fault_user_mapping. Its mapping is one page longer than the file. A SIGBUS (a
// file not shared with the host, the page beyond i_size) is caught, as the selftest's handler does, and the next page is tried.
import { opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { hostUserAccess } from '../gmem/user_mapping.js';
import { pause, randomRange } from './background.js';
import { registerPaths } from '../engine/fiber.js';

export function* hostUserProgram(ctx: ActorCtx): Gen {
  yield P.start;
  let tag = 0;
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    // the mapping reaches one page past the file, as test_fault_overflow maps beyond i_size
    const [start, end] = randomRange(ctx, ctx.s.l.filePages + 1, ctx.sc.hostUser.maxPages);
    const write = ctx.rng.chance(0.5);
    for (let i = start; i < end; i++) yield hostUserAccess(ctx, i, write, ((ctx.id + 1) << 22) | (++tag & 0x3fffff));
    yield pause(ctx);
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ hostUserProgram });
