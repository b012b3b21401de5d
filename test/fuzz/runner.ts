// The fuzzer's runner: each generated command line goes to main(argv, io) in-process, with a
// capturing io and a per-input timeout, and is judged by the exit contract: 0 clean, 1 violation,
// 2 bad input with exactly one line on stderr, 3 internal error. A crash is main throwing, exit 3,
// an exit code outside 0-3, or a JavaScript stack trace in the output. Also judged: a token that
// carried a checksum and was damaged must be refused as damaged; -h/--help must print help.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { generate, type Fixtures, type FuzzInput } from './gen.js';
import { Rng, mix } from './prng.js';

export interface Outcome {
  /** the exit code main returned; null: it threw or did not finish in time */
  code: number | null;
  threw: string | null;
  timedOut: boolean;
  ms: number;
  out: string;
  err: string;
}

export interface Judged extends FuzzInput {
  index: number;
  outcome: Outcome;
  /** the crash signature (its first line, numbers and paths folded), or null */
  crash: string | null;
  /** exit 2 whose stderr is not exactly one line: its signature, or null */
  multiLine: string | null;
  /** a damaged checksummed token not refused as damaged */
  damagedAccepted: boolean;
  /** -h/--help given and not honoured (no exit 0) */
  helpIgnored: boolean;
}

/** A stack frame line, as Error.stack prints them. */
const STACK_FRAME = /^\s+at (?:.+ \()?(?:file:|node:|\/|[A-Za-z]:\\|<anonymous>|native)[^\n]*?(?::\d+:\d+\)?)?$/m;

