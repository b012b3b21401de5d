// Replay tokens: a lossless, self-contained encoding of one schedule, with clear errors for
// anything that is not a whole token of a version this gmemsim reads (1 and 2).
import { deflateRawSync } from 'node:zlib';
import { describe, it, expect } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { runSim } from '../../src/engine/sim.js';
import { POINTS_VERSION } from '../../src/engine/points.js';
import { INVARIANT_IDS, invariantsOfVersion } from '../../src/check/invariants.js';
import { TOKEN_PREFIX, TOKEN_VERSION, checkedInvariants, decodeToken, encodeToken, type ReplaySpec } from '../../src/explore/token.js';
import { modelOf } from '../../src/workload/kinds.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from '../helpers.js';

const spec = (over: Partial<ReplaySpec> = {}): ReplaySpec => ({
  v: TOKEN_VERSION,
  points: POINTS_VERSION,
  scenario: structuredClone(BUILTIN_SCENARIOS['punch-race']!),
  variant: 'B6',
  seed: 4_294_967_295,
  invariants: ['I1', 'DATA'],
  expect: { invariant: 'I1', traceHash: '0badc0de', steps: 1234 },
  ...over,
});

/** A token whose body is `json` (deflated, base64url), whatever it says. */
const rawToken = (json: string) => TOKEN_PREFIX + deflateRawSync(Buffer.from(json)).toString('base64url');

