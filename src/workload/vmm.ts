// The VMM's exit-handling thread: serves KVM_EXIT_MEMORY_FAULT (implicit conversion, as QEMU's
// kvm_convert_memory does for SNP/TDX guests) and KVM_HC_MAP_GPA_RANGE hypercalls (explicit
// conversion, as private_mem_conversions_test's host side does).
import { Ctr, count, taskWorkRun, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { WaitId } from '../engine/wait.js';
import { getMempolicyAddr, getMempolicyAddrLocked, kvmGmemAllocate, kvmGmemPunchHole } from '../gmem/guest_memfd.js';
import { kvmMemIsPrivate, kvmVmSetMemAttributes } from '../kvm/memory_attributes.js';
import { hvaDiscardRange } from '../kvm/mmu_notifier.js';
import { mbindBoundaries } from '../mm/policy.js';
import { MB_POSTED, actorDone, counterOf, setCounter, sleepWord, mbReply, mbRequest, mbState, publishedWait } from '../shm/actor.js';
import { MB_DOORBELL_WORD, mbDoorbell } from '../shm/kvm.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, MB_FALLOCATE, MB_HYPERCALL, MB_NPAGES_SHIFT, MB_PRIVATE, MB_UNHANDLED } from '../shm/layout.js';
import { gmemInodeFlags, kvmMemslotIsGmemOnly, memslotPieces, type SlotPiece } from '../shm/slot.js';
import { kvmGmemMmap } from '../gmem/create.js';
import { kvmGmemSetAttributes } from '../gmem/attributes.js';
import { attrsInGmemState } from '../shm/attr.js';
import { windowClock } from '../kvm/mmu_invalidate.js';
import { EAGAIN } from '../errno.js';
import type { Shm } from '../shm/state.js';
import { waitNotEqual } from '../sync/ops.js';
import { registerPaths } from '../engine/fiber.js';

export function* vmmProgram(ctx: ActorCtx): Gen {
  const s = ctx.s;
  const nVcpus = ctx.sc.vcpus.count; // the vCPUs are actors 0 .. n-1
  yield P.start;
  // The scenario's mbind calls were made before the run (the tree is built with the state); read
  // them back as the selftest's test_mbind does, at every boundary, through the file's mapping
  // (get_mempolicy(MPOL_F_ADDR) needs one; the 6.12 model had none and read them anyway).
  // With runtime mbind actors editing the tree, each read takes sp->lock.
  if (ctx.numa?.source === 'shared' && (ctx.sc.kernel === '6.12' || kvmGmemMmap(gmemInodeFlags(s), true) === 0)) {
    for (const x of mbindBoundaries(ctx.sc, s.l.filePages)) ctx.ev.policyReported(ctx, x, ctx.numa.dynamic ? yield getMempolicyAddrLocked(ctx, x) : getMempolicyAddr(ctx, x));
  }
  for (;;) {
    const seen = mbDoorbell(s);
    let served = false;
    let done = 0;
    for (let id = 0; id < nVcpus; id++) {
      if (mbState(s, id) === MB_POSTED) {
        yield P['vmm-serve'];
        const [gfn, arg] = mbRequest(s, id);
        mbReply(s, id, yield serveExit(ctx, gfn, arg));
        served = true;
      } else if (actorDone(s, id)) {
        done++;
      }
    }
    if (served) continue;
    if (done === nVcpus) return;
    yield waitNotEqual(ctx, MB_DOORBELL_WORD, seen, P['vmm-wait']);
  }
}

/**
 * Threads engine: the VMM has no operation boundary of its own; it is quiescent once it sleeps on
 * the doorbell with no exit pending (every vCPU is parked between accesses, so none can post one).
 */
export function vmmIdle(s: Shm, vmm: number, vcpus: readonly number[]): boolean {
  const w = publishedWait(s, vmm);
  return w.kind === WaitId.NotEqual && w.arg === MB_DOORBELL_WORD && vcpus.every((id) => mbState(s, id) !== MB_POSTED);
}

function* serveExit(ctx: ActorCtx, gfn: number, arg: number): Gen<number> {
  count(ctx, Ctr.exitsServed);
  const toPrivate = (arg & MB_PRIVATE) !== 0;
  const npages = arg >>> MB_NPAGES_SHIFT;
  if ((arg & MB_HYPERCALL) === 0 && kvmMemIsPrivate(ctx.s, gfn) === toPrivate) {
    // The attribute already matches the access (e.g. the memslot is gone): nothing to convert.
    return arg | MB_UNHANDLED;
  }
  const fallocate = (arg & MB_HYPERCALL) !== 0 ? (arg & MB_FALLOCATE) !== 0 : ctx.sc.vcpus.fallocateOnConversion;
  yield vmmConvert(ctx, gfn, gfn + npages, toPrivate, fallocate);
  return arg;
}

/**
 * Discard the shared copy of a piece (ram_block_discard_range): madvise(MADV_DONTNEED) of the
 * anonymous memory behind a hybrid memslot's HVA; a gmem-only memslot's shared copy is the
 * guest_memfd itself, and ram_block_discard_range on a file-backed block punches the file.
 */
const discardShared = (ctx: ActorCtx, p: SlotPiece): Gen | Gen<number> => (kvmMemslotIsGmemOnly(ctx.s, p.slot) ? kvmGmemPunchHole(ctx, p.index, p.index + p.n) : hvaDiscardRange(ctx, p.hva, p.hva + p.n));

/** A VMM syscall on the file and its return to userspace, where a last fput's __fput runs. */
function* syscall(ctx: ActorCtx, call: Gen<unknown> | Gen): Gen {
  yield call;
  yield taskWorkRun(ctx);
}

/**
 * Convert gfns [start, end): the attributes, and with `backing` the backing too, in the scenario's
 * order (vcpus.conversionOrder). Every order must keep the invariants: between its two steps a
 * vCPU may fault on the range, and the fault path has to cope.
 */
export function* vmmConvert(ctx: ActorCtx, start: number, end: number, toPrivate: boolean, backing: boolean): Gen {
  const pieces = memslotPieces(ctx.s, 'gfn', start, end, false); // the VMM's RAM map outlives a memslot
  const attrs = toPrivate ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;
  if (attrsInGmemState(ctx.s)) {
    // "next": in place, on each guest_memfd piece's fd; the backing stays (nothing to discard)
    for (const p of pieces) yield syscall(ctx, gmemConvertRetrying(ctx, p.index, p.n, attrs));
    return;
  }
  switch (ctx.sc.vcpus.conversionOrder) {
    case 'selftest':
      // private_mem_conversions_test handle_exit_hypercall: vm_guest_mem_fallocate (allocate, or
      // PUNCH_HOLE to shared), then vm_set_memory_attributes; the shared HVA is left as it is
      if (backing) for (const p of pieces) yield syscall(ctx, toPrivate ? kvmGmemAllocate(ctx, p.index, p.index + p.n) : kvmGmemPunchHole(ctx, p.index, p.index + p.n));
      yield kvmVmSetMemAttributes(ctx, start, end, attrs);
      return;
    case 'qemu':
      // kvm_convert_memory: kvm_set_memory_attributes_{private,shared}, then discard the side left:
      // ram_block_discard_range (the shared copy) or ram_block_discard_guest_memfd_range (punch)
      yield kvmVmSetMemAttributes(ctx, start, end, attrs);
      if (backing) for (const p of pieces) yield syscall(ctx, toPrivate ? discardShared(ctx, p) : kvmGmemPunchHole(ctx, p.index, p.index + p.n));
      return;
    case 'legacy':
      if (toPrivate) {
        if (backing) for (const p of pieces) yield syscall(ctx, kvmGmemAllocate(ctx, p.index, p.index + p.n));
        yield kvmVmSetMemAttributes(ctx, start, end, attrs);
        if (backing) for (const p of pieces) yield syscall(ctx, discardShared(ctx, p));
      } else {
        yield kvmVmSetMemAttributes(ctx, start, end, attrs);
        if (backing) for (const p of pieces) yield syscall(ctx, kvmGmemPunchHole(ctx, p.index, p.index + p.n));
      }
  }
}

/**
 * kernel "next": KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd for file pages [index, index +
 * npages), as a VMM drives it: on -EAGAIN (a reference the kernel could not drop: a pin, a transient
 * reference) it retries the whole range (a refused conversion changed nothing; error_offset names
 * the busy folio), up to vcpus.eagainRetries times, backing off on threads (10 us doubling to 1 ms),
 * then gives up (the guest's next access exits again). Returns the last result.
 */
export function* gmemConvertRetrying(ctx: ActorCtx, index: number, npages: number, attrs: number): Gen<number> {
  const t0 = windowClock(ctx);
  for (let tries = 0; ; tries++) {
    const { r } = yield kvmGmemSetAttributes(ctx, index, npages, attrs);
    if (r === 0) {
      count(ctx, Ctr.convSettled);
      const dt = windowClock(ctx) - t0;
      count(ctx, Ctr.convLatencySum, Math.round(dt));
      if (dt > counterOf(ctx.s, ctx.base, Ctr.convLatencyMax)) setCounter(ctx.s, ctx.base, Ctr.convLatencyMax, Math.round(dt));
      return 0;
    }
    if (r !== -EAGAIN || tries >= ctx.sc.vcpus.eagainRetries) {
      count(ctx, Ctr.convGaveUp);
      return r;
    }
    count(ctx, Ctr.convRetries);
    if (ctx.clock) Atomics.wait(ctx.s.i32, sleepWord(ctx.s, ctx.base), 0, Math.min(1, 0.01 * 2 ** tries));
    ctx.spun = true; // waiting for someone else to drop a reference
    yield P['conv-retry'];
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ vmmProgram, serveExit, syscall, vmmConvert, gmemConvertRetrying });
