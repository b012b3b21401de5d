import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_NUMNODES,
  MPOL_BIND,
  MPOL_DEFAULT,
  MPOL_F_MOF,
  MPOL_F_MORON,
  MPOL_F_NUMA_BALANCING,
  MPOL_F_RELATIVE_NODES,
  MPOL_F_SHARED,
  MPOL_F_STATIC_NODES,
  MPOL_INTERLEAVE,
  MPOL_LOCAL,
  MPOL_MAX,
  MPOL_MF_MOVE,
  MPOL_MF_MOVE_ALL,
  MPOL_MF_STRICT,
  MPOL_MODE_FLAGS,
  MPOL_PREFERRED,
  MPOL_PREFERRED_MANY,
  MPOL_WEIGHTED_INTERLEAVE,
  NUMA_NO_NODE,
  firstNode,
  getMempolicyReport,
  getNodes,
  modeName,
  mpolDup,
  mpolEqual,
  mpolNew,
  mpolRebind,
  mpolRelativeNodemask,
  mpolSetHomeNode,
  mpolSetNodemask,
  nextNodeIn,
  nodelistString,
  nodesEqual,
  nodesFold,
  nodesFromList,
  nodesIntersect,
  nodesOnto,
  nodesRemap,
  nodesToWords,
  nodesUnion,
  nodesWeight,
  sanitizeMpolFlags,
  validatePolicy,
  type Mempolicy,
  type PolicyInput,
  type ValidateResult,
} from '../../src/mm/mempolicy.js';

const ALL4 = [0, 1, 2, 3];

/** validatePolicy, asserting success; returns the policy. */
function make(input: PolicyInput, allowed: readonly number[] = ALL4): Mempolicy | null {
  const r = validatePolicy(input, allowed);
  if (!r.ok) throw new Error(`expected success, got ${r.errno}: ${r.reason}`);
  return r.policy;
}

function failure(r: ValidateResult) {
  if (r.ok) throw new Error('expected a failure');
  expect(r.reason).not.toMatch(/[\r\n]/);
  expect(r.reason.length).toBeGreaterThan(10);
  return r;
}

describe('uapi constants', () => {
  it('have the values of include/uapi/linux/mempolicy.h', () => {
    expect([MPOL_DEFAULT, MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE, MPOL_MAX]).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
    expect(MPOL_F_STATIC_NODES).toBe(0x8000);
    expect(MPOL_F_RELATIVE_NODES).toBe(0x4000);
    expect(MPOL_F_NUMA_BALANCING).toBe(0x2000);
    expect(MPOL_MODE_FLAGS).toBe(0xe000);
    expect([MPOL_MF_STRICT, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL]).toEqual([1, 2, 4]);
    expect(MAX_NUMNODES).toBe(1024);
  });

  it('modeName names modes and flags', () => {
    expect(modeName(MPOL_BIND)).toBe('MPOL_BIND');
    expect(modeName(MPOL_WEIGHTED_INTERLEAVE)).toBe('MPOL_WEIGHTED_INTERLEAVE');
    expect(modeName(MPOL_INTERLEAVE | MPOL_F_STATIC_NODES)).toBe('MPOL_INTERLEAVE|MPOL_F_STATIC_NODES');
    expect(modeName(MPOL_BIND | MPOL_F_NUMA_BALANCING)).toBe('MPOL_BIND|MPOL_F_NUMA_BALANCING');
    expect(modeName(999)).toBe('mode 999');
  });
});

