// The VMM's userspace memory behind each memslot's HVA (the shared half of a hybrid slot):
// hva_to_pfn (GUP faults a zeroed anonymous page in on first touch) and its page table.
import { type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { ENOMEM } from '../errno.js';
import { allocPage, pagePut, pageTryGet } from '../mm/page_alloc.js';
import { hvaGet, hvaInstall } from '../shm/file.js';
import { PF_UPTODATE, PfnOwner } from '../shm/layout.js';
import { pfnRefAdd, setPfnContent, setPfnOwner } from '../shm/pfn.js';
import { registerPaths } from '../engine/fiber.js';

// hva_to_pfn -> get_user_pages: the page with a reference for the caller, or -ENOMEM
export function* hvaToPfn(ctx: ActorCtx, hva: number): Gen<number> {
  const s = ctx.s;
  for (;;) {
    yield P.gup;
    let pfn = hvaGet(s, hva);
    if (pfn >= 0) {
      if (!pageTryGet(s, pfn)) continue;
      if (hvaGet(s, hva) === pfn) return pfn;
      pagePut(ctx, pfn);
      continue;
    }
    // anonymous memory: the faulting task's policy (the VMM's memory is not guest_memfd's)
    pfn = allocPage(ctx, PfnOwner.Hva, hva, PF_UPTODATE, ctx.numa?.task ?? null, ctx.numa?.byOffset ? hva : undefined);
    if (pfn < 0) return -ENOMEM;
    setPfnContent(s, pfn, 0); // anonymous memory is zero-filled
    pfnRefAdd(s, pfn, 1); // the page table's reference
    if (hvaInstall(s, hva, pfn)) return pfn;
    setPfnOwner(s, pfn, PfnOwner.Removed);
    pagePut(ctx, pfn);
    pagePut(ctx, pfn);
  }
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ hvaToPfn });
