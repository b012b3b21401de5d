// In-place conversion, kernel "next" (the series "guest_memfd: In-place conversion support", v4
// patch 10/44 KVM_SET_MEMORY_ATTRIBUTES2, v5's lru_add_drain_all, v8's selftest "Test conversion
// with elevated page refcount"): guest_memfd's own attributes, the ioctl's errors and error
// offset, the host unmapped before the reference check, pins and the LRU-add batch as references.
import { describe, expect, it } from 'vitest';
import { kvmGmemSetAttributes } from '../../src/gmem/attributes.js';
import { kvmGmemPunchHole } from '../../src/gmem/guest_memfd.js';
import { VM_FAULT_SIGBUS, hostUserAccess, kvmGmemFaultUserMapping } from '../../src/gmem/user_mapping.js';
import { kvmMemIsPrivate } from '../../src/kvm/memory_attributes.js';
import { GUP_PIN_COUNTING_BIAS, folioMaybeDmaPinned, pinUserPage, unpinUserPage } from '../../src/mm/gup.js';
import { inLruBatch } from '../../src/mm/lru.js';
import { runSim } from '../../src/engine/sim.js';
import { runThreads } from '../../src/engine/threads.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { gmemAttr } from '../../src/shm/attr.js';
import { filemapGet, hostPteGet } from '../../src/shm/file.js';
import { gfnAttr, sptePfn } from '../../src/shm/gfn.js';
import { Ctr, KVM_MEMORY_ATTRIBUTE_PRIVATE, PF_ARCH_PREPARED } from '../../src/shm/layout.js';
import { pfnContent, pfnFlags, pfnRef, setPfnContent } from '../../src/shm/pfn.js';
import { sweepFindings } from '../../src/check/sweep.js';
import { modelOf } from '../../src/workload/kinds.js';
import { EAGAIN, EINVAL } from '../../src/errno.js';
import type { ActorCtx } from '../../src/engine/ctx.js';
import type { VariantId } from '../../src/variants.js';
import { BUILTIN_SCENARIOS, drive, world, type World } from '../helpers.js';
import { counter, fault } from './util.js';
import { accessPage, newVcpuState } from '../../src/workload/vcpu.js';
import { RET_PF_FIXED } from '../../src/kvm/mmu.js';

const SELFTEST = BUILTIN_SCENARIOS['conversions-inplace-selftest']!; // 4 pages, vcpu0, vmm, hostuser0, dma0
const PRIVATE = KVM_MEMORY_ATTRIBUTE_PRIVATE;
const named = (w: World, name: string): ActorCtx => w.ctxs.find((c) => c.name === name)!;
const convert = (w: World, index: number, npages: number, attrs: number) => {
  const vmm = named(w, 'vmm');
  return drive(vmm, kvmGmemSetAttributes(vmm, index, npages, attrs));
};
const attrs = (w: World) => Array.from({ length: w.s.l.filePages }, (_, i) => gmemAttr(w.s, i));