describe('nodemask helpers', () => {
  it('nodesFromList sorts, dedups and rejects non-nodes', () => {
    expect(nodesFromList([3, 1, 3, 0])).toEqual([0, 1, 3]);
    expect(() => nodesFromList([1024])).toThrow(RangeError);
    expect(() => nodesFromList([-1])).toThrow(RangeError);
    expect(() => nodesFromList([1.5])).toThrow(RangeError);
  });

  it('intersect, union, first, weight, next-after-wrapping', () => {
    expect(nodesIntersect([0, 2, 5], [2, 3, 5])).toEqual([2, 5]);
    expect(nodesUnion([0, 5], [2, 5])).toEqual([0, 2, 5]);
    expect(firstNode([4, 7])).toBe(4);
    expect(firstNode([])).toBe(NUMA_NO_NODE);
    expect(nodesWeight([1, 2, 9])).toBe(3);
    expect(nextNodeIn(0, [0, 2, 5])).toBe(2);
    expect(nextNodeIn(2, [0, 2, 5])).toBe(5);
    expect(nextNodeIn(5, [0, 2, 5])).toBe(0);
    expect(nextNodeIn(3, [0, 2, 5])).toBe(5); // il_prev need not be in the mask
    expect(nextNodeIn(MAX_NUMNODES - 1, [2, 5])).toBe(2);
    expect(nextNodeIn(0, [])).toBe(NUMA_NO_NODE);
  });

  it('fold and onto behave as lib/bitmap.c documents', () => {
    expect(nodesFold([1, 5, 6], 4)).toEqual([1, 2]);
    expect(nodesFold([3], 0)).toEqual([]);
    // bitmap_onto's documented example: orig 1,3,5 relmap 4-7,9 ... → the 1st,3rd,5th of relmap
    expect(nodesOnto([1, 3, 5], [4, 5, 6, 7, 9, 11])).toEqual([5, 7, 11]);
    expect(nodesOnto([5], [2, 3])).toEqual([]);
    expect(mpolRelativeNodemask([0], [2, 3])).toEqual([2]);
    expect(mpolRelativeNodemask([1, 2], [2, 3])).toEqual([2, 3]);
    expect(mpolRelativeNodemask([5], [2, 3])).toEqual([3]);
  });

  it('remap maps positions and leaves strangers alone', () => {
    expect(nodesRemap([0, 1], [0, 1], [2, 3])).toEqual([2, 3]);
    expect(nodesRemap([1], [0, 1, 2], [4, 5])).toEqual([5]);
    expect(nodesRemap([2], [0, 1, 2], [4, 5])).toEqual([4]);
    expect(nodesRemap([7], [0, 1], [2, 3])).toEqual([7]);
    expect(nodesRemap([0], [0, 1], [])).toEqual([0]);
  });

  it('nodelistString and nodesToWords', () => {
    expect(nodelistString([0, 1, 2, 5, 7, 8])).toBe('0-2,5,7-8');
    expect(nodelistString([])).toBe('');
    expect(nodesToWords([0])).toEqual([1n]);
    expect(nodesToWords([0, 63, 64])).toEqual([(1n << 63n) | 1n, 1n]);
    expect(nodesToWords([], 2)).toEqual([0n, 0n]);
  });

  it('property: words round-trip through getNodes for any mask', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: MAX_NUMNODES - 1 }), { maxLength: 40 }), (ids) => {
        const m = nodesFromList(ids);
        const g = getNodes(nodesToWords(m, 16), MAX_NUMNODES + 1);
        expect(g).toEqual({ nodes: m });
      }),
    );
  });

  it('property: getNodes keeps exactly the bits below maxnode-1', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 200 }), { maxLength: 20 }), fc.integer({ min: 2, max: 257 }), (ids, maxnode) => {
        const m = nodesFromList(ids);
        const g = getNodes(nodesToWords(m, 5), maxnode);
        expect(g).toEqual({ nodes: m.filter((n) => n < maxnode - 1) });
      }),
    );
  });
});

