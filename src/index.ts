// The library: gmemsim's commands as functions. Each takes its command's options (camelCase names
// of the CLI's flags) and returns what `--json` prints. The options go through the command's own
// option table, so the defaults, the checks and the errors are the CLI's, by construction.
import { main } from './cli/main.js';
import type { Io } from './cli/common.js';
import { STOP_ABORTED, newStopWord } from './engine/budget.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from './scenario/builtins.js';
import { validateScenario } from './scenario/schema.js';
import type { Scenario } from './scenario/types.js';
import { VARIANTS, type VariantInfo } from './variants.js';
import { INVARIANT_IDS, describeInvariant, type InvariantId } from './check/invariants.js';

export { validateScenario, ScenarioError } from './scenario/schema.js';
export type { Scenario } from './scenario/types.js';
export type { VariantInfo, VariantId } from './variants.js';
export type { InvariantId } from './check/invariants.js';

/** Bad input (the CLI's exit 2), or a bug in gmemsim (exit 3): `kind` says which; the message is the CLI's one line. */
export class GmemsimError extends Error {
  constructor(
    message: string,
    readonly kind: 'input' | 'internal',
  ) {
    super(message);
    this.name = 'GmemsimError';
  }
}

/** A scenario given in part: every field, at any depth, may be left out (the default's is used). */
export type DeepPartial<T> = T extends readonly (infer U)[] ? readonly DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** What every command that runs a scenario shares. */
export interface ScenarioOptions {
  /** a built-in's name, a JSON file's path, or a scenario object (validated over the default, as a file is) */
  scenario?: string | DeepPartial<Scenario>;
  seed?: number;
  /** a variant id or name from variants() */
  variant?: string;
  /** the invariants to check: ids, or all but some (['-LOCK_ORDER']) */
  invariants?: readonly string[];
  /** the kernel release modelled (default the scenario's: the newest) */
  kernel?: '6.12' | '6.18' | '7.0' | 'next';
  /**
   * Stops a threads run (and a campaign between its checks) when aborted. The sim engine runs on
   * the calling thread: abort it from another thread, or bound it with `time`/`duration`.
   */
  signal?: AbortSignal;
}

/** run and explore: a scalable built-in's size and the model's knobs too. */
export interface CommonOptions extends ScenarioOptions {
  /** a scalable built-in at this fraction of its size */
  scale?: number;
  mmuLock?: 'rwlock' | 'percpu';
  vcpuGfns?: 'own' | 'shared';
}

export interface ExploreOptions extends CommonOptions {
  schedules?: number;
  time?: number;
  workers?: number;
  strategy?: 'portfolio' | 'random' | 'pct' | 'dfs';
  preemptions?: number;
  depth?: number;
  /** minimise a violating schedule (default true, as the CLI) */
  shrink?: boolean;
  /** "I/N" */
  shard?: string;
  /** write the violation's replay file here */
  save?: string;
  /** write the violation's Chrome trace here */
  trace?: string;
  /** write the HTML report (charts) here */
  report?: string;
}

export interface RunOptions extends CommonOptions {
  engine?: 'threads' | 'sim';
  duration?: number;
  ops?: number;
  vcpus?: number;
  jitter?: number;
  pauseMs?: number;
  sweepEvery?: number;
  watchdog?: number;
  /** write the HTML report (charts) here */
  report?: string;
}

export interface OutcomesOptions extends ScenarioOptions {
  preemptions?: number;
  schedules?: number;
  duration?: number;
  /** write the HTML report (charts) here */
  report?: string;
}

export interface ReplayOptions {
  engine?: 'sim' | 'threads';
  trace?: string;
  signal?: AbortSignal;
}

/** A violation as the JSON reports give it. */
export interface ViolationJson {
  invariant: InvariantId;
  message: string;
  /** a replay token: replay(token) reproduces it */
  replay?: string | null;
  step?: number;
  schedule?: number;
  traceHash?: string;
  [more: string]: unknown;
}

/** What a command's --json prints: `ok` (no violation) and the violations, with the rest of the report. */
export interface Report {
  ok: boolean;
  violations: ViolationJson[];
  [more: string]: unknown;
}

const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** An options object as the command line the CLI parses (undefined: not given). */
function argvOf(o: Record<string, unknown>, skip: readonly string[]): string[] {
  const argv: string[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || skip.includes(k)) continue;
    if (k === 'shrink') {
      if (v === false) argv.push('--no-shrink');
      else if (v !== true) throw new GmemsimError(`shrink must be true or false (got ${JSON.stringify(v)})`, 'input');
      continue;
    }
    if (typeof v === 'boolean') throw new GmemsimError(`${k} must not be a boolean`, 'input');
    argv.push(`--${kebab(k)}`, Array.isArray(v) ? v.join(',') : String(v));
  }
  return argv;
}

async function call(cmd: string, positionals: string[], o: Record<string, unknown>): Promise<Report> {
  const out: string[] = [];
  const err: string[] = [];
  const stop = newStopWord();
  const signal = o.signal as AbortSignal | undefined;
  const onAbort = () => Atomics.store(stop, 0, STOP_ABORTED);
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort);
  const scenario = o.scenario !== undefined && typeof o.scenario !== 'string' ? o.scenario : undefined;
  const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s), stop, scenario };
  let code: number;
  try {
    // options first, then "--": a token or file name is never read as an option
    code = await main([cmd, ...argvOf(o, ['signal', ...(scenario ? ['scenario'] : [])]), '--json', '--', ...positionals], io);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (code === 2) throw new GmemsimError(err.join(' ').trim(), 'input');
  if (code === 3 || out.length === 0) throw new GmemsimError(err.join(' ').trim() || `gmemsim ${cmd}: no result`, 'internal');
  return JSON.parse(out.join('')) as Report;
}

/** gmemsim explore: many deterministic schedules searched for a violation (default: 1,000 schedules, portfolio). */
export const explore = (o: ExploreOptions = {}): Promise<Report> => call('explore', [], { ...o });

/** gmemsim run: a run on worker threads (default, 3 s) or on the sim engine. */
export const run = (o: RunOptions = {}): Promise<Report> => call('run', [], { ...o });

/** gmemsim outcomes: the graded outcome table of a litmus scenario (default litmus-punch). */
export const outcomes = (o: OutcomesOptions = {}): Promise<Report> => call('outcomes', [], { ...o });

/** gmemsim replay: reproduce a token or a replay file's schedule; `reproduced` says whether the trace hash matched. */
export const replay = (tokenOrFile: string, o: ReplayOptions = {}): Promise<Report> => call('replay', [tokenOrFile], { ...o });

/** The built-in scenarios (copies: change them freely and pass one as `scenario`). */
export function scenarios(): Scenario[] {
  return Object.values(BUILTIN_SCENARIOS).map((s) => structuredClone(s));
}

/** The default scenario (a copy), a starting point for one of your own. */
export const defaultScenario = (): Scenario => structuredClone(DEFAULT_SCENARIO);

/** The bug-injection catalogue. */
export const variants = (): VariantInfo[] => VARIANTS.map((v) => ({ ...v, alsoBreaks: [...v.alsoBreaks] }));

/** The invariants, with what each states. */
export const invariants = (): Array<{ id: InvariantId; description: string }> => INVARIANT_IDS.map((id) => ({ id, description: describeInvariant(id) }));

/** Check a scenario object without running it: the validated scenario, or a thrown ScenarioError naming the field. */
export const checkScenario = (input: unknown): Scenario => validateScenario(input);
