// In-place conversion (kernel "next"): guest_memfd owns the memory attributes and converts them
// with KVM_SET_MEMORY_ATTRIBUTES2 on its fd. Modelled from the series "guest_memfd: In-place
// conversion support" (Ackerley Tng, Sean Christopherson et al.) as posted in v4 (2026-03-26,
// patch 10/44 "KVM: guest_memfd: Add support for KVM_SET_MEMORY_ATTRIBUTES2") with v5's
// lru_add_drain_all in kvm_gmem_is_safe_for_conversion (2026-04): under the invalidate lock for
// write, an already-converted range returns at once; a conversion to private unmaps the host's
// mappings and refuses with -EAGAIN (error_offset: the folio) while any folio in range holds a
// reference beyond the page cache's and the lookup's (draining the LRU-add batches once before it
// gives up); only then does it invalidate (zapping shared and private SPTEs alike), store the
// attributes and end the invalidation. Content modes (the ZERO/PRESERVE flags) and the maple
// tree's -ENOMEM are not modelled.
import { Ctr, count, type ActorCtx, type Gen } from '../engine/ctx.js';
import { P } from '../engine/points.js';
import { orders } from '../alternatives.js';
import { EAGAIN, EINVAL } from '../errno.js';
import { kvmSupportedMemAttributes } from '../kvm/memory_attributes.js';
import { lruAddDrainAll } from '../mm/lru.js';
import { pagePut, pageTryGet } from '../mm/page_alloc.js';
import { gmemAttr, setGmemAttr } from '../shm/attr.js';
import { filemapGet } from '../shm/file.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE } from '../shm/layout.js';
import { clearPagePrepared, pfnRef, setPfnContent } from '../shm/pfn.js';
import { folioNrPages, hugetlbOn } from '../shm/huge.js';
import { hugetlbNr, kvmGmemRestructureFolios } from './hugetlb.js';
import { memslotPieces } from '../shm/slot.js';
import { invLock, invUnlock } from '../sync/ops.js';
import { gmemFdget, gmemFput } from './release.js';
import { kvmGmemInvalidateBegin, kvmGmemInvalidateEnd } from './guest_memfd.js';
import { unmapMappingPages } from './user_mapping.js';
import { registerPaths } from '../engine/fiber.js';

/** What the ioctl returns: 0 or -errno, and error_offset >> PAGE_SHIFT when it failed (-1: not set). */
export interface SetAttributesResult {
  r: number;
  errIndex: number;
}

// kvm_gmem_range_has_attributes: every index of [start, end) already has `attrs` (B45 stops one short)
function kvmGmemRangeHasAttributes(ctx: ActorCtx, start: number, end: number, attrs: number): boolean {
  const last = ctx.bugs.B45 ? end - 1 : end;
  for (let i = start; i < last; i++) if (gmemAttr(ctx.s, i) !== attrs) return false;
  return true;
}

// kvm_gmem_is_safe_for_conversion: -1 when every folio in [start, end) holds only the page cache's
// reference and the lookup's; else the index of the first that does not. A mismatch drains every
// CPU's LRU-add batch once (folio_may_be_lru_cached: every folio here is small) and looks again.
export function* kvmGmemIsSafeForConversion(ctx: ActorCtx, start: number, end: number): Gen<number> {
  const s = ctx.s;
  let drained = false;
  for (let i = start; i < end; ) {
    yield P['refcount-check'];
    const pfn = filemapGet(s, i);
    if (pfn < 0 || !pageTryGet(s, pfn)) {
      i++; // no folio: nothing can reference it (filemap_get_folios skips holes)
      continue;
    }
    const safe = pfnRef(s, pfn) === folioNrPages(s, pfn) + 1; // folio_nr_pages + filemap_get_folios' reference
    pagePut(ctx, pfn); // folio_batch_release
    if (safe) i++;
    else if (!drained) {
      lruAddDrainAll(ctx);
      drained = true;
    } else return i;
  }
  return -1;
}

interface Conversion {
  start: number;
  end: number;
  attrs: number;
  r: number;
  errIndex: number;
}

