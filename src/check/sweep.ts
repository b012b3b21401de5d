// The full invariant sweep at a quiescent point (end of a run, every actor stopped): every SPTE,
// the invalidation counters, every actor's ghost scope.
import type { InvariantId } from './invariant-ids.js';
import {
  A_INSIDE,
  F_ATTR,
  F_SPTE_FLAGS,
  F_SPTE_GEN,
  F_SPTE_PFN,
  G_IN_PROGRESS,
  P_GEN,
  P_INDEX,
  P_OWNER,
  PfnOwner,
  S_FILE,
  S_STATE,
  SPTE_PRIVATE,
  SlotState,
  actorWord,
  gfnWord,
  pfnWord,
  slotWord,
} from '../shm/layout.js';
import { gfnToHva, gfnToMemslot, kvmGmemGetIndex, type Shm } from '../shm/state.js';

export interface SweepFinding {
  invariant: InvariantId;
  message: string;
}

export function quiescentSweep(s: Shm): SweepFinding[] {
  const { i32, l } = s;
  const out: SweepFinding[] = [];
  const inProgress = Atomics.load(i32, G_IN_PROGRESS);
  if (inProgress !== 0) out.push({ invariant: 'I4', message: `mmu_invalidate_in_progress is ${inProgress} at quiescence` });
  for (let id = 0; id < l.nActors; id++) {
    const open = Atomics.load(i32, actorWord(l, id, A_INSIDE));
    if (open !== 0) out.push({ invariant: 'I4', message: `actor ${id} ended with ${open} invalidation(s) open` });
  }
  for (let g = 0; g < l.nGfns; g++) {
    const p1 = Atomics.load(i32, gfnWord(l, g, F_SPTE_PFN));
    if (p1 === 0) continue;
    const pfn = p1 - 1;
    const priv = (i32[gfnWord(l, g, F_SPTE_FLAGS)] & SPTE_PRIVATE) !== 0;
    const slot = gfnToMemslot(s, g);
    if (slot < 0 || i32[slotWord(l, slot, S_STATE)] !== SlotState.Valid) {
      out.push({ invariant: 'I8', message: `gfn ${g}: SPTE present but its memslot is ${slot < 0 ? 'gone' : 'being deleted'}` });
      continue;
    }
    const index = priv ? kvmGmemGetIndex(s, slot, g) : gfnToHva(s, slot, g);
    const owner = i32[pfnWord(l, pfn, P_OWNER)];
    if (i32[pfnWord(l, pfn, P_GEN)] !== i32[gfnWord(l, g, F_SPTE_GEN)] || owner !== (priv ? PfnOwner.PageCache : PfnOwner.Hva) || i32[pfnWord(l, pfn, P_INDEX)] !== index) {
      out.push({ invariant: 'I1', message: `gfn ${g}: SPTE maps pfn ${pfn}, which is no longer the ${priv ? 'page cache folio' : 'HVA page'} at index ${index}` });
    }
    if ((i32[gfnWord(l, g, F_ATTR)] !== 0) !== priv) {
      out.push({ invariant: 'I2', message: `gfn ${g}: ${priv ? 'private' : 'shared'} SPTE but the attribute is ${priv ? 'shared' : 'private'}` });
    }
    if (priv && (i32[slotWord(l, slot, S_FILE)] === 0 || i32[l.bindingBase + index] !== slot + 1)) {
      out.push({ invariant: 'I8', message: `gfn ${g}: private SPTE for gmem index ${index}, not bound to memslot ${slot}` });
    }
  }
  return out;
}
