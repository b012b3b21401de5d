// Memory failure on guest_memfd (kvm_gmem_error_folio at 01f492e1817e; c31745d2c508): the poisoned
// folio is zapped but stays in the file, later faults get -EHWPOISON (the reference put), the
// host's next touch SIGBUS, a hole punch removes it; I17 (page references balance) and I18 (nothing
// maps or touches a handled poisoned page) with variants B32, B33, B34; and the lock inversion
// upstream has between memory failure and PUNCH_HOLE.
import { describe, it, expect } from 'vitest';
import { EHWPOISON } from '../../src/errno.js';
import { kvmGmemGetPfn, kvmGmemPunchHole } from '../../src/gmem/guest_memfd.js';
import { hostUserAccess } from '../../src/gmem/user_mapping.js';
import { RET_PF_FIXED } from '../../src/kvm/mmu.js';
import { memoryFailure } from '../../src/mm/memory_failure.js';
import { sweepFindings } from '../../src/check/sweep.js';
import { explore } from '../../src/explore/explore.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { filemapGet, hostPteGet } from '../../src/shm/file.js';
import { sptePfn } from '../../src/shm/gfn.js';
import { PF_HWPOISON } from '../../src/shm/layout.js';
import { pfnFlags, pfnRef } from '../../src/shm/pfn.js';
import type { VariantId } from '../../src/variants.js';
import { BUILTIN_SCENARIOS, drive, world, type World } from '../helpers.js';
import { fault, setAttr } from './util.js';

const MF = BUILTIN_SCENARIOS['memory-failure']!;
const LITMUS = BUILTIN_SCENARIOS['litmus-hwpoison']!;
const byKind = (w: World, kind: string) => w.ctxs.find((c) => c.kind === kind)!;

/** A vCPU's private fault on gfn 2, then memory failure on its folio. */
function poisoned(variant: VariantId | null = null) {
  const w = world(MF, variant);
  const vcpu = byKind(w, 'vcpu');
  setAttr(w, 2, true);
  expect(fault(vcpu, 2, true).r).toBe(RET_PF_FIXED);
  const pfn = sptePfn(w.s, 2);
  const mce = byKind(w, 'memory-failure');
  expect(drive(mce, memoryFailure(mce, 2))).toBe(true);
  return { w, vcpu, pfn };
}

