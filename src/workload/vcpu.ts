// A vCPU: the guest program (accesses with a pattern, conversions by hypercall as in
// private_mem_conversions_test) plus the KVM_RUN loop that faults and hands exits to the VMM.
// Each vCPU owns a disjoint run of gfns and writes tags into it; the checkers judge what it reads.
import { Ctr, count, opBoundary, taskWorkRun, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { writerAtWork } from '../check/ghost.js';
import { RETRY_HIST_BUCKETS, actorReadyWord, mbPost, mbStateWord, mbTakeReply, MB_POSTED, retryHistAdd, retryMax, setActorDone, setActorReady, setInGuest, setRetryMax } from '../shm/actor.js';
import { ringMbDoorbell } from '../shm/kvm.js';
import { MB_FALLOCATE, MB_HYPERCALL, MB_NPAGES_SHIFT, MB_PRIVATE, MB_UNHANDLED, ZERO_PRIVATE, ZERO_SHARED } from '../shm/layout.js';
import { pfnContent, setPfnContent } from '../shm/pfn.js';
import { sptePfn, sptePrivate } from '../shm/gfn.js';
import { newFault, kvmMmuPageFault, RET_PF_EMULATE, RET_PF_RETRY, type KvmPageFault } from '../kvm/mmu.js';
import { kvmServiceLocalTlbFlushRequests, tlbFill, tlbLookup, tlbPrivate } from '../kvm/tlb.js';
import { waitNotEqual } from '../sync/ops.js';
import { bool, fraction, int, oneOf, MAX_OPS, type Shape } from '../scenario/check.js';
import type { Scenario } from '../scenario/types.js';
import { registerPaths } from '../engine/fiber.js';

export type AccessPattern = 'sequential' | 'uniform' | 'hotset';

/** The scenario's `vcpus` section. */
export interface VcpuSpec {
  count: number;
  /** Guest accesses per vCPU under `sim` (and under `threads` with --ops); threads otherwise run for --duration. */
  ops: number;
  pattern: AccessPattern;
  /** hotset pattern: the first `hotPages` pages of the vCPU's own region get `hotFraction` of accesses. */
  hotPages: number;
  hotFraction: number;
  /** Fraction of the vCPU's region it starts by converting to private (coco guests accept private memory). */
  privateFraction: number;
  /** Fraction of accesses that are writes. */
  writeFraction: number;
  /** Per access, the probability that the guest instead converts a range by hypercall (KVM_HC_MAP_GPA_RANGE). */
  conversionRate: number;
  /** Largest range (pages) a guest hypercall converts. */
  conversionMaxPages: number;
  /** The VMM also fallocates (to private) / punches (to shared) on a guest conversion, as with the selftest's DO_FALLOCATE. */
  fallocateOnConversion: boolean;
  /**
   * The order the VMM changes attributes and backing in when it converts (vmm.ts vmmConvert):
   * `selftest` (private_mem_conversions_test: fallocate or punch first, then the attributes),
   * `qemu` (kvm_convert_memory: the attributes first, then discard the side left: the shared
   * copy, or punch guest_memfd), `legacy` (gmemsim before issue 12, the order of scenarios recorded
   * without this field: to private allocate, attributes, discard; to shared attributes, punch).
   */
  conversionOrder: ConversionOrder;
  /**
   * kernel "next": how many times the VMM retries KVM_SET_MEMORY_ATTRIBUTES2 after -EAGAIN (the
   * whole range: a refused conversion changed nothing) before it gives up on the conversion; the
   * guest's next access exits again.
   */
  eagainRetries: number;
  /**
   * `own`: each vCPU accesses its own slice of the gfns (the data check knows every write to it).
   * `shared`: every vCPU accesses every gfn (faults on the same pages contend); vCPU 0 does the
   * initial conversion while the others wait, and reads are not checked against the vCPU's own
   * writes (another vCPU may have written since); the zero-after-punch check (I7) still applies.
   */
  gfns: 'own' | 'shared';
}

export type ConversionOrder = 'selftest' | 'qemu' | 'legacy';

export const VCPU_SHAPE: Shape<VcpuSpec> = {
  count: int(1, 64),
  ops: int(0, MAX_OPS),
  pattern: oneOf('sequential', 'uniform', 'hotset'),
  hotPages: int(1),
  hotFraction: fraction,
  privateFraction: fraction,
  writeFraction: fraction,
  conversionRate: fraction,
  conversionMaxPages: int(1),
  fallocateOnConversion: bool,
  conversionOrder: oneOf('selftest', 'qemu', 'legacy'),
  eagainRetries: int(0, 100000),
  gfns: oneOf('own', 'shared'),
};

export const VCPU_DEFAULTS: VcpuSpec = {
  count: 4,
  ops: 10,
  pattern: 'uniform',
  hotPages: 2,
  hotFraction: 0.8,
  privateFraction: 0.5,
  writeFraction: 0.5,
  conversionRate: 0.15,
  conversionMaxPages: 4,
  fallocateOnConversion: true,
  // QEMU's: this VMM serves memory-fault exits as QEMU does (the selftest's VMM serves only
  // hypercalls), and its discards of the shared copy are the mmu-notifier invalidations the
  // notifier races need; built-in conversions-selftest takes the selftest's order
  conversionOrder: 'qemu',
  eagainRetries: 16,
  gfns: 'own',
};

/** Exits served for one access before the guest gives up on it (e.g. its memslot is gone). */
const MAX_EXITS_PER_ACCESS = 4;

export interface VcpuState {
  lo: number;
  hi: number;
  /** the guest's own view (coco): 1 = it accepted the page as private */
  belief: Uint8Array;
  tag: number;
  cursor: number;
  fault: KvmPageFault;
}

// A scenario's regions, computed once: explore makes every vCPU's state afresh for each schedule.
// Scenarios are not changed in place once validated (a changed one is a new object).
const REGIONS = new WeakMap<Scenario, Array<[number, number]>>();

/** The gfns a vCPU accesses: all memslot gfns split evenly, in order (gfns: 'shared': all of them). */
export function vcpuRegion(sc: Scenario, index: number): [number, number] {
  let rs = REGIONS.get(sc);
  if (rs === undefined) REGIONS.set(sc, (rs = []));
  return (rs[index] ??= computeRegion(sc, index));
}

function computeRegion(sc: Scenario, index: number): [number, number] {
  // The k-th gfn in order, walking the slots sorted by base: a validated scenario's slots never
  // overlap. Anything else (no gfns, more vCPUs than gfns, overlapping slots) takes the sort below.
  const slots = [...sc.slots].sort((a, b) => a.baseGfn - b.baseGfn);
  let n = 0;
  let disjoint = true;
  for (let i = 0; i < slots.length; i++) {
    n += slots[i].npages;
    if (i > 0 && slots[i].baseGfn < slots[i - 1].baseGfn + slots[i - 1].npages) disjoint = false;
  }
  const kth = (k: number) => {
    for (const s of slots) {
      if (k < s.npages) return s.baseGfn + k;
      k -= s.npages;
    }
    return NaN;
  };
  const each = Math.floor(n / sc.vcpus.count);
  if (disjoint && n > 0 && (sc.vcpus.gfns === 'shared' || each > 0)) {
    if (sc.vcpus.gfns === 'shared') return [kth(0), kth(n - 1) + 1];
    return [kth(index * each), kth(index * each + each - 1) + 1];
  }
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
  return { lo, hi, belief: new Uint8Array(hi - lo), tag: 0, cursor: 0, fault: newFault() };
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
  ctx.ev.guestRegion(ctx, v.lo, v.hi);
  const n = v.hi - v.lo;
  const initialPrivate = Math.round(n * sc.vcpus.privateFraction);
  if (sc.vcpus.gfns === 'own') {
    if (initialPrivate > 0) yield guestConvert(ctx, v, v.lo, initialPrivate, true);
  } else if (ctx.index === 0) {
    if (initialPrivate > 0) yield guestConvert(ctx, v, v.lo, initialPrivate, true);
    setActorReady(ctx.s, ctx.base);
  } else {
    // the guest's boot CPU accepts the memory; the others start once it has
    yield waitNotEqual(ctx, actorReadyWord(ctx.s, 0), 0, P['init-wait']);
    v.belief.fill(1, 0, initialPrivate);
  }
  for (let op = 0; op < ctx.opsLimit && (yield opBoundary(ctx)); op++) {
    if (ctx.rng.chance(sc.vcpus.conversionRate)) {
      const len = 1 + ctx.rng.below(Math.min(n, sc.vcpus.conversionMaxPages));
      const start = v.lo + ctx.rng.below(n - len + 1);
      yield guestConvert(ctx, v, start, len, ctx.rng.chance(0.5));
    } else {
      yield guestAccess(ctx, v, pickGfn(ctx, v), ctx.rng.chance(sc.vcpus.writeFraction));
    }
  }
  yield taskWorkRun(ctx); // the return to userspace after the last KVM_RUN
  setActorDone(ctx.s, ctx.base);
  ringMbDoorbell(ctx.s);
}

/** KVM_RUN returns to userspace: post the exit to the VMM thread and wait until it is served. */
function* exitToVmm(ctx: ActorCtx, gfn: number, npages: number, flags: number): Gen<number> {
  yield taskWorkRun(ctx); // on the way out of KVM_RUN (resume_user_mode_work)
  mbPost(ctx.s, ctx.base, gfn, flags | (npages << MB_NPAGES_SHIFT));
  ringMbDoorbell(ctx.s);
  yield waitNotEqual(ctx, mbStateWord(ctx.s, ctx.base), MB_POSTED, P['exit-wait']);
  return mbTakeReply(ctx.s, ctx.base);
}

// guest: KVM_HC_MAP_GPA_RANGE, then the guest's own view follows
function* guestConvert(ctx: ActorCtx, v: VcpuState, gfn: number, npages: number, toPrivate: boolean): Gen {
  yield P.hypercall;
  count(ctx, Ctr.hypercalls);
  const flags = MB_HYPERCALL | (toPrivate ? MB_PRIVATE : 0) | (ctx.sc.vcpus.fallocateOnConversion ? MB_FALLOCATE : 0);
  yield exitToVmm(ctx, gfn, npages, flags);
  for (let g = gfn; g < gfn + npages; g++) v.belief[g - v.lo] = toPrivate ? 1 : 0;
}

// guest: one load or store to gfn, faulting until it can be done
function* guestAccess(ctx: ActorCtx, v: VcpuState, gfn: number, write: boolean): Gen {
  const s = ctx.s;
  const accessPrivate = ctx.sc.vmType === 'coco' ? v.belief[gfn - v.lo] === 1 : null;
  let retries = 0;
  let exits = 0;
  let firstRetryAt = 0;
  let totalRetries = 0;
  for (let attempt = 0; ; attempt++) {
    yield P['guest-access'];
    setInGuest(s, ctx.base, 1);
    kvmServiceLocalTlbFlushRequests(s, ctx.base);
    // the TLB first; a miss walks the SPTE and caches what it found
    let pfn = tlbLookup(s, ctx.base, gfn, accessPrivate);
    let viewPrivate = accessPrivate;
    if (pfn < 0) {
      pfn = sptePfn(s, gfn);
      viewPrivate = sptePrivate(s, gfn);
      if (pfn >= 0 && (accessPrivate === null || viewPrivate === accessPrivate)) tlbFill(s, ctx.base, gfn, pfn, viewPrivate);
      else pfn = -1;
    } else if (viewPrivate === null) {
      viewPrivate = tlbPrivate(s, ctx.base, gfn);
    }
    if (pfn >= 0) {
      accessPage(ctx, v, gfn, pfn, write, viewPrivate!);
      setInGuest(s, ctx.base, 0);
      if (attempt === 0) count(ctx, Ctr.fastHits);
      else recordRetries(ctx, totalRetries);
      return;
    }
    setInGuest(s, ctx.base, 0);
    if (attempt > 0 && ctx.taskWork !== null) yield taskWorkRun(ctx); // before re-entering the guest, outside kvm->srcu (kvm_xfer_to_guest_mode_handle_work)
    const r = yield kvmMmuPageFault(ctx, v.fault, gfn, accessPrivate);
    if (r === RET_PF_RETRY) {
      count(ctx, Ctr.retries);
      ctx.spun = true; // back to the guest, which faults again: it waits for someone else
      if (++totalRetries === ctx.sc.starvationRetries + 1) count(ctx, Ctr.starvedAccesses);
      // A writer still at work (an open invalidation with its owner inside, a memslot being
      // deleted) explains a retry; only retries nothing explains count toward starvation.
      if (!writerAtWork(s)) {
        if (retries++ === 0 && ctx.clock) firstRetryAt = ctx.clock();
        if (retries > ctx.sc.starvationRetries && (!ctx.clock || ctx.clock() - firstRetryAt > 2000)) {
          ctx.ev.starved(ctx, gfn, retries, v.fault.retryReason);
          return; // the guest gives up on this access (the run is being stopped)
        }
      }
      if (ctx.stopping() && ctx.clock) return; // threads: a run that is ending does not wait out a stuck fault
      continue;
    }
    if (r === RET_PF_EMULATE) return; // MMIO: nothing to check
    if (r < 0) {
      if (!v.fault.exit.valid || ++exits > MAX_EXITS_PER_ACCESS) return;
      const reply = yield exitToVmm(ctx, gfn, 1, v.fault.exit.private ? MB_PRIVATE : 0);
      if (reply & MB_UNHANDLED) return;
    }
    retries = 0;
  }
}

/** The access itself, through the SPTE (exported for tests): write a fresh tag, or read what is there; the checkers judge it. */
export function accessPage(ctx: ActorCtx, v: VcpuState, gfn: number, pfn: number, write: boolean, isPrivate: boolean): void {
  const view = isPrivate ? ZERO_PRIVATE : ZERO_SHARED;
  if (write) {
    const tag = ((ctx.id + 1) << 22) | (++v.tag & 0x3fffff);
    ctx.ev.guestWrite(ctx, gfn, view, tag); // before the tag lands: a reader that sees it sees the view written
    setPfnContent(ctx.s, pfn, tag);
    count(ctx, Ctr.writes);
    return;
  }
  count(ctx, Ctr.reads);
  ctx.ev.guestRead(ctx, gfn, pfn, view, pfnContent(ctx.s, pfn));
}

/** Retries one faulting access needed before it was done, into this vCPU's log2 histogram. */
function recordRetries(ctx: ActorCtx, n: number): void {
  const bucket = n === 0 ? 0 : Math.min(RETRY_HIST_BUCKETS - 1, 32 - Math.clz32(n));
  retryHistAdd(ctx.s, ctx.base, bucket);
  if (n > retryMax(ctx.s, ctx.id)) setRetryMax(ctx.s, ctx.base, n);
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ vcpuProgram, exitToVmm, guestConvert, guestAccess });