describe('KVM_SET_MEMORY_ATTRIBUTES2 (kernel "next")', () => {
  it('guest_memfd owns the attributes: shared from creation with INIT_SHARED, private without; the VM\'s own words are unused', () => {
    const w = world(SELFTEST);
    expect(attrs(w)).toEqual([0, 0, 0, 0]);
    const priv = world(validateScenario({ gmemFlags: ['mmap'] }, SELFTEST));
    expect(attrs(priv)).toEqual([PRIVATE, PRIVATE, PRIVATE, PRIVATE]);
    expect(kvmMemIsPrivate(priv.s, 2)).toBe(true); // KVM's lookup reads guest_memfd's
    expect(convert(w, 1, 2, PRIVATE)).toEqual({ r: 0, errIndex: -1 });
    expect(attrs(w)).toEqual([0, PRIVATE, PRIVATE, 0]);
    expect([0, 1, 2, 3].map((g) => kvmMemIsPrivate(w.s, g))).toEqual([false, true, true, false]);
    expect([0, 1, 2, 3].map((g) => gfnAttr(w.s, g))).toEqual([0, 0, 0, 0]);
    expect(w.violations).toEqual([]);
  });

  it('refuses a bad range or an attribute the VM does not support with -EINVAL, changing nothing', () => {
    const w = world(SELFTEST);
    expect(convert(w, 0, 0, PRIVATE).r).toBe(-EINVAL);
    expect(convert(w, 3, 2, PRIVATE).r).toBe(-EINVAL); // past i_size
    expect(convert(w, -1, 1, PRIVATE).r).toBe(-EINVAL);
    const def = world(validateScenario({ vmType: 'default', vcpus: { privateFraction: 0, conversionRate: 0 } }, SELFTEST));
    expect(convert(def, 0, 1, PRIVATE).r).toBe(-EINVAL); // a default VM has no private memory
    expect(attrs(w)).toEqual([0, 0, 0, 0]);
    expect(counter(w, named(w, 'vmm').id, Ctr.invalidations)).toBe(0);
  });

  it('a range that already has the attributes returns 0 without an invalidation', () => {
    const w = world(SELFTEST);
    const vmm = named(w, 'vmm');
    expect(convert(w, 0, 4, 0).r).toBe(0);
    expect(counter(w, vmm.id, Ctr.invalidations)).toBe(0);
    expect(counter(w, vmm.id, Ctr.convChanged)).toBe(0);
  });

  it('to private unmaps the host first; the host\'s next fault SIGBUSes; back to shared it faults the same page in, content kept (in place)', () => {
    const w = world(SELFTEST);
    const host = named(w, 'hostuser0');
    expect(drive(host, hostUserAccess(host, 1, true, 0xb1))).toBe(true);
    const pfn = hostPteGet(w.s, 1);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(convert(w, 0, 4, PRIVATE)).toEqual({ r: 0, errIndex: -1 });
    expect(hostPteGet(w.s, 1)).toBe(-1);
    expect(drive(host, kvmGmemFaultUserMapping(host, 1))).toBe(VM_FAULT_SIGBUS);
    expect(drive(host, hostUserAccess(host, 1, false, 0))).toBe(false);
    expect(convert(w, 1, 1, 0).r).toBe(0);
    expect(drive(host, hostUserAccess(host, 1, false, 0))).toBe(true);
    expect(hostPteGet(w.s, 1)).toBe(pfn); // the same folio: nothing was allocated or copied
    expect(pfnContent(w.s, pfn)).toBe(0xb1);
    expect(w.violations).toEqual([]);
  });

  it('a new folio sits in its CPU\'s LRU-add batch (a reference); the check drains the batches once and converts', () => {
    const w = world(SELFTEST);
    const host = named(w, 'hostuser0');
    expect(drive(host, hostUserAccess(host, 0, true, 1))).toBe(true);
    const pfn = filemapGet(w.s, 0);
    expect(inLruBatch(w.s, pfn)).toBe(true);
    expect(pfnRef(w.s, pfn)).toBe(3); // the page cache's, the host PTE's, the batch's
    expect(convert(w, 0, 1, PRIVATE).r).toBe(0);
    expect(counter(w, named(w, 'vmm').id, Ctr.lruDrains)).toBe(1);
    expect(inLruBatch(w.s, pfn)).toBe(false);
    expect(pfnRef(w.s, pfn)).toBe(1); // the page cache's alone
    expect(sweepFindings(w.s)).toEqual([]);
  });

  // guest_memfd_conversions_test elevated_refcount (v8 patch 39/46), on 4 pages with page 2 pinned
  it('elevated refcount: -EAGAIN with error_offset at the pinned page, in bulk and page-wise; after the unpin every page converts, content kept', () => {
    const w = world(SELFTEST);
    const host = named(w, 'hostuser0');
    const dma = named(w, 'dma0');
    for (let i = 0; i < 4; i++) expect(drive(host, hostUserAccess(host, i, true, 0xb0 + i))).toBe(true);
    const pinned = drive(dma, pinUserPage(dma, 2));
    expect(pinned).toBe(filemapGet(w.s, 2));
    expect(folioMaybeDmaPinned(w.s, pinned)).toBe(true);
    expect(pfnRef(w.s, pinned)).toBeGreaterThanOrEqual(GUP_PIN_COUNTING_BIAS);
    expect(convert(w, 0, 4, PRIVATE)).toEqual({ r: -EAGAIN, errIndex: 2 });
    expect(attrs(w)).toEqual([0, 0, 0, 0]); // nothing changed
    for (let i = 0; i < 4; i++) expect(convert(w, i, 1, PRIVATE)).toEqual(i === 2 ? { r: -EAGAIN, errIndex: 2 } : { r: 0, errIndex: -1 });
    expect(attrs(w)).toEqual([PRIVATE, PRIVATE, 0, PRIVATE]);
    drive(dma, unpinUserPage(dma, 2, pinned));
    expect(convert(w, 0, 4, PRIVATE)).toEqual({ r: 0, errIndex: -1 });
    expect(attrs(w)).toEqual([PRIVATE, PRIVATE, PRIVATE, PRIVATE]);
    for (let i = 0; i < 4; i++) expect(pfnContent(w.s, filemapGet(w.s, i))).toBe(0xb0 + i);
    expect(w.violations).toEqual([]);
    expect(sweepFindings(w.s)).toEqual([]);
  });

  it('a private page cannot be pinned (the slow path\'s fault SIGBUSes)', () => {
    const w = world(SELFTEST);
    const dma = named(w, 'dma0');
    expect(convert(w, 3, 1, PRIVATE).r).toBe(0);
    expect(drive(dma, pinUserPage(dma, 3))).toBeLessThan(0);
    expect(counter(w, dma.id, Ctr.pinFails)).toBe(1);
  });

  it.each<[VariantId, string]>([
    ['B15', 'I22'],
    ['B44', 'I4'],
  ])('with %s the pinned conversion breaks %s', (variant, inv) => {
    const w = world(SELFTEST, variant);
    const host = named(w, 'hostuser0');
    const dma = named(w, 'dma0');
    expect(drive(host, hostUserAccess(host, 2, true, 7))).toBe(true);
    drive(dma, pinUserPage(dma, 2));
    convert(w, 0, 4, PRIVATE);
    expect(w.violations.map((v) => v.invariant)).toContain(inv);
  });

  it('with B16 the host keeps its PTE and the refusal breaks I23; with B45 a partly converted range returns 0 (I23)', () => {
    const w = world(SELFTEST, 'B16');
    const host = named(w, 'hostuser0');
    expect(drive(host, hostUserAccess(host, 1, true, 7))).toBe(true);
    expect(convert(w, 0, 2, PRIVATE).r).toBe(-EAGAIN);
    expect(w.violations.map((v) => v.invariant)).toEqual(['I23']);
    const b45 = world(SELFTEST, 'B45');
    expect(convert(b45, 0, 2, PRIVATE).r).toBe(0);
    convert(b45, 1, 1, 0);
    expect(convert(b45, 0, 2, PRIVATE).r).toBe(0); // [0] already private: the short test misses index 1
    expect(b45.violations.map((v) => v.invariant)).toEqual(['I23']);
  });

  it('to shared hands a prepared page back (the arch invalidate: prepared flag cleared); B46 skips it and breaks I22', () => {
    for (const variant of [null, 'B46'] as const) {
      const w = world(SELFTEST, variant);
      const vcpu = w.ctxs[0]!;
      expect(convert(w, 0, 1, PRIVATE).r).toBe(0);
      expect(fault(vcpu, 0, true).r).toBe(RET_PF_FIXED); // a private fault prepares the page
      const pfn = filemapGet(w.s, 0);
      expect(pfnFlags(w.s, pfn) & PF_ARCH_PREPARED).toBe(PF_ARCH_PREPARED);
      expect(convert(w, 0, 1, 0).r).toBe(0);
      if (variant === null) {
        expect(pfnFlags(w.s, pfn) & PF_ARCH_PREPARED).toBe(0);
        expect(w.violations).toEqual([]);
      } else expect(w.violations.map((v) => v.invariant)).toEqual(['I22']);
    }
  });

  it('in place, what the guest wrote through the private view it reads through the shared one (DATA judges it); B48 clears it and breaks DATA', () => {
    for (const variant of [null, 'B48'] as const) {
      const w = world(SELFTEST, variant);
      const vcpu = w.ctxs[0]!;
      const v = newVcpuState(SELFTEST, 0);
      vcpu.ev.guestRegion(vcpu, v.lo, v.hi);
      expect(convert(w, 0, 1, PRIVATE).r).toBe(0);
      expect(fault(vcpu, 0, true).r).toBe(RET_PF_FIXED);
      accessPage(vcpu, v, 0, sptePfn(w.s, 0), true, true);
      expect(convert(w, 0, 1, 0).r).toBe(0);
      expect(fault(vcpu, 0, false).r).toBe(RET_PF_FIXED);
      accessPage(vcpu, v, 0, sptePfn(w.s, 0), false, false);
      expect(w.violations.map((x) => x.invariant)).toEqual(variant ? ['DATA'] : []);
    }
  });

  it('with B43 (no attribute check) the host maps a private page: I14', () => {
    const w = world(SELFTEST, 'B43');
    const host = named(w, 'hostuser0');
    expect(convert(w, 0, 1, PRIVATE).r).toBe(0);
    expect(drive(host, hostUserAccess(host, 0, false, 0))).toBe(true);
    expect(w.violations.map((v) => v.invariant)).toContain('I14');
  });
});

