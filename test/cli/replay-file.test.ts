// Replay files: explore --save writes versioned JSON; replay FILE reproduces it on sim and threads.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invariantsOfVersion } from '../../src/check/invariants.js';
import { POINTS_VERSION } from '../../src/engine/points.js';
import { checkedInvariants, parseReplayFile, replayFileJson, type ReplaySpec } from '../../src/explore/token.js';
import { DEFAULT_SCENARIO, cli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gmemsim-replay-'));

describe('replay files', () => {
  // a record as read back (normalised): version 2, its yield-point table, the checks named
  const spec: ReplaySpec = { v: 2, points: POINTS_VERSION, scenario: DEFAULT_SCENARIO, variant: 'B4', seed: 5, invariants: checkedInvariants(null), expect: { invariant: 'I2', traceHash: 'abcd0123', steps: 3 }, schedule: [0, 1, 0] };

  it('round-trip; another format or version is refused with a clear message', () => {
    const text = replayFileJson(spec);
    expect(JSON.parse(text)).toMatchObject({ format: 'gmemsim-replay', version: 2, seed: 5, schedule: [0, 1, 0] });
    expect(parseReplayFile(text, 'f.json')).toEqual(spec);
    // a version-1 file (no yield-point table, invariants null) is still read: the checks of version 1
    const { v: _v, points: _p, ...v1 } = { ...spec, invariants: null };
    const v1Text = JSON.stringify({ format: 'gmemsim-replay', version: 1, ...v1 }, null, 2);
    expect(parseReplayFile(v1Text, 'f.json')).toEqual({ ...spec, v: 1, points: 1, invariants: invariantsOfVersion(1) });
    expect(() => parseReplayFile(text.replace('"version": 2', '"version": 9'), 'f.json')).toThrow(/f\.json is a replay file of version 9; this gmemsim reads versions 1 and 2/);
    expect(() => parseReplayFile(text.replace('"version": 2', '"version": "2"'), 'f.json')).toThrow(/f\.json is a replay file of version "2"; this gmemsim reads versions 1 and 2/);
    expect(() => parseReplayFile('{"a":1}', 'g.json')).toThrow(/g\.json is not a gmemsim replay file/);
    expect(() => parseReplayFile('nope', 'h.json')).toThrow(/h\.json is not JSON/);
  });

  it('every field is checked by the scenario schema: the error names the file and the field', () => {
    const file = (over: Record<string, unknown>, drop: string[] = []) => {
      const j = JSON.parse(replayFileJson(spec)) as Record<string, unknown>;
      for (const k of drop) delete j[k];
      return JSON.stringify({ ...j, ...over });
    };
    const cases: Array<[string, RegExp]> = [
      [file({ variant: 'B99' }), /^replay file x\.json: variant must be one of B1, B2, .*, or null \(got "B99"\)$/],
      [file({ invariants: 'bogus' }), /^replay file x\.json: invariants must be an array of invariant ids/],
      [file({ schedule: null }), /^replay file x\.json: schedule must be an array of actor ids from 0 to 7 \(the scenario's 8 actors\), one per step \(got null\)$/],
      [file({ schedule: [0, 8] }), /^replay file x\.json: schedule\[1\] must be an actor id from 0 to 7/],
      [file({}, ['expect']), /^replay file x\.json: expect must be an object with keys invariant, traceHash, steps \(missing\)$/],
      [file({ expect: { invariant: 'I2', traceHash: 5, steps: 3 } }), /^replay file x\.json: expect\.traceHash must be a trace hash: 8 lowercase hex digits \(got 5\)$/],
      [file({ seed: -1 }), /^replay file x\.json: seed must be an integer from 0 to 4294967295 \(got -1\)$/],
      [file({ scenario: { ...DEFAULT_SCENARIO, gmemPages: 2 ** 40 } }), /^replay file x\.json: scenario\.gmemPages must be an integer from 1 to 16777216 \(got 1099511627776\)$/],
      [file({ v: 2 }), /^replay file x\.json: v must be a known key/],
    ];
    for (const [text, message] of cases) expect(() => parseReplayFile(text, 'x.json'), String(message)).toThrow(message);
    // version 1 may say null for every check of its day; version 2 may not
    expect(parseReplayFile(file({ version: 1, invariants: null }, ['points']), 'x.json').invariants).toEqual(invariantsOfVersion(1));
    expect(() => parseReplayFile(file({ invariants: null }), 'x.json')).toThrow(/^replay file x\.json: invariants must be an array/);
  });

  it('a bad field is exit 2 with one line naming the file (gmemsim replay FILE)', async () => {
    const f = join(dir, 'b99.json');
    writeFileSync(f, replayFileJson(spec).replace('"variant": "B4"', '"variant": "B99"'));
    const r = await cli('replay', f);
    expect(r.code).toBe(2);
    expect(r.err).toHaveLength(1);
    expect(r.err[0]).toMatch(new RegExp(`^gmemsim replay: replay file ${f.replace(/[.]/g, '\\.')}: variant must be one of B1, .*, or null \\(got "B99"\\)$`));
  });

  it('a directory given as the replay file is named, exit 2', async () => {
    const r = await cli('replay', dir);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([`gmemsim replay: cannot read the replay file ${dir}: EISDIR: illegal operation on a directory`]);
  });

  it('explore --save FILE, then replay FILE on sim and on threads: the same trace hash as the violation', async () => {
    const file = join(dir, 'b1.json');
    const e = await cli('explore', '--variant', 'B1', '--save', file, '--json');
    expect(e.code).toBe(1);
    const found = JSON.parse(e.out).violations[0];
    expect(JSON.parse(readFileSync(file, 'utf8')).expect.traceHash).toBe(found.traceHash);
    for (const engine of ['sim', 'threads']) {
      const r = await cli('replay', file, '--engine', engine, '--json');
      expect(r.code, engine).toBe(1);
      const j = JSON.parse(r.out);
      expect(j.reproduced, engine).toBe(true);
      expect(j.traceHash, engine).toBe(found.traceHash);
    }
    const bad = join(dir, 'v3.json');
    writeFileSync(bad, readFileSync(file, 'utf8').replace('"version": 2', '"version": 3'));
    const r = await cli('replay', bad);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/is a replay file of version 3; this gmemsim reads versions 1 and 2/);
  });
});
