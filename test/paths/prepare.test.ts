// Folio preparation (kvm_gmem_prepare_folio -> kvm_arch_gmem_prepare): on 7.0 the hook runs on
// every fault and a failure hands out nothing; on 6.12/6.18 the uptodate flag records a successful
// preparation (d04c77d23122) and a prepared folio is not prepared again; I19 with B35 and B36.
import { describe, it, expect } from 'vitest';
import { EINVAL } from '../../src/errno.js';
import { RET_PF_FIXED, RET_PF_SPURIOUS } from '../../src/kvm/mmu.js';
import { sweepFindings } from '../../src/check/sweep.js';
import { explore } from '../../src/explore/explore.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { Ctr } from '../../src/shm/layout.js';
import { filemapGet } from '../../src/shm/file.js';
import { sptePfn } from '../../src/shm/gfn.js';
import { PF_ARCH_PREPARED, PF_UPTODATE } from '../../src/shm/layout.js';
import { pfnFlags, pfnRef } from '../../src/shm/pfn.js';
import type { Scenario } from '../../src/scenario/types.js';
import { BUILTIN_SCENARIOS, world } from '../helpers.js';
import { counter, fault, setAttr } from './util.js';

const PF = BUILTIN_SCENARIOS['prepare-fail']!;
const PF618 = BUILTIN_SCENARIOS['prepare-fail-6.18']!;
const always = (sc: Scenario) => validateScenario({ ...sc, prepareFailRate: 1 });

describe('folio preparation', () => {
  it('7.0: a failing hook fails the fault (a memory-fault exit, nothing mapped, the reference put); the next fault runs the hook again', () => {
    const w = world(always(PF));
    const vcpu = w.ctxs[0]!;
    setAttr(w, 3, true);
    const r = fault(vcpu, 3, true);
    expect(r.r).toBe(-EINVAL);
    expect(r.f.exit.valid).toBe(true);
    expect(sptePfn(w.s, 3)).toBe(-1);
    const pfn = filemapGet(w.s, 3);
    expect(pfnFlags(w.s, pfn) & (PF_UPTODATE | PF_ARCH_PREPARED)).toBe(PF_UPTODATE); // cleared, not prepared
    expect(pfnRef(w.s, pfn)).toBe(1);
    expect(sweepFindings(w.s)).toEqual([]);
    w.sc.prepareFailRate = 0; // the RMP update goes through this time
    expect(fault(vcpu, 3, true).r).toBe(RET_PF_FIXED);
    expect(pfnFlags(w.s, pfn) & PF_ARCH_PREPARED).toBe(PF_ARCH_PREPARED);
    expect(counter(w, 0, Ctr.prepareFails)).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('6.18: uptodate records the preparation; a prepared folio is not prepared again, a failed one is', () => {
    const w = world(always(PF618));
    const vcpu = w.ctxs[0]!;
    setAttr(w, 3, true);
    expect(fault(vcpu, 3, true).r).toBe(-EINVAL);
    const pfn = filemapGet(w.s, 3);
    expect(pfnFlags(w.s, pfn) & PF_UPTODATE).toBe(0); // not marked: the hook failed
    w.sc.prepareFailRate = 0;
    expect(fault(vcpu, 3, true).r).toBe(RET_PF_FIXED);
    w.sc.prepareFailRate = 1; // would fail now, but an uptodate folio is not prepared again
    expect(fault(vcpu, 3, true).r).toBe(RET_PF_SPURIOUS); // the SPTE is already there, and the page was handed out again
    expect(counter(w, 0, Ctr.prepareFails)).toBe(1);
    expect(w.violations).toEqual([]);
  });

  it('B35 (6.18, uptodate before the hook) and B36 (7.0, the error ignored) map an unprepared page: I19; each is quiet on the other baseline', () => {
    const b35 = world(always(PF618), 'B35');
    setAttr(b35, 3, true);
    expect(fault(b35.ctxs[0]!, 3, true).r).toBe(-EINVAL);
    expect(fault(b35.ctxs[0]!, 3, true).r).toBe(RET_PF_FIXED); // the hook skipped: "already prepared"
    expect(b35.violations.map((v) => v.invariant)).toEqual(['I19']);
    const b36 = world(always(PF), 'B36');
    setAttr(b36, 3, true);
    expect(fault(b36.ctxs[0]!, 3, true).r).toBe(RET_PF_FIXED);
    expect(b36.violations.map((v) => v.invariant)).toEqual(['I19']);
    const first = (sc: Scenario, variant: 'B35' | 'B36' | null) => explore(sc, { seed: 1, schedules: 200, variant }).violations[0]?.invariant ?? null;
    expect(first(PF, null)).toBeNull();
    expect(first(PF618, null)).toBeNull();
    expect(first(PF618, 'B35')).toBe('I19');
    expect(first(PF, 'B36')).toBe('I19');
    expect(first(PF, 'B35')).toBeNull();
    expect(first(PF618, 'B36')).toBeNull();
  });

  it('prepareFailRate above 0 needs a coco VM, the one modelled with a hook', () => {
    expect(() => validateScenario({ ...PF, vmType: 'sw_protected' })).toThrow(/prepareFailRate must be 0 on a sw_protected VM/);
  });
});
