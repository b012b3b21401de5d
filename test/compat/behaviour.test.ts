// The model's recorded behaviour (bench/behaviour-baseline.json): every schedule's trace hash and
// step count, and the findings, of a fixed set of campaigns. Performance work must leave them
// exactly as recorded (issue 15). A change that means to alter behaviour (a new kernel path on a
// built-in) re-records with `npm run bench:behaviour -- --save`, and says why in its commit.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEHAVIOUR_CASES, behaviourOf, type BehaviourDigest } from '../../bench/behaviour.js';
import { replayToken, savedTokens } from '../../bench/tokens.js';

const baseline = JSON.parse(readFileSync(new URL('../../bench/behaviour-baseline.json', import.meta.url), 'utf8')) as BehaviourDigest[];

describe('recorded behaviour', () => {
  it('the baseline covers every case', () => {
    expect(baseline.map((b) => `${b.scenario}/${b.variant}/${b.seed}/${b.schedules}`)).toEqual(BEHAVIOUR_CASES.map((c) => `${c.scenario}/${c.variant}/${c.seed}/${c.schedules}`));
  });
  it.each(BEHAVIOUR_CASES.map((c, i) => [`${c.scenario}${c.variant ? ` ${c.variant}` : ''}`, i] as const))('%s: the same schedules, trace hashes and findings', (_name, i) => {
    expect(behaviourOf(BEHAVIOUR_CASES[i]!)).toEqual(baseline[i]);
  });
});

// bench/tokens-before.json: a token per bug of the catalogue, saved before the performance work
describe('tokens saved before issue 15 replay as they did', () => {
  const saved = savedTokens();
  it('one per bug that its campaign finds', () => expect(saved.length).toBeGreaterThanOrEqual(50));
  it.each(saved.map((t) => [`${t.variant} on ${t.scenario}`, t] as const))('%s', (_name, t) => {
    expect(replayToken(t.token)).toEqual({ traceHash: t.traceHash, steps: t.steps, invariant: t.invariant });
  });
});
