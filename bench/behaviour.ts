// The model's behaviour, recorded so that performance work can prove it changed nothing (issue 15:
// "the same schedules, trace hashes and findings before and after"). For each case (a built-in, a
// variant or none, a seed) it runs the first N schedules of the random campaign one by one, as
// explore does (schedule i runs with scheduleSeed(seed, i)), and digests every schedule's trace
// hash and step count, and what it found. `npm run bench:behaviour -- --save` writes the digests to
// bench/behaviour-baseline.json; without --save it compares and exits 1 on any difference.
// test/compat/behaviour.test.ts holds every commit to the committed file.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSim } from '../src/engine/sim.js';
import { scheduleSeed } from '../src/explore/explore.js';
import { BUILTIN_SCENARIOS } from '../src/scenario/builtins.js';
import type { VariantId } from '../src/variants.js';
import { modelOf } from '../src/workload/kinds.js';
import { checkTokens, savedTokens } from './tokens.js';

/** The cases: each engine path family once, correct and with a variant that fires. */
export const BEHAVIOUR_CASES: ReadonlyArray<{ scenario: string; variant: VariantId | null; seed: number; schedules: number }> = [
  { scenario: 'default', variant: null, seed: 1, schedules: 200 },
  { scenario: 'default', variant: 'B1', seed: 1, schedules: 50 },
  { scenario: 'numa-mbind-runtime', variant: null, seed: 2, schedules: 100 },
  { scenario: 'inplace-conversion', variant: null, seed: 3, schedules: 100 },
  { scenario: 'litmus-convert-pin', variant: 'B15', seed: 4, schedules: 100 },
  { scenario: 'gmem-release', variant: null, seed: 5, schedules: 100 },
  { scenario: 'hugepages-2m', variant: null, seed: 6, schedules: 100 },
  { scenario: 'hugepages-1g-inplace', variant: null, seed: 7, schedules: 100 },
];

export interface BehaviourDigest {
  scenario: string;
  variant: VariantId | null;
  seed: number;
  schedules: number;
  /** FNV-1a over every schedule's trace hash and step count, in order */
  digest: string;
  steps: number;
  /** the schedules that violated something: index and invariant */
  findings: string[];
}

function fnv(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h;
}

export function behaviourOf(c: (typeof BEHAVIOUR_CASES)[number]): BehaviourDigest {
  const model = modelOf(BUILTIN_SCENARIOS[c.scenario]!);
  let h = 2166136261;
  let steps = 0;
  const findings: string[] = [];
  for (let i = 0; i < c.schedules; i++) {
    const r = runSim(model, { seed: scheduleSeed(c.seed, i), variant: c.variant });
    h = fnv(h, `${r.traceHash}:${r.steps};`);
    steps += r.steps;
    if (r.violation) findings.push(`${i}:${r.violation.invariant}`);
  }
  return { ...c, digest: h.toString(16).padStart(8, '0'), steps, findings };
}

export const BASELINE_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'behaviour-baseline.json');

export function runBehaviour(save: boolean): number {
  const now = BEHAVIOUR_CASES.map(behaviourOf);
  if (save) {
    writeFileSync(BASELINE_FILE, `${JSON.stringify(now, null, 2)}\n`);
    console.log(`written ${BASELINE_FILE} (${now.length} cases)`);
    return 0;
  }
  const base = JSON.parse(readFileSync(BASELINE_FILE, 'utf8')) as BehaviourDigest[];
  let bad = 0;
  for (const n of now) {
    const b = base.find((x) => x.scenario === n.scenario && x.variant === n.variant && x.seed === n.seed);
    const same = b && b.digest === n.digest && b.steps === n.steps && b.findings.join() === n.findings.join() && b.schedules === n.schedules;
    if (!same) bad++;
    console.log(`${same ? 'same   ' : 'CHANGED'} ${n.scenario}${n.variant ? ` --variant ${n.variant}` : ''} seed ${n.seed}, ${n.schedules} schedules: digest ${n.digest}${b && b.digest !== n.digest ? ` (was ${b.digest})` : ''}, ${n.steps.toLocaleString('en-US')} steps${b && b.steps !== n.steps ? ` (was ${b.steps.toLocaleString('en-US')})` : ''}, findings ${n.findings.length}`);
  }
  console.log(bad ? `${bad} of ${now.length} cases changed behaviour` : `all ${now.length} cases behave as recorded`);
  // and the tokens saved before the performance work (bench/tokens.ts)
  const badTokens = checkTokens(savedTokens());
  return bad || badTokens ? 1 : 0;
}
