// The lock order ARCHITECTURE.md documents (as the kernel's locking.rst does) is the order the
// model takes its locks in: every dependency lockdep records on every built-in scenario goes from
// a lock to one below it in the table.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runSim } from '../../src/engine/sim.js';
import { LOCK_CLASSES, edgeWho } from '../../src/shm/lockdep.js';
import { LOCK_CLASS_NAMES } from '../../src/sync/lockdep.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { modelOf } from '../../src/workload/kinds.js';
import { BUILTIN_SCENARIOS } from '../helpers.js';
import { UPSTREAM_FINDINGS } from '../../src/scenario/builtins.js';

// Upstream's one exception to the table (README "Upstream findings"): memory_failure holds the
// folio lock into kvm_gmem_error_folio, which takes the invalidate lock and mmu_lock.
const UPSTREAM_INVERSIONS = new Set(['folio lock -> filemap invalidate_lock', 'folio lock -> kvm->mmu_lock']);

const arch = readFileSync(new URL('../../ARCHITECTURE.md', import.meta.url), 'utf8');
/** lock name -> its rank in the documented table (1 = outermost) */
const RANK = new Map([...arch.matchAll(/^\| (\d+) \| `([^`]+)` \|/gm)].map((m) => [m[2], Number(m[1])]));

describe('the documented lock order', () => {
  it('names every lock class lockdep tracks, each once', () => {
    expect([...RANK.keys()].sort()).toEqual([...LOCK_CLASS_NAMES].sort());
  });

  it('holds for every dependency recorded on every built-in (30 schedules each)', () => {
    const seen = new Set<string>();
    for (const [name, sc0] of Object.entries(BUILTIN_SCENARIOS)) {
      if (name in UPSTREAM_FINDINGS) continue;
      // numa-interleave at full size touches 50 GiB: the same workload on 64 pages
      const sc = name === 'numa-interleave' ? validateScenario({ gmemPages: 64, slots: [{ baseGfn: 0, npages: 64, gmemOffset: 0 }], vcpus: { ops: 16 }, numa: { ...sc0.numa!, nodes: [{ capacity: 80 }, { capacity: 80 }], shared: [{ start: 0, end: 64, policy: { mode: 'interleave', nodes: [0, 1], flags: [] } }] } }, sc0) : sc0;
      const model = modelOf(sc);
      for (let seed = 1; seed <= 30; seed++) {
        const r = runSim(model, { seed, variant: null });
        expect(r.violation, `${name} seed ${seed}`).toBeNull();
        for (let a = 0; a < LOCK_CLASSES; a++) {
          for (let b = 0; b < LOCK_CLASSES; b++) {
            if (edgeWho(r.s, a, b) < 0) continue;
            const [from, to] = [LOCK_CLASS_NAMES[a], LOCK_CLASS_NAMES[b]];
            seen.add(`${from} -> ${to}`);
            if (UPSTREAM_INVERSIONS.has(`${from} -> ${to}`)) continue;
            expect(RANK.get(from)!, `${name}: ${from} held while taking ${to}`).toBeLessThan(RANK.get(to)!);
          }
        }
      }
    }
    // the table is not vacuous: the runs took locks while holding others, down every level
    expect([...seen].sort()).toEqual(
      [
        'filemap invalidate_lock -> folio lock',
        'filemap invalidate_lock -> kvm->mmu_lock',
        'filemap invalidate_lock -> sp->lock',
        'folio lock -> filemap invalidate_lock',
        'folio lock -> kvm->mmu_lock',
        'kvm->slots_lock -> filemap invalidate_lock',
        'kvm->slots_lock -> folio lock',
        'kvm->slots_lock -> kvm->mmu_lock',
        'kvm->slots_lock -> kvm->srcu',
        'kvm->srcu -> filemap invalidate_lock',
        'kvm->srcu -> folio lock',
        'kvm->srcu -> kvm->mmu_lock',
        'kvm->srcu -> sp->lock',
      ].sort(),
    );
  });
});