describe('getNodes (get_nodes)', () => {
  it('a NULL mask is empty whatever maxnode says', () => {
    for (const maxnode of [0, 1, 2, 65, 1_000_000, 2n ** 64n - 1n]) expect(getNodes(null, maxnode)).toEqual({ nodes: [] });
  });

  it('maxnode 1 gives no bits; maxnode 0 wraps to ULONG_MAX and is EINVAL with a mask', () => {
    expect(getNodes([~0n], 1)).toEqual({ nodes: [] });
    const r = getNodes([1n], 0);
    expect(r).toMatchObject({ errno: 'EINVAL' });
    expect('reason' in r && r.reason).toContain('wraps');
  });

  it('uses maxnode-1 bits: maxnode 2 one bit, 8 seven, 64 sixty-three, 65 a word', () => {
    expect(getNodes([0b11n], 2)).toEqual({ nodes: [0] });
    expect(getNodes([0xffn], 8)).toEqual({ nodes: [0, 1, 2, 3, 4, 5, 6] });
    const all = Array.from({ length: 64 }, (_, i) => i);
    expect(getNodes([-1n], 64)).toEqual({ nodes: all.slice(0, 63) });
    expect(getNodes([-1n], 65)).toEqual({ nodes: all });
  });

  it('reading past the user array is a copy fault (EFAULT)', () => {
    expect(getNodes([1n], 65)).toEqual({ nodes: [0] });
    expect(getNodes([1n], 66)).toMatchObject({ errno: 'EFAULT' });
    expect(getNodes([], 2)).toMatchObject({ errno: 'EFAULT' });
    // above MAX_NUMNODES the top word is read first
    expect(getNodes(nodesToWords([0], 16), 1100)).toMatchObject({ errno: 'EFAULT' });
  });

  it('a bit at or above MAX_NUMNODES within maxnode-1 bits is EINVAL; below is kept', () => {
    const words = (ids: number[]) => nodesToWords(ids, 19);
    expect(getNodes(words([1024]), 1026)).toMatchObject({ errno: 'EINVAL' });
    expect(getNodes(words([1100]), 1200)).toMatchObject({ errno: 'EINVAL' });
    expect(getNodes(words([1023]), 1026)).toEqual({ nodes: [1023] });
    expect(getNodes(words([1, 1023]), 1152)).toEqual({ nodes: [1, 1023] });
    // maxnode 1025: exactly MAX_NUMNODES bits, bit 1024 is never read
    expect(getNodes(words([5, 1024]), 1025)).toEqual({ nodes: [5] });
  });

  it('quirk: above MAX_NUMNODES whole words are checked, even bits past maxnode-1', () => {
    // maxnode 1030 → 1029 bits, but all of word 16 (bits 1024..1087) must be zero
    expect(getNodes(nodesToWords([1040], 17), 1030)).toMatchObject({ errno: 'EINVAL' });
    // below MAX_NUMNODES the last word is masked instead
    expect(getNodes(nodesToWords([40], 1), 30)).toEqual({ nodes: [] });
  });

  it('maxnode-1 above a page of bits (32768) is EINVAL; exactly a page is fine', () => {
    expect(getNodes(new Array(512).fill(0n), 32769)).toEqual({ nodes: [] });
    expect(getNodes(new Array(513).fill(0n), 32770)).toMatchObject({ errno: 'EINVAL' });
    expect(getNodes([1n], 2n ** 63n)).toMatchObject({ errno: 'EINVAL' });
    expect(getNodes([1n], 1e12)).toMatchObject({ errno: 'EINVAL' });
  });
});

