// The VMM's exit-handling thread: serves KVM_EXIT_MEMORY_FAULT (implicit conversion, as QEMU's
// kvm_convert_memory does for SNP/TDX guests) and KVM_HC_MAP_GPA_RANGE hypercalls (explicit
// conversion, as private_mem_conversions_test's host side does).
import { count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import {
  A_DONE,
  A_MB_ARG,
  A_MB_GFN,
  A_MB_STATE,
  G_MB_DOORBELL,
  KVM_MEMORY_ATTRIBUTE_PRIVATE,
  MB_FALLOCATE,
  MB_HYPERCALL,
  MB_NPAGES_SHIFT,
  MB_PRIVATE,
  MB_UNHANDLED,
  actorWord,
} from '../shm/layout.js';
import { kvmGmemAllocate, kvmGmemPunchHole } from '../gmem/guest_memfd.js';
import { kvmMemIsPrivate, kvmVmSetMemAttributes } from '../kvm/memory_attributes.js';
import { checkPolicyReports } from '../check/placement.js';
import { hvaDiscardRange } from '../kvm/mmu_notifier.js';
import { waitNotEqual } from '../sync/ops.js';
import { memslotPieces } from '../shm/state.js';

export function* vmmProgram(ctx: ActorCtx): Gen {
  const a = ctx.s.i32;
  const nVcpus = ctx.sc.vcpus.count;
  yield P.start;
  // the scenario's mbind calls were made before the run (the tree is built with the state); read them back as test_mbind does
  checkPolicyReports(ctx);
  for (;;) {
    const seen = Atomics.load(a, G_MB_DOORBELL);
    let served = false;
    let done = 0;
    for (let id = 0; id < nVcpus; id++) {
      const base = actorWord(ctx.s.l, id, 0);
      if (Atomics.load(a, base + A_MB_STATE) === 1) {
        yield P['vmm-serve'];
        const reply = yield* serveExit(ctx, a[base + A_MB_GFN], a[base + A_MB_ARG]);
        a[base + A_MB_ARG] = reply;
        Atomics.store(a, base + A_MB_STATE, 2);
        Atomics.notify(a, base + A_MB_STATE);
        served = true;
      } else if (Atomics.load(a, base + A_DONE) === 1) {
        done++;
      }
    }
    if (served) continue;
    if (done === nVcpus) return;
    yield* waitNotEqual(ctx, G_MB_DOORBELL, seen, P['vmm-wait']);
  }
}

function* serveExit(ctx: ActorCtx, gfn: number, arg: number): Gen<number> {
  count(ctx, 'exitsServed');
  const toPrivate = (arg & MB_PRIVATE) !== 0;
  const npages = arg >>> MB_NPAGES_SHIFT;
  if ((arg & MB_HYPERCALL) === 0 && kvmMemIsPrivate(ctx.s, gfn) === toPrivate) {
    // The attribute already matches the access (e.g. the memslot is gone): nothing to convert.
    return arg | MB_UNHANDLED;
  }
  const fallocate = (arg & MB_HYPERCALL) !== 0 ? (arg & MB_FALLOCATE) !== 0 : ctx.sc.vcpus.fallocateOnConversion;
  yield* vmmConvert(ctx, gfn, gfn + npages, toPrivate, fallocate);
  return arg;
}

/** Convert gfns [start, end): attributes, plus backing changes when asked (QEMU's order). */
export function* vmmConvert(ctx: ActorCtx, start: number, end: number, toPrivate: boolean, fallocate: boolean): Gen {
  const pieces = memslotPieces(ctx.s, 'gfn', start, end, false); // the VMM's RAM map outlives a memslot
  if (toPrivate) {
    if (fallocate) for (const p of pieces) yield* kvmGmemAllocate(ctx, p.index, p.index + p.n);
    yield* kvmVmSetMemAttributes(ctx, start, end, KVM_MEMORY_ATTRIBUTE_PRIVATE);
    // ram_block_discard_range: drop the now-unused shared copy
    if (fallocate) for (const p of pieces) yield* hvaDiscardRange(ctx, p.hva, p.hva + p.n);
  } else {
    yield* kvmVmSetMemAttributes(ctx, start, end, 0);
    // ram_block_discard_guest_memfd_range: free the now-unused private copy
    if (fallocate) for (const p of pieces) yield* kvmGmemPunchHole(ctx, p.index, p.index + p.n);
  }
}
