// A small, strict option parser: every option is declared with its type and range, and bad
// input becomes one UsageError line naming the option and what is allowed (exit code 2).

export class UsageError extends Error {}

export interface OptSpec {
  name: string; // without the leading --
  kind: 'int' | 'number' | 'string' | 'bool';
  min?: number;
  max?: number;
  choices?: readonly string[];
  value?: string; // placeholder in --help, e.g. MS
  help: string;
  default?: string | number | boolean;
  /** the option applies only when another option has one of these values (e.g. --jitter with --engine threads) */
  only?: { opt: string; values: readonly string[] };
  /** options it cannot be given with (e.g. --duration and --ops) */
  conflicts?: readonly string[];
}

export type Parsed = {
  positionals: string[];
  opts: Record<string, string | number | boolean | undefined>;
  /** the options the command line gave (not defaults) */
  given: ReadonlySet<string>;
};

/**
 * -h or --help in an option's place before any "--": the command's help, whatever else is on the
 * line. The value of an option that takes one is not an option (--save -h names a file "-h").
 */
export function wantsHelp(argv: readonly string[], specs: readonly OptSpec[] = []): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return false;
    if (a === '-h' || a === '--help') return true;
    if (a.startsWith('--') && !a.includes('=')) {
      const spec = specs.find((s) => s.name === a.slice(2));
      if (spec && spec.kind !== 'bool') i++;
    }
  }
  return false;
}

export function parseArgs(cmd: string, argv: string[], specs: readonly OptSpec[], maxPositionals: number): Parsed {
  const opts: Parsed['opts'] = {};
  for (const s of specs) if (s.default !== undefined) opts[s.name] = s.default;
  const positionals: string[] = [];
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1)); // "--" ends the options
      break;
    }
    if (!arg.startsWith('--')) {
      if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) throw new UsageError(`gmemsim ${cmd}: unknown option ${arg} (see gmemsim ${cmd} --help)`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new UsageError(`gmemsim ${cmd}: unknown option --${name} (options: ${specs.map((s) => `--${s.name}`).join(', ')})`);
    if (spec.kind === 'bool') {
      if (eq >= 0) throw new UsageError(`gmemsim ${cmd}: --${name} takes no value`);
      if (given.has(name)) throw new UsageError(`gmemsim ${cmd}: --${name} is given twice; give it once`);
      given.set(name, 'true');
      opts[name] = true;
      continue;
    }
    const raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--'))) throw new UsageError(`gmemsim ${cmd}: --${name} needs a value (${describe(spec)})`);
    const prev = given.get(name);
    if (prev !== undefined) throw new UsageError(`gmemsim ${cmd}: --${name} is given twice (${short(prev)}, then ${short(raw)}); give it once`);
    given.set(name, raw);
    opts[name] = convert(cmd, spec, raw);
  }
  for (const spec of specs) {
    if (!given.has(spec.name)) continue;
    for (const other of spec.conflicts ?? []) {
      if (given.has(other)) throw new UsageError(`gmemsim ${cmd}: --${spec.name} and --${other} cannot be given together; choose one`);
    }
    const only = spec.only;
    if (only && !only.values.includes(String(opts[only.opt]))) {
      const want = only.values.length === 1 ? `--${only.opt} ${only.values[0]}` : `--${only.opt} ${only.values.join(' or ')}`;
      throw new UsageError(`gmemsim ${cmd}: --${spec.name} applies only with ${want} (this is --${only.opt} ${String(opts[only.opt])})`);
    }
  }
  if (positionals.length > maxPositionals) {
    throw new UsageError(`gmemsim ${cmd}: unexpected argument "${positionals[maxPositionals]}" (see gmemsim ${cmd} --help)`);
  }
  return { positionals, opts, given: new Set(given.keys()) };
}

const short = (v: string) => JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);

function describe(s: OptSpec): string {
  if (s.choices) return `one of ${s.choices.join(', ')}`;
  if (s.kind === 'int' || s.kind === 'number') {
    const what = s.kind === 'int' ? 'an integer' : 'a number';
    if (s.min !== undefined && s.max !== undefined) return `${what} from ${s.min} to ${s.max}`;
    if (s.min !== undefined) return `${what} >= ${s.min}`;
    return what;
  }
  return `a ${s.value ?? 'value'}`;
}

function convert(cmd: string, s: OptSpec, raw: string): string | number {
  const bad = () => new UsageError(`gmemsim ${cmd}: --${s.name} must be ${describe(s)} (got "${raw}")`);
  if (s.kind === 'string') {
    if (s.choices && !s.choices.includes(raw)) throw bad();
    if (raw === '') throw bad();
    return raw;
  }
  if (!/^-?\d+(\.\d+)?$/.test(raw.trim())) throw bad();
  const n = Number(raw);
  if (!Number.isFinite(n) || (s.kind === 'int' && !Number.isSafeInteger(n))) throw bad();
  if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) throw bad();
  return n;
}

export function helpText(usage: string, summary: string, specs: readonly OptSpec[], extra = ''): string {
  const rows = specs.map((s) => {
    const left = `  --${s.name}${s.kind === 'bool' ? '' : ` ${s.value ?? (s.kind === 'int' ? 'N' : 'VALUE')}`}`;
    const def = s.default !== undefined && s.kind !== 'bool' ? ` (default ${s.default})` : '';
    const only = s.only ? ` [only with --${s.only.opt} ${s.only.values.join('|')}]` : '';
    const conflicts = s.conflicts?.length ? ` [not with ${s.conflicts.map((c) => `--${c}`).join(', ')}]` : '';
    return `${left.padEnd(28)} ${s.help}${def}${only}${conflicts}`;
  });
  const common = ['  -h, --help                 show this help', '  --debug                    on an internal error (exit 3), print its stack', '  --                         end of options'];
  return `${usage}\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n${common.join('\n')}\n${extra ? `\n${extra}\n` : ''}`;
}