describe('sanitize_mpol_flags / mpol_new / mpol_set_nodemask', () => {
  it('sanitize splits mode and flags; NUMA_BALANCING adds MOF|MORON', () => {
    expect(sanitizeMpolFlags(MPOL_BIND | MPOL_F_STATIC_NODES)).toEqual({ ok: true, mode: MPOL_BIND, flags: MPOL_F_STATIC_NODES });
    expect(sanitizeMpolFlags(MPOL_BIND | MPOL_F_NUMA_BALANCING)).toEqual({
      ok: true,
      mode: MPOL_BIND,
      flags: MPOL_F_NUMA_BALANCING | MPOL_F_MOF | MPOL_F_MORON,
    });
    expect(sanitizeMpolFlags(-1)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(sanitizeMpolFlags(1.5)).toMatchObject({ ok: false, errno: 'EINVAL' });
  });

  it('mpolNew leaves nodes to mpolSetNodemask, which intersects with the allowed set', () => {
    const p = mpolNew(MPOL_BIND, 0, [1, 2]);
    expect(p).toMatchObject({ ok: true, policy: { mode: MPOL_BIND, nodes: [], userNodes: [1, 2], homeNode: -1 } });
    const q = mpolSetNodemask(p.ok ? p.policy : null, [0, 2]);
    expect(q).toMatchObject({ ok: true, policy: { nodes: [2], cpusetMems: [0, 2] } });
    expect(mpolSetNodemask(null, [0])).toEqual({ ok: true, policy: null });
    const local = mpolNew(MPOL_LOCAL, 0, []);
    expect(mpolSetNodemask(local.ok ? local.policy : null, [])).toMatchObject({ ok: true, policy: { mode: MPOL_LOCAL, nodes: [] } });
  });

  it('mpolNew allocation failure is ENOMEM; DEFAULT allocates nothing', () => {
    expect(mpolNew(MPOL_BIND, 0, [0], true)).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(mpolNew(MPOL_DEFAULT, 0, [], true)).toEqual({ ok: true, policy: null });
  });
});

type Row = {
  name: string;
  input: PolicyInput;
  allowed?: number[];
  errno?: 'EINVAL' | 'EFAULT' | 'EPERM' | 'ENOMEM';
  step?: string;
  reason?: RegExp;
  /** expected policy fields, or null for "no policy" */
  policy?: Partial<Mempolicy> | null;
  noop?: true;
};

const S = MPOL_F_STATIC_NODES;
const R = MPOL_F_RELATIVE_NODES;
const NB = MPOL_F_NUMA_BALANCING;

const ROWS: Row[] = [
  // sanitize_mpol_flags
  { name: 'mode 999 (test_mbind)', input: { mode: 999, nodes: [0] }, errno: 'EINVAL', step: 'sanitize', reason: /mode 999/ },
  { name: 'mode MPOL_MAX', input: { mode: MPOL_MAX, nodes: [0] }, errno: 'EINVAL', step: 'sanitize' },
  { name: 'negative mode', input: { mode: -2 }, errno: 'EINVAL', step: 'sanitize' },
  { name: 'unknown flag bit', input: { mode: MPOL_BIND, flags: 1 << 12, nodes: [0] }, errno: 'EINVAL', step: 'sanitize' },
  { name: 'STATIC+RELATIVE', input: { mode: MPOL_BIND | S | R, nodes: [0] }, errno: 'EINVAL', step: 'sanitize', reason: /mutually exclusive/ },
  { name: 'STATIC+RELATIVE via flags', input: { mode: MPOL_INTERLEAVE, flags: S | R, nodes: [0] }, errno: 'EINVAL', step: 'sanitize' },
  ...[MPOL_DEFAULT, MPOL_PREFERRED, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_WEIGHTED_INTERLEAVE].map(
    (mode): Row => ({ name: `NUMA_BALANCING on ${modeName(mode)}`, input: { mode, flags: NB, nodes: [0] }, errno: 'EINVAL', step: 'sanitize', reason: /NUMA_BALANCING/ }),
  ),
  { name: 'NUMA_BALANCING on BIND', input: { mode: MPOL_BIND, flags: NB, nodes: [1] }, policy: { mode: MPOL_BIND, nodes: [1], flags: NB | MPOL_F_MOF | MPOL_F_MORON } },
  { name: 'NUMA_BALANCING on PREFERRED_MANY', input: { mode: MPOL_PREFERRED_MANY | NB, nodes: [0, 2] }, policy: { mode: MPOL_PREFERRED_MANY, nodes: [0, 2] } },
  // get_nodes
  { name: 'mask bit >= MAX_NUMNODES', input: { mode: MPOL_BIND, nodes: [1024] }, errno: 'EINVAL', step: 'get_nodes', reason: /MAX_NUMNODES/ },
  { name: 'huge maxnode', input: { mode: MPOL_BIND, nodes: [0], maxnode: 40000 }, errno: 'EINVAL', step: 'get_nodes' },
  { name: 'maxnode 0 with a mask', input: { mode: MPOL_BIND, nodes: [0], maxnode: 0 }, errno: 'EINVAL', step: 'get_nodes' },
  { name: 'short user array', input: { mode: MPOL_BIND, mask: [1n], maxnode: 200 }, errno: 'EFAULT', step: 'get_nodes' },
  { name: 'negative node id', input: { mode: MPOL_BIND, nodes: [-1] }, errno: 'EINVAL', step: 'get_nodes' },
  { name: 'maxnode 1 drops the mask', input: { mode: MPOL_BIND, nodes: [0], maxnode: 1 }, errno: 'EINVAL', step: 'mpol_new' },
  { name: 'maxnode 2 keeps node 0 only', input: { mode: MPOL_BIND, nodes: [0, 1], maxnode: 2 }, policy: { nodes: [0] } },
  // mpol_new
  { name: 'DEFAULT', input: { mode: MPOL_DEFAULT }, policy: null },
  { name: 'DEFAULT with a NULL mask and huge maxnode', input: { mode: MPOL_DEFAULT, mask: null, maxnode: 1e9 }, policy: null },
  { name: 'DEFAULT|STATIC with no mask', input: { mode: MPOL_DEFAULT | S }, policy: null },
  { name: 'DEFAULT with a mask', input: { mode: MPOL_DEFAULT, nodes: [0] }, errno: 'EINVAL', step: 'mpol_new', reason: /MPOL_DEFAULT takes no nodemask/ },
  { name: 'DEFAULT with a mask outside allowed', input: { mode: MPOL_DEFAULT, nodes: [9] }, errno: 'EINVAL', step: 'mpol_new' },
  { name: 'LOCAL', input: { mode: MPOL_LOCAL }, policy: { mode: MPOL_LOCAL, nodes: [] } },
  { name: 'LOCAL with a mask', input: { mode: MPOL_LOCAL, nodes: [1] }, errno: 'EINVAL', step: 'mpol_new', reason: /MPOL_LOCAL takes no nodemask/ },
  { name: 'LOCAL|STATIC', input: { mode: MPOL_LOCAL | S }, errno: 'EINVAL', step: 'mpol_new' },
  { name: 'LOCAL|RELATIVE', input: { mode: MPOL_LOCAL | R }, errno: 'EINVAL', step: 'mpol_new' },
  ...[MPOL_BIND, MPOL_INTERLEAVE, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE].flatMap((mode): Row[] => [
    { name: `${modeName(mode)} with an empty mask`, input: { mode, nodes: [] }, errno: 'EINVAL', step: 'mpol_new', reason: /needs a non-empty nodemask/ },
    { name: `${modeName(mode)} with a NULL mask`, input: { mode, mask: null, maxnode: 64 }, errno: 'EINVAL', step: 'mpol_new' },
    { name: `${modeName(mode)} {1,2}`, input: { mode, nodes: [2, 1] }, policy: { mode, nodes: [1, 2], homeNode: -1 } },
  ]),
  { name: 'PREFERRED empty becomes LOCAL', input: { mode: MPOL_PREFERRED }, policy: { mode: MPOL_LOCAL, nodes: [] } },
  { name: 'PREFERRED|STATIC empty', input: { mode: MPOL_PREFERRED | S }, errno: 'EINVAL', step: 'mpol_new', reason: /MPOL_PREFERRED/ },
  { name: 'PREFERRED|RELATIVE empty', input: { mode: MPOL_PREFERRED | R }, errno: 'EINVAL', step: 'mpol_new' },
  { name: 'PREFERRED keeps only the first node', input: { mode: MPOL_PREFERRED, nodes: [3, 1] }, policy: { mode: MPOL_PREFERRED, nodes: [1] } },
  { name: 'PREFERRED: first allowed node', input: { mode: MPOL_PREFERRED, nodes: [0, 1, 3] }, allowed: [1, 3], policy: { nodes: [1] } },
  { name: 'allocation failure', input: { mode: MPOL_BIND, nodes: [0], allocFails: true }, errno: 'ENOMEM', step: 'mpol_new' },
  // mpol_set_nodemask
  { name: 'mask outside the allowed set', input: { mode: MPOL_BIND, nodes: [3] }, allowed: [0, 1], errno: 'EINVAL', step: 'set_nodemask', reason: /empty/ },
  { name: 'PREFERRED outside the allowed set', input: { mode: MPOL_PREFERRED, nodes: [2] }, allowed: [0, 1], errno: 'EINVAL', step: 'set_nodemask' },
  { name: 'partly outside the allowed set', input: { mode: MPOL_BIND, nodes: [1, 3] }, allowed: [0, 1], policy: { nodes: [1], userNodes: [1, 3] } },
  { name: 'STATIC intersects', input: { mode: MPOL_INTERLEAVE | S, nodes: [0, 5] }, allowed: [0, 1], policy: { nodes: [0], userNodes: [0, 5] } },
  { name: 'STATIC outside', input: { mode: MPOL_BIND | S, nodes: [5] }, allowed: [0, 1], errno: 'EINVAL', step: 'set_nodemask' },
  { name: 'RELATIVE {0} onto {2,3}', input: { mode: MPOL_BIND | R, nodes: [0] }, allowed: [2, 3], policy: { nodes: [2], userNodes: [0] } },
  { name: 'RELATIVE {1,2} onto {2,3}', input: { mode: MPOL_INTERLEAVE | R, nodes: [1, 2] }, allowed: [2, 3], policy: { nodes: [2, 3] } },
  { name: 'RELATIVE {5} folds onto {2,3}', input: { mode: MPOL_BIND | R, nodes: [5] }, allowed: [2, 3], policy: { nodes: [3] } },
  { name: 'RELATIVE 0-3 onto {4,6}', input: { mode: MPOL_PREFERRED_MANY | R, nodes: [0, 1, 2, 3] }, allowed: [4, 6], policy: { nodes: [4, 6] } },
  { name: 'PREFERRED|RELATIVE {1} onto {2,3}', input: { mode: MPOL_PREFERRED | R, nodes: [1] }, allowed: [2, 3], policy: { mode: MPOL_PREFERRED, nodes: [3] } },
  { name: 'RELATIVE with nothing allowed', input: { mode: MPOL_BIND | R, nodes: [0] }, allowed: [], errno: 'EINVAL', step: 'set_nodemask' },
  // kernel order: the first failing rule decides
  { name: 'bad mode beats a bad mask', input: { mode: 999, nodes: [4000] }, errno: 'EINVAL', step: 'sanitize' },
  { name: 'bad mask beats an empty-mask rule', input: { mode: MPOL_LOCAL, nodes: [2000] }, errno: 'EINVAL', step: 'get_nodes' },
  { name: 'mpol_new beats the allowed set', input: { mode: MPOL_LOCAL, nodes: [7] }, allowed: [0], errno: 'EINVAL', step: 'mpol_new' },
  { name: 'copy fault beats mpol_new', input: { mode: MPOL_DEFAULT, mask: [], maxnode: 2 }, errno: 'EFAULT', step: 'get_nodes' },
  // do_mbind's checks, between get_nodes and mpol_new
  { name: 'mbind flag outside VALID', input: { mode: MPOL_BIND, nodes: [0], mbind: { flags: 8 } }, errno: 'EINVAL', step: 'do_mbind' },
  { name: 'mbind MOVE_ALL without CAP_SYS_NICE', input: { mode: MPOL_BIND, nodes: [0], mbind: { flags: MPOL_MF_MOVE_ALL } }, errno: 'EPERM', step: 'do_mbind' },
  { name: 'mbind MOVE_ALL with CAP_SYS_NICE', input: { mode: MPOL_BIND, nodes: [0], mbind: { flags: MPOL_MF_MOVE_ALL, capSysNice: true } }, policy: { nodes: [0] } },
  { name: 'invalid flag beats EPERM', input: { mode: MPOL_BIND, nodes: [0], mbind: { flags: MPOL_MF_MOVE_ALL | 16 } }, errno: 'EINVAL', step: 'do_mbind' },
  { name: 'EPERM beats an unaligned start', input: { mode: MPOL_BIND, nodes: [0], mbind: { flags: MPOL_MF_MOVE_ALL, start: 1 } }, errno: 'EPERM' },
  { name: 'mbind unaligned start', input: { mode: MPOL_BIND, nodes: [0], mbind: { start: 4097, len: 4096 } }, errno: 'EINVAL', step: 'do_mbind', reason: /aligned/ },
  { name: 'mbind overflow', input: { mode: MPOL_BIND, nodes: [0], mbind: { start: 2n ** 64n - 4096n, len: 8192 } }, errno: 'EINVAL', step: 'do_mbind', reason: /overflow/ },
  { name: 'mbind len 0 returns before mpol_new', input: { mode: MPOL_BIND, nodes: [], mbind: { start: 0, len: 0 } }, noop: true },
  { name: 'mbind len wrapping to 0 in PAGE_ALIGN', input: { mode: MPOL_BIND, mbind: { start: 4096, len: 2n ** 64n - 1n } }, noop: true },
  { name: 'mbind len 0 still sanitizes first', input: { mode: 999, mbind: { len: 0 } }, errno: 'EINVAL', step: 'sanitize' },
  { name: 'mbind len 0 still copies the mask', input: { mode: MPOL_BIND, nodes: [1024], mbind: { len: 0 } }, errno: 'EINVAL', step: 'get_nodes' },
  { name: 'mbind DEFAULT with STRICT', input: { mode: MPOL_DEFAULT, mbind: { flags: MPOL_MF_STRICT, len: 4096 } }, policy: null },
  { name: 'mbind unaligned len rounds up', input: { mode: MPOL_BIND, nodes: [0], mbind: { start: 0, len: 1 } }, policy: { nodes: [0] } },
];

describe('validatePolicy: every rule with its errno, in kernel order', () => {
  it.each(ROWS.map((r) => [r.name, r] as const))('%s', (_, row) => {
    const r = validatePolicy(row.input, row.allowed ?? ALL4);
    if (row.errno) {
      const f = failure(r);
      expect(f.errno).toBe(row.errno);
      if (row.step) expect(f.step).toBe(row.step);
      if (row.reason) expect(f.reason).toMatch(row.reason);
      return;
    }
    if (!r.ok) throw new Error(`expected success, got ${r.errno} at ${r.step}: ${r.reason}`);
    if (row.noop) {
      expect(r.noop).toBe(true);
      return;
    }
    expect(r.noop).toBeUndefined();
    if (row.policy === null) expect(r.policy).toBeNull();
    else expect(r.policy).toMatchObject(row.policy!);
  });

  it('raw words and node ids give the same policy', () => {
    const a = make({ mode: MPOL_INTERLEAVE, mask: [0b1010n], maxnode: 64 });
    const b = make({ mode: MPOL_INTERLEAVE, nodes: [1, 3] });
    expect(a).toEqual(b);
    expect(a?.nodes).toEqual([1, 3]);
  });

  it('property: a valid policy uses only allowed nodes, PREFERRED one, LOCAL none', () => {
    const modes = [MPOL_PREFERRED, MPOL_BIND, MPOL_INTERLEAVE, MPOL_LOCAL, MPOL_PREFERRED_MANY, MPOL_WEIGHTED_INTERLEAVE];
    fc.assert(
      fc.property(
        fc.constantFrom(...modes),
        fc.constantFrom(0, S, R),
        fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { maxLength: 5 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 7 }), { minLength: 1, maxLength: 5 }),
        (mode, flags, ids, allowedIds) => {
          const allowed = nodesFromList(allowedIds);
          const r = validatePolicy({ mode, flags, nodes: ids }, allowed);
          if (!r.ok) {
            expect(r.errno).toBe('EINVAL');
            return;
          }
          const p = r.policy!;
          expect(p.nodes.every((n) => allowed.includes(n))).toBe(true);
          if (p.mode === MPOL_LOCAL) expect(p.nodes).toEqual([]);
          else if (p.mode === MPOL_PREFERRED) expect(p.nodes.length).toBe(1);
          else expect(p.nodes.length).toBeGreaterThan(0);
          if (!(flags & R) && p.mode !== MPOL_LOCAL) expect(p.nodes.every((n) => ids.includes(n))).toBe(true);
        },
      ),
    );
  });
});

