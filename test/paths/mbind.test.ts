// Runtime mbind on the gmem mapping: shared_policy_replace on the tree in the shared state (under
// sp->lock for write, the split's allocation with the lock dropped and the walk restarted), the
// allocation's lookup (sp->lock for read, a reference held across the allocation), and the checks:
// I11 and I12 judged against a ghost of the mbind calls (linearizable: either policy while one is in
// progress), I16 for a policy object used after it was freed, I20 for the tree and its references.
import { fiberOf } from '../../src/engine/fiber.js';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sweepFindings } from '../../src/check/sweep.js';
import { explore } from '../../src/explore/explore.js';
import { exploreDfs } from '../../src/explore/dfs.js';
import { modelOf } from '../../src/workload/kinds.js';
import { mpolCondPut, mpolSharedPolicyLookup } from '../../src/mm/mpol_shared.js';
import { policyIdOf, sharedPolicyOf, spPidAt } from '../../src/mm/policy.js';
import { SharedPolicy } from '../../src/mm/shared_policy.js';
import { P } from '../../src/engine/points.js';
import { tryProceed } from '../../src/engine/wait.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { UPSTREAM_FINDINGS } from '../../src/scenario/builtins.js';
import { spCount, spHandleObj, spNodePolicy, spObjLive, spObjRef } from '../../src/shm/sp.js';
import type { PolicySpec, Scenario } from '../../src/scenario/types.js';
import type { InvariantId } from '../../src/check/invariants.js';
import { mbindProgram } from '../../src/workload/mbind.js';
import { getMempolicyAddrLocked, kvmGmemSetPolicy } from '../../src/gmem/guest_memfd.js';
import { BUILTIN_SCENARIOS, drive, stepUntil, world } from '../helpers.js';

const RUNTIME = BUILTIN_SCENARIOS['numa-mbind-runtime']!;
const LITMUS = BUILTIN_SCENARIOS['litmus-mbind']!;
const RACE = BUILTIN_SCENARIOS['litmus-mbind-race']!;
const EMPTY = BUILTIN_SCENARIOS['litmus-mbind-empty']!;
const POLICIES: PolicySpec[] = [
  { mode: 'default', nodes: [], flags: [] },
  { mode: 'bind', nodes: [0], flags: [] },
  { mode: 'bind', nodes: [1], flags: [] },
  { mode: 'interleave', nodes: [0, 1], flags: [] },
  { mode: 'preferred', nodes: [1], flags: [] },
];
const mbindCtx = (w: ReturnType<typeof world>, i = 0) => w.ctxs.filter((c) => c.kind === 'mbind')[i]!;

