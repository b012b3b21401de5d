// Options and helpers shared by the commands.
import { accessSync, closeSync, constants, existsSync, lstatSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { INVARIANT_IDS, type InvariantId } from '../check/invariants.js';
import { BUILTIN_SCENARIOS, SCALABLE_SCENARIOS } from '../scenario/builtins.js';
import { loadScenario, validateScenario } from '../scenario/schema.js';
import { KERNEL_BASELINES, NEWEST_KERNEL, type Scenario } from '../scenario/types.js';
import { findVariant, VARIANTS, type VariantInfo } from '../variants.js';
import { UsageError, type OptSpec } from './args.js';
import { STOP_ABORTED, newStopWord } from '../engine/budget.js';

export const SCENARIO_OPT: OptSpec = {
  name: 'scenario',
  kind: 'string',
  value: 'NAME|FILE',
  help: `built-in scenario (${Object.keys(BUILTIN_SCENARIOS).join(', ')}) or a JSON file`,
  default: 'default',
};
export const SEED_OPT: OptSpec = { name: 'seed', kind: 'int', min: 0, max: 4294967295, value: 'N', help: 'seed of every random choice', default: 1 };
export const VARIANT_OPT: OptSpec = {
  name: 'variant',
  kind: 'string',
  value: 'ID|NAME',
  help: 'inject a kernel bug from the catalogue (see gmemsim variants)',
};
export const INVARIANTS_OPT: OptSpec = {
  name: 'invariants',
  kind: 'string',
  value: 'LIST',
  help: `check only these, comma-separated (${INVARIANT_IDS.join(',')}); or all but some: -LOCK_ORDER,-I7; default all`,
};
export const SCALE_OPT: OptSpec = {
  name: 'scale',
  kind: 'number',
  min: 0.000001,
  max: 1,
  value: 'F',
  help: `size of a scalable built-in (${Object.keys(SCALABLE_SCENARIOS).join(', ')}) as a fraction of its full size (default 1)`,
};
export const MMU_LOCK_OPT: OptSpec = {
  name: 'mmu-lock',
  kind: 'string',
  choices: ['rwlock', 'percpu'],
  value: 'rwlock|percpu',
  help: "how mmu_lock is built: the kernel's one reader/writer lock (default: the scenario's, normally rwlock), or a big-reader lock with a slot per actor (no shared cache line on the read side)",
};
export const KERNEL_OPT: OptSpec = {
  name: 'kernel',
  kind: 'string',
  choices: KERNEL_BASELINES,
  value: KERNEL_BASELINES.join('|'),
  help: `the kernel release modelled (default: the scenario's, normally the newest, ${NEWEST_KERNEL}); printed in every report and carried by tokens`,
};
export const VCPU_GFNS_OPT: OptSpec = {
  name: 'vcpu-gfns',
  kind: 'string',
  choices: ['own', 'shared'],
  value: 'own|shared',
  help: "own: each vCPU faults on its own slice of the gfns (data checked against its writes); shared: every vCPU on every gfn (default: the scenario's, normally own)",
};
export const REPORT_OPT: OptSpec = {
  name: 'report',
  kind: 'string',
  value: 'FILE.html',
  help:
    "also write an HTML report: one self-contained page (Chart.js inlined: viewing it needs no network) with the result, a violation's replay token, and charts. " +
    "run and explore: retries per faulting access, fault outcomes, invalidation window lengths, mmu_lock wait/hold (threads), memory per NUMA node (a NUMA scenario), a finding's shrunk steps with the invalidation state; " +
    'outcomes: the outcome table, dfs (exact) beside threads (observed)',
};
export const JSON_OPT: OptSpec = { name: 'json', kind: 'bool', help: 'print one JSON document instead of the report' };

/** --variant, else the scenario's own `variant`, else none. */
export function variantFor(cmd: string, v: unknown, sc: Scenario): VariantInfo | null {
  return v !== undefined ? resolveVariant(cmd, v) : sc.variant ? (findVariant(sc.variant) ?? null) : null;
}

export function resolveVariant(cmd: string, v: unknown): VariantInfo | null {
  if (v === undefined) return null;
  const found = findVariant(String(v));
  if (!found) {
    throw new UsageError(`gmemsim ${cmd}: --variant "${v}" is not in the catalogue (one of ${VARIANTS.map((x) => `${x.id}/${x.name}`).join(', ')})`);
  }
  return found;
}

/** --invariants: a list of ids, or all but some (every entry prefixed with -). */
export function resolveInvariants(cmd: string, v: unknown): InvariantId[] | null {
  if (v === undefined) return null;
  const entries = String(v).split(',').map((x) => x.trim().toUpperCase()).filter(Boolean);
  const negated = entries.filter((x) => x.startsWith('-'));
  if (negated.length > 0 && negated.length < entries.length) {
    throw new UsageError(`gmemsim ${cmd}: --invariants is either a list of ids (I1,I2) or all but some (-LOCK_ORDER,-I7), not both`);
  }
  const ids = entries.map((x) => x.replace(/^-/, ''));
  for (const id of ids) {
    if (!(INVARIANT_IDS as string[]).includes(id)) {
      throw new UsageError(`gmemsim ${cmd}: --invariants: "${id}" is not an invariant (one of ${INVARIANT_IDS.join(', ')})`);
    }
  }
  if (ids.length === 0) throw new UsageError(`gmemsim ${cmd}: --invariants needs at least one id (${INVARIANT_IDS.join(', ')})`);
  const chosen = negated.length ? INVARIANT_IDS.filter((id) => !ids.includes(id)) : (ids as InvariantId[]);
  if (chosen.length === 0) throw new UsageError(`gmemsim ${cmd}: --invariants leaves nothing to check`);
  return chosen;
}

/** The report header's scenario: its name, kernel, and the guest_memfd's flags when it has any. */
export const scenarioLabel = (sc: Scenario) => `"${sc.name}" (kernel ${sc.kernel}${sc.gmemFlags?.length ? `, guest_memfd ${sc.gmemFlags.join('|')}${sc.gmemFlags.includes('mmap') ? ': gmem-only memslots' : ''}` : ''})`;
export const variantLabel = (v: VariantInfo | null) => (v ? `${v.id} (${v.name})` : 'none (correct model)');

export const PROGRESS_OPT: OptSpec = {
  name: 'progress',
  kind: 'string',
  choices: ['auto', 'live', 'lines', 'json', 'off'],
  value: 'auto|live|lines|json|off',
  help: 'progress on stderr: live (one line redrawn), lines (a line every 5 s), json (a JSON object per line every 5 s), off; auto: live on a terminal, lines otherwise',
  default: 'auto',
};

/** Milliseconds between progress lines when stderr is not a terminal (GMEMSIM_PROGRESS_MS overrides it: tests). */
const LINE_EVERY_MS = Number(process.env.GMEMSIM_PROGRESS_MS ?? 5000);

export interface Progress {
  /** text for people; fields for --progress json */
  update: (text: string, fields: Record<string, unknown>) => void;
  done: () => void;
}

/** Progress on stderr as --progress asks (auto: a live line on a terminal, a line every 5 s elsewhere). */
export function progressFor(cmd: string, io: Io, mode: unknown, everyMs = LINE_EVERY_MS): Progress {
  const m = mode === undefined || mode === 'auto' ? (io.isTTY === true ? 'live' : io.isTTY === false ? 'lines' : 'off') : String(mode);
  let shown = false;
  let last = everyMs === 0 ? -1 : Date.now();
  return {
    update(text, fields) {
      if (m === 'off') return;
      if (m === 'live') {
        (io.raw ?? io.err)(`\r\x1b[2Kgmemsim ${cmd}: ${text.trim()}`);
        shown = true;
        return;
      }
      const now = Date.now();
      if (now - last < everyMs) return;
      last = now;
      io.err(m === 'json' ? JSON.stringify({ progress: cmd, ...fields }) : `gmemsim ${cmd}: ${text.trim()}`);
    },
    done() {
      if (m === 'live' && shown) (io.raw ?? io.err)('\r\x1b[2K');
    },
  };
}

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** stderr without a newline added (a live progress line); absent: no live line */
  raw?: (s: string) => void;
  /** stderr is a terminal (true), a file or pipe (false), or not known (in-process callers: no progress by default) */
  isTTY?: boolean;
  /** the stop word (engine/budget.ts) a signal handler on another thread sets: the command stops and reports what it has */
  stop?: Int32Array;
  /** a scenario object instead of --scenario NAME|FILE (the library API) */
  scenario?: unknown;
  /** the environment (explore --shard auto reads it); default process.env */
  env?: Readonly<Record<string, string | undefined>>;
}