describe('getMempolicyReport (get_mempolicy MPOL_F_ADDR on a shared-policy lookup)', () => {
  it("test_mbind's sequence: INTERLEAVE{0}, BIND{0}, DEFAULT, with maxnode 64", () => {
    const allowed = [0, 1];
    const il = make({ mode: MPOL_INTERLEAVE, mask: [1n], maxnode: 64 }, allowed);
    expect(getMempolicyReport(il)).toEqual({ mode: MPOL_INTERLEAVE, nodes: [0] });
    expect(nodesToWords(getMempolicyReport(il).nodes)).toEqual([0x1n]);
    const bind = make({ mode: MPOL_BIND, mask: [1n], maxnode: 64 }, allowed);
    expect(getMempolicyReport(bind)).toEqual({ mode: MPOL_BIND, nodes: [0] });
    const def = make({ mode: MPOL_DEFAULT, mask: [0n], maxnode: 64 }, allowed);
    expect(def).toBeNull();
    expect(getMempolicyReport(def)).toEqual({ mode: MPOL_DEFAULT, nodes: [] });
    expect(getMempolicyReport(null)).toEqual({ mode: MPOL_DEFAULT, nodes: [] });
  });

  it('mode | user flags, the user mask when a mode flag is set', () => {
    const st = make({ mode: MPOL_BIND | S, nodes: [0, 5] }, [0, 1]);
    expect(getMempolicyReport(st)).toEqual({ mode: MPOL_BIND | S, nodes: [0, 5] });
    const rel = make({ mode: MPOL_INTERLEAVE | R, nodes: [0] }, [2, 3]);
    expect(getMempolicyReport(rel)).toEqual({ mode: MPOL_INTERLEAVE | R, nodes: [0] });
    // MPOL_MODE_FLAGS includes NUMA_BALANCING, so the user mask is kept and reported too
    const nb = make({ mode: MPOL_BIND | NB, nodes: [1, 5] }, [0, 1]);
    expect(nb?.nodes).toEqual([1]);
    expect(getMempolicyReport(nb)).toEqual({ mode: MPOL_BIND | NB, nodes: [1, 5] });
  });

  it('plain policies report effective nodes; internal flags never show', () => {
    const b = make({ mode: MPOL_BIND, nodes: [1, 3] }, [0, 1]);
    expect(getMempolicyReport(b)).toEqual({ mode: MPOL_BIND, nodes: [1] });
    expect(getMempolicyReport(mpolDup(b!, true))).toEqual({ mode: MPOL_BIND, nodes: [1] });
    expect(getMempolicyReport(make({ mode: MPOL_PREFERRED, nodes: [2, 3] }))).toEqual({ mode: MPOL_PREFERRED, nodes: [2] });
    expect(getMempolicyReport(make({ mode: MPOL_PREFERRED }))).toEqual({ mode: MPOL_LOCAL, nodes: [] });
  });
});

