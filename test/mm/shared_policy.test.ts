// The guest_memfd shared policy tree (shared_policy_replace's delete / trim / split cases) and the
// mbind / get_mempolicy model on a gmem mapping (VMA-cache edge, file offsets, NULL = DEFAULT).
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { EFAULT } from '../../src/errno.js';
import { GmemMapping, SharedPolicy, policyEqual, type PolicyRange, type ReplaceResult } from '../../src/mm/shared_policy.js';

// A stand-in for struct mempolicy: mode + node list, compared like __mpol_equal.
interface Pol {
  mode: 'INTERLEAVE' | 'BIND' | 'PREFERRED';
  nodes: number[];
}
const pol = (mode: Pol['mode'], ...nodes: number[]): Pol => ({ mode, nodes });
const polEq = (a: Pol, b: Pol) => a.mode === b.mode && a.nodes.length === b.nodes.length && a.nodes.every((n, i) => n === b.nodes[i]);
const clonePol = (p: Pol): Pol => ({ mode: p.mode, nodes: [...p.nodes] });

const r = <P>(start: number, end: number, policy: P): PolicyRange<P> => ({ start, end, policy });
const res = (deleted: number, trimmed: number, split: number, inserted: boolean): ReplaceResult => ({ deleted, trimmed, split, inserted });

/** A tree holding exactly `ranges` (built from disjoint inserts). */
function treeOf<P>(ranges: PolicyRange<P>[], opts = {}): SharedPolicy<P> {
  const sp = new SharedPolicy<P>(opts);
  for (const x of ranges) expect(sp.setPolicy(x.start, x.end, x.policy)).toEqual(res(0, 0, 0, true));
  expect(sp.ranges()).toEqual(ranges);
  return sp;
}

/** Structural invariants; returns the first violation or null. */
function violation<P>(sp: SharedPolicy<P>): string | null {
  const rs = sp.ranges();
  if (rs.length !== sp.size) return `size ${sp.size} != ${rs.length} ranges`;
  for (let k = 0; k < rs.length; k++) {
    const x = rs[k]!;
    if (!(x.start < x.end)) return `empty/inverted range ${x.start}..${x.end}`;
    if (k > 0 && rs[k - 1]!.end > x.start) return `overlap/unsorted at ${k}: ${rs[k - 1]!.end} > ${x.start}`;
  }
  return null;
}

