// The host's mapping of the guest_memfd: kvm_gmem_fault_user_mapping, the PTE it installs, and
// truncation unmapping it (guest_memfd.c at 01f492e1817e; guest_memfd_test's test_fault_private,
// test_mmap_supported, test_guest_memfd_guest).
import { describe, it, expect } from 'vitest';
import { kvmGmemPunchHole } from '../../src/gmem/guest_memfd.js';
import { VM_FAULT_SIGBUS, hostUserAccess, kvmGmemFaultUserMapping } from '../../src/gmem/user_mapping.js';
import { RET_PF_FIXED } from '../../src/kvm/mmu.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { ScenarioError } from '../../src/scenario/errors.js';
import type { Scenario } from '../../src/scenario/types.js';
import type { ActorCtx } from '../../src/engine/ctx.js';
import { filemapGet, hostPteGet } from '../../src/shm/file.js';
import { setGfnAttr, sptePfn } from '../../src/shm/gfn.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, PF_UPTODATE, PfnOwner } from '../../src/shm/layout.js';
import { pfnContent, pfnFlags, pfnOwner, pfnRef } from '../../src/shm/pfn.js';
import { sweepFindings } from '../../src/check/sweep.js';
import { BUILTIN_SCENARIOS, drive, world, type World } from '../helpers.js';
import { runThreads } from '../../src/engine/threads.js';
import { modelOf } from '../../src/workload/kinds.js';
import { fault } from './util.js';

const GUEST = BUILTIN_SCENARIOS['guest-memfd-guest']!;
const PRIVATE_FILE: Scenario = validateScenario({ vmType: 'sw_protected', gmemFlags: ['mmap'], numa: null, hostUser: { count: 1, ops: 1, maxPages: 1 } });
const named = (w: World, name: string): ActorCtx => w.ctxs.find((c) => c.name === name)!;

describe('kvm_gmem_fault_user_mapping', () => {
  it('SIGBUS for a file without INIT_SHARED (test_fault_private) and beyond i_size (test_fault_overflow)', () => {
    const w = world(PRIVATE_FILE);
    const host = named(w, 'hostuser0');
    expect(drive(host, kvmGmemFaultUserMapping(host, 0))).toBe(VM_FAULT_SIGBUS);
    expect(filemapGet(w.s, 0)).toBe(-1); // nothing allocated
    expect(drive(host, hostUserAccess(host, 0, false, 0))).toBe(false);
    const g = world(GUEST);
    const gh = named(g, 'hostuser0');
    expect(drive(gh, kvmGmemFaultUserMapping(gh, g.s.l.filePages))).toBe(VM_FAULT_SIGBUS);
    expect(w.violations).toEqual([]);
  });

  it('an INIT_SHARED file: the fault maps the zeroed, uptodate folio; the PTE holds a reference', () => {
    const w = world(GUEST);
    const host = named(w, 'hostuser0');
    const pfn = drive(host, kvmGmemFaultUserMapping(host, 3));
    expect(pfn).toBe(filemapGet(w.s, 3));
    expect(hostPteGet(w.s, 3)).toBe(pfn);
    expect(pfnFlags(w.s, pfn) & PF_UPTODATE).toBe(PF_UPTODATE);
    expect(pfnContent(w.s, pfn)).toBe(0);
    expect(pfnRef(w.s, pfn)).toBe(2); // the page cache's and the mapping's
    expect(w.violations).toEqual([]);
  });

  it('the host and the guest share the page of a gmem-only memslot (test_guest_memfd_guest)', () => {
    const w = world(GUEST);
    const host = named(w, 'hostuser0');
    expect(drive(host, hostUserAccess(host, 5, true, 0xaa))).toBe(true);
    const { r } = fault(w.ctxs[0]!, 5, false);
    expect(r).toBe(RET_PF_FIXED);
    expect(sptePfn(w.s, 5)).toBe(hostPteGet(w.s, 5)); // one folio behind both
    expect(pfnContent(w.s, sptePfn(w.s, 5))).toBe(0xaa); // the guest's view sees the host's data, not zeroes
    expect(w.violations).toEqual([]);
  });
});

