// A bounded fuzz run (npm run fuzz runs more): generated command lines through main() in-process;
// none may crash (throw, exit 3, an exit code outside 0-3, a stack trace in the output) and every
// exit 2 must say one line on stderr. Bounded by the number of inputs, never by time.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixtures } from './fixtures.js';
import { fuzz, inputAt, judge, report, runOne, type Summary } from './runner.js';
import type { Fixtures } from './gen.js';

const COUNT = 300;
const SEED = 7;

let fx: Fixtures;
let s: Summary;

beforeAll(async () => {
  fx = await makeFixtures();
  s = await fuzz(fx, { seed: SEED, count: COUNT, timeoutMs: 60_000 });
}, 300_000);
afterAll(() => rmSync(fx.root, { recursive: true, force: true }));

describe(`fuzz: ${COUNT} generated command lines (seed ${SEED})`, () => {
  it('covers every command and every exit code but 3', () => {
    for (const cmd of ['explore', 'run', 'replay', 'merge', 'global']) expect(s.byLabel[cmd], cmd).toBeGreaterThan(0);
    for (const code of ['0', '1', '2']) expect(s.exits[code], `exit ${code}`).toBeGreaterThan(0);
  });

  it('no crash: no throw, no exit 3, no other exit code, no stack trace in the output', () => {
    expect(s.crashes.map((j) => j.crash), report(s)).toEqual([]);
    expect(s.uncaught, report(s)).toEqual([]);
  });

  it('every exit 2 is one line on stderr', () => {
    expect(s.multiLine.map((j) => j.multiLine), report(s)).toEqual([]);
  });

  it('a damaged token with a checksum is refused as damaged, never replayed', () => {
    expect(s.damagedAccepted.map((j) => j.argv.join(' ').slice(0, 200)), report(s)).toEqual([]);
  });
});

describe('the generator', () => {
  it('makes any input of any seed without throwing (2,000 of another seed, not run)', () => {
    for (let i = 0; i < 2000; i++) {
      const { input, dir } = inputAt(fx, 12345, i);
      rmSync(dir, { recursive: true, force: true });
      expect(input.argv.every((a) => typeof a === 'string')).toBe(true);
    }
  });
});

describe('the judge', () => {
  it('counts a throw, exit 3, an odd exit code and a stack trace as crashes, and a two-line exit 2', async () => {
    const base = { argv: ['x'], label: 'x' };
    const o = (over: object) => ({ code: 0, threw: null, timedOut: false, ms: 1, out: '', err: '', ...over });
    expect(judge(base, 0, o({ code: null, threw: 'TypeError: x' })).crash).toBe('main threw: TypeError: x');
    expect(judge(base, 0, o({ code: 3, err: 'gmemsim: internal error: RangeError: y 12' })).crash).toBe('gmemsim: internal error: RangeError: y N');
    expect(judge(base, 0, o({ code: 7 })).crash).toMatch(/^exit code 7/);
    expect(judge(base, 0, o({ code: 2, err: 'bad\n    at f (file:///x.js:1:2)' })).crash).toMatch(/^stack trace/);
    expect(judge(base, 0, o({ code: 2, err: 'one\ntwo' })).multiLine).toBe('N lines: one');
    expect(judge(base, 0, o({ code: 2, err: 'one' })).multiLine).toBeNull();
    expect(judge(base, 0, o({ code: 1, out: 'VIOLATION I1\n  at step 3 of schedule 2' })).crash).toBeNull();
    // and the real thing: a known-good command and a known-bad one
    expect((await runOne(['variants'], 10_000)).code).toBe(0);
    const bad = await runOne(['explore', '--schedules', '0'], 10_000);
    expect(bad.code).toBe(2);
    expect(bad.err.split('\n')).toHaveLength(1);
  });
});
