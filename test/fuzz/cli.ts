// npm run fuzz -- [--count N] [--seed N] [--start I] [--only I] [--keep] [--timeout MS] [--verbose]
// Generates gmemsim command lines (gen.ts), runs each through main() in-process (runner.ts) and
// prints the figures: inputs tried, exits 0/1/2/3, crashes, multi-line messages, each distinct
// crash signature with a command line that reproduces it. Exit status 1 when a crash or a
// multi-line message was seen.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makeFixtures } from './fixtures.js';
import { fuzz, inputAt, report, runOne, judge, showArgv } from './runner.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : (process.argv[i + 1] ?? '');
}
const num = (name: string, def: number) => {
  const v = flag(name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`fuzz: --${name} must be a non-negative integer (got "${v}")\n`);
    process.exit(2);
  }
  return n;
};

// gmemsim draws progress lines on a terminal's stderr; the fuzzer's own output is what counts here
Object.defineProperty(process.stderr, 'isTTY', { value: false });

const seed = num('seed', 1);
const timeoutMs = num('timeout', 30_000);
const keep = process.argv.includes('--keep');
const verbose = process.argv.includes('--verbose');
const fx = await makeFixtures();
const only = flag('only');
if (only !== undefined) {
  const index = num('only', 0);
  const { input, dir } = inputAt(fx, seed, index);
  process.stdout.write(`input ${index} of seed ${seed} (${input.label}):\n  gmemsim ${showArgv(input.argv)}\n`);
  for (const f of readdirSync(dir)) {
    const text = readFileSync(join(dir, f), 'utf8');
    process.stdout.write(`  file ${join(dir, f)} (${text.length} chars): ${text.length > 300 ? `${text.slice(0, 300)}…` : text}\n`);
  }
  const o = await runOne(input.argv, timeoutMs);
  const j = judge(input, index, o);
  process.stdout.write(`exit ${String(o.code)}${o.threw ? `, threw ${o.threw}` : ''}${o.timedOut ? ', timed out' : ''} in ${o.ms.toFixed(0)} ms\n`);
  process.stdout.write(`--- stdout (${o.out.length} chars)\n${o.out.slice(0, 2000)}\n--- stderr\n${o.err.slice(0, 4000)}\n`);
  process.stdout.write(`verdict: ${j.crash ? `CRASH ${j.crash}` : j.multiLine ? `MULTI-LINE ${j.multiLine}` : j.damagedAccepted ? 'DAMAGED TOKEN NOT REFUSED' : j.helpIgnored ? 'HELP NOT HONOURED' : 'ok'}\n`);
  if (keep) process.stdout.write(`files kept in ${dir}\n`);
  process.exit(j.crash || j.multiLine ? 1 : 0);
}
const count = num('count', 500);
let done = 0;
const s = await fuzz(fx, {
  seed,
  count,
  start: num('start', 0),
  timeoutMs,
  keep,
  onResult: (j) => {
    done++;
    if (verbose) process.stdout.write(`${j.index} exit ${String(j.outcome.code)} ${j.outcome.ms.toFixed(0)}ms ${j.label}${j.crash ? ` CRASH ${j.crash}` : ''}\n`);
    else if (done % 250 === 0) process.stdout.write(`  ... ${done}/${count}\n`);
  },
});
process.stdout.write(`${report(s)}\n`);
if (!keep) rmSync(fx.root, { recursive: true, force: true });
// worker pools and timers of the last inputs must not keep the fuzzer alive
process.exit(s.crashes.length || s.multiLine.length ? 1 : 0);