describe('mpolEqual, mpolDup, mpolRebind, mpolSetHomeNode', () => {
  it('mpolEqual compares mode, flags, home node, user mask (flagged) and nodes', () => {
    const a = make({ mode: MPOL_BIND, nodes: [0, 1] });
    expect(mpolEqual(a, make({ mode: MPOL_BIND, nodes: [1, 0] }))).toBe(true);
    expect(mpolEqual(a, make({ mode: MPOL_INTERLEAVE, nodes: [0, 1] }))).toBe(false);
    expect(mpolEqual(a, make({ mode: MPOL_BIND, nodes: [0] }))).toBe(false);
    expect(mpolEqual(a, mpolDup(a!, true))).toBe(false); // flags differ by MPOL_F_SHARED
    expect(mpolDup(a!, true).flags & MPOL_F_SHARED).toBeTruthy();
    expect(mpolEqual(a, null)).toBe(false);
    expect(mpolEqual(null, null)).toBe(true);
    // plain policies do not compare the user mask; STATIC ones do
    expect(mpolEqual(make({ mode: MPOL_BIND, nodes: [0, 5] }, [0, 1]), make({ mode: MPOL_BIND, nodes: [0] }, [0, 1]))).toBe(true);
    expect(mpolEqual(make({ mode: MPOL_BIND | S, nodes: [0, 5] }, [0, 1]), make({ mode: MPOL_BIND | S, nodes: [0] }, [0, 1]))).toBe(false);
    const h = mpolSetHomeNode(a, 1, ALL4);
    expect(mpolEqual(a, h.ok ? h.policy : null)).toBe(false);
  });

  it('rebind: STATIC re-intersects, RELATIVE refolds, plain remaps, empty takes all', () => {
    const st = make({ mode: MPOL_BIND | S, nodes: [1, 2] }, [0, 1]);
    expect(mpolRebind(st, [1, 2, 3])?.nodes).toEqual([1, 2]);
    expect(mpolRebind(st, [3])?.nodes).toEqual([3]);
    const rel = make({ mode: MPOL_INTERLEAVE | R, nodes: [0] }, [0, 1]);
    expect(mpolRebind(rel, [2, 3])?.nodes).toEqual([2]);
    const plain = make({ mode: MPOL_INTERLEAVE, nodes: [1] }, [0, 1]);
    const moved = mpolRebind(plain, [2, 3]);
    expect(moved?.nodes).toEqual([3]);
    expect(moved?.cpusetMems).toEqual([2, 3]);
    expect(mpolRebind(plain, [0, 1])).toBe(plain); // same cpuset: untouched
    const pref = make({ mode: MPOL_PREFERRED, nodes: [1] }, [0, 1]);
    expect(mpolRebind(pref, [2, 3])).toMatchObject({ nodes: [1], cpusetMems: [2, 3] });
    expect(mpolRebind(null, [1])).toBeNull();
    const local = make({ mode: MPOL_LOCAL });
    expect(mpolRebind(local, [1])).toBe(local);
  });

  it('set_mempolicy_home_node: online node, BIND/PREFERRED_MANY only', () => {
    const b = make({ mode: MPOL_BIND, nodes: [0, 1] });
    expect(mpolSetHomeNode(b, 1, ALL4)).toMatchObject({ ok: true, policy: { homeNode: 1 } });
    expect(mpolSetHomeNode(b, 9, ALL4)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(mpolSetHomeNode(b, MAX_NUMNODES, ALL4)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(mpolSetHomeNode(b, 1, ALL4, 1)).toMatchObject({ ok: false, errno: 'EINVAL' });
    expect(mpolSetHomeNode(make({ mode: MPOL_INTERLEAVE, nodes: [0] }), 1, ALL4)).toMatchObject({ ok: false, errno: 'EOPNOTSUPP' });
    expect(mpolSetHomeNode(make({ mode: MPOL_PREFERRED_MANY, nodes: [0] }), 2, ALL4)).toMatchObject({ ok: true, policy: { homeNode: 2 } });
    expect(mpolSetHomeNode(null, 1, ALL4)).toEqual({ ok: true, policy: null });
  });

  it('nodesEqual', () => {
    expect(nodesEqual([0, 1], [0, 1])).toBe(true);
    expect(nodesEqual([0, 1], [0])).toBe(false);
    expect(nodesEqual([0, 2], [0, 1])).toBe(false);
  });
});