/** --scenario plus --scale: a built-in, a file, or a scalable built-in at a size; then --mmu-lock and --vcpu-gfns. */
export function scenarioFrom(cmd: string, opts: Record<string, unknown>, object?: unknown): Scenario {
  const name = String(opts.scenario);
  let sc: Scenario;
  if (object !== undefined) {
    // the library's callers may hand a scenario object (validated as a file would be: over the default)
    if (opts.scale !== undefined) throw new UsageError(`gmemsim ${cmd}: scale applies to a scalable built-in named by scenario, not to a scenario object`);
    sc = validateScenario(object);
  } else if (opts.scale === undefined) sc = loadScenario(name);
  else {
    const make = SCALABLE_SCENARIOS[name];
    if (!make) throw new UsageError(`gmemsim ${cmd}: --scale applies to a scalable built-in (${Object.keys(SCALABLE_SCENARIOS).join(', ')}), not to "${name}"`);
    sc = make(Number(opts.scale));
  }
  if (opts['mmu-lock'] !== undefined) sc = validateScenario({ mmuLock: opts['mmu-lock'] }, sc);
  if (opts.kernel !== undefined) sc = validateScenario({ kernel: opts.kernel }, sc);
  if (opts['vcpu-gfns'] !== undefined) sc = validateScenario({ vcpus: { gfns: opts['vcpu-gfns'] } }, sc);
  return sc;
}