const fold = (line: string) =>
  line
    .replace(/\/tmp\/[^\s"')]*/g, 'PATH')
    .replace(/gm1_[A-Za-z0-9_.-]+/g, 'TOKEN')
    .replace(/\d+/g, 'N')
    .slice(0, 220);

/** Run one command line in-process: main's exit code and what it printed. */
export async function runOne(argv: string[], timeoutMs: number): Promise<Outcome> {
  const out: string[] = [];
  const err: string[] = [];
  let live = true;
  const io = { out: (s: string) => void (live && out.push(s)), err: (s: string) => void (live && err.push(s)) };
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  let code: number | null = null;
  let threw: string | null = null;
  let timedOut = false;
  try {
    const r = await Promise.race([main(argv, io), timeout]);
    if (r === 'timeout') timedOut = true;
    else code = r;
  } catch (e) {
    threw = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  } finally {
    clearTimeout(timer);
    live = false;
  }
  const ms = performance.now() - t0;
  // main's synchronous parts cannot be interrupted: a run that blocked past the limit is a timeout too
  if (ms > timeoutMs) timedOut = true;
  return { code, threw, timedOut, ms, out: out.join('\n'), err: err.join('\n') };
}

/** Apply the exit contract to one outcome. */
export function judge(input: FuzzInput, index: number, o: Outcome): Judged {
  const errLines = o.err.replace(/\n+$/, '').split('\n');
  const firstErr = errLines[0] ?? '';
  let crash: string | null = null;
  if (o.threw !== null) crash = `main threw: ${fold(o.threw.split('\n')[0]!)}`;
  else if (o.code === 3) crash = fold(firstErr);
  else if (o.code !== null && ![0, 1, 2].includes(o.code)) crash = `exit code ${String(o.code)}: ${fold(firstErr)}`;
  else if (STACK_FRAME.test(o.out) || STACK_FRAME.test(o.err)) crash = `stack trace in the output (exit ${String(o.code)}): ${fold(firstErr || o.out.split('\n')[0]!)}`;
  const multiLine = o.code === 2 && (errLines.length !== 1 || firstErr.trim() === '') ? fold(firstErr.trim() === '' ? '(empty stderr)' : `${errLines.length} lines: ${firstErr}`) : null;
  const damagedAccepted = input.damagedToken === true && o.code !== null && !(o.code === 2 && /damaged/i.test(o.err));
  const helpIgnored = input.wantsHelp === true && o.code !== null && o.code !== 0;
  return { ...input, index, outcome: o, crash, multiLine, damagedAccepted, helpIgnored };
}

export interface FuzzOptions {
  seed: number;
  count: number;
  /** the first input index (inputs are numbered from it) */
  start?: number;
  timeoutMs?: number;
  /** keep each input's files (its directory under fx.root) */
  keep?: boolean;
  onResult?: (j: Judged) => void;
}

export interface Summary {
  seed: number;
  tried: number;
  ms: number;
  exits: Record<string, number>;
  threw: number;
  timedOut: Judged[];
  crashes: Judged[];
  multiLine: Judged[];
  damagedAccepted: Judged[];
  helpIgnored: Judged[];
  byLabel: Record<string, number>;
  /** an uncaught exception or unhandled rejection while the input ran */
  uncaught: Array<{ index: number; argv: string[]; error: string }>;
}

/** Input `index` of `seed`: always the same command line (and files). */
export function inputAt(fx: Fixtures, seed: number, index: number): { input: FuzzInput; dir: string } {
  const dir = join(fx.root, `in-${index}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return { input: generate(new Rng(mix(seed, index)), fx, dir), dir };
}

export async function fuzz(fx: Fixtures, o: FuzzOptions): Promise<Summary> {
  const s: Summary = { seed: o.seed, tried: 0, ms: 0, exits: {}, threw: 0, timedOut: [], crashes: [], multiLine: [], damagedAccepted: [], helpIgnored: [], byLabel: {}, uncaught: [] };
  let current: { index: number; argv: string[] } | null = null;
  const onUncaught = (e: unknown) => {
    s.uncaught.push({ index: current?.index ?? -1, argv: current?.argv ?? [], error: fold(e instanceof Error ? `${e.name}: ${e.message}` : String(e)) });
  };
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  // a relative output path (--save x, as a repeated option's value may be) lands in the temp dir
  const cwd = process.cwd();
  try {
    process.chdir(fx.root);
  } catch {
    // a worker thread cannot chdir: the generator's own paths are absolute anyway
  }
  const t0 = performance.now();
  try {
    const start = o.start ?? 0;
    for (let i = start; i < start + o.count; i++) {
      const { input, dir } = inputAt(fx, o.seed, i);
      current = { index: i, argv: input.argv };
      const outcome = await runOne(input.argv, o.timeoutMs ?? 30_000);
      const j = judge(input, i, outcome);
      if (!o.keep) rmSync(dir, { recursive: true, force: true });
      s.tried++;
      const key = outcome.threw !== null ? 'threw' : outcome.code === null ? 'none' : String(outcome.code);
      s.exits[key] = (s.exits[key] ?? 0) + 1;
      if (outcome.threw !== null) s.threw++;
      if (outcome.timedOut) s.timedOut.push(j);
      if (j.crash) s.crashes.push(j);
      if (j.multiLine) s.multiLine.push(j);
      if (j.damagedAccepted) s.damagedAccepted.push(j);
      if (j.helpIgnored) s.helpIgnored.push(j);
      const cmd = j.label.split('/')[0]!;
      s.byLabel[cmd] = (s.byLabel[cmd] ?? 0) + 1;
      o.onResult?.(j);
    }
  } finally {
    current = null;
    try {
      process.chdir(cwd);
    } catch {
      // as above
    }
    // a worker's late event lands after its input returned: give it a moment to be counted
    await new Promise((r) => setTimeout(r, 50));
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
  s.ms = performance.now() - t0;
  return s;
}

/** argv for display: long words shortened, as JSON strings. */
export function showArgv(argv: string[]): string {
  return argv.map((a) => (a.length > 120 ? JSON.stringify(`${a.slice(0, 60)}…(${a.length} chars)`) : /^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function groups(list: Judged[], key: (j: Judged) => string): Array<{ sig: string; n: number; first: Judged }> {
  const m = new Map<string, { sig: string; n: number; first: Judged }>();
  for (const j of list) {
    const k = key(j);
    const g = m.get(k);
    if (g) g.n++;
    else m.set(k, { sig: k, n: 1, first: j });
  }
  return [...m.values()].sort((a, b) => b.n - a.n);
}

/** The figures, and each distinct signature with a command line that reproduces it. */
export function report(s: Summary): string {
  const e = (k: string) => s.exits[k] ?? 0;
  const lines = [
    `gmemsim fuzz: seed ${s.seed}, ${s.tried} inputs tried in ${(s.ms / 1000).toFixed(1)} s`,
    `  exit 0: ${e('0')}   exit 1: ${e('1')}   exit 2: ${e('2')}   exit 3: ${e('3')}   other exit codes: ${s.tried - e('0') - e('1') - e('2') - e('3') - e('threw') - e('none')}   main threw: ${s.threw}   timed out: ${s.timedOut.length}`,
    `  crashes: ${s.crashes.length}   multi-line messages (exit 2, not one line on stderr): ${s.multiLine.length}   damaged tokens not refused: ${s.damagedAccepted.length}   -h/--help not honoured: ${s.helpIgnored.length}   uncaught: ${s.uncaught.length}`,
    `  inputs by command: ${Object.entries(s.byLabel).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ')}`,
  ];
  const section = (title: string, list: Judged[], key: (j: Judged) => string) => {
    if (!list.length) return;
    const g = groups(list, key);
    lines.push('', `${title} (${g.length} distinct):`);
    for (const { sig, n, first } of g) {
      lines.push(`  [${n}] ${sig}`, `      argv: ${showArgv(first.argv)}`, `      repro: npm run fuzz -- --seed ${s.seed} --only ${first.index} --keep`);
    }
  };
  section('crash signatures', s.crashes, (j) => j.crash!);
  section('multi-line messages', s.multiLine, (j) => j.multiLine!);
  section('damaged tokens not refused as damaged', s.damagedAccepted, (j) => `exit ${String(j.outcome.code)}: ${fold(j.outcome.err.split('\n')[0] || j.outcome.out.split('\n')[0] || '')}`);
  section('-h/--help not honoured', s.helpIgnored, (j) => `exit ${String(j.outcome.code)}: ${fold(j.outcome.err.split('\n')[0] ?? '')}`);
  section('timed out (slow, not counted as crashes)', s.timedOut, (j) => j.label);
  if (s.uncaught.length) {
    lines.push('', 'uncaught exceptions / unhandled rejections:');
    for (const u of s.uncaught) lines.push(`  input ${u.index}: ${u.error}`, `      argv: ${showArgv(u.argv)}`);
  }
  return lines.join('\n');
}
