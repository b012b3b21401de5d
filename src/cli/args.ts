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
}

export type Parsed = { positionals: string[]; opts: Record<string, string | number | boolean | undefined> };

export function parseArgs(cmd: string, argv: string[], specs: readonly OptSpec[], maxPositionals: number): Parsed {
  const opts: Parsed['opts'] = {};
  for (const s of specs) if (s.default !== undefined) opts[s.name] = s.default;
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      if (arg === '--') continue;
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
      opts[name] = true;
      continue;
    }
    let raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (raw === undefined || (eq < 0 && raw.startsWith('--'))) throw new UsageError(`gmemsim ${cmd}: --${name} needs a value (${describe(spec)})`);
    opts[name] = convert(cmd, spec, raw);
  }
  if (positionals.length > maxPositionals) {
    throw new UsageError(`gmemsim ${cmd}: unexpected argument "${positionals[maxPositionals]}" (see gmemsim ${cmd} --help)`);
  }
  return { positionals, opts };
}

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
    return `${left.padEnd(28)} ${s.help}${def}`;
  });
  return `${usage}\n\n${summary}\n\nOptions:\n${rows.join('\n')}\n  --help                     show this help\n${extra ? `\n${extra}\n` : ''}`;
}
