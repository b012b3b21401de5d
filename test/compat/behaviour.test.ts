// The model's recorded behaviour (bench/behaviour-baseline.json): every schedule's trace hash and
// step count, and the findings, of a fixed set of campaigns. Performance work must leave them
// exactly as recorded (issue 15). A change that means to alter behaviour (a new kernel path on a
// built-in) re-records with `npm run bench:behaviour -- --save`, and says why in its commit.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEHAVIOUR_CASES, behaviourOf, type BehaviourDigest } from '../../bench/behaviour.js';

const baseline = JSON.parse(readFileSync(new URL('../../bench/behaviour-baseline.json', import.meta.url), 'utf8')) as BehaviourDigest[];

describe('recorded behaviour', () => {
  it('the baseline covers every case', () => {
    expect(baseline.map((b) => `${b.scenario}/${b.variant}/${b.seed}/${b.schedules}`)).toEqual(BEHAVIOUR_CASES.map((c) => `${c.scenario}/${c.variant}/${c.seed}/${c.schedules}`));
  });
  it.each(BEHAVIOUR_CASES.map((c, i) => [`${c.scenario}${c.variant ? ` ${c.variant}` : ''}`, i] as const))('%s: the same schedules, trace hashes and findings', (_name, i) => {
    expect(behaviourOf(BEHAVIOUR_CASES[i]!)).toEqual(baseline[i]);
  });
});
