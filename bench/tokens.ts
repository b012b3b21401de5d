// Replay tokens saved before the performance work of issue 15 ("save tokens first and replay them
// after"). `record` runs, for every bug of the catalogue, the campaign its detection is measured
// with (its scenario and strategy, seed 1, no shrinking) and keeps the first violation's token with
// what replaying it gives: the trace hash, the steps and the invariant. `check` replays every saved
// token and compares. bench/tokens-before.json was recorded at ac4fee4, before any performance
// change; test/compat/behaviour.test.ts replays it on every commit.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSim } from '../src/engine/sim.js';
import { explore } from '../src/explore/explore.js';
import { decodeToken, replayRun } from '../src/explore/token.js';
import { BUILTIN_SCENARIOS } from '../src/scenario/builtins.js';
import { VARIANTS, type VariantId } from '../src/variants.js';

export interface SavedToken {
  variant: VariantId;
  scenario: string;
  /** the campaign schedule that found it */
  schedule: number;
  token: string;
  traceHash: string;
  steps: number;
  invariant: string | null;
}

const here = dirname(fileURLToPath(import.meta.url));
// compiled (dist/bench) or from source (bench, under vitest)
export const TOKENS_FILE = resolve(here, basename(resolve(here, '..')) === 'dist' ? '../..' : '..', 'bench', 'tokens-before.json');
const SCHEDULES = 4000;

/** What a token replays to on the sim engine. */
export function replayToken(token: string): { traceHash: string; steps: number; invariant: string | null } {
  const { model, options } = replayRun(decodeToken(token));
  const r = runSim(model, options);
  return { traceHash: r.traceHash, steps: r.steps, invariant: r.violation?.invariant ?? null };
}

export function recordTokens(): SavedToken[] {
  const out: SavedToken[] = [];
  for (const v of VARIANTS) {
    if (v.kind !== 'bug') continue;
    const scenario = v.scenario ?? 'default';
    const r = explore(BUILTIN_SCENARIOS[scenario]!, { seed: 1, schedules: SCHEDULES, variant: v.id, strategy: v.strategy ?? 'random', shrink: false });
    const f = r.violations[0];
    if (!f) {
      console.log(`${v.id} on ${scenario}: nothing in ${SCHEDULES} schedules (no token)`);
      continue;
    }
    out.push({ variant: v.id, scenario, schedule: f.schedule, token: f.replay, ...replayToken(f.replay) });
    console.log(`${v.id} on ${scenario}: ${f.invariant} at schedule ${f.schedule}`);
  }
  return out;
}

/** Replay every saved token; the number that replayed differently. */
export function checkTokens(saved: SavedToken[], log: (line: string) => void = console.log): number {
  let bad = 0;
  for (const t of saved) {
    const now = replayToken(t.token);
    const same = now.traceHash === t.traceHash && now.steps === t.steps && now.invariant === t.invariant;
    if (!same) bad++;
    log(`${same ? 'same   ' : 'CHANGED'} ${t.variant} on ${t.scenario}: ${now.invariant ?? 'nothing'} at step ${now.steps}, trace ${now.traceHash}${same ? '' : ` (saved: ${t.invariant ?? 'nothing'} at step ${t.steps}, trace ${t.traceHash})`}`);
  }
  log(bad ? `${bad} of ${saved.length} tokens replay differently` : `all ${saved.length} saved tokens replay as recorded`);
  return bad;
}

export const savedTokens = (): SavedToken[] => JSON.parse(readFileSync(TOKENS_FILE, 'utf8')) as SavedToken[];

export function runTokens(record: boolean): number {
  if (record) {
    const t = recordTokens();
    writeFileSync(TOKENS_FILE, `${JSON.stringify(t, null, 1)}\n`);
    console.log(`written ${TOKENS_FILE} (${t.length} tokens)`);
    return 0;
  }
  return checkTokens(savedTokens()) ? 1 : 0;
}
