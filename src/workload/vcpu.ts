// A vCPU: the guest program (accesses with a pattern, conversions by hypercall as in
// private_mem_conversions_test) plus the KVM_RUN loop that faults and hands exits to the VMM.
// Each vCPU owns a disjoint run of gfns, writes tags into it and checks what it reads back.
import { count, opBoundary, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import {
  A_DONE,
  A_INSIDE,
  A_IN_GUEST,
  A_RETRY_HIST,
  A_RETRY_MAX,
  A_READY,
  RETRY_HIST_BUCKETS,
  A_MB_ARG,
  A_MB_GFN,
  A_MB_STATE,
  F_EPOCH,
  F_ZERO,
  G_MB_DOORBELL,
  MB_FALLOCATE,
  MB_HYPERCALL,
  MB_NPAGES_SHIFT,
  MB_PRIVATE,
  MB_UNHANDLED,
  P_CONTENT,
  ZERO_PRIVATE,
  S_STATE,
  SlotState,
  ZERO_SHARED,
  actorWord,
  gfnWord,
  pfnWord,
  slotWord,
} from '../shm/layout.js';
import type { Shm } from '../shm/state.js';
import { newFault, kvmMmuPageFault, RET_PF_EMULATE, RET_PF_RETRY, type KvmPageFault } from '../kvm/mmu.js';
import { sptePresent, sptePrivate } from '../kvm/spte.js';
import { kvmServiceLocalTlbFlushRequests, tlbFill, tlbLookup, tlbPrivate } from '../kvm/tlb.js';
import { waitNotEqual } from '../sync/ops.js';
import type { Scenario } from '../scenario/types.js';

/** Exits served for one access before the guest gives up on it (e.g. its memslot is gone). */
const MAX_EXITS_PER_ACCESS = 4;

export interface VcpuState {
  lo: number;
  hi: number;
  /** the guest's own view (coco): 1 = it accepted the page as private */
  belief: Uint8Array;
  expTag: Int32Array;
  expEpoch: Int32Array;
  /** ZERO_PRIVATE / ZERO_SHARED: which view the expectation was written through; 0 = none */
  expView: Uint8Array;
  tag: number;
  cursor: number;
  fault: KvmPageFault;
  /** gfns: 'shared' (see VcpuSpec.gfns) */
  shared: boolean;
}

/** The gfns a vCPU accesses: all memslot gfns split evenly, in order (gfns: 'shared': all of them). */
export function vcpuRegion(sc: Scenario, index: number): [number, number] {
  let total = 0;
  for (const s of sc.slots) total += s.npages;
  // A typed array sorts numerically without a comparator (a bench vCPU region is 2^20 gfns).
  const gfns = new Int32Array(total);
  let k = 0;
  for (const s of sc.slots) for (let g = s.baseGfn; g < s.baseGfn + s.npages; g++) gfns[k++] = g;
  gfns.sort();
  if (sc.vcpus.gfns === 'shared') return [gfns[0], gfns[gfns.length - 1] + 1];
  const per = Math.floor(gfns.length / sc.vcpus.count);
  return [gfns[index * per], gfns[index * per + per - 1] + 1];
}

export function newVcpuState(sc: Scenario, index: number): VcpuState {
  const [lo, hi] = vcpuRegion(sc, index);
  const n = hi - lo;
  return {
    lo,
    hi,
    belief: new Uint8Array(n),
    expTag: new Int32Array(n),
    expEpoch: new Int32Array(n),
    expView: new Uint8Array(n),
    tag: 0,
    cursor: 0,
    fault: newFault(),
    shared: sc.vcpus.gfns === 'shared',
  };
}

function pickGfn(ctx: ActorCtx, v: VcpuState): number {
  const spec = ctx.sc.vcpus;
  const n = v.hi - v.lo;
  switch (spec.pattern) {
    case 'sequential':
      return v.lo + (v.cursor++ % n);
    case 'hotset': {
      const hot = Math.min(n, Math.max(1, spec.hotPages));
      return v.lo + (ctx.rng.chance(spec.hotFraction) ? ctx.rng.below(hot) : ctx.rng.below(n));
    }
    default:
      return v.lo + ctx.rng.below(n);
  }
}

export function* vcpuProgram(ctx: ActorCtx): Gen {
  const sc = ctx.sc;
  const v = newVcpuState(sc, ctx.index);
  ctx.fault = v.fault;
  yield P.start;
  const n = v.hi - v.lo;
  const initialPrivate = Math.round(n * sc.vcpus.privateFraction);
  if (sc.vcpus.gfns === 'own') {
    if (initialPrivate > 0) yield* guestConvert(ctx, v, v.lo, initialPrivate, true);
  } else if (ctx.index === 0) {
    if (initialPrivate > 0) yield* guestConvert(ctx, v, v.lo, initialPrivate, true);
    Atomics.store(ctx.s.i32, ctx.base + A_READY, 1);
    Atomics.notify(ctx.s.i32, ctx.base + A_READY);
  } else {
    // the guest's boot CPU accepts the memory; the others start once it has
    yield* waitNotEqual(ctx, actorWord(ctx.s.l, 0, A_READY), 0, P['init-wait']);
    v.belief.fill(1, 0, initialPrivate);
  }
  for (let op = 0; op < ctx.opsLimit && (yield* opBoundary(ctx)); op++) {
    if (ctx.rng.chance(sc.vcpus.conversionRate)) {
      const len = 1 + ctx.rng.below(Math.min(n, sc.vcpus.conversionMaxPages));
      const start = v.lo + ctx.rng.below(n - len + 1);
      yield* guestConvert(ctx, v, start, len, ctx.rng.chance(0.5));
    } else {
      yield* guestAccess(ctx, v, pickGfn(ctx, v), ctx.rng.chance(sc.vcpus.writeFraction));
    }
  }
  Atomics.store(ctx.s.i32, ctx.base + A_DONE, 1);
  ringDoorbell(ctx);
}

function ringDoorbell(ctx: ActorCtx): void {
  Atomics.add(ctx.s.i32, G_MB_DOORBELL, 1);
  Atomics.notify(ctx.s.i32, G_MB_DOORBELL);
}

/** KVM_RUN returns to userspace: post the exit to the VMM thread and wait until it is served. */
function* exitToVmm(ctx: ActorCtx, gfn: number, npages: number, flags: number): Gen<number> {
  const a = ctx.s.i32;
  a[ctx.base + A_MB_GFN] = gfn;
  a[ctx.base + A_MB_ARG] = flags | (npages << MB_NPAGES_SHIFT);
  Atomics.store(a, ctx.base + A_MB_STATE, 1);
  ringDoorbell(ctx);
  yield* waitNotEqual(ctx, ctx.base + A_MB_STATE, 1, P['exit-wait']);
  const reply = a[ctx.base + A_MB_ARG];
  Atomics.store(a, ctx.base + A_MB_STATE, 0);
  return reply;
}

// guest: KVM_HC_MAP_GPA_RANGE, then the guest's own view follows
function* guestConvert(ctx: ActorCtx, v: VcpuState, gfn: number, npages: number, toPrivate: boolean): Gen {
  yield P.hypercall;
  count(ctx, 'hypercalls');
  const flags = MB_HYPERCALL | (toPrivate ? MB_PRIVATE : 0) | (ctx.sc.vcpus.fallocateOnConversion ? MB_FALLOCATE : 0);
  yield* exitToVmm(ctx, gfn, npages, flags);
  for (let g = gfn; g < gfn + npages; g++) v.belief[g - v.lo] = toPrivate ? 1 : 0;
}

// guest: one load or store to gfn, faulting until it can be done
function* guestAccess(ctx: ActorCtx, v: VcpuState, gfn: number, write: boolean): Gen {
  const s = ctx.s;
  const a = s.i32;
  const i = gfn - v.lo;
  const accessPrivate = ctx.sc.vmType === 'coco' ? v.belief[i] === 1 : null;
  let retries = 0;
  let exits = 0;
  let firstRetryAt = 0;
  let totalRetries = 0;
  for (let attempt = 0; ; attempt++) {
    yield P['guest-access'];
    Atomics.store(a, ctx.base + A_IN_GUEST, 1);
    kvmServiceLocalTlbFlushRequests(s, ctx.base);
    // the TLB first; a miss walks the SPTE and caches what it found
    let pfn = tlbLookup(s, ctx.base, gfn, accessPrivate);
    let viewPrivate = accessPrivate;
    if (pfn < 0) {
      pfn = sptePresent(s, gfn);
      viewPrivate = sptePrivate(s, gfn);
      if (pfn >= 0 && (accessPrivate === null || viewPrivate === accessPrivate)) tlbFill(s, ctx.base, gfn, pfn, viewPrivate);
      else pfn = -1;
    } else if (viewPrivate === null) {
      viewPrivate = tlbPrivate(s, ctx.base, gfn);
    }
    if (pfn >= 0) {
      accessPage(ctx, v, i, gfn, pfn, write, viewPrivate!);
      Atomics.store(a, ctx.base + A_IN_GUEST, 0);
      if (attempt === 0) count(ctx, 'fastHits');
      else recordRetries(ctx, totalRetries);
      return;
    }
    Atomics.store(a, ctx.base + A_IN_GUEST, 0);
    const r = yield* kvmMmuPageFault(ctx, v.fault, gfn, accessPrivate);
    if (r === RET_PF_RETRY) {
      count(ctx, 'retries');
      if (++totalRetries === ctx.sc.starvationRetries + 1) count(ctx, 'starvedAccesses');
      // A writer still at work (an open invalidation with its owner inside, a memslot being
      // deleted) explains a retry; only retries nothing explains count toward starvation.
      if (!writerAtWork(ctx.s)) {
        if (retries++ === 0 && ctx.clock) firstRetryAt = ctx.clock();
        if (retries > ctx.sc.starvationRetries && (!ctx.clock || ctx.clock() - firstRetryAt > 2000)) {
          ctx.report('STARVATION', `vCPU ${ctx.index}: fault on gfn ${gfn} retried ${retries} times in a row with no writer at work (last: ${v.fault.retryReason})`);
          return;
        }
      }
      if (ctx.stopping() && ctx.clock) return; // threads: a run that is ending does not wait out a stuck fault
      continue;
    }
    if (r === RET_PF_EMULATE) return; // MMIO: nothing to check
    if (r < 0) {
      if (!v.fault.exit.valid || ++exits > MAX_EXITS_PER_ACCESS) return;
      const reply = yield* exitToVmm(ctx, gfn, 1, v.fault.exit.private ? MB_PRIVATE : 0);
      if (reply & MB_UNHANDLED) return;
    }
    retries = 0;
  }
}

/** The access itself, through the SPTE (exported for tests): write a fresh tag, or read and check against what this vCPU knows. */
export function accessPage(ctx: ActorCtx, v: VcpuState, i: number, gfn: number, pfn: number, write: boolean, isPrivate: boolean): void {
  const a = ctx.s.i32;
  const l = ctx.s.l;
  const view = isPrivate ? ZERO_PRIVATE : ZERO_SHARED;
  const epoch = Atomics.load(a, gfnWord(l, gfn, F_EPOCH));
  const cw = pfnWord(l, pfn, P_CONTENT);
  if (write) {
    const tag = ((ctx.id + 1) << 22) | (++v.tag & 0x3fffff);
    // The view stops reading zeroes before the tag lands: a reader that sees the tag also sees the
    // bit cleared (the other order makes another vCPU's read report I7 falsely, gfns: shared).
    Atomics.and(a, gfnWord(l, gfn, F_ZERO), ~view);
    Atomics.store(a, cw, tag);
    v.expTag[i] = tag;
    v.expEpoch[i] = epoch;
    v.expView[i] = view;
    count(ctx, 'writes');
    return;
  }
  count(ctx, 'reads');
  const val = Atomics.load(a, cw);
  if ((Atomics.load(a, gfnWord(l, gfn, F_ZERO)) & view) !== 0) {
    if (val !== 0) {
      ctx.report('I7', `vCPU ${ctx.index}: gfn ${gfn} reads ${hex(val)} through its ${view === ZERO_PRIVATE ? 'private' : 'shared'} view after a punch/discard (expected zeroes), pfn ${pfn}`);
    }
    return;
  }
  if (v.shared) return; // another vCPU may have written it since
  if (v.expView[i] === view && v.expEpoch[i] === epoch && val !== v.expTag[i]) {
    ctx.report('DATA', `vCPU ${ctx.index}: gfn ${gfn} reads ${hex(val)}, wrote ${hex(v.expTag[i])} and nothing legitimately changed it since, pfn ${pfn}`);
  }
}

/** Retries one faulting access needed before it was done, into this vCPU's log2 histogram. */
function recordRetries(ctx: ActorCtx, n: number): void {
  const a = ctx.s.i32;
  const bucket = n === 0 ? 0 : Math.min(RETRY_HIST_BUCKETS - 1, 32 - Math.clz32(n));
  a[ctx.base + A_RETRY_HIST + bucket]++;
  if (n > a[ctx.base + A_RETRY_MAX]) a[ctx.base + A_RETRY_MAX] = n;
}

/** Is some actor inside an invalidation it began, or some memslot being deleted? */
function writerAtWork(s: Shm): boolean {
  const { i32, l } = s;
  for (let id = 0; id < l.nActors; id++) if (Atomics.load(i32, actorWord(l, id, A_INSIDE)) > 0) return true;
  for (let id = 0; id < l.nSlots; id++) {
    const st = Atomics.load(i32, slotWord(l, id, S_STATE));
    if (st === SlotState.Invalid || st === SlotState.Flushed) return true;
  }
  return false;
}

const hex = (x: number) => `0x${(x >>> 0).toString(16)}`;

