// GUEST_MEMFD_FLAG_MMAP / INIT_SHARED at create time, and gmem-only memslots on the fault path
// (guest_memfd.c at 01f492e1817e, mmu.c at 5b0d0d85422d; docs/kernel-reading-6.18-7.1.md §1, §2).
import { describe, it, expect } from 'vitest';
import { EINVAL, ENODEV } from '../../src/errno.js';
import {
  GMEM_INODE_INIT_SHARED,
  GMEM_INODE_MMAP,
  GUEST_MEMFD_FLAG_INIT_SHARED,
  GUEST_MEMFD_FLAG_MMAP,
  kvmGmemCreate,
  kvmGmemGetInvalidateFilter,
  kvmGmemGetSupportedFlags,
  kvmGmemMmap,
} from '../../src/gmem/create.js';
import { kvmGmemPunchHole } from '../../src/gmem/guest_memfd.js';
import { kvmVmSetMemAttributes } from '../../src/kvm/memory_attributes.js';
import { RET_PF_FIXED } from '../../src/kvm/mmu.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import { KERNEL_BASELINES, type Scenario, type VmType } from '../../src/scenario/types.js';
import { filemapGet, hvaGet } from '../../src/shm/file.js';
import { gfnZero, sptePfn, sptePrivate } from '../../src/shm/gfn.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, PfnOwner, ZERO_PRIVATE, ZERO_SHARED } from '../../src/shm/layout.js';
import { pfnOwner, pfnIndex } from '../../src/shm/pfn.js';
import { kvmMemslotIsGmemOnly } from '../../src/shm/slot.js';
import { accessPage, newVcpuState } from '../../src/workload/vcpu.js';
import { drive, world, DEFAULT_SCENARIO, BUILTIN_SCENARIOS } from '../helpers.js';
import { actor, fault, setAttr } from './util.js';

const VM_TYPES: VmType[] = ['default', 'sw_protected', 'coco'];
const MMAP_ONLY: Scenario = { ...DEFAULT_SCENARIO, numa: null, pfnPool: 96, gmemFlags: ['mmap'] };