describe('shared_policy_replace on the shared state', () => {
  it('agrees with the reference tree (mm/shared_policy.ts) after any sequence of mbind calls, and keeps every reference balanced', () => {
    const sc = validateScenario({ numa: { ...RUNTIME.numa!, mbindPolicies: [] } }, RUNTIME);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(31), fc.integer({ min: 1, max: 32 }), fc.nat(POLICIES.length - 1)), { minLength: 1, maxLength: 12 }), (calls) => {
        const w = world(sc);
        const m = mbindCtx(w);
        const ref: SharedPolicy<number> = sharedPolicyOf(sc);
        for (const [start, len, p] of calls) {
          const end = Math.min(32, start + len);
          const id = policyIdOf(sc, POLICIES[p]!);
          expect(drive(m, kvmGmemSetPolicy(m, start, end, id))).toBe(0);
          ref.setPolicy(start, end, id === 0 ? null : id);
        }
        for (let i = 0; i < 32; i++) expect(spPidAt(w.s, i), `page ${i}`).toBe(ref.lookup(i) ?? 0);
        expect(spCount(w.s)).toBe(ref.size);
        expect(sweepFindings(w.s)).toEqual([]);
        expect(w.violations).toEqual([]);
      }),
      { numRuns: 60, seed: 12 },
    );
  });

  it('a lookup holds a reference: the policy object outlives its node\'s deletion until mpol_cond_put', () => {
    const w = world(validateScenario({}, LITMUS));
    const v = w.ctxs[0]!;
    const h = drive(v, mpolSharedPolicyLookup(v, 1));
    const o = spHandleObj(h);
    expect(spObjRef(w.s, o)).toBe(2); // the node's and the lookup's
    const m = mbindCtx(w);
    expect(drive(m, kvmGmemSetPolicy(m, 0, 3, 0))).toBe(0); // MPOL_DEFAULT over the file: the node is deleted
    expect(spCount(w.s)).toBe(0);
    expect(spObjLive(w.s, o)).toBe(true);
    mpolCondPut(v, h);
    expect(spObjLive(w.s, o)).toBe(false);
    expect(sweepFindings(w.s)).toEqual([]);
  });

  it('sp->lock: a lookup waits while shared_policy_replace edits the tree', () => {
    const w = world(validateScenario({}, LITMUS));
    const m = mbindCtx(w);
    const writer = kvmGmemSetPolicy(m, 1, 2, policyIdOf(w.sc, POLICIES[2]!));
    stepUntil(m, writer, P['sp-replace']); // inside the write section
    const v = w.ctxs[0]!;
    const reader = mpolSharedPolicyLookup(v, 1);
    fiberOf(reader).next(); // yields its read_lock
    expect(tryProceed(w.s, v)).toBe(false);
    drive(m, writer);
    expect(tryProceed(w.s, v)).toBe(true);
  });

  it('the split: a node straddling the new range is cut in two, the right part a copy of its policy on an object of its own', () => {
    const w = world(validateScenario({}, LITMUS));
    const m = mbindCtx(w);
    expect(spCount(w.s)).toBe(1);
    expect(drive(m, kvmGmemSetPolicy(m, 1, 2, policyIdOf(w.sc, POLICIES[1]!)))).toBe(0);
    expect(spCount(w.s)).toBe(3);
    expect([0, 1, 2].map((i) => spPidAt(w.s, i))).toEqual([policyIdOf(w.sc, POLICIES[2]!), policyIdOf(w.sc, POLICIES[1]!), policyIdOf(w.sc, POLICIES[2]!)]);
    expect(new Set([0, 1, 2].map((k) => spNodePolicy(w.s, k))).size).toBe(3);
    expect(sweepFindings(w.s)).toEqual([]);
  });
});