describe('SharedPolicy: shared_policy_replace cases by hand', () => {
  it('starts empty (MPOL_DEFAULT everywhere)', () => {
    const sp = new SharedPolicy<string>();
    expect(sp.size).toBe(0);
    expect(sp.ranges()).toEqual([]);
    for (const i of [0, 1, 1_000_000]) expect(sp.lookup(i)).toBeNull();
  });

  it('disjoint insert keeps both ranges, sorted', () => {
    const sp = new SharedPolicy<string>();
    expect(sp.setPolicy(10, 12, 'B')).toEqual(res(0, 0, 0, true));
    expect(sp.setPolicy(0, 2, 'A')).toEqual(res(0, 0, 0, true));
    expect(sp.setPolicy(5, 7, 'C')).toEqual(res(0, 0, 0, true));
    expect(sp.ranges()).toEqual([r(0, 2, 'A'), r(5, 7, 'C'), r(10, 12, 'B')]);
  });

  it('exact replace deletes the old interval', () => {
    const sp = treeOf([r(2, 5, 'A')]);
    expect(sp.setPolicy(2, 5, 'B')).toEqual(res(1, 0, 0, true));
    expect(sp.ranges()).toEqual([r(2, 5, 'B')]);
  });

  it('trim: new range covers the old head, old start moves up to end', () => {
    const sp = treeOf([r(2, 8, 'A')]);
    expect(sp.setPolicy(0, 4, 'B')).toEqual(res(0, 1, 0, true));
    expect(sp.ranges()).toEqual([r(0, 4, 'B'), r(4, 8, 'A')]);
  });

  it('trim: new range covers the old tail, old end moves down to start', () => {
    const sp = treeOf([r(2, 8, 'A')]);
    expect(sp.setPolicy(6, 10, 'B')).toEqual(res(0, 1, 0, true));
    expect(sp.ranges()).toEqual([r(2, 6, 'A'), r(6, 10, 'B')]);
  });

  it('trims with shared edges (start == old.start or end == old.end) count as trims, not deletes', () => {
    const sp = treeOf([r(0, 10, 'A')]);
    expect(sp.setPolicy(0, 3, 'B')).toEqual(res(0, 1, 0, true)); // old.start == start, old.end > end
    expect(sp.setPolicy(7, 10, 'C')).toEqual(res(0, 1, 0, true)); // old.start < start, old.end == end
    expect(sp.ranges()).toEqual([r(0, 3, 'B'), r(3, 7, 'A'), r(7, 10, 'C')]);
  });

  it('split: an old interval straddling both ends is cut; the right part gets a copy of its policy', () => {
    const a = pol('INTERLEAVE', 0, 1);
    const sp = treeOf([r(0, 10, a)], { clone: clonePol });
    const stored = sp.ranges()[0]!.policy;
    expect(stored).toEqual(a);
    expect(stored).not.toBe(a); // sp_alloc dup'ed the caller's policy
    const b = pol('BIND', 1);
    expect(sp.setPolicy(3, 5, b)).toEqual(res(0, 0, 1, true));
    const rs = sp.ranges();
    expect(rs.map((x) => [x.start, x.end])).toEqual([[0, 3], [3, 5], [5, 10]]);
    expect(rs[0]!.policy).toBe(stored); // the left part keeps the old node (and its policy object)
    expect(rs[1]!.policy).toEqual(b);
    expect(rs[1]!.policy).not.toBe(b);
    expect(rs[2]!.policy).toEqual(a); // right part: the old policy preserved...
    expect(rs[2]!.policy).not.toBe(stored); // ...as its own copy
    for (let i = 0; i < 10; i++) expect(sp.lookup(i)).toEqual(i >= 3 && i < 5 ? b : a);
  });

  it('split: without a clone function the right part still carries the same policy value', () => {
    const sp = treeOf([r(0, 10, 7)]);
    expect(sp.setPolicy(4, 6, 9)).toEqual(res(0, 0, 1, true));
    expect(sp.ranges()).toEqual([r(0, 4, 7), r(4, 6, 9), r(6, 10, 7)]);
  });

  it('one call deletes several intervals and trims two', () => {
    const sp = treeOf([r(0, 2, 'A'), r(3, 5, 'B'), r(5, 7, 'C'), r(8, 10, 'D'), r(11, 14, 'E'), r(20, 21, 'F')]);
    expect(sp.setPolicy(1, 12, 'X')).toEqual(res(3, 2, 0, true));
    expect(sp.ranges()).toEqual([r(0, 1, 'A'), r(1, 12, 'X'), r(12, 14, 'E'), r(20, 21, 'F')]);
  });

  it('a range covering several intervals exactly deletes them all, leaving neighbours alone', () => {
    const sp = treeOf([r(0, 1, 'Z'), r(2, 4, 'A'), r(4, 6, 'B'), r(6, 9, 'C'), r(9, 10, 'Y')]);
    expect(sp.setPolicy(2, 9, 'X')).toEqual(res(3, 0, 0, true));
    expect(sp.ranges()).toEqual([r(0, 1, 'Z'), r(2, 9, 'X'), r(9, 10, 'Y')]);
  });

  it('MPOL_DEFAULT (null) in the middle of an interval splits it without inserting', () => {
    const sp = treeOf([r(0, 10, 'A')]);
    expect(sp.setPolicy(3, 5, null)).toEqual(res(0, 0, 1, false));
    expect(sp.ranges()).toEqual([r(0, 3, 'A'), r(5, 10, 'A')]);
    expect([2, 3, 4, 5].map((i) => sp.lookup(i))).toEqual(['A', null, null, 'A']);
  });

  it('MPOL_DEFAULT removes only the overlap: delete, trims, and a no-op on empty space', () => {
    const sp = treeOf([r(0, 4, 'A'), r(6, 8, 'B'), r(10, 14, 'C')]);
    expect(sp.setPolicy(2, 12, null)).toEqual(res(1, 2, 0, false));
    expect(sp.ranges()).toEqual([r(0, 2, 'A'), r(12, 14, 'C')]);
    expect(sp.setPolicy(3, 11, null)).toEqual(res(0, 0, 0, false));
    expect(sp.ranges()).toEqual([r(0, 2, 'A'), r(12, 14, 'C')]);
    expect(sp.setPolicy(0, 100, null)).toEqual(res(2, 0, 0, false));
    expect(sp.size).toBe(0);
  });

  it('adjacent intervals with equal policies stay separate (no merging)', () => {
    const sp = new SharedPolicy<string>();
    sp.setPolicy(0, 4, 'A');
    sp.setPolicy(4, 8, 'A');
    sp.setPolicy(8, 9, 'A');
    expect(sp.ranges()).toEqual([r(0, 4, 'A'), r(4, 8, 'A'), r(8, 9, 'A')]);
    // and replacing the middle of one with the same value still splits it
    expect(sp.setPolicy(1, 2, 'A')).toEqual(res(0, 0, 1, true));
    expect(sp.size).toBe(5);
  });

  it('lookups at every boundary: start inclusive, end exclusive', () => {
    const sp = treeOf([r(3, 5, 'A'), r(5, 6, 'B'), r(9, 12, 'C'), r(2 ** 40, 2 ** 40 + 2, 'D')]);
    const want: Array<[number, string | null]> = [
      [0, null], [2, null], [3, 'A'], [4, 'A'], [5, 'B'], [6, null], [8, null], [9, 'C'], [11, 'C'], [12, null],
      [2 ** 40 - 1, null], [2 ** 40, 'D'], [2 ** 40 + 1, 'D'], [2 ** 40 + 2, null],
    ];
    for (const [i, p] of want) expect([i, sp.lookup(i)]).toEqual([i, p]);
    expect(sp.lookup(-1)).toBeNull();
    expect(sp.lookup(3.5)).toBe('A'); // hot path does not validate; documents the behaviour
  });

  it('an empty range changes nothing; bad ranges throw', () => {
    const sp = treeOf([r(0, 10, 'A')]);
    expect(sp.setPolicy(5, 5, 'B')).toEqual(res(0, 0, 0, false));
    expect(sp.setPolicy(5, 5, null)).toEqual(res(0, 0, 0, false));
    expect(sp.ranges()).toEqual([r(0, 10, 'A')]);
    expect(() => sp.setPolicy(6, 5, 'B')).toThrow(RangeError);
    expect(() => sp.setPolicy(-1, 5, 'B')).toThrow(RangeError);
    expect(() => sp.setPolicy(0, 1.5, 'B')).toThrow(RangeError);
    expect(() => sp.setPolicy(0, Number.NaN, 'B')).toThrow(RangeError);
    expect(sp.ranges()).toEqual([r(0, 10, 'A')]);
  });

  it('clear() (inode destroy) empties the tree', () => {
    const sp = treeOf([r(0, 2, 'A'), r(4, 6, 'B')]);
    sp.clear();
    expect(sp.size).toBe(0);
    expect(sp.lookup(0)).toBeNull();
    expect(sp.lookup(5)).toBeNull();
    sp.setPolicy(1, 3, 'C');
    expect(sp.ranges()).toEqual([r(1, 3, 'C')]);
  });

  it('ranges() is a snapshot the caller cannot use to corrupt the tree', () => {
    const sp = treeOf([r(0, 2, 'A')]);
    const rs = sp.ranges() as Array<{ start: number; end: number; policy: string }>;
    rs[0]!.end = 100;
    rs.push({ start: 5, end: 6, policy: 'Z' });
    expect(sp.ranges()).toEqual([r(0, 2, 'A')]);
    expect(sp.lookup(50)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests against a per-index reference

const NONE = -1;
interface Cmd {
  start: number;
  end: number;
  id: number | null;
}
const fileAndCmds = fc.integer({ min: 1, max: 64 }).chain((n) =>
  fc.tuple(
    fc.constant(n),
    fc.array(
      fc
        .tuple(fc.integer({ min: 0, max: n }), fc.integer({ min: 0, max: n }), fc.option(fc.integer({ min: 0, max: 5 }), { freq: 4 }))
        .map(([a, b, id]): Cmd => ({ start: Math.min(a, b), end: Math.max(a, b), id })),
      { maxLength: 40 },
    ),
  ),
);

/** Expected replace counts, classified from the ranges before the call. */
function expectedCounts(before: PolicyRange<number>[], c: Cmd): ReplaceResult {
  const out = res(0, 0, 0, c.id !== null && c.start < c.end);
  if (c.start === c.end) return out;
  for (const x of before) {
    if (x.end <= c.start || x.start >= c.end) continue;
    const keepsHead = x.start < c.start;
    const keepsTail = x.end > c.end;
    if (keepsHead && keepsTail) out.split++;
    else if (keepsHead || keepsTail) out.trimmed++;
    else out.deleted++;
  }
  return out;
}

describe('SharedPolicy: properties against a per-index reference model', () => {
  it('lookup matches the reference at every index, structure stays valid, size is bounded', () => {
    fc.assert(
      fc.property(fileAndCmds, ([n, cmds]) => {
        const sp = new SharedPolicy<number>();
        const ref = new Array<number>(n).fill(NONE);
        cmds.forEach((c, k) => {
          const before = sp.ranges();
          const got = sp.setPolicy(c.start, c.end, c.id);
          for (let i = c.start; i < c.end; i++) ref[i] = c.id ?? NONE;
          expect(got).toEqual(expectedCounts(before, c));
          expect(sp.size).toBe(before.length - got.deleted + got.split + (got.inserted ? 1 : 0));
          expect(violation(sp)).toBeNull();
          expect(sp.size).toBeLessThanOrEqual(2 * (k + 1) + 1);
          for (let i = 0; i < n + 2; i++) expect(sp.lookup(i) ?? NONE).toBe(ref[i] ?? NONE);
          // every range's policy agrees with the reference over the whole range
          for (const x of sp.ranges()) for (let i = x.start; i < x.end; i++) expect(ref[i]).toBe(x.policy);
        });
      }),
      { numRuns: 400 },
    );
  });

  it('I10 in the small: a set never changes anything outside [start, end)', () => {
    fc.assert(
      fc.property(fileAndCmds, fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 64 }), fc.option(fc.integer({ min: 0, max: 5 })), ([n, cmds], a, b, id) => {
        const sp = new SharedPolicy<number>();
        for (const c of cmds) sp.setPolicy(c.start, c.end, c.id);
        const start = Math.min(a, b, n);
        const end = Math.min(Math.max(a, b), n);
        const before = Array.from({ length: n + 2 }, (_, i) => sp.lookup(i));
        sp.setPolicy(start, end, id);
        for (let i = 0; i < n + 2; i++) {
          if (i >= start && i < end) expect(sp.lookup(i)).toBe(id);
          else expect(sp.lookup(i)).toBe(before[i]);
        }
        // and the ranges outside keep their exact policy objects' values
        for (const x of sp.ranges()) if (x.end <= start || x.start >= end) for (let i = x.start; i < x.end; i++) expect(before[i]).toBe(x.policy);
      }),
      { numRuns: 400 },
    );
  });

  it('mbind through several mappings matches a per-page model of VMA caches and the file tree', () => {
    const N = 16;
    const mapArb = fc.integer({ min: 0, max: N - 1 }).chain((pgoff) => fc.tuple(fc.constant(pgoff), fc.integer({ min: 1, max: N - pgoff })));
    const opArb = fc.tuple(fc.nat(2), fc.integer({ min: -2, max: N }), fc.integer({ min: 0, max: N }), fc.option(fc.integer({ min: 0, max: 3 }), { freq: 3 }));
    fc.assert(
      fc.property(fc.array(mapArb, { minLength: 1, maxLength: 3 }), fc.array(opArb, { maxLength: 30 }), (maps, ops) => {
        const sp = new SharedPolicy<number>();
        const ms = maps.map(([pgoff, pages]) => new GmemMapping<number>(pgoff, pages));
        const cache = maps.map(([, pages]) => new Array<number>(pages).fill(NONE));
        const file = new Array<number>(N).fill(NONE);
        const eq = (x: number, y: number) => x === y;
        for (const [mi, addr, len, id] of ops) {
          const j = mi % ms.length;
          const m = ms[j]!;
          const out = m.mbind(sp, addr, len, id, eq);
          const lo = Math.max(addr, 0);
          const hi = Math.min(addr + len, m.pages);
          const want = len === 0 ? 0 : lo >= hi || ((addr < 0 || addr + len > m.pages) && id !== null) ? -EFAULT : 0;
          expect(out.err).toBe(want);
          if (want === 0 && len > 0) {
            for (let p = lo; p < hi; p++) {
              if (cache[j]![p] === (id ?? NONE)) continue; // mbind_range: cached policy equal -> skip
              cache[j]![p] = id ?? NONE;
              file[m.pgoff + p] = id ?? NONE;
            }
          }
          for (let k = 0; k < ms.length; k++) {
            for (let p = 0; p < ms[k]!.pages; p++) {
              expect(ms[k]!.vmPolicyAt(p) ?? NONE).toBe(cache[k]![p]);
              expect(ms[k]!.getPolicyAt(sp, p) ?? NONE).toBe(file[ms[k]!.pgoff + p]);
            }
            // cached VMA pieces cover the mapping and are merged
            const v = ms[k]!.vmas();
            expect(v[0]!.start).toBe(0);
            expect(v[v.length - 1]!.end).toBe(ms[k]!.pages);
            for (let q = 1; q < v.length; q++) {
              expect(v[q]!.start).toBe(v[q - 1]!.end);
              expect(v[q]!.policy).not.toBe(v[q - 1]!.policy);
            }
          }
          for (let i = 0; i < N; i++) expect(sp.lookup(i) ?? NONE).toBe(file[i]);
          expect(violation(sp)).toBeNull();
        }
      }),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// mbind / get_mempolicy flows from tools/testing/selftests/kvm/guest_memfd_test.c

describe('GmemMapping: selftest flows', () => {
  const I0 = pol('INTERLEAVE', 0);
  const B0 = pol('BIND', 0);
  const B1 = pol('BIND', 1);

  it('test_mbind: INTERLEAVE{0} on 0-1, BIND{0} on 2-3, then DEFAULT on all reports DEFAULT', () => {
    const sp = new SharedPolicy<Pol>({ clone: clonePol });
    const m = new GmemMapping<Pol>(0, 4);
    for (let p = 0; p < 4; p++) expect(m.getPolicyAt(sp, p)).toBeNull();

    expect(m.mbind(sp, 0, 2, pol('INTERLEAVE', 0), polEq)).toMatchObject({ err: 0, replaced: 1, skipped: 0 });
    expect(m.getPolicyAt(sp, 0)).toEqual(I0);
    expect(m.getPolicyAt(sp, 1)).toEqual(I0);
    expect(m.getPolicyAt(sp, 2)).toBeNull();

    expect(m.mbind(sp, 2, 2, pol('BIND', 0), polEq)).toMatchObject({ err: 0, replaced: 1 });
    expect([0, 1, 2, 3].map((p) => m.getPolicyAt(sp, p))).toEqual([I0, I0, B0, B0]);
    expect(sp.ranges()).toEqual([r(0, 2, I0), r(2, 4, B0)]);

    // DEFAULT over the whole mapping: two VMA pieces differ from NULL, both reach the tree
    expect(m.mbind(sp, 0, 4, null, polEq)).toMatchObject({ err: 0, replaced: 2, skipped: 0, deleted: 2 });
    for (let p = 0; p < 4; p++) expect(m.getPolicyAt(sp, p)).toBeNull(); // B19: NULL, not a task policy
    expect(sp.size).toBe(0);
    expect(m.vmas()).toEqual([{ start: 0, end: 4, policy: null }]);
  });

  it('VMA-cache edge: DEFAULT through a fresh second mapping is a no-op; through the first it clears', () => {
    const sp = new SharedPolicy<Pol>();
    const m1 = new GmemMapping<Pol>(0, 4);
    m1.mbind(sp, 0, 4, I0, polEq);
    const m2 = new GmemMapping<Pol>(0, 4); // fresh mmap of the same file: vm_policy NULL
    expect(m2.getPolicyAt(sp, 0)).toEqual(I0); // the policy lives on the inode, visible here too

    expect(m2.mbind(sp, 0, 4, null, polEq)).toEqual({ err: 0, replaced: 0, skipped: 1, deleted: 0, trimmed: 0, split: 0 });
    for (let p = 0; p < 4; p++) expect(m2.getPolicyAt(sp, p)).toEqual(I0);

    expect(m1.mbind(sp, 0, 4, null, polEq)).toMatchObject({ err: 0, replaced: 1, deleted: 1 });
    for (let p = 0; p < 4; p++) expect(m2.getPolicyAt(sp, p)).toBeNull();
  });

  it('VMA-cache edge, other direction: re-applying a policy the first mapping already cached is skipped', () => {
    const sp = new SharedPolicy<Pol>();
    const m1 = new GmemMapping<Pol>(0, 4);
    const m2 = new GmemMapping<Pol>(0, 4);
    m1.mbind(sp, 0, 4, I0, polEq);
    m2.mbind(sp, 0, 4, B1, polEq); // changes the tree behind m1's back
    expect(m1.mbind(sp, 0, 4, pol('INTERLEAVE', 0), polEq)).toMatchObject({ replaced: 0, skipped: 1 });
    expect(m1.getPolicyAt(sp, 0)).toEqual(B1); // the kernel keeps BIND{1}: mpol_equal saw m1's cache
  });

  it('partial mbind splits the VMA cache; a later DEFAULT over all skips the piece already NULL', () => {
    const sp = new SharedPolicy<Pol>();
    const m = new GmemMapping<Pol>(0, 4);
    m.mbind(sp, 0, 4, I0, polEq);
    expect(m.mbind(sp, 1, 1, null, polEq)).toMatchObject({ replaced: 1, split: 1 });
    expect(m.vmas()).toEqual([
      { start: 0, end: 1, policy: I0 },
      { start: 1, end: 2, policy: null },
      { start: 2, end: 4, policy: I0 },
    ]);
    expect(sp.ranges()).toEqual([r(0, 1, I0), r(2, 4, I0)]);
    expect(m.mbind(sp, 0, 4, null, polEq)).toMatchObject({ err: 0, replaced: 2, skipped: 1, deleted: 2 });
    expect(sp.size).toBe(0);
    expect(m.vmas()).toEqual([{ start: 0, end: 4, policy: null }]);
  });

  it('an equal-by-value policy (a different object) is skipped like the kernel mpol_equal', () => {
    const sp = new SharedPolicy<Pol>();
    const m = new GmemMapping<Pol>(0, 4);
    m.mbind(sp, 0, 4, pol('BIND', 0, 1), polEq);
    expect(m.mbind(sp, 1, 2, pol('BIND', 0, 1), polEq)).toMatchObject({ replaced: 0, skipped: 1 });
    expect(m.mbind(sp, 1, 2, pol('BIND', 1), polEq)).toMatchObject({ replaced: 1, split: 1 });
    expect(sp.ranges().map((x) => [x.start, x.end])).toEqual([[0, 1], [1, 3], [3, 4]]);
  });

  it('test_numa_allocation bindings: [1,1,0,0] then swapped [0,0,1,1], per file offset', () => {
    const sp = new SharedPolicy<Pol>();
    const m = new GmemMapping<Pol>(0, 4);
    m.mbind(sp, 0, 1, B0, polEq); // bind page 0 to node 0 (after it was allocated: no effect on it)
    m.mbind(sp, 0, 2, B1, polEq);
    m.mbind(sp, 2, 2, B0, polEq);
    const node = (i: number) => sp.lookup(i)!.nodes[0];
    expect([0, 1, 2, 3].map(node)).toEqual([1, 1, 0, 0]);
    m.mbind(sp, 0, 2, B0, polEq);
    m.mbind(sp, 2, 2, B1, polEq);
    expect([0, 1, 2, 3].map(node)).toEqual([0, 0, 1, 1]);
    expect(violation(sp)).toBeNull();
  });

  it('B18 detector: a mapping at a nonzero pgoff sets FILE offsets, not VMA-relative ones', () => {
    const sp = new SharedPolicy<Pol>();
    const hi = new GmemMapping<Pol>(4, 4); // file pages 4..7
    expect(hi.fileOffset(0)).toBe(4);
    expect(hi.mbind(sp, 0, 1, B1, polEq).err).toBe(0);
    expect(sp.ranges()).toEqual([r(4, 5, B1)]);
    expect(sp.lookup(0)).toBeNull();
    expect(sp.lookup(4)).toEqual(B1);
    expect(hi.getPolicyAt(sp, 0)).toEqual(B1);
    expect(hi.getPolicyAt(sp, 1)).toBeNull();
    const whole = new GmemMapping<Pol>(0, 8); // another view of the same file
    expect(whole.getPolicyAt(sp, 0)).toBeNull();
    expect(whole.getPolicyAt(sp, 4)).toEqual(B1);
    // and the other direction: the whole-file mapping sets page 6, seen at hi's page 2
    whole.mbind(sp, 6, 1, I0, polEq);
    expect(hi.getPolicyAt(sp, 2)).toEqual(I0);
  });

  it('mbind range errors: holes give EFAULT except DEFAULT over a partial hole; len 0 is a no-op', () => {
    const sp = new SharedPolicy<Pol>();
    const m = new GmemMapping<Pol>(2, 4);
    const none = { replaced: 0, skipped: 0, deleted: 0, trimmed: 0, split: 0 };
    expect(m.mbind(sp, 3, 2, B0, polEq)).toEqual({ err: -EFAULT, ...none });
    expect(m.mbind(sp, -1, 2, B0, polEq)).toEqual({ err: -EFAULT, ...none });
    expect(m.mbind(sp, 4, 1, null, polEq)).toEqual({ err: -EFAULT, ...none });
    expect(m.mbind(sp, 0, 0, B0, polEq)).toEqual({ err: 0, ...none });
    expect(sp.size).toBe(0);
    m.mbind(sp, 0, 4, B0, polEq);
    expect(m.mbind(sp, 2, 10, null, polEq)).toMatchObject({ err: 0, replaced: 1, trimmed: 1 });
    expect(sp.ranges()).toEqual([r(2, 4, B0)]);
    expect(() => m.getPolicyAt(sp, 4)).toThrow(RangeError);
    expect(() => m.getPolicyAt(sp, -1)).toThrow(RangeError);
    expect(() => m.mbind(sp, 0, -1, B0, polEq)).toThrow(RangeError);
    expect(() => new GmemMapping<Pol>(0, 0)).toThrow(RangeError);
  });

  it('policyEqual: NULL equals only NULL', () => {
    expect(policyEqual<Pol>(null, null, polEq)).toBe(true);
    expect(policyEqual<Pol>(null, B0, polEq)).toBe(false);
    expect(policyEqual<Pol>(B0, null, polEq)).toBe(false);
    expect(policyEqual<Pol>(B0, pol('BIND', 0), polEq)).toBe(true);
    expect(policyEqual<Pol>(B0, B1, polEq)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('SharedPolicy: scale', () => {
  it('20,000 random sets on a 1M-page file, then 1M lookups, agree with the reference', () => {
    const N = 1 << 20;
    const rnd = mulberry32(0x5eed);
    const int = (n: number) => Math.floor(rnd() * n);
    const sp = new SharedPolicy<number>();
    const ref = new Int32Array(N).fill(NONE);
    let maxSize = 0;
    for (let k = 1; k <= 20_000; k++) {
      const u = rnd();
      const len = u < 0.98 ? 1 + int(32) : u < 0.9998 ? 1 + int(4096) : 1 + int(N);
      const start = int(N - len + 1);
      const id = rnd() < 0.15 ? null : int(1000);
      sp.setPolicy(start, start + len, id);
      ref.fill(id ?? NONE, start, start + len);
      maxSize = Math.max(maxSize, sp.size);
      if (k % 2000 === 0) {
        expect(violation(sp)).toBeNull();
        expect(sp.size).toBeLessThanOrEqual(2 * k + 1);
        for (let s = 0; s < 2000; s++) {
          const i = int(N);
          expect(sp.lookup(i) ?? NONE).toBe(ref[i]);
        }
      }
    }
    expect(maxSize).toBeGreaterThan(10_000); // the tree really held tens of thousands of ranges
    let mismatches = 0;
    let hits = 0;
    for (let s = 0; s < 1_000_000; s++) {
      const i = int(N);
      const got = sp.lookup(i);
      if (got !== null) hits++;
      if ((got ?? NONE) !== ref[i]) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(hits).toBeGreaterThan(0);
    // every range agrees with the reference at its ends
    for (const x of sp.ranges()) {
      expect(ref[x.start]).toBe(x.policy);
      expect(ref[x.end - 1]).toBe(x.policy);
    }
  });
});
