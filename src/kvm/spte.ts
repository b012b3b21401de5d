// SPTEs of the TDP MMU: one 4K leaf per gfn. SPTEs hold no page reference (spec §1.4); the
// checker's ghost reverse map learns of every change through the spteChanged event.
import { Ctr, count, type ActorCtx } from '../engine/ctx.js';
import { SPTE_LEVEL_MASK, SPTE_LEVEL_SHIFT, SPTE_PRIVATE, SPTE_WRITABLE } from '../shm/layout.js';
import { setSpteFlags, setSpteGen, spteClear, spteCmpxchg, spteFlags, spteGen, sptePfn } from '../shm/gfn.js';
import { pfnGen } from '../shm/pfn.js';
import { hugeOn, pagesPerLevel } from '../shm/huge.js';
import type { Shm } from '../shm/state.js';
import { kvmFlushRemoteTlbs } from './tlb.js';

export const Install = { Installed: 0, Spurious: 1, Lost: 2 } as const;

// tdp_mmu_map_handle_target_level: install the leaf with cmpxchg (caller holds mmu_lock for read)
export function tdpMmuMapLeaf(ctx: ActorCtx, gfn: number, pfn: number, gen: number, isPrivate: boolean): number {
  const s = ctx.s;
  const old = sptePfn(s, gfn);
  // the same SPTE already there (another vCPU faulted it in): RET_PF_SPURIOUS
  if (old === pfn && spteGen(s, gfn) === gen) return Install.Spurious;
  // Flags and generation first, then the pfn word that makes the SPTE present. A loser of the
  // cmpxchg race has written the same values: both passed the stale check under mmu_lock, so both
  // resolved the same folio for the same attribute.
  setSpteGen(s, gfn, gen);
  setSpteFlags(s, gfn, (isPrivate ? SPTE_PRIVATE : 0) | SPTE_WRITABLE);
  // the SPTE changed under us (tdp_mmu_set_spte_atomic failed): tdp_mmu_map_handle_target_level
  // returns RET_PF_RETRY and the guest faults again; only an identical SPTE is spurious
  // (arch/x86/kvm/mmu/tdp_mmu.c at 5b0d0d85422d; docs/kernel-reading-6.18-7.1.md §10)
  if (!spteCmpxchg(s, gfn, old, pfn)) return Install.Lost;
  ctx.ev.spteChanged(ctx, gfn, old, pfn);
  count(ctx, Ctr.installs);
  return Install.Installed;
}

// tdp_mmu_zap_leafs for one gfn (caller holds mmu_lock for write); true if an SPTE was zapped
export function tdpMmuZapLeaf(ctx: ActorCtx, gfn: number, counted = true): boolean {
  const old = spteClear(ctx.s, gfn);
  if (old < 0) return false;
  ctx.ev.spteChanged(ctx, gfn, old, -1);
  if (counted) count(ctx, Ctr.zaps);
  return true;
}

/** The level of the leaf mapping gfn (0 4K, 1 2M, 2 1G); 0 when not present. */
export const spteLevel = (s: Shm, gfn: number) => (sptePfn(s, gfn) < 0 ? 0 : (spteFlags(s, gfn) & SPTE_LEVEL_MASK) >>> SPTE_LEVEL_SHIFT);
const alignDown = (g: number, nr: number) => g - (g % nr);

// tdp_mmu_zap_leafs at gfn of a walk over [start, ...): a huge leaf overlapping the range is zapped
// whole (for_each_tdp_pte_min_level visits every SPTE overlapping it; 6.18 never splits on a zap);
// B49 skips a leaf that begins before the range's start
export function tdpMmuZapAt(ctx: ActorCtx, gfn: number, start: number): boolean {
  const level = hugeOn(ctx.s) ? spteLevel(ctx.s, gfn) : 0;
  if (level === 0) return tdpMmuZapLeaf(ctx, gfn);
  const nr = pagesPerLevel(ctx.s, level);
  const base = alignDown(gfn, nr);
  if (ctx.bugs.B49 && base < start) return false;
  let zapped = false;
  for (let g = base; g < base + nr; g++) zapped = tdpMmuZapLeaf(ctx, g, false) || zapped;
  if (zapped) {
    count(ctx, Ctr.zaps);
    count(ctx, level === 1 ? Ctr.zaps2m : Ctr.zaps1g);
  }
  return zapped;
}

// tdp_mmu_split_huge_page at fault time (kvm_tdp_mmu_map finds a huge leaf above goal_level): the
// leaf becomes a page table of leaves one level down with the same pfns, no flush; again until the
// leaf holding gfn is at `goal`
export function tdpMmuSplitHugePage(ctx: ActorCtx, gfn: number, goal: number): void {
  const s = ctx.s;
  for (let level = spteLevel(s, gfn); level > goal; level--) {
    const nr = pagesPerLevel(s, level);
    const base = alignDown(gfn, nr);
    for (let g = base; g < base + nr; g++) setSpteFlags(s, g, (spteFlags(s, g) & ~SPTE_LEVEL_MASK) | ((level - 1) << SPTE_LEVEL_SHIFT));
    count(ctx, Ctr.spteSplits);
  }
}

// tdp_mmu_map_handle_target_level at a huge goal level: the leaf maps gfns [gfn, gfn + nr) to
// pfns [pfn, pfn + nr), written on each gfn it covers (the per-gfn words are what every reader
// looks at). It replaces whatever is under it (a page table of 4K leaves: the refault "merge"),
// flushing when something was there; a gfn whose cmpxchg lost is RET_PF_RETRY, as tdp_mmu_set_spte_atomic's
export function tdpMmuMapHuge(ctx: ActorCtx, gfn: number, pfn: number, level: number, isPrivate: boolean): number {
  const s = ctx.s;
  const nr = pagesPerLevel(s, level);
  let same = true;
  for (let i = 0; i < nr && same; i++) same = sptePfn(s, gfn + i) === pfn + i && spteGen(s, gfn + i) === pfnGen(s, pfn + i) && spteLevel(s, gfn + i) === level;
  if (same) return Install.Spurious;
  const flags = (isPrivate ? SPTE_PRIVATE : 0) | SPTE_WRITABLE | (level << SPTE_LEVEL_SHIFT);
  let lost = false;
  let replaced = false;
  for (let i = 0; i < nr; i++) {
    const g = gfn + i;
    const old = sptePfn(s, g);
    setSpteGen(s, g, pfnGen(s, pfn + i));
    setSpteFlags(s, g, flags);
    if (!spteCmpxchg(s, g, old, pfn + i)) {
      lost = true;
      continue;
    }
    replaced ||= old >= 0;
    ctx.ev.spteChanged(ctx, g, old, pfn + i);
  }
  if (replaced) kvmFlushRemoteTlbs(s); // kvm_flush_remote_tlbs_gfn(gfn, level): a page table was replaced
  count(ctx, Ctr.installs);
  count(ctx, level === 1 ? Ctr.installs2m : Ctr.installs1g);
  return lost ? Install.Lost : Install.Installed;
}