describe('encodeToken / decodeToken', () => {
  it('round-trips a spec exactly', () => {
    // a v2 token names its checks: "all" is the explicit list (checkedInvariants(null))
    for (const s of [spec(), spec({ variant: null, invariants: checkedInvariants(null), seed: 0, expect: { invariant: null, traceHash: '00000000', steps: 0 } })]) {
      const t = encodeToken(s);
      expect(t.startsWith(TOKEN_PREFIX)).toBe(true);
      expect(t).toMatch(/^gm1_[A-Za-z0-9_-]+$/); // one shell word, no quoting needed
      expect(decodeToken(t)).toEqual(s);
    }
  });

  it('is deterministic and sensitive to every field', () => {
    expect(encodeToken(spec())).toBe(encodeToken(spec()));
    const t = encodeToken(spec());
    expect(encodeToken(spec({ seed: 1 }))).not.toBe(t);
    expect(encodeToken(spec({ variant: 'B1' }))).not.toBe(t);
    expect(encodeToken(spec({ scenario: { ...spec().scenario, maxSteps: 999 } }))).not.toBe(t);
  });

  it('rejects a string without the prefix', () => {
    for (const bad of ['', 'hello', 'gm2_abc', encodeToken(spec()).slice(1), ` ${encodeToken(spec())}`]) {
      expect(() => decodeToken(bad), JSON.stringify(bad)).toThrow(/not a gmemsim replay token \(expected it to start with "gm1_"\)/);
    }
  });

  it('rejects a damaged or truncated body as damaged', () => {
    const t = encodeToken(spec());
    const bodies = [
      t.slice(0, Math.floor(t.length / 2)), // copied half
      `${TOKEN_PREFIX}!!!!`,
      `${TOKEN_PREFIX}`,
      TOKEN_PREFIX + Buffer.from('not deflate data at all').toString('base64url'),
      rawToken('{"v":1,'), // inflates, but is not JSON
    ];
    for (const bad of bodies) {
      expect(() => decodeToken(bad), bad).toThrow(/^replay token is damaged \((cannot be decoded|its checksum does not match)\); copy it whole$/);
    }
  });

  it('writes a checksum: any character changed, added, dropped or cut off is refused as damaged', () => {
    const t = encodeToken(spec());
    const body = Buffer.from(t.slice(TOKEN_PREFIX.length), 'base64url');
    expect(body[0]).toBe(0x07); // a deflate block of the reserved type: never the start of a token from before checksums
    const damaged = /^replay token is damaged \((cannot be decoded|its checksum does not match)\); copy it whole$/;
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = TOKEN_PREFIX.length; i < t.length; i++) {
      // every position, changed to two other characters (one of them flips the lowest bit)
      for (const c of [B64[(B64.indexOf(t[i]!) + 1) % 64]!, B64[B64.indexOf(t[i]!) ^ 32]!]) {
        const bad = t.slice(0, i) + c + t.slice(i + 1);
        expect(() => decodeToken(bad), `position ${i}: ${c}`).toThrow(damaged);
      }
      expect(() => decodeToken(t.slice(0, i)), `cut at ${i}`).toThrow(damaged);
      expect(() => decodeToken(t.slice(0, i) + t.slice(i + 1)), `dropped ${i}`).toThrow(damaged);
    }
    for (const junk of ['A', 'x', '_', '=', '==', '.', '!', ' ', '\n', 'gm1_', t.slice(4, 12), t.slice(4)]) {
      expect(() => decodeToken(t + junk), JSON.stringify(junk)).toThrow(damaged);
    }
  });

  it('still reads a token from before checksums; one with bytes after its deflate stream, or not written canonically, is damaged', () => {
    const old = rawToken(JSON.stringify(spec()));
    expect(decodeToken(old)).toEqual(spec());
    const damaged = /^replay token is damaged \(cannot be decoded\); copy it whole$/;
    const bytes = Buffer.from(old.slice(TOKEN_PREFIX.length), 'base64url');
    expect(() => decodeToken(TOKEN_PREFIX + Buffer.concat([bytes, Buffer.from('junk')]).toString('base64url'))).toThrow(damaged);
    for (const junk of ['=', ' ', '!', '\n']) expect(() => decodeToken(old + junk), JSON.stringify(junk)).toThrow(damaged);
    // a body that inflates to gigabytes is not read whole
    const bomb = rawToken(`{"v":2,"x":"${'a'.repeat(80 * 1024 * 1024)}"}`);
    expect(bomb.length).toBeLessThan(200_000);
    expect(() => decodeToken(bomb)).toThrow(damaged);
  });

  it('reads a v1 token: no points (table 1), and invariants null is the v1 set', () => {
    const { points: _p, ...v1 } = spec({ v: 1, invariants: null });
    const t = decodeToken(rawToken(JSON.stringify(v1)));
    expect(t).toEqual({ ...v1, points: 1, invariants: invariantsOfVersion(1) });
    expect(t.invariants).not.toContain('LOCK_ORDER'); // a check added since does not change what an old token shows
    // a v1 token that named its checks keeps them
    expect(decodeToken(rawToken(JSON.stringify({ ...v1, invariants: ['I2'] }))).invariants).toEqual(['I2']);
  });

  it('rejects another version, naming both', () => {
    // encodeToken always writes the current version: another one can only come from elsewhere
    expect(() => decodeToken(rawToken(JSON.stringify(spec({ v: 3 }))))).toThrow(
      `replay token version 3 is not supported (this gmemsim reads versions 1 and ${TOKEN_VERSION})`,
    );
    expect(() => decodeToken(rawToken('{"scenario":{}}'))).toThrow(/version undefined is not supported/);
  });

  it('rejects a token over another yield-point table, naming both tables', () => {
    // its trace hash is over point ids this gmemsim may number differently
    const other = POINTS_VERSION + 1;
    expect(() => decodeToken(rawToken(JSON.stringify(spec({ points: other }))))).toThrow(
      `replay token was recorded with yield-point table ${other}; this gmemsim has table ${POINTS_VERSION} (replay it with the gmemsim that wrote it)`,
    );
    // a version-1 token has no table field: it is over table 1, the one every later table extends
    const { points: _p, ...v1 } = spec({ v: 1 });
    expect(decodeToken(rawToken(JSON.stringify(v1))).points).toBe(1);
  });

  it('rejects a body that is valid JSON but not an object with a gmemsim message', () => {
    expect(() => decodeToken(rawToken('null'))).toThrow(/replay token (is damaged|version)/);
  });
});

