// A vCPU thread of the VMM prefaulting guest memory with KVM_PRE_FAULT_MEMORY before (or beside)
// the guest's run, as pre_fault_memory_test's main thread does (@3d5e48944e82): it calls the ioctl
// on a random range until the range is done or the call fails, retrying at once on EAGAIN (a
// memslot being deleted or moved) and EINTR. Its vCPU is not one of the guest's: vcpu->mutex keeps
// KVM_RUN off it meanwhile.
import { opBoundary, taskWorkRun, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { EAGAIN, EINTR } from '../errno.js';
import { kvmVcpuPreFaultMemory } from '../kvm/pre_fault.js';
import { newFault } from '../kvm/mmu.js';
import { pause, randomRange } from './background.js';
import { registerPaths } from '../engine/fiber.js';

/** Calls of one range before the thread gives it up (the selftest retries EAGAIN until the slot is back). */
const MAX_CALLS = 8;

export function* preFaultProgram(ctx: ActorCtx): Gen {
  const f = newFault();
  ctx.fault = f;
  yield P.start;
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    const [start, end] = randomRange(ctx, ctx.s.l.nGfns, ctx.sc.preFault.maxPages);
    const range = { gfn: start, npages: end - start };
    for (let call = 0; call < MAX_CALLS && range.npages > 0; call++) {
      const before = range.npages;
      const r = yield kvmVcpuPreFaultMemory(ctx, f, range);
      ctx.ev.preFaultReturned(ctx, r, before, range.npages);
      if (r === -EAGAIN || r === -EINTR) {
        ctx.spun = true; // userspace calls again at once: it waits for the deleter
        continue;
      }
      if (r < 0) break;
    }
    yield pause(ctx);
  }
  yield taskWorkRun(ctx); // the last syscall's return to userspace
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ preFaultProgram });