/** --vcpus N: the scenario with N vCPUs (validated: each needs a page of its own). */
export function withVcpus(sc: Scenario, n: unknown): Scenario {
  return n === undefined ? sc : validateScenario({ vcpus: { count: Number(n) } }, sc);
}

/**
 * An output file option (--save, --trace, --report) checked before any work starts, so a long
 * search never ends in ENOENT with its result lost: the directory must exist and be writable,
 * and the path must not be a directory.
 */
export function checkOutputPath(cmd: string, option: string, path: unknown): string | null {
  if (path === undefined) return null;
  const p = String(path);
  const bad = (why: string) => new UsageError(`gmemsim ${cmd}: ${option} ${p}: ${why}`);
  const dir = dirname(resolve(p));
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw bad(`the directory ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw bad(`${dir} is not a directory`);
  // lstat first: a dangling symbolic link would have its target created (and the link removed below)
  const link = lstatOrNull(p);
  const target = link?.isSymbolicLink() ? statOrNull(p) : link;
  if (link?.isSymbolicLink() && !target) throw bad('a symbolic link to a file that does not exist; give the target itself');
  if (target?.isDirectory()) throw new UsageError(`gmemsim ${cmd}: ${option} ${p} is a directory; give a file name`);
  if (target && !target.isFile() && !target.isCharacterDevice() && !target.isFIFO()) throw new UsageError(`gmemsim ${cmd}: ${option} ${p} is not a regular file (a socket or block device?); give a file name`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    if (!target) throw bad(`the directory ${dir} is not writable`);
  }
  // access() can say yes where no file can be made (/proc, as root): open it to be sure, and leave
  // nothing behind. O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO) instead of hanging here.
  try {
    closeSync(openSync(p, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw bad(code === 'ENXIO' ? 'a FIFO with no reader' : `cannot write a file there (${code ?? 'error'})`);
  }
  if (!target) rmSync(p, { force: true });
  return p;
}

function lstatOrNull(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

function statOrNull(p: string) {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

/** An output file could not be written after the run (a full disk, a path removed meanwhile): bad input, not a bug. */
export class OutputError extends UsageError {}

/** An output: the option that named it, its path (null: not asked for), and its contents, made only when needed. */
export type Output = [option: string, path: string | null, data: () => string];

/**
 * Write the output files checked by checkOutputPath. Commands print their report first, so a write
 * that fails (ENOSPC) loses nothing: the token is on stdout. Every file is tried; the failures
 * make one line, and exit 2.
 */
export function writeOutputs(cmd: string, outputs: Output[]): void {
  const failed: string[] = [];
  for (const [option, path, data] of outputs) {
    if (!path) continue;
    try {
      writeFileSync(path, data());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!code) throw e;
      failed.push(`${option} ${path}: could not write it (${code})`);
    }
  }
  if (failed.length) throw new OutputError(`gmemsim ${cmd}: ${failed.join('; ')}; the report above has the results`);
}

/** The command's stop word: the one the caller shares (bin: set by SIGINT/SIGTERM), else a private one nobody sets. */
export const stopWordOf = (io: Io): Int32Array => io.stop ?? newStopWord();

/** The signal behind a set stop word (bin stores the signal number), for reports. */
export function stopSignalName(stop: Int32Array): string | null {
  const n = Atomics.load(stop, 0);
  return n === 0 ? null : n === 2 ? 'SIGINT' : n === 15 ? 'SIGTERM' : n === STOP_ABORTED ? 'the AbortSignal' : `signal ${n}`;
}

/** An AbortSignal that fires when the stop word is set (async engines: the threads run). */
export function abortOnStop(stop: Int32Array): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  const timer = setInterval(() => {
    if (Atomics.load(stop, 0) !== 0) ac.abort();
  }, 25);
  return { signal: ac.signal, dispose: () => clearInterval(timer) };
}
