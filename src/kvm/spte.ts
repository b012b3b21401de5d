// SPTEs of the TDP MMU: one 4K leaf per gfn. SPTEs hold no page reference (spec §1.4); the
// checker's ghost reverse map learns of every change through the spteChanged event.
import { Ctr, count, type ActorCtx } from '../engine/ctx.js';
import { SPTE_PRIVATE, SPTE_WRITABLE } from '../shm/layout.js';
import { setSpteFlags, setSpteGen, spteClear, spteCmpxchg, spteGen, sptePfn } from '../shm/gfn.js';

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
export function tdpMmuZapLeaf(ctx: ActorCtx, gfn: number): boolean {
  const old = spteClear(ctx.s, gfn);
  if (old < 0) return false;
  ctx.ev.spteChanged(ctx, gfn, old, -1);
  count(ctx, Ctr.zaps);
  return true;
}
