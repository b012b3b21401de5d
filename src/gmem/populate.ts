// kvm_gmem_populate (virt/kvm/guest_memfd.c at 01f492e1817e; the 6.12/6.18 shape at 0f94e51b5320):
// how SNP's LAUNCH_UPDATE and TDX's INIT_MEM_REGION fill private memory with launch data before
// the guest runs. The caller holds slots_lock, which keeps the attributes still (it serialises
// with KVM_SET_MEMORY_ATTRIBUTES). For each page: the source page is pinned (7.0: here, outside any
// guest_memfd lock; before: inside the vendor callback, under the invalidate lock), then under the
// invalidate lock for write the folio is looked up as a fault would (__kvm_gmem_get_pfn), the gfn
// must be private (e4ee54479273), and post_populate copies, encrypts and measures the page; the
// folio is marked uptodate only if that succeeded. 7.0 takes the invalidate lock per page; 6.12 and
// 6.18 held it across the loop and refused an uptodate (already prepared) folio with -EEXIST.
// Returns the pages populated if any, else the error.
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { EEXIST, EFAULT, EINVAL } from '../errno.js';
import { kvmGmemGetFile, kvmGmemPutFile } from './release.js';
import { __kvmGmemGetPfn } from './guest_memfd.js';
import { pagePut } from '../mm/page_alloc.js';
import { memAttrOfGfn } from '../shm/attr.js';
import { kernelAtLeast } from '../scenario/types.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, PF_UPTODATE } from '../shm/layout.js';
import { pfnFlags, pfnFlagsOr, setPfnContent, folioSetPrepared } from '../shm/pfn.js';
import { kvmGmemGetIndex, memslotCovering, slotBaseGfn, slotFile, slotNpages } from '../shm/slot.js';
import { folioUnlock, invLock, invUnlock } from '../sync/ops.js';
import { LockClass, lockdepAssertHeld } from '../sync/lockdep.js';
import { registerPaths } from '../engine/fiber.js';

/** The content tag launch data carries (what post_populate copies from the source page). */
export const launchTag = (gfn: number) => 0x4c000000 | gfn;

export function* kvmGmemPopulate(ctx: ActorCtx, startGfn: number, npages: number, withSource: boolean): Gen<number> {
  lockdepAssertHeld(ctx, LockClass.Slots, false, 'kvm_gmem_populate');
  ctx.ev.populateBegan(ctx, startGfn, npages);
  const r = yield populatePages(ctx, startGfn, npages, withSource);
  ctx.ev.populateReturned(ctx, r);
  return r;
}

function* populatePages(ctx: ActorCtx, startGfn: number, npages: number, withSource: boolean): Gen<number> {
  const s = ctx.s;
  if (npages <= 0) return -EINVAL; // WARN_ON_ONCE(npages <= 0)
  yield P['populate'];
  const slot = memslotCovering(s, startGfn); // gfn_to_memslot
  if (slot < 0 || !slotFile(s, slot)) return -EINVAL; // no memslot, or not a gmem one
  if (!kvmGmemGetFile(ctx, slot, 'kvm_gmem_populate')) return -EFAULT;
  const n = Math.min(npages, slotBaseGfn(s, slot) + slotNpages(s, slot) - startGfn);
  const perPage = kernelAtLeast(ctx.sc.kernel, '7.0');
  if (!perPage) yield invLock(ctx);
  let i = 0;
  let ret = 0;
  for (; i < n; i++) {
    // (a pending signal, -EINTR, is not modelled)
    if (withSource && perPage) yield P.gup; // get_user_pages_fast on the source page, no guest_memfd lock held
    ret = yield __kvmGmemPopulate(ctx, slot, startGfn + i, withSource, perPage);
    if (ret !== 0) break;
  }
  if (!perPage) invUnlock(ctx);
  kvmGmemPutFile(ctx);
  if (i > 0) count(ctx, Ctr.populated, i);
  return i > 0 ? i : ret;
}

// __kvm_gmem_populate (7.0) / the loop body of 6.18's kvm_gmem_populate: one page
function* __kvmGmemPopulate(ctx: ActorCtx, slot: number, gfn: number, withSource: boolean, perPage: boolean): Gen<number> {
  const s = ctx.s;
  if (perPage) yield invLock(ctx);
  let ret: number;
  const pfn = yield __kvmGmemGetPfn(ctx, slot, kvmGmemGetIndex(s, slot, gfn));
  if (pfn < 0) {
    ret = pfn;
  } else {
    folioUnlock(ctx, pfn);
    if (!perPage && (pfnFlags(s, pfn) & PF_UPTODATE) !== 0) {
      ret = -EEXIST; // already prepared (de80252414f3; gone with 8622ef05709f)
    } else if (!ctx.bugs.B41 && (memAttrOfGfn(s, gfn) & KVM_MEMORY_ATTRIBUTE_PRIVATE) === 0) {
      ret = -EINVAL; // kvm_range_has_memory_attributes(gfn, gfn + 1, PRIVATE, PRIVATE)
    } else {
      if (withSource && !perPage) yield P.gup; // the vendor callback pins the source, under the invalidate lock
      yield P['post-populate'];
      ret = kvmArchPostPopulate(ctx, gfn, pfn);
      if (ret === 0) pfnFlagsOr(s, pfn, PF_UPTODATE);
    }
    pagePut(ctx, pfn);
  }
  if (perPage) invUnlock(ctx);
  if (ret !== 0) count(ctx, Ctr.populateErrors);
  return ret;
}

// post_populate (sev_gmem_post_populate, tdx_gmem_post_populate): the launch data copied into the
// page, which becomes the guest's (SNP: assigned in the RMP, measured); refused as often as the
// arch prepare hook fails (prepareFailRate)
function kvmArchPostPopulate(ctx: ActorCtx, gfn: number, pfn: number): number {
  const rate = ctx.sc.prepareFailRate;
  if (rate > 0 && ctx.rng.chance(rate)) return -EINVAL;
  ctx.ev.launchDataWritten(ctx, gfn, pfn);
  setPfnContent(ctx.s, pfn, launchTag(gfn));
  folioSetPrepared(ctx.s, pfn);
  return 0;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmGmemPopulate, populatePages, __kvmGmemPopulate });