describe('truncation unmaps the host (unmap_mapping_folio before filemap_remove_folio)', () => {
  it('a punch zaps the host PTE and drops its reference; the next host fault brings a fresh zeroed folio (test_mmap_supported)', () => {
    const w = world(GUEST);
    const host = named(w, 'hostuser0');
    const puncher = named(w, 'puncher0');
    drive(host, hostUserAccess(host, 2, true, 0x55));
    const old = hostPteGet(w.s, 2);
    drive(puncher, kvmGmemPunchHole(puncher, 2, 3));
    expect(hostPteGet(w.s, 2)).toBe(-1);
    expect(pfnOwner(w.s, old)).toBe(PfnOwner.Free);
    drive(host, hostUserAccess(host, 2, false, 0));
    const fresh = hostPteGet(w.s, 2);
    expect(fresh).toBe(filemapGet(w.s, 2));
    expect(pfnContent(w.s, fresh)).toBe(0);
    expect(w.violations).toEqual([]);
    expect(sweepFindings(w.s)).toEqual([]);
  });

  it('B25 leaves the PTE: I13 fires as the folio leaves, and the sweep finds the stale PTE', () => {
    const w = world(GUEST, 'B25');
    const host = named(w, 'hostuser0');
    const puncher = named(w, 'puncher0');
    drive(host, hostUserAccess(host, 2, true, 0x55));
    drive(puncher, kvmGmemPunchHole(puncher, 2, 3));
    expect(w.violations.map((v) => v.invariant)).toEqual(['I13']);
    expect(w.violations[0]!.message).toContain("the host's PTE for file index 2");
    expect(sweepFindings(w.s).map((f) => f.invariant)).toContain('I13');
  });

  it('B26 maps a private file for the host: I14 fires at the mapping', () => {
    const w = world(PRIVATE_FILE, 'B26');
    const host = named(w, 'hostuser0');
    expect(drive(host, hostUserAccess(host, 0, false, 0))).toBe(true);
    expect(w.violations.map((v) => v.invariant)).toContain('I14');
    expect(w.violations[0]!.message).toContain('without INIT_SHARED');
  });

  it('I14 judges a mapped page of a private gfn too (a hand-made state: no x86 VM allows INIT_SHARED with private memory)', () => {
    const w = world(GUEST);
    const host = named(w, 'hostuser0');
    drive(host, hostUserAccess(host, 4, false, 0));
    expect(sweepFindings(w.s)).toEqual([]);
    setGfnAttr(w.s, 4, KVM_MEMORY_ATTRIBUTE_PRIVATE);
    expect(sweepFindings(w.s).map((f) => f.invariant)).toEqual(['I14']);
    expect(sweepFindings(w.s)[0]!.message).toContain('backs gfn 4, private to the guest');
  });
});

describe('on worker threads (bounded by operations)', () => {
  it('guest-memfd-guest runs clean: the host, the vCPUs and the puncher share the pages; the host faulted, was unmapped, and the final sweep passed', async () => {
    const r = await runThreads(modelOf(GUEST), { seed: 1, variant: null, ops: 300 });
    expect(r.violation).toBeNull();
    expect(r.stoppedBy).toBe('ops');
    expect(r.quiescent).toBe(true);
    expect(r.stats.total.hostAccesses).toBeGreaterThan(0);
    expect(r.stats.total.hostFaults).toBeGreaterThan(0);
    expect(r.stats.total.hostUnmaps).toBeGreaterThan(0);
  });

  it('B25 shows I13 on real threads', async () => {
    const r = await runThreads(modelOf(GUEST), { seed: 1, variant: 'B25', ops: 300 });
    expect(r.violation?.invariant).toBe('I13');
  });
});

describe('scenario checks', () => {
  it('a host process needs an mmap-able file', () => {
    expect(() => validateScenario({ hostUser: { count: 1 } })).toThrow(ScenarioError);
    expect(() => validateScenario({ hostUser: { count: 1 } })).toThrow(/hostUser\.count must be 0 unless gmemFlags has "mmap".*ENODEV/);
  });
});

describe('what this session changed keeps what was recorded', () => {
  it('a token recorded before guest_memfd flags existed (kernel 7.0 named, mbind ranges, no gmemFlags) replays as the 6.12 model it ran', async () => {
    const { encodeToken, decodeToken, replayRun } = await import('../../src/explore/token.js');
    const { runSim } = await import('../../src/engine/sim.js');
    const { gmemFlags: _drop, ...old } = structuredClone(BUILTIN_SCENARIOS['numa-mbind']!) as Scenario & Record<string, unknown>;
    void _drop;
    const scenario = { ...old, name: 'default', kernel: '7.0' } as unknown as Scenario;
    const probe = runSim(modelOf({ ...scenario, kernel: '6.12', gmemFlags: [] }), { seed: 5, variant: 'B19' });
    expect(probe.violation?.invariant).toBe('I12'); // the old model read the mbind policies back
    const token = encodeToken({ scenario, seed: 5, variant: 'B19', invariants: ['I12'], expect: { invariant: 'I12', traceHash: probe.traceHash, steps: probe.steps } } as never);
    const { sc, model, options } = replayRun(decodeToken(token));
    expect(sc.kernel).toBe('6.12');
    const again = runSim(model, options);
    expect(again.violation?.invariant).toBe('I12');
    expect(again.traceHash).toBe(probe.traceHash);
  });
});
