// A lost SPTE cmpxchg (tdp_mmu_set_spte_atomic failing because another CPU changed the SPTE
// between the walk and the exchange) is RET_PF_RETRY, counted as its own retry reason; only an
// identical SPTE already present is RET_PF_SPURIOUS. Under sim no other actor runs inside a step,
// so the race is made here by failing the exchange once (on threads it happens by itself).
import { describe, expect, it, vi } from 'vitest';

const race = vi.hoisted(() => ({ failNext: 0 }));
vi.mock('../../src/shm/gfn.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../src/shm/gfn.js')>();
  return {
    ...m,
    spteCmpxchg: (...a: Parameters<typeof m.spteCmpxchg>) => {
      if (race.failNext > 0) {
        race.failNext--;
        return false;
      }
      return m.spteCmpxchg(...a);
    },
  };
});

import { RET_PF_FIXED, RET_PF_RETRY, RET_PF_SPURIOUS } from '../../src/kvm/mmu.js';
import { Ctr } from '../../src/shm/actor.js';
import { world } from '../helpers.js';
import { actor, counter, fault, setAttr } from './util.js';

describe('tdp_mmu_map_handle_target_level: lost cmpxchg vs identical SPTE', () => {
  it('a lost cmpxchg returns RET_PF_RETRY (reason spte-race); the refault installs; a third is SPURIOUS', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    setAttr(w, 3, true);
    race.failNext = 1;
    const lost = fault(v, 3, true);
    expect(lost.r).toBe(RET_PF_RETRY);
    expect(lost.f.retryReason).toBe('spte-race');
    expect(counter(w, v.id, Ctr.retrySpteRace)).toBe(1);
    expect(counter(w, v.id, Ctr.retries)).toBe(0); // `retries` counts guest-visible retries (the vCPU loop), not the fault's return
    expect(counter(w, v.id, Ctr.outRetry)).toBe(1);
    expect(counter(w, v.id, Ctr.installs)).toBe(0);
    expect(fault(v, 3, true).r).toBe(RET_PF_FIXED);
    expect(fault(v, 3, true).r).toBe(RET_PF_SPURIOUS);
    expect([counter(w, v.id, Ctr.installs), counter(w, v.id, Ctr.outSpurious), counter(w, v.id, Ctr.retrySpteRace)]).toEqual([1, 1, 1]);
    expect(w.violations).toEqual([]);
  });
});