describe('memory failure (kvm_gmem_error_folio)', () => {
  it('zaps without truncating; the refault gets -EHWPOISON with its reference put; a punch then frees the page', () => {
    const { w, vcpu, pfn } = poisoned();
    expect(sptePfn(w.s, 2)).toBe(-1);
    expect(filemapGet(w.s, 2)).toBe(pfn); // still the file's
    expect(pfnFlags(w.s, pfn) & PF_HWPOISON).toBe(PF_HWPOISON);
    const r = fault(vcpu, 2, true);
    expect(r.r).toBe(-EHWPOISON);
    expect(r.f.exit.valid).toBe(true); // KVM_EXIT_MEMORY_FAULT to the VMM
    expect(pfnRef(w.s, pfn)).toBe(1); // the page cache's alone
    expect(sweepFindings(w.s)).toEqual([]);
    const vmm = byKind(w, 'vmm');
    expect(drive(vmm, kvmGmemPunchHole(vmm, 2, 3))).toBe(0);
    expect(filemapGet(w.s, 2)).toBe(-1);
    expect(pfnRef(w.s, pfn)).toBe(0);
    expect(fault(vcpu, 2, true).r).toBe(RET_PF_FIXED); // a fresh folio
    // lockdep remembers memory failure's folio lock -> invalidate_lock: the punch's opposite order
    // is upstream's inversion (the last test), reported even though these two ran one after the other
    expect(w.violations.map((v) => v.invariant)).toEqual(['LOCK_ORDER']);
    expect(sweepFindings(w.s)).toEqual([]);
  });

  it('B32 leaks the reference of every -EHWPOISON fault: I17 at quiescence, and the punch cannot free the page', () => {
    const { w, vcpu, pfn } = poisoned('B32');
    expect(fault(vcpu, 2, true).r).toBe(-EHWPOISON);
    expect(pfnRef(w.s, pfn)).toBe(2);
    expect(sweepFindings(w.s).map((f) => f.invariant)).toEqual(['I17']);
    const vmm = byKind(w, 'vmm');
    drive(vmm, kvmGmemPunchHole(vmm, 2, 3));
    expect(pfnRef(w.s, pfn)).toBe(1); // removed from the file, never freed
    expect(sweepFindings(w.s).map((f) => f.invariant)).toEqual(['I17']);
  });

  it('B33 maps the poisoned page again (I18 at the install); B34 leaves the SPTE in place (I18 when memory_failure returns)', () => {
    const b33 = poisoned('B33');
    expect(fault(b33.vcpu, 2, true).r).toBe(RET_PF_FIXED);
    expect(b33.w.violations.map((v) => v.invariant)).toEqual(['I18']);
    const b34 = poisoned('B34');
    expect(sptePfn(b34.w.s, 2)).toBe(b34.pfn);
    expect(b34.w.violations.map((v) => v.invariant)).toEqual(['I18']);
    expect(sweepFindings(b34.w.s).map((f) => f.invariant)).toContain('I18');
  });

  it('the host: memory failure unmaps its PTE, and its next touch takes SIGBUS', () => {
    const sc = validateScenario({ ...MF, name: 'host', vmType: 'default', gmemFlags: ['mmap', 'init_shared'], vcpus: { ...MF.vcpus, privateFraction: 0, conversionRate: 0 }, hostUser: { count: 1, ops: 1, maxPages: 1 } });
    const w = world(sc);
    const host = byKind(w, 'host-user');
    expect(drive(host, hostUserAccess(host, 5, true, 7))).toBe(true);
    const pfn = hostPteGet(w.s, 5);
    expect(pfn).toBeGreaterThanOrEqual(0);
    const mce = byKind(w, 'memory-failure');
    expect(drive(mce, memoryFailure(mce, 5))).toBe(true);
    expect(hostPteGet(w.s, 5)).toBe(-1);
    expect(drive(host, hostUserAccess(host, 5, false, 0))).toBe(false); // SIGBUS
    expect(pfnRef(w.s, pfn)).toBe(1);
    expect(w.violations).toEqual([]);
    expect(sweepFindings(w.s)).toEqual([]);
  });

  it('a page nobody has faulted in is not the file\'s to poison; a second report of the same page changes nothing', () => {
    const w = world(MF);
    const mce = byKind(w, 'memory-failure');
    expect(drive(mce, memoryFailure(mce, 9))).toBe(false);
    const vcpu = byKind(w, 'vcpu');
    setAttr(w, 9, true);
    expect(drive(vcpu, kvmGmemGetPfn(vcpu, 0, 9))).toBeGreaterThanOrEqual(0); // the page, with a reference the test drops below
    const pfn = filemapGet(w.s, 9);
    expect(drive(mce, memoryFailure(mce, 9))).toBe(true);
    expect(drive(mce, memoryFailure(mce, 9))).toBe(false);
    expect(pfnRef(w.s, pfn)).toBe(2);
  });

  const first = (variant: VariantId | null, schedules: number, sc = LITMUS) => explore(sc, { seed: 1, schedules, variant, strategy: 'portfolio' }).violations[0]?.invariant ?? null;

  it('on litmus-hwpoison the correct model is quiet; B32 breaks I17, B33 and B34 break I18', () => {
    expect(first(null, 400)).toBeNull();
    expect(first('B32', 400)).toBe('I17');
    expect(first('B33', 400)).toBe('I18');
    expect(first('B34', 400)).toBe('I18');
    for (let seed = 1; seed <= 10; seed++) expect(explore(MF, { seed, schedules: 10, variant: null }).violations).toEqual([]);
  });

  it('upstream, memory failure against the unbind of a dying file leaves an invalidation open (a finding about the kernel: I4)', () => {
    const sc = BUILTIN_SCENARIOS['litmus-hwpoison-unbind']!;
    const f = explore(sc, { seed: 1, schedules: 20000, variant: null, strategy: 'portfolio' }).violations[0];
    expect(f?.invariant).toBe('I4');
    expect(f?.message).toMatch(/kvm_gmem_error_folio returned with 1 invalidation\(s\) still open/);
  });

  it('upstream, memory failure against PUNCH_HOLE inverts the folio lock and the invalidate lock (a finding about the kernel: lockdep, then the deadlock itself)', () => {
    const sc = BUILTIN_SCENARIOS['litmus-hwpoison-punch']!;
    expect(first(null, 2000, sc)).toBe('LOCK_ORDER');
    const r = explore(sc, { seed: 1, schedules: 2000, variant: null, strategy: 'portfolio', invariants: ['DEADLOCK'] });
    expect(r.violations[0]?.invariant).toBe('DEADLOCK');
    expect(r.violations[0]?.message).toMatch(/puncher0 waits for folio lock.*mce0 waits for read-lock on filemap invalidate_lock/);
  });
});