describe('tokens from explore', () => {
  it('replay (runSim with the token\'s seed and variant) to the same trace hash and invariant', () => {
    const cases = [
      { sc: DEFAULT_SCENARIO, seed: 38, variant: 'B1' as const, invariants: null },
      { sc: DEFAULT_SCENARIO, seed: 2, variant: 'B21' as const, invariants: null },
      { sc: BUILTIN_SCENARIOS['punch-race']!, seed: 22, variant: 'B20' as const, invariants: ['I7' as const] },
    ];
    for (const c of cases) {
      const r = explore(c.sc, { seed: c.seed, schedules: 100, variant: c.variant, invariants: c.invariants });
      const f = r.violations[0];
      expect(f, `${c.variant} campaign ${c.seed}`).toBeDefined();
      const t = decodeToken(f!.replay);
      expect(t.v).toBe(TOKEN_VERSION);
      expect(t.scenario).toEqual(c.sc);
      expect(t.variant).toBe(c.variant);
      expect(t.seed).toBe(f!.scheduleSeed);
      expect(t.invariants).toEqual(c.invariants ?? INVARIANT_IDS); // v2: "all" is recorded as the explicit list
      expect(t.expect.invariant).toBe(f!.invariant);
      expect(t.expect.traceHash).toBe(f!.traceHash);

      const rep = runSim(modelOf(t.scenario), { seed: t.seed, variant: t.variant, invariants: t.invariants ? new Set(t.invariants) : undefined });
      expect(rep.traceHash).toBe(t.expect.traceHash);
      expect(rep.steps).toBe(t.expect.steps);
      expect(rep.violation?.invariant).toBe(t.expect.invariant);
      expect(rep.violation?.message).toBe(f!.message);
    }
  });

  it('carry their scenario: a token from a custom scenario replays from the token alone', () => {
    const custom = { ...structuredClone(DEFAULT_SCENARIO), name: 'custom', vcpus: { ...DEFAULT_SCENARIO.vcpus, count: 2, ops: 6 } };
    const f = explore(custom, { seed: 1, schedules: 50, variant: 'B4' }).violations[0];
    expect(f?.invariant).toBe('I2');
    const t = decodeToken(f!.replay);
    expect(t.scenario).toEqual(custom);
    expect(t.scenario.name).toBe('custom');
    const rep = runSim(modelOf(t.scenario), { seed: t.seed, variant: t.variant });
    expect(rep.traceHash).toBe(f!.traceHash);
    expect(rep.stats.actors.filter((a) => a.kind === 'vcpu')).toHaveLength(2);
    // The same seed under the built-in scenario is a different run.
    expect(runSim(modelOf(DEFAULT_SCENARIO), { seed: t.seed, variant: t.variant }).traceHash).not.toBe(f!.traceHash);
  });
});

