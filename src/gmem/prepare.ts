// Folio preparation in kvm_gmem_get_pfn (guest_memfd.c): the uptodate gate (a new folio is
// zeroed before the guest sees it) and kvm_gmem_prepare_folio -> kvm_arch_gmem_prepare, the arch
// hook (SNP's gmem_prepare makes the page private in the RMP). By baseline:
// - 7.0 (01f492e1817e, after 8622ef05709f "Remove preparation tracking"): uptodate means cleared;
//   the hook runs on every fault (it is idempotent) and the page is handed out only if it succeeded.
// - 6.12 and 6.18 (0f94e51b5320): uptodate means prepared; a folio not yet uptodate is cleared,
//   prepared, and marked uptodate only after the hook succeeded (d04c77d23122); an uptodate one is
//   not prepared again. B35 marks it before the hook (the code d04c77d23122 fixed), B36 (7.0)
//   hands the page out although the hook failed.
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { EINVAL } from '../errno.js';
import { kernelAtLeast } from '../scenario/types.js';
import { PF_UPTODATE } from '../shm/layout.js';
import { folioSetPrepared, folioZeroContent, pfnFlags, pfnFlagsOr } from '../shm/pfn.js';
import { registerPaths } from '../engine/fiber.js';

// kvm_arch_gmem_prepare: the vendor hook, on a coco VM only (SNP's sev_gmem_prepare: rmp_make_private,
// -EINVAL when the RMP update fails); elsewhere there is nothing to prepare and it succeeds
function kvmArchGmemPrepare(ctx: ActorCtx, pfn: number): number {
  const rate = ctx.sc.prepareFailRate;
  if (rate > 0 && ctx.rng.chance(rate)) {
    count(ctx, Ctr.prepareFails);
    return -EINVAL;
  }
  folioSetPrepared(ctx.s, pfn);
  ctx.ev.folioPrepared(ctx, pfn);
  return 0;
}

// kernel "next", a shared index: the folio zeroed once if not uptodate, no arch hook (kvm_gmem_get_pfn)
export function* kvmGmemZeroFolio(ctx: ActorCtx, pfn: number): Gen<number> {
  const s = ctx.s;
  if ((pfnFlags(s, pfn) & PF_UPTODATE) !== 0) return 0;
  yield P['folio-zero'];
  folioZeroContent(s, pfn);
  pfnFlagsOr(s, pfn, PF_UPTODATE);
  return 0;
}

// the uptodate gate and kvm_gmem_prepare_folio for the locked folio pfn: 0, or the hook's error
export function* kvmGmemPrepareFolio(ctx: ActorCtx, pfn: number): Gen<number> {
  const s = ctx.s;
  const uptodate = (pfnFlags(s, pfn) & PF_UPTODATE) !== 0;
  if (kernelAtLeast(ctx.sc.kernel, '7.0')) {
    if (!uptodate) {
      yield P['folio-zero'];
      folioZeroContent(s, pfn);
      pfnFlagsOr(s, pfn, PF_UPTODATE);
    }
    const r = kvmArchGmemPrepare(ctx, pfn);
    return ctx.bugs.B36 ? 0 : r;
  }
  if (uptodate) return 0; // prepared once, not again
  yield P['folio-zero'];
  folioZeroContent(s, pfn);
  if (ctx.bugs.B35) pfnFlagsOr(s, pfn, PF_UPTODATE);
  const r = kvmArchGmemPrepare(ctx, pfn);
  if (r === 0) pfnFlagsOr(s, pfn, PF_UPTODATE); // kvm_gmem_mark_prepared
  return r;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmGmemZeroFolio, kvmGmemPrepareFolio });