// the checks a conversion to private must pass before it changes anything the guest sees:
// unmap_mapping_pages (B16 skips it), then the reference check (B15 skips it)
function* toPrivateChecks(ctx: ActorCtx, c: Conversion): Gen {
  if ((c.attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE) === 0) return;
  if (!ctx.bugs.B16) yield unmapMappingPages(ctx, c.start, c.end);
  if (ctx.bugs.B15) return;
  const bad = yield kvmGmemIsSafeForConversion(ctx, c.start, c.end);
  if (bad >= 0) {
    c.r = -EAGAIN;
    c.errIndex = bad;
  }
}
// hugetlb (the 1G RFC): the invalidation rounded out to the huge folios the range touches
// (kvm_gmem_compute_invalidate_start/end; B55 leaves it exact)
function invalidateRange(ctx: ActorCtx, c: Conversion): [number, number] {
  if (!hugetlbOn(ctx.s) || ctx.bugs.B55) return [c.start, c.end];
  const nr = hugetlbNr(ctx);
  return [c.start - (c.start % nr), Math.ceil(c.end / nr) * nr];
}
function* begin(ctx: ActorCtx, c: Conversion): Gen {
  if (c.r === 0) yield kvmGmemInvalidateBegin(ctx, ...invalidateRange(ctx, c));
}
// hugetlb: the folios split or merged to match the new attributes, inside the invalidation
function* restructure(ctx: ActorCtx, c: Conversion): Gen {
  if (c.r === 0 && hugetlbOn(ctx.s)) yield kvmGmemRestructureFolios(ctx, c.start, c.end, (c.attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0);
}
// kvm_gmem_invalidate for to-shared (the arch's hook: SNP hands the pages back to the host in the
// RMP; B46 skips it), then mas_store_prealloc: one store of the whole range (RCU readers see it at once)
function* store(ctx: ActorCtx, c: Conversion): Gen {
  if (c.r !== 0) return;
  const s = ctx.s;
  const toPrivate = (c.attrs & KVM_MEMORY_ATTRIBUTE_PRIVATE) !== 0;
  if (!toPrivate && !ctx.bugs.B46) {
    for (let i = c.start; i < c.end; i++) {
      const pfn = filemapGet(s, i);
      if (pfn >= 0) clearPagePrepared(s, pfn); // the converted pages only: SNP's RMP is per page
    }
  }
  // in place: the folios keep their content (B48 clears it, as the ZERO content mode would)
  if (ctx.bugs.B48) {
    for (let i = c.start; i < c.end; i++) {
      const pfn = filemapGet(s, i);
      if (pfn >= 0) setPfnContent(s, pfn, 0);
    }
  }
  yield P['gmem-attr-store'];
  for (let i = c.start; i < c.end; i++) setGmemAttr(s, i, c.attrs);
  for (let i = c.start; i < c.end; i++) {
    ctx.ev.gmemAttrStored(ctx, i);
    for (const p of memslotPieces(s, 'index', i, i + 1, false)) ctx.ev.attrStored(ctx, p.gfn);
  }
  count(ctx, Ctr.convChanged);
}
// kvm_gmem_invalidate_end, if the invalidation began
function* end(ctx: ActorCtx, c: Conversion): Gen {
  if (c.r === 0) yield kvmGmemInvalidateEnd(ctx, ...invalidateRange(ctx, c));
}
// B44 begins the invalidation before the checks, and its -EAGAIN path returns without ending it
function* beginAlways(ctx: ActorCtx, c: Conversion): Gen {
  yield kvmGmemInvalidateBegin(ctx, ...invalidateRange(ctx, c));
}

const SET_ATTRIBUTES = orders<[Conversion]>('__kvm_gmem_set_attributes', {
  upstream: [toPrivateChecks, begin, store, restructure, end],
  B44: [beginAlways, toPrivateChecks, store, restructure, end],
});

// __kvm_gmem_set_attributes on file pages [start, end)
function* __kvmGmemSetAttributes(ctx: ActorCtx, start: number, end: number, attrs: number): Gen<SetAttributesResult> {
  yield invLock(ctx);
  const c: Conversion = { start, end, attrs, r: 0, errIndex: -1 };
  yield P['attr-read'];
  const work = !kvmGmemRangeHasAttributes(ctx, start, end, attrs);
  ctx.ev.gmemSetAttrsBegan(ctx, start, end, attrs, work);
  if (work) for (const step of SET_ATTRIBUTES.of(ctx)) yield step(ctx, c);
  ctx.ev.gmemSetAttrsReturned(ctx, c.r, c.errIndex);
  invUnlock(ctx);
  ctx.ev.writerReturned(ctx, 'kvm_gmem_set_attributes');
  return { r: c.r, errIndex: c.errIndex };
}

// kvm_gmem_set_attributes: the ioctl's checks (flags and the reserved words are always 0 here),
// then the conversion of file pages [index, index + npages)
export function* kvmGmemSetAttributes(ctx: ActorCtx, index: number, npages: number, attrs: number): Gen<SetAttributesResult> {
  const fail = (r: number): SetAttributesResult => ({ r, errIndex: -1 });
  const fd = gmemFdget(ctx); // the ioctl's fd
  if (fd < 0) return fail(fd);
  let res: SetAttributesResult;
  yield P['gmem-set-attrs'];
  count(ctx, Ctr.gmemSetAttrs);
  if ((attrs & ~kvmSupportedMemAttributes(ctx.sc.vmType)) !== 0) res = fail(-EINVAL);
  else if (npages <= 0 || index < 0 || index >= ctx.s.l.filePages || index + npages > ctx.s.l.filePages) res = fail(-EINVAL);
  else res = yield __kvmGmemSetAttributes(ctx, index, index + npages, attrs);
  if (res.r === -EAGAIN) count(ctx, Ctr.convEagain);
  gmemFput(ctx);
  return res;
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ kvmGmemIsSafeForConversion, toPrivateChecks, begin, restructure, store, end, beginAlways, __kvmGmemSetAttributes, kvmGmemSetAttributes });
