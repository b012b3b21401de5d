// The gmem file's lifetime (guest_memfd.c @01f492e1817e; ae431059e75d, 67b43038ce14): close(2),
// the last fput's __fput as task_work (kvm_gmem_release, then the inode's eviction), the refusals
// after it (-EFAULT from kvm_gmem_get_pfn, -EBADF from fallocate and memslot creation), unbind of
// a dying file, and I16 (no freed memslot, gmem_file or inode is used) with its three variants.
import { describe, it, expect } from 'vitest';
import { taskWorkRun, type ActorCtx } from '../../src/engine/ctx.js';
import { P } from '../../src/engine/points.js';
import { EBADF, EFAULT } from '../../src/errno.js';
import { gmemClose } from '../../src/gmem/release.js';
import { kvmGmemGetPfn, kvmGmemPunchHole } from '../../src/gmem/guest_memfd.js';
import { kvmCreateMemslot, kvmDeleteMemslot } from '../../src/kvm/memslot.js';
import { pagePut } from '../../src/mm/page_alloc.js';
import { RET_PF_FIXED } from '../../src/kvm/mmu.js';
import { sweepFindings } from '../../src/check/sweep.js';
import { runSim } from '../../src/engine/sim.js';
import { explore } from '../../src/explore/explore.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { bindingOf, filemapGet, gmemFileRef, gmemFileState } from '../../src/shm/file.js';
import { sptePfn } from '../../src/shm/gfn.js';
import { GmemFileState, SlotState } from '../../src/shm/layout.js';
import { memslotAllocated, slotFile, slotState } from '../../src/shm/slot.js';
import { modelOf } from '../../src/workload/kinds.js';
import type { VariantId } from '../../src/variants.js';
import { BUILTIN_SCENARIOS, drive, stepUntil, world, type World } from '../helpers.js';
import { fault, setAttr } from './util.js';

const REL = BUILTIN_SCENARIOS['gmem-release']!;
const LITMUS = BUILTIN_SCENARIOS['litmus-release']!;
const UNBIND = BUILTIN_SCENARIOS['litmus-release-unbind']!;
const byKind = (w: World, kind: string) => w.ctxs.find((c) => c.kind === kind)!;
const closeAndReturn = (ctx: ActorCtx) => {
  const r = drive(ctx, gmemClose(ctx));
  drive(ctx, taskWorkRun(ctx));
  return r;
};

