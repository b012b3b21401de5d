// The quiescent sweep (end of a run, every actor stopped; threads: at pause barriers too): every
// invariant's state predicate over every unit it judges: the VM, each actor, each SPTE, each TLB
// entry, each host PTE, each physical page. The predicates are the ones the online checks apply (invariants.ts).
import { TLB_ENTRIES } from '../shm/actor.js';
import { sptePfn } from '../shm/gfn.js';
import { hostPteGet } from '../shm/file.js';
import type { Shm } from '../shm/state.js';
import { INVARIANTS, INVARIANT_IDS, type Invariant, type InvariantId, type StatePredicate, type Unit } from './invariants.js';

export interface SweepFinding {
  invariant: InvariantId;
  message: string;
}

const UNITS: readonly Unit[] = ['vm', 'actor', 'spte', 'tlb', 'hostpte', 'pfn'];
const BY_UNIT = new Map<Unit, Array<[InvariantId, StatePredicate]>>(UNITS.map((u) => [u, []]));
for (const id of INVARIANT_IDS) for (const p of (INVARIANTS[id] as Invariant).state ?? []) BY_UNIT.get(p.unit)!.push([id, p]);

function unitCount(s: Shm, u: Unit): number {
  return u === 'vm' ? 1 : u === 'actor' ? s.l.nActors : u === 'spte' ? s.l.nGfns : u === 'tlb' ? s.l.nActors * TLB_ENTRIES : u === 'hostpte' ? s.l.filePages : s.l.nPfns;
}

/** Everything the sweep finds, unit by unit (a unit's invariants in registry order). */
export function sweepFindings(s: Shm, enabled?: ReadonlySet<InvariantId> | null, first = false): SweepFinding[] {
  const out: SweepFinding[] = [];
  for (const u of UNITS) {
    const all = BY_UNIT.get(u)!;
    const preds = enabled ? all.filter(([id]) => enabled.has(id)) : all;
    if (preds.length === 0) continue;
    for (let i = 0, n = unitCount(s, u); i < n; i++) {
      if (u === 'spte' && sptePfn(s, i) < 0) continue;
      if (u === 'hostpte' && hostPteGet(s, i) < 0) continue;
      for (const [invariant, p] of preds) {
        const message = p.check(s, i, true);
        if (!message) continue;
        out.push({ invariant, message });
        if (first) return out;
      }
    }
  }
  return out;
}

/** The first finding of the sweep among the enabled invariants, or null. */
export const quiescentSweep = (s: Shm, enabled?: ReadonlySet<InvariantId> | null): SweepFinding | null => sweepFindings(s, enabled, true)[0] ?? null;