// guest_memfd_conversions_test's flows (v8), step by step: `guest` is run_guest_do_rmw (the vCPU
// checks the value and writes another), `host` is host_do_rmw through the mapping
describe('guest_memfd_conversions_test flows', () => {
  const A = 0x41;
  const B = 0x42;
  const C = 0x43;
  const E = 0x45;
  function rig(sc: typeof SELFTEST) {
    const w = world(sc);
    const vcpu = w.ctxs[0]!;
    const host = named(w, 'hostuser0');
    const v = newVcpuState(sc, 0);
    vcpu.ev.guestRegion(vcpu, v.lo, v.hi);
    // the guest's load and store through the view KVM maps for the page now
    const guest = (g: number, expected: number, write: number) => {
      expect(fault(vcpu, g, null).r).toBe(RET_PF_FIXED);
      const pfn = sptePfn(w.s, g);
      expect(pfnContent(w.s, pfn)).toBe(expected);
      setPfnContent(w.s, pfn, write);
    };
    const hostRmw = (i: number, expected: number, write: number) => {
      expect(drive(host, hostUserAccess(host, i, false, 0))).toBe(true);
      expect(pfnContent(w.s, hostPteGet(w.s, i))).toBe(expected);
      expect(drive(host, hostUserAccess(host, i, true, write))).toBe(true);
    };
    const hostSigbus = (i: number) => expect(drive(host, hostUserAccess(host, i, false, 0))).toBe(false);
    return { w, guest, hostRmw, hostSigbus };
  }

  it('init_private: private from creation (host SIGBUS), to shared and back, content kept each way', () => {
    const { w, guest, hostRmw, hostSigbus } = rig(validateScenario({ gmemFlags: ['mmap'] }, SELFTEST));
    hostSigbus(0);
    guest(0, 0, A); // test_private: the guest reads zeroes and writes A
    hostSigbus(0);
    expect(convert(w, 0, 1, 0).r).toBe(0); // test_convert_to_shared
    hostRmw(0, A, B);
    guest(0, B, C);
    expect(pfnContent(w.s, hostPteGet(w.s, 0))).toBe(C);
    expect(convert(w, 0, 1, PRIVATE).r).toBe(0); // test_convert_to_private
    hostSigbus(0);
    guest(0, C, E);
    hostSigbus(0);
    expect(w.violations).toEqual([]);
  });

  it('before_allocation_shared / _private: a conversion with no folio yet is recorded, and the first fault sees it', () => {
    const shared = rig(SELFTEST);
    expect(filemapGet(shared.w.s, 0)).toBe(-1);
    expect(convert(shared.w, 0, 1, PRIVATE).r).toBe(0);
    shared.hostSigbus(0);
    shared.guest(0, 0, A);
    const priv = rig(validateScenario({ gmemFlags: ['mmap'] }, SELFTEST));
    expect(convert(priv.w, 0, 1, 0).r).toBe(0);
    priv.hostRmw(0, 0, A);
    priv.guest(0, A, B);
    expect([...shared.w.violations, ...priv.w.violations]).toEqual([]);
  });

  it('truncation keeps attributes: a punched private page is private again when it refaults, and zeroed', () => {
    const { w, guest, hostSigbus } = rig(SELFTEST);
    expect(convert(w, 1, 1, PRIVATE).r).toBe(0);
    guest(1, 0, A);
    const vmm = named(w, 'vmm');
    expect(drive(vmm, kvmGmemPunchHole(vmm, 0, 4))).toBe(0);
    expect(attrs(w)).toEqual([0, PRIVATE, 0, 0]);
    hostSigbus(1);
    guest(1, 0, B);
    expect(w.violations).toEqual([]);
  });

  it('unallocated_folios: the host writes two pages of an 8-page shared file; all convert to private; the guest reads those two and zeroes elsewhere', () => {
    const sc8 = validateScenario({ gmemPages: 8, slots: [{ baseGfn: 0, npages: 8, gmemOffset: 0 }] }, SELFTEST);
    const { w, guest, hostRmw, hostSigbus } = rig(sc8);
    hostRmw(2, 0, A);
    hostRmw(5, 0, A);
    expect(convert(w, 0, 8, PRIVATE)).toEqual({ r: 0, errIndex: -1 });
    for (let i = 0; i < 8; i++) {
      hostSigbus(i);
      guest(i, i === 2 || i === 5 ? A : 0, B);
    }
    expect(w.violations).toEqual([]);
  });
});

