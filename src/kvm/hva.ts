// The VMM's userspace memory behind each memslot's HVA (the shared half of a hybrid slot):
// hva_to_pfn (GUP faults a zeroed anonymous page in on first touch) and its page table.
import { type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { ENOMEM } from '../errno.js';
import { allocPage, pagePut, pageTryGet } from '../mm/page_alloc.js';
import { P_CONTENT, P_OWNER, P_REF, PF_UPTODATE, PfnOwner, pfnWord } from '../shm/layout.js';
import type { Shm } from '../shm/state.js';

export const hvaGet = (s: Shm, hva: number) => Atomics.load(s.i32, s.l.hvaBase + hva) - 1;

// hva_to_pfn -> get_user_pages: the page with a reference for the caller, or -ENOMEM
export function* hvaToPfn(ctx: ActorCtx, hva: number): Gen<number> {
  const s = ctx.s;
  const w = s.l.hvaBase + hva;
  for (;;) {
    yield P.gup;
    let pfn = Atomics.load(s.i32, w) - 1;
    if (pfn >= 0) {
      if (!pageTryGet(s, pfn)) continue;
      if (Atomics.load(s.i32, w) === pfn + 1) return pfn;
      pagePut(ctx, pfn);
      continue;
    }
    // anonymous memory: the faulting task's policy (the VMM's memory is not guest_memfd's)
    pfn = allocPage(ctx, PfnOwner.Hva, hva, PF_UPTODATE, ctx.numa?.task ?? null, ctx.numa?.byOffset ? hva : undefined);
    if (pfn < 0) return -ENOMEM;
    Atomics.store(s.i32, pfnWord(s.l, pfn, P_CONTENT), 0); // anonymous memory is zero-filled
    Atomics.add(s.i32, pfnWord(s.l, pfn, P_REF), 1); // the page table's reference
    if (Atomics.compareExchange(s.i32, w, 0, pfn + 1) === 0) return pfn;
    Atomics.store(s.i32, pfnWord(s.l, pfn, P_OWNER), PfnOwner.Removed);
    pagePut(ctx, pfn);
    pagePut(ctx, pfn);
  }
}