describe('a token is checked field by field, by the scenario schema', () => {
  // the old encoding (no checksum): a record with any content, as a hand-made or damaged token may hold
  const withOld = (over: Record<string, unknown>, drop: string[] = []) => {
    const r: Record<string, unknown> = { ...spec(), ...over };
    for (const k of drop) delete r[k];
    return rawToken(JSON.stringify(r));
  };
  const refused = (t: string, message: string | RegExp) => {
    let err: Error | undefined;
    try {
      decodeToken(t);
    } catch (e) {
      err = e as Error;
    }
    expect(err, String(message)).toBeInstanceOf(Error);
    expect(err!.message).not.toMatch(/[\r\n]/);
    expect(err!.message).toMatch(message);
  };

  it('names the field and what is allowed', () => {
    refused(withOld({ variant: 'B99' }), /^replay token: variant must be one of B1, B2, .*, N1, or null \(got "B99"\)$/);
    refused(withOld({ variant: 'skip-stale-check' }), /^replay token: variant must be one of B1/); // a name is not what tokens hold
    refused(withOld({ invariants: 'bogus' }), /^replay token: invariants must be an array of invariant ids \(I1, .*\) \(at least 1\) \(got "bogus"\)$/);
    refused(withOld({ invariants: ['I1', 'BOGUS'] }), /^replay token: invariants\[1\] must be one of "I1", .* \(got "BOGUS"\)$/);
    refused(withOld({ invariants: null }), /^replay token: invariants must be an array/); // null is "all of version 1": only in v1
    refused(withOld({ schedule: null }), /^replay token: schedule must be an array of actor ids from 0 to 4 \(the scenario's 5 actors\), one per step \(got null\)$/);
    refused(withOld({ schedule: [0, 1, 5] }), /^replay token: schedule\[2\] must be an actor id from 0 to 4 \(the scenario has 5 actors\) \(got 5\)$/);
    refused(withOld({ schedule: [0, -1] }), /^replay token: schedule\[1\] must be an actor id/);
    refused(withOld({ schedule: [0.5] }), /^replay token: schedule\[0\] must be an actor id/);
    refused(withOld({}, ['expect']), /^replay token: expect must be an object with keys invariant, traceHash, steps \(missing\)$/);
    refused(withOld({ expect: null }), /^replay token: expect must be an object/);
    refused(withOld({ expect: { invariant: 'I9x', traceHash: '0badc0de', steps: 1 } }), /^replay token: expect\.invariant must be one of "I1", .*, or null \(no violation\) \(got "I9x"\)$/);
    refused(withOld({ expect: { invariant: null, traceHash: '0BADC0DE', steps: 1 } }), /^replay token: expect\.traceHash must be a trace hash: 8 lowercase hex digits \(got "0BADC0DE"\)$/);
    refused(withOld({ expect: { invariant: null, traceHash: '0badc0de', steps: -1 } }), /^replay token: expect\.steps must be an integer >= 0 \(got -1\)$/);
    refused(withOld({ expect: { invariant: null, traceHash: '0badc0de', steps: 1, extra: 1 } }), /^replay token: expect\.extra must be a known key/);
    refused(withOld({ seed: 2 ** 32 }), /^replay token: seed must be an integer from 0 to 4294967295 \(got 4294967296\)$/);
    refused(withOld({}, ['seed']), /^replay token: seed must be an integer from 0 to 4294967295 \(missing\)$/);
    refused(withOld({ ops: 0 }), /^replay token: ops must be an integer from 1 to 1000000000, or null \(until stopped\) \(got 0\)$/);
    refused(withOld({ points: 'x' }), /^replay token: points must be an integer >= 1 \(got "x"\)$/);
    refused(withOld({ bogus: 1 }), /^replay token: bogus must be a known key; a replay record has scenario, points, variant, seed, invariants, expect, ops, schedule \(unknown key "bogus"\)$/);
    refused(withOld({}, ['scenario']), /^replay token: scenario must be the scenario it was recorded on \(a JSON object\) \(missing\)$/);
    // the embedded scenario by validateScenario, its fields named under scenario.
    refused(withOld({ scenario: { ...spec().scenario, vcpus: { ...spec().scenario.vcpus, count: 0 } } }), /^replay token: scenario\.vcpus\.count must be an integer from 1 to 64 \(got 0\)$/);
    refused(withOld({ scenario: { gmemPages: '[['.repeat(5000) } }), /^replay token: scenario\.gmemPages must be an integer/);
  });

  it('accepts what the writers write: absent schedule and ops, ops null, a v1 record with invariants null', () => {
    expect(decodeToken(withOld({}, ['schedule', 'ops'])).schedule).toBeUndefined();
    expect(decodeToken(withOld({ ops: null, schedule: [0, 1, 4] }))).toMatchObject({ ops: null, schedule: [0, 1, 4] });
    expect(decodeToken(withOld({ v: 1, invariants: null }, ['points'])).invariants).toEqual(invariantsOfVersion(1));
  });

  it('a record nested 10,000 levels deep is refused on one line, not a stack overflow', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    for (const field of ['expect', 'schedule', 'invariants', 'variant', 'scenario']) {
      const json = JSON.stringify({ ...spec(), [field]: 'DEEP' }).replace('"DEEP"', deep);
      refused(rawToken(json), new RegExp(`^replay token: ${field}(\\[0\\])? must be .*\\[\\[\\[\\[`));
    }
  });
});
