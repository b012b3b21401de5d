// SPTEs of the TDP MMU: one 4K leaf per gfn. SPTEs hold no page reference (spec §1.4); the
// ghost reverse map (P_RMAP) only lets the checker see a page leave while still mapped.
import { count, type ActorCtx } from '../engine/ctx.js';
import {
  F_SPTE_FLAGS,
  F_SPTE_GEN,
  F_SPTE_PFN,
  P_RMAP,
  P_RMAP_GFN,
  SPTE_PRIVATE,
  SPTE_WRITABLE,
  gfnWord,
  pfnWord,
} from '../shm/layout.js';
import type { Shm } from '../shm/state.js';

export const Install = { Installed: 0, Spurious: 1 } as const;

// tdp_mmu_map_handle_target_level: install the leaf with cmpxchg (caller holds mmu_lock for read)
export function tdpMmuMapLeaf(ctx: ActorCtx, gfn: number, pfn: number, gen: number, isPrivate: boolean): number {
  const { i32, l } = ctx.s;
  const w = gfnWord(l, gfn, F_SPTE_PFN);
  const old = Atomics.load(i32, w);
  if (old === pfn + 1 && Atomics.load(i32, gfnWord(l, gfn, F_SPTE_GEN)) === gen) return Install.Spurious;
  // Flags and generation first, then the pfn word that makes the SPTE present. A loser of the
  // cmpxchg race has written the same values: both passed the stale check under mmu_lock, so both
  // resolved the same folio for the same attribute.
  Atomics.store(i32, gfnWord(l, gfn, F_SPTE_GEN), gen);
  Atomics.store(i32, gfnWord(l, gfn, F_SPTE_FLAGS), (isPrivate ? SPTE_PRIVATE : 0) | SPTE_WRITABLE);
  if (Atomics.compareExchange(i32, w, old, pfn + 1) !== old) return Install.Spurious; // lost the race: RET_PF_SPURIOUS
  if (old !== 0) Atomics.sub(i32, pfnWord(l, old - 1, P_RMAP), 1);
  Atomics.add(i32, pfnWord(l, pfn, P_RMAP), 1);
  Atomics.store(i32, pfnWord(l, pfn, P_RMAP_GFN), gfn);
  count(ctx, 'installs');
  return Install.Installed;
}

// tdp_mmu_zap_leafs for one gfn (caller holds mmu_lock for write); true if an SPTE was zapped
export function tdpMmuZapLeaf(ctx: ActorCtx, gfn: number): boolean {
  const { i32, l } = ctx.s;
  const old = Atomics.exchange(i32, gfnWord(l, gfn, F_SPTE_PFN), 0);
  if (old === 0) return false;
  Atomics.sub(i32, pfnWord(l, old - 1, P_RMAP), 1);
  count(ctx, 'zaps');
  return true;
}

export function sptePresent(s: Shm, gfn: number): number {
  return Atomics.load(s.i32, gfnWord(s.l, gfn, F_SPTE_PFN)) - 1;
}

export function sptePrivate(s: Shm, gfn: number): boolean {
  return (Atomics.load(s.i32, gfnWord(s.l, gfn, F_SPTE_FLAGS)) & SPTE_PRIVATE) !== 0;
}