describe('kvm_gmem_release and the file lifetime', () => {
  it('the last close releases: pointers cleared, SPTEs zapped, bindings gone, the inode evicted; every entry point then refuses', () => {
    const w = world(REL);
    const vcpu = byKind(w, 'vcpu');
    setAttr(w, 1, true);
    expect(fault(vcpu, 1, true).r).toBe(RET_PF_FIXED); // a private SPTE on gfn 1
    expect(sptePfn(w.s, 1)).toBeGreaterThanOrEqual(0);
    const closer = byKind(w, 'gmem-close');
    expect(closeAndReturn(closer)).toBe(0);
    expect(gmemFileState(w.s)).toBe(GmemFileState.Freed);
    expect(gmemFileRef(w.s)).toBe(0);
    expect(sptePfn(w.s, 1)).toBe(-1);
    for (const slot of [0, 1]) expect(slotFile(w.s, slot)).toBe(0);
    for (let i = 0; i < 16; i++) {
      expect(bindingOf(w.s, i)).toBe(-1);
      expect(filemapGet(w.s, i)).toBe(-1); // evicted with the inode
    }
    expect(drive(vcpu, kvmGmemGetPfn(vcpu, 0, 1))).toBe(-EFAULT);
    const puncher = byKind(w, 'puncher');
    expect(drive(puncher, kvmGmemPunchHole(puncher, 0, 4))).toBe(-EBADF);
    expect(drive(closer, gmemClose(closer))).toBe(-EBADF); // the fd is gone
    const churn = byKind(w, 'slot-churn');
    expect(drive(churn, kvmDeleteMemslot(churn, 0))).toBe(0); // unbind finds nothing to do
    expect(drive(churn, kvmCreateMemslot(churn, 0))).toBe(-EBADF); // fget of the closed fd
    expect(slotState(w.s, 0)).toBe(SlotState.Absent);
    expect(memslotAllocated(w.s, 0)).toBe(false);
    expect(w.violations).toEqual([]);
    expect(sweepFindings(w.s)).toEqual([]);
  });

  it('a fault holding the file when the fd closes runs the release itself, on its return, after its put', () => {
    const w = world(REL);
    const vcpu = byKind(w, 'vcpu');
    const closer = byKind(w, 'gmem-close');
    const gen = kvmGmemGetPfn(vcpu, 0, 2);
    stepUntil(vcpu, gen, P['filemap-lookup']); // holding get_file_active's reference
    expect(gmemFileRef(w.s)).toBe(2);
    expect(closeAndReturn(closer)).toBe(0);
    expect(gmemFileState(w.s)).toBe(GmemFileState.Live); // the fault's reference keeps it
    const pfn = drive(vcpu, gen);
    expect(pfn).toBeGreaterThanOrEqual(0);
    pagePut(vcpu, pfn);
    expect(gmemFileRef(w.s)).toBe(0);
    expect(vcpu.taskWork?.length).toBe(1); // __fput queued for the vCPU's return
    drive(vcpu, taskWorkRun(vcpu));
    expect(gmemFileState(w.s)).toBe(GmemFileState.Freed);
    expect(w.violations).toEqual([]);
    expect(sweepFindings(w.s)).toEqual([]);
  });

  it('a host process that has the file mapped holds it: close alone does not release', () => {
    const sc = validateScenario({ ...REL, name: 'mapped', vmType: 'default', gmemFlags: ['mmap', 'init_shared'], vcpus: { ...REL.vcpus, privateFraction: 0, conversionRate: 0 }, hostUser: { count: 1, ops: 1, maxPages: 1 } });
    const w = world(sc);
    expect(closeAndReturn(byKind(w, 'gmem-close'))).toBe(0);
    expect(gmemFileRef(w.s)).toBe(1);
    expect(gmemFileState(w.s)).toBe(GmemFileState.Live);
    expect(slotFile(w.s, 0)).toBe(1);
  });

  const dying = (variant: VariantId | null) => {
    const w = world(REL, variant);
    const closer = byKind(w, 'gmem-close');
    drive(closer, gmemClose(closer)); // the count is 0, __fput not run yet: the file is dying
    const churn = byKind(w, 'slot-churn');
    expect(drive(churn, kvmDeleteMemslot(churn, 0))).toBe(0);
    return { w, closer };
  };

  it('a memslot deleted while the file is dying has its bindings erased (ae431059e75d); release then leaves the freed memslot alone', () => {
    const { w, closer } = dying(null);
    for (let i = 0; i < 8; i++) expect(bindingOf(w.s, i)).toBe(-1);
    expect(bindingOf(w.s, 8)).toBe(1);
    expect(sweepFindings(w.s)).toEqual([]);
    drive(closer, taskWorkRun(closer));
    expect(gmemFileState(w.s)).toBe(GmemFileState.Freed);
    expect(w.violations).toEqual([]);
  });

  it('B29 (unbind returns on a dying file) leaves bindings naming the freed memslot: the sweep sees them, and release writes through them (I16)', () => {
    const { w, closer } = dying('B29');
    expect(bindingOf(w.s, 0)).toBe(0);
    expect(sweepFindings(w.s).map((f) => f.invariant)).toContain('I16');
    drive(closer, taskWorkRun(closer));
    expect(w.violations.map((v) => v.invariant)).toContain('I16');
    expect(w.violations.find((v) => v.invariant === 'I16')!.message).toMatch(/kvm_gmem_release uses memslot 0/);
  });

  // the campaign's own search (random and PCT schedules in turn), bounded by schedules
  const firstFinding = (variant: VariantId | null, schedules: number, sc = LITMUS) => explore(sc, { seed: 1, schedules, variant, strategy: 'portfolio' }).violations[0]?.invariant ?? null;

  it('on the release litmus tests the correct model is quiet; B29, B30 and B31 are each found by the invariant the catalogue names', () => {
    expect(firstFinding(null, 400)).toBeNull();
    expect(firstFinding(null, 400, UNBIND)).toBeNull();
    expect(firstFinding('B29', 400, UNBIND)).toBe('I16');
    expect(firstFinding('B30', 3000)).toBe('I16');
    expect(firstFinding('B31', 400)).toBe('I1');
  });

  it('on gmem-release (faults, punches and memslot churn around the close) the correct model is quiet', () => {
    for (let seed = 1; seed <= 30; seed++) expect(runSim(modelOf(REL), { seed, variant: null }).violation).toBeNull();
  });

  it('one fd, one closer: gmemClose.count above 1 is refused naming the field', () => {
    expect(() => validateScenario({ ...REL, gmemClose: { count: 2, ops: 1, maxPages: 1 } })).toThrow(/gmemClose\.count/);
  });
});
