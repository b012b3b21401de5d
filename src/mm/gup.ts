// Long-term pins through the host's mapping of the guest_memfd (mm/gup.c as a DMA user meets
// it: VFIO/iommufd mapping guest memory, vhost, the selftest's gup_test PIN_LONGTERM). A pin adds
// GUP_PIN_COUNTING_BIAS to a small folio's refcount (try_grab_folio(FOLL_PIN)), which is how
// folio_maybe_dma_pinned, and guest_memfd's conversion check, tell it apart from other references.
// The fast path walks the PTE with interrupts off: it reads the PTE, grabs the folio, and reads the
// PTE again, dropping the grab if it changed; an unmap's TLB shootdown waits for it (the CPU is
// "in an access": setInGuest), so a pin is either done before an unmap returns or sees its zap.
// Otherwise the slow path faults the page in (kvm_gmem_fault_user_mapping) and tries again.
import { folioLevel } from '../shm/huge.js';
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { VM_FAULT_SIGBUS, kvmGmemFaultUserMapping } from '../gmem/user_mapping.js';
import { setInGuest } from '../shm/actor.js';
import { hostPteGet } from '../shm/file.js';
import { pfnRef, pfnRefCas } from '../shm/pfn.js';
import type { Shm } from '../shm/state.js';
import { pagePutRefs } from './page_alloc.js';
import { registerPaths } from '../engine/fiber.js';

/** GUP_PIN_COUNTING_BIAS (include/linux/mm.h) */
export const GUP_PIN_COUNTING_BIAS = 1024;

/** folio_maybe_dma_pinned for a small folio: its refcount carries at least one pin's bias. */
// A large folio counts pins in _pincount, not in the refcount's bias: the model pins only 4K folios
// (GUP reaches a hugetlb page's pieces only once a shared page has split it; THP files refuse pinners),
// so a huge folio's page-cache references (one a page) never read as a pin
export const folioMaybeDmaPinned = (s: Shm, pfn: number) => folioLevel(s, pfn) === 0 && pfnRef(s, pfn) >= GUP_PIN_COUNTING_BIAS;

// try_grab_folio(FOLL_PIN): the pin's bias, unless the folio is being freed
function tryGrabPin(s: Shm, pfn: number): boolean {
  for (;;) {
    const r = pfnRef(s, pfn);
    if (r <= 0) return false;
    if (pfnRefCas(s, pfn, r, r + GUP_PIN_COUNTING_BIAS)) return true;
  }
}

// pin_user_pages_fast(FOLL_LONGTERM | FOLL_WRITE) of the mapping's page at file index `index`:
// the pfn pinned, or -EFAULT (the fault raised SIGBUS: the page is private, or beyond i_size)
export function* pinUserPage(ctx: ActorCtx, index: number): Gen<number> {
  const s = ctx.s;
  for (;;) {
    yield P['gup-fast'];
    setInGuest(s, ctx.base, 1); // local_irq_save: an unmap's shootdown waits for the walk
    const pte = index < s.l.filePages ? hostPteGet(s, index) : -1;
    let pinned = -1;
    if (pte >= 0 && tryGrabPin(s, pte)) {
      if (hostPteGet(s, index) === pte) pinned = pte;
      else pagePutRefs(ctx, pte, GUP_PIN_COUNTING_BIAS); // the PTE changed under us: gup_put_folio
    }
    setInGuest(s, ctx.base, 0);
    if (pinned >= 0) {
      count(ctx, Ctr.pins);
      ctx.ev.folioPinned(ctx, index, pinned);
      return pinned;
    }
    // __get_user_pages: handle_mm_fault, then the walk again
    const r = yield kvmGmemFaultUserMapping(ctx, index);
    if (r === VM_FAULT_SIGBUS) {
      count(ctx, Ctr.pinFails);
      return -14; // -EFAULT
    }
  }
}

// unpin_user_page: the pin's bias dropped (the last reference frees the folio)
export function* unpinUserPage(ctx: ActorCtx, index: number, pfn: number): Gen {
  yield P.unpin;
  ctx.ev.folioUnpinned(ctx, index, pfn);
  pagePutRefs(ctx, pfn, GUP_PIN_COUNTING_BIAS);
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ pinUserPage, unpinUserPage });