describe('the in-place built-ins', () => {
  it('a pinner needs a mapping of the file', () => {
    expect(() => validateScenario({ gmemFlags: [], hostUser: { count: 0 }, pinner: { count: 1 } }, SELFTEST)).toThrow(ScenarioError);
    expect(() => validateScenario({ gmemFlags: [], hostUser: { count: 0 }, pinner: { count: 1 } }, SELFTEST)).toThrow(/^scenario: pinner\.count must be 0 unless gmemFlags has "mmap"/);
  });

  it('inplace-conversion and the selftest race run clean under sim (40 seeds each), pins and -EAGAIN retries included', () => {
    for (const name of ['inplace-conversion', 'conversions-inplace-selftest']) {
      const model = modelOf(BUILTIN_SCENARIOS[name]!);
      let pins = 0;
      let eagain = 0;
      for (let seed = 1; seed <= 40; seed++) {
        const r = runSim(model, { seed, variant: null });
        expect(r.violation, `${name} seed ${seed}`).toBeNull();
        pins += r.stats.total.pins;
        eagain += r.stats.total.convEagain;
      }
      expect(pins, name).toBeGreaterThan(0);
      expect(eagain, name).toBeGreaterThan(0);
    }
  });

  it('on worker threads (bounded by operations): no violation, pins taken, conversions seen through', async () => {
    const r = await runThreads(modelOf(BUILTIN_SCENARIOS['conversions-inplace-selftest']!), { seed: 1, variant: null, ops: 40 });
    expect(r.violation).toBeNull();
    expect(r.stats.total.pins).toBeGreaterThan(0);
    expect(r.stats.total.gmemSetAttrs).toBeGreaterThan(0);
  });
});