describe('KVM_CREATE_GUEST_MEMFD flags (guest_memfd_test test_guest_memfd_flags)', () => {
  it('every one of the 64 bits: a supported one is accepted, any other fails with EINVAL', () => {
    for (const kernel of KERNEL_BASELINES) {
      for (const vmType of VM_TYPES) {
        const supported = kvmGmemGetSupportedFlags(kernel, vmType);
        for (let b = 0n; b < 64n; b++) {
          const flag = 1n << b;
          expect(kvmGmemCreate({ kernel, vmType }, 4096, flag), `${kernel} ${vmType} bit ${b}`).toBe((supported & flag) !== 0n ? 0 : -EINVAL);
        }
        expect(kvmGmemCreate({ kernel, vmType }, 4096, 0n)).toBe(0);
      }
    }
  });

  it('MMAP since 6.18 on every VM; INIT_SHARED only where x86 has no private memory; the capability query reports both', () => {
    expect(kvmGmemGetSupportedFlags('6.12', 'default')).toBe(0n);
    for (const kernel of ['6.18', '7.0'] as const) {
      expect(kvmGmemGetSupportedFlags(kernel, 'default')).toBe(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
      expect(kvmGmemGetSupportedFlags(kernel, 'sw_protected')).toBe(GUEST_MEMFD_FLAG_MMAP);
      expect(kvmGmemGetSupportedFlags(kernel, 'coco')).toBe(GUEST_MEMFD_FLAG_MMAP);
      expect(kvmGmemGetSupportedFlags(kernel, null)).toBe(GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
      // INIT_SHARED without MMAP is a legal file (it just cannot be mapped)
      expect(kvmGmemCreate({ kernel, vmType: 'default' }, 4096, GUEST_MEMFD_FLAG_INIT_SHARED)).toBe(0);
    }
  });

  it('flags are checked before the size; a size that is not a positive multiple of the page size is EINVAL', () => {
    const vm = { kernel: '7.0', vmType: 'default' } as const;
    expect(kvmGmemCreate(vm, 0, 0n)).toBe(-EINVAL);
    expect(kvmGmemCreate(vm, 4095, 0n)).toBe(-EINVAL);
    expect(kvmGmemCreate(vm, -4096, GUEST_MEMFD_FLAG_MMAP)).toBe(-EINVAL);
    expect(kvmGmemCreate(vm, 8192, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED)).toBe(0);
  });

  it('mmap: ENODEV without MMAP, EINVAL for MAP_PRIVATE (test_mmap_not_supported, test_mmap_cow)', () => {
    expect(kvmGmemMmap(0, true)).toBe(-ENODEV);
    expect(kvmGmemMmap(GMEM_INODE_INIT_SHARED, true)).toBe(-ENODEV);
    expect(kvmGmemMmap(GMEM_INODE_MMAP, false)).toBe(-EINVAL);
    expect(kvmGmemMmap(GMEM_INODE_MMAP, true)).toBe(0);
  });

  it('the invalidation filter: shared for an INIT_SHARED file, private otherwise', () => {
    expect(kvmGmemGetInvalidateFilter(GMEM_INODE_MMAP | GMEM_INODE_INIT_SHARED)).toBe('shared');
    expect(kvmGmemGetInvalidateFilter(GMEM_INODE_MMAP)).toBe('private');
    expect(kvmGmemGetInvalidateFilter(0)).toBe('private');
  });
});

describe('a scenario the kernel would refuse is refused, naming the field and the errno', () => {
  const refuse = (input: object, field: string, text: string) => {
    try {
      validateScenario(input);
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      expect((e as ScenarioError).field).toBe(field);
      expect((e as Error).message).toContain(text);
      expect((e as Error).message).not.toContain('\n');
      return;
    }
    throw new Error('accepted');
  };
  it('INIT_SHARED on a VM with private memory, any flag on 6.12', () => {
    refuse({ gmemFlags: ['mmap', 'init_shared'] }, 'gmemFlags', 'EINVAL from KVM_CREATE_GUEST_MEMFD: "init_shared" is not supported');
    refuse({ gmemFlags: ['mmap'], kernel: '6.12', numa: null }, 'gmemFlags', 'kernel 6.12 has no guest_memfd flags');
    refuse({ gmemFlags: ['bogus'] }, 'gmemFlags[0]', '"mmap", "init_shared"');
  });
  it('a default VM cannot have private memory', () => {
    const dflt = { vmType: 'default', gmemFlags: ['mmap', 'init_shared'] };
    refuse(dflt, 'vcpus.privateFraction', 'KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) fails with EINVAL');
    refuse({ ...dflt, vcpus: { privateFraction: 0 } }, 'vcpus.conversionRate', 'no private memory');
    refuse({ ...dflt, vcpus: { privateFraction: 0, conversionRate: 0 } }, 'converter.count', 'no private memory');
    const ok = validateScenario({ ...dflt, vcpus: { privateFraction: 0, conversionRate: 0 }, converter: { count: 0 } });
    expect(ok.gmemFlags).toEqual(['mmap', 'init_shared']);
  });
  it('an mbind shared policy needs an mmap-able file (7.0) and does not exist on 6.18', () => {
    const numa = structuredClone(BUILTIN_SCENARIOS['numa-mbind']!.numa);
    refuse({ numa }, 'numa.shared', 'gmemFlags has "mmap"');
    refuse({ numa, gmemFlags: ['mmap'], kernel: '6.18' }, 'numa.shared', 'since 6.19');
    expect(validateScenario({ numa, gmemFlags: ['mmap', 'mmap'] }).gmemFlags).toEqual(['mmap']);
    // the model gmemsim started from (recorded scenarios) set it without a mapping
    expect(validateScenario({ numa, kernel: '6.12' }).numa!.shared.length).toBe(3);
  });
  it('every built-in passes its own validation', () => {
    for (const [name, sc] of Object.entries(BUILTIN_SCENARIOS)) {
      if (name === 'numa-interleave') continue; // 50 GiB: validated by its own tests
      expect(() => validateScenario(structuredClone(sc)), name).not.toThrow();
    }
  });
});

describe('gmem-only memslots (kvm_gmem_bind sets KVM_MEMSLOT_GMEM_ONLY for an mmap-able file)', () => {
  it('without MMAP the slots are hybrid: a shared fault maps the HVA page', () => {
    const w = world();
    expect(kvmMemslotIsGmemOnly(w.s, 0)).toBe(false);
    const { r } = fault(actor(w, 'vcpu0'), 3, false);
    expect(r).toBe(RET_PF_FIXED);
    expect(pfnOwner(w.s, sptePfn(w.s, 3))).toBe(PfnOwner.Hva);
  });

  it('with MMAP a shared fault is served from guest_memfd (kvm_mmu_faultin_pfn_gmem), and the HVA is never touched', () => {
    const w = world(MMAP_ONLY);
    expect(kvmMemslotIsGmemOnly(w.s, 0)).toBe(true);
    expect(kvmMemslotIsGmemOnly(w.s, 1)).toBe(true);
    const v = actor(w, 'vcpu1');
    const gfn = 20; // slot 1: pgoff 16 -> index 20
    const { r } = fault(v, gfn, false);
    expect(r).toBe(RET_PF_FIXED);
    const pfn = sptePfn(w.s, gfn);
    expect(sptePrivate(w.s, gfn)).toBe(false);
    expect(pfn).toBe(filemapGet(w.s, 20));
    expect([pfnOwner(w.s, pfn), pfnIndex(w.s, pfn)]).toEqual([PfnOwner.PageCache, 20]);
    for (let h = 0; h < 32; h++) expect(hvaGet(w.s, h)).toBe(-1);
    // a private access to the same gfn after a conversion (which zapped the shared SPTE) finds the same folio
    const vmm = w.ctxs.find((c) => c.name === 'vmm')!;
    expect(drive(vmm, kvmVmSetMemAttributes(vmm, gfn, gfn + 1, KVM_MEMORY_ATTRIBUTE_PRIVATE))).toBe(0);
    expect(sptePfn(w.s, gfn)).toBe(-1);
    expect(fault(v, gfn, true).r).toBe(RET_PF_FIXED);
    expect(sptePfn(w.s, gfn)).toBe(pfn);
    expect(w.violations).toEqual([]);
  });

  it('B24 sends the shared fault to the HVA: I1 fires as it is installed', () => {
    const w = world(MMAP_ONLY, 'B24');
    expect(fault(actor(w, 'vcpu0'), 3, false).r).toBe(RET_PF_FIXED);
    expect(pfnOwner(w.s, sptePfn(w.s, 3))).toBe(PfnOwner.Hva);
    expect(w.violations.map((x) => x.invariant)).toContain('I1');
    expect(w.violations[0]!.message).toContain('not the page cache folio at index 3');
  });

  it('a punch zeroes both views of a gmem-only gfn, and one write through either view clears both', () => {
    const w = world(MMAP_ONLY);
    const v = actor(w, 'vcpu0');
    drive(actor(w, 'puncher'), kvmGmemPunchHole(actor(w, 'puncher'), 0, 4));
    expect(gfnZero(w.s, 2)).toBe(0); // nothing was in the page cache: nothing left
    fault(v, 2, false);
    drive(actor(w, 'puncher'), kvmGmemPunchHole(actor(w, 'puncher'), 2, 3));
    expect(gfnZero(w.s, 2)).toBe(ZERO_PRIVATE | ZERO_SHARED);
    fault(v, 2, false);
    const state = newVcpuState(w.sc, 0);
    accessPage(v, state, 2, sptePfn(w.s, 2), true, false);
    expect(gfnZero(w.s, 2)).toBe(0);
    // a hybrid slot: the punch zeroes only the private view
    const h = world();
    const hv = actor(h, 'vcpu0');
    setAttr(h, 2, true);
    fault(hv, 2, true);
    drive(actor(h, 'puncher'), kvmGmemPunchHole(actor(h, 'puncher'), 2, 3));
    expect(gfnZero(h.s, 2)).toBe(ZERO_PRIVATE);
    expect(ZERO_SHARED).not.toBe(ZERO_PRIVATE);
    expect(w.violations).toEqual([]);
  });

  it('KVM_SET_MEMORY_ATTRIBUTES(PRIVATE) is EINVAL on a default VM, before any lock', () => {
    const sc = validateScenario({ vmType: 'default', gmemFlags: ['mmap', 'init_shared'], numa: null, vcpus: { privateFraction: 0, conversionRate: 0 }, converter: { count: 0 } });
    const w = world(sc);
    const vmm = w.ctxs.find((c) => c.name === 'vmm')!;
    expect(drive(vmm, kvmVmSetMemAttributes(vmm, 0, 4, KVM_MEMORY_ATTRIBUTE_PRIVATE))).toBe(-EINVAL);
    expect(drive(vmm, kvmVmSetMemAttributes(vmm, 0, 4, 0))).toBe(0);
  });
});