describe('the checks against runtime mbind', () => {
  it('the correct model is quiet: litmus-mbind and litmus-mbind-race exhaustively (dfs, 2 preemptions), numa-mbind-runtime on 300 random schedules', () => {
    for (const sc of [LITMUS, RACE]) {
      const r = exploreDfs(modelOf(sc), { seed: 1, preemptions: 2, variant: null, maxSchedules: 200_000 });
      expect(r.violation, sc.name).toBeNull();
      expect(r.exhausted, sc.name).toBe(true);
    }
    expect(explore(RUNTIME, { seed: 1, schedules: 300, variant: null }).violations).toEqual([]);
  });

  it('B38 (lookup without sp->lock) sees a policy never in force there: get_mempolicy reports it (I12), and an allocation follows it (I11, checked alone); B39 (split bounds swapped): I20; B40 (the restart\'s copy leaked): I20', () => {
    const cases: Array<[Scenario, 'B38' | 'B39' | 'B40', string, RegExp, InvariantId[] | undefined]> = [
      [LITMUS, 'B38', 'I12', /get_mempolicy\(MPOL_F_ADDR\) at file page \d+ reports/, undefined],
      [LITMUS, 'B38', 'I11', /binds it to nodes 1/, ['I11']],
      [LITMUS, 'B39', 'I20', /empty or inverted range/, undefined],
      [RACE, 'B40', 'I20', /reference leaked/, undefined],
    ];
    for (const [sc, variant, inv, msg, invariants] of cases) {
      const r = explore(sc, { seed: 1, schedules: 2000, variant, shrink: false, invariants });
      expect(r.violations[0]?.invariant, variant).toBe(inv);
      expect(r.violations[0]?.message, variant).toMatch(msg);
    }
  });

  it('mbind_range skips a VMA piece whose cached policy is the new one: MPOL_DEFAULT on a fresh mapping changes nothing', () => {
    const w = world(validateScenario({ mbind: { count: 1, ops: 3, maxPages: 3 }, numa: { ...LITMUS.numa!, mbindPolicies: [{ mode: 'default', nodes: [], flags: [] }] } }, LITMUS));
    const m = mbindCtx(w);
    const before = [0, 1, 2].map((i) => spPidAt(w.s, i));
    drive(m, mbindProgram(m));
    expect([0, 1, 2].map((i) => spPidAt(w.s, i))).toEqual(before); // still bound to node 1: no set_policy call was made
    expect(w.violations).toEqual([]);
  });

  it('B38 also takes a reference on a policy object mbind has freed: I16 when the allocation\'s lookup is split from its mpol_get', () => {
    const w = world(validateScenario({}, LITMUS), 'B38');
    const v = w.ctxs[0]!;
    const m = mbindCtx(w);
    const reader = mpolSharedPolicyLookup(v, 0);
    stepUntil(v, reader, P['mpol-get']); // found the node, not yet referenced
    expect(drive(m, kvmGmemSetPolicy(m, 0, 3, 0))).toBe(0); // deleted, its policy freed
    drive(v, reader);
    expect(w.violations.map((x) => x.invariant)).toContain('I16');
  });

  it('I12: get_mempolicy after an mbind reports what it set; B19 (the task policy reported where no range is set) is caught at runtime too', () => {
    const sc = validateScenario({ numa: { ...RUNTIME.numa!, task: { mode: 'preferred', nodes: [0], flags: [] } } }, RUNTIME);
    const w = world(sc, 'B19');
    const m = mbindCtx(w);
    expect(drive(m, kvmGmemSetPolicy(m, 4, 8, 0))).toBe(0);
    m.ev.policyReported(m, 4, drive(m, getMempolicyAddrLocked(m, 4)));
    expect(w.violations.map((x) => x.invariant)).toEqual(['I12']);
  });

  it('the upstream finding litmus-mbind-empty: the lockless empty-tree test in mpol_shared_policy_lookup sees the tree empty mid-replace, and the page lands by the task\'s policy', () => {
    expect(UPSTREAM_FINDINGS['litmus-mbind-empty']).toBe('I11');
    const r = explore(EMPTY, { seed: 1, schedules: 500, variant: null, shrink: false });
    expect(r.violations[0]?.invariant).toBe('I11');
    expect(r.violations[0]?.message).toMatch(/binds it to nodes 1/);
  });

  it('refuses a runtime mbind the kernel could not do, naming the field', () => {
    const refuse = (over: object, field: string, why: RegExp) => expect(() => validateScenario(over, RUNTIME)).toThrow(new RegExp(`${field.replace('.', '\\.')} .*${why.source}`));
    refuse({ numa: null }, 'mbind.count', /policySource "shared"/);
    refuse({ gmemFlags: [] }, 'mbind.count', /gmemFlags has "mmap"/);
    refuse({ kernel: '6.18', numa: { ...RUNTIME.numa!, shared: [] } }, 'mbind.count', /since 6.19/);
    const many = Array.from({ length: 32 }, (_, i) => ({ mode: 'preferred', nodes: [i % 2], flags: [], maxnode: 2 + i }));
    refuse({ numa: { ...RUNTIME.numa!, mbindPolicies: many.slice(0, 31) } }, 'numa.mbindPolicies', /at most 31 distinct/);
  });
});
