// Replay files: explore --save writes versioned JSON; replay FILE reproduces it on sim and threads.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseReplayFile, replayFileJson, type ReplaySpec } from '../../src/engine/token.js';
import { DEFAULT_SCENARIO, cli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gmemsim-replay-'));

describe('replay files', () => {
  const spec: ReplaySpec = { v: 1, scenario: DEFAULT_SCENARIO, variant: 'B4', seed: 5, invariants: null, expect: { invariant: 'I2', traceHash: 'abcd0123', steps: 3 }, schedule: [0, 1, 0] };

  it('round-trip; another format or version is refused with a clear message', () => {
    const text = replayFileJson(spec);
    expect(JSON.parse(text)).toMatchObject({ format: 'gmemsim-replay', version: 1, seed: 5, schedule: [0, 1, 0] });
    expect(parseReplayFile(text, 'f.json')).toEqual(spec);
    expect(() => parseReplayFile(text.replace('"version": 1', '"version": 9'), 'f.json')).toThrow(/f\.json is a replay file of version 9; this gmemsim reads version 1/);
    expect(() => parseReplayFile('{"a":1}', 'g.json')).toThrow(/g\.json is not a gmemsim replay file/);
    expect(() => parseReplayFile('nope', 'h.json')).toThrow(/h\.json is not JSON/);
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
    const bad = join(dir, 'v2.json');
    writeFileSync(bad, readFileSync(file, 'utf8').replace('"version": 1', '"version": 2'));
    const r = await cli('replay', bad);
    expect(r.code).toBe(2);
    expect(r.err[0]).toMatch(/is a replay file of version 2; this gmemsim reads version 1/);
  });
});
