// The gmemsim command: dispatch, top-level help, and the exit-code contract: 0 clean, 1 violation
// found, 2 bad input (one line on stderr naming the field or file), 3 internal error (one line;
// --debug, anywhere on the command line, prints the stack). A crash is never a finding.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { INVARIANT_IDS, describeInvariant } from '../check/invariants.js';
import { BUILTIN_SCENARIOS } from '../scenario/builtins.js';
import { ScenarioError } from '../scenario/schema.js';
import type { Io } from './common.js';
import { EXPLORE_HELP, EXPLORE_OPTS, exploreCommand } from './explore.js';
import { REPLAY_HELP, REPLAY_OPTS, replayCommand } from './replay.js';
import { MERGE_HELP, MERGE_OPTS, mergeCommand } from './merge.js';
import { OUTCOMES_HELP, OUTCOMES_OPTS, outcomesCommand } from './outcomes.js';
import { RUN_HELP, RUN_OPTS, runCommand } from './run.js';
import { VARIANTS_HELP, variantsCommand } from './variants.js';
import { SCENARIOS_HELP, scenariosCommand } from './scenarios.js';
import { UsageError, wantsHelp, type OptSpec } from './args.js';

const COMMAND_HELP: Record<string, string> = {
  run: RUN_HELP,
  explore: EXPLORE_HELP,
  replay: REPLAY_HELP,
  merge: MERGE_HELP,
  outcomes: OUTCOMES_HELP,
  variants: VARIANTS_HELP,
  scenarios: SCENARIOS_HELP,
};

/** Each command's options, so that -h as an option's value (--save -h) is not taken for help. */
const COMMAND_OPTS: Record<string, readonly OptSpec[]> = { run: RUN_OPTS, explore: EXPLORE_OPTS, replay: REPLAY_OPTS, merge: MERGE_OPTS, outcomes: OUTCOMES_OPTS };

const HELP = `usage: gmemsim <command> [options]

A simulator of Linux KVM guest_memfd memory: the page cache, private/shared conversion, and
the fault/invalidation protocol (mmu_lock, mmu_invalidate_seq, in_progress, range) that keeps
vCPU faults safe while memory is converted, punched, re-allocated and re-bound.

Commands:
  run        run a scenario on worker threads (or --engine sim) and print a report
  explore    search many deterministic schedules for an invariant violation
  replay     reproduce a violation from its token or replay file, on the sim engine or on threads
  merge      combine the shards of an explore campaign (--shard I/N)
  outcomes   a graded outcome table for a litmus scenario: dfs (exact) beside threads (observed)
  variants   list the bug-injection variants (kernel checks removed or reordered)
  scenarios  list the built-in scenarios

Invariants checked:
${INVARIANT_IDS.map((k) => `  ${k.padEnd(11)}${describeInvariant(k)}`).join('\n')}

Built-in scenarios: ${Object.keys(BUILTIN_SCENARIOS).join(', ')} (or a JSON file: see README)
Exit status: 0 no violation, 1 violation found, 2 bad input, 3 internal error (a bug in
gmemsim: the message is one line; add --debug to any command to print the stack).
Options for every command: -h/--help, --debug. "gmemsim --version" prints the version.
Run "gmemsim <command> --help" for a command's options.
`;

export const EXIT = { OK: 0, VIOLATION: 1, USAGE: 2, INTERNAL: 3 } as const;

export async function main(argvIn: string[], io: Io): Promise<number> {
  // --debug is global; after "--" it is an argument like any other
  const end = argvIn.indexOf('--');
  const head = end < 0 ? argvIn : argvIn.slice(0, end);
  const debug = head.includes('--debug');
  const argv = debug ? [...head.filter((a) => a !== '--debug'), ...(end < 0 ? [] : argvIn.slice(end))] : argvIn;
  const [cmd, ...rest] = argv;
  try {
    if (cmd !== undefined && COMMAND_HELP[cmd] && wantsHelp(rest, COMMAND_OPTS[cmd])) {
      io.out(COMMAND_HELP[cmd]);
      return EXIT.OK;
    }
    // gmemsim -h explore: the command's help, as gmemsim help explore
    if ((cmd === '-h' || cmd === '--help') && rest.length) return await dispatch('help', rest, io);
    const code = await dispatch(cmd, rest, io);
    // interrupted (bin stores the signal's number in the stop word): the shell's 128 + signal
    const sig = io.stop ? Atomics.load(io.stop, 0) : 0;
    return sig > 0 && sig < 64 ? 128 + sig : code;
  } catch (e) {
    if (e instanceof UsageError || e instanceof ScenarioError) {
      io.err(oneLine(e.message));
      return EXIT.USAGE;
    }
    return internalError(e, debug, io);
  }
}

async function dispatch(cmd: string | undefined, rest: string[], io: Io): Promise<number> {
  {
    switch (cmd) {
      case undefined:
        throw new UsageError(`gmemsim: a command is required (${Object.keys(COMMAND_HELP).join(', ')}); see gmemsim --help`);
      case '--help':
      case '-h':
      case 'help':
        if (cmd === 'help' && rest[0] !== undefined) {
          if (!COMMAND_HELP[rest[0]]) throw new UsageError(`gmemsim help: unknown command "${rest[0]}" (commands: ${Object.keys(COMMAND_HELP).join(', ')})`);
          io.out(COMMAND_HELP[rest[0]]);
          return EXIT.OK;
        }
        io.out(HELP);
        return 0;
      case '--version':
      case '-V':
        if (rest.length) throw new UsageError(`gmemsim --version takes no arguments (got "${rest[0]}")`);
        io.out(packageVersion());
        return 0;
      case 'run':
        return await runCommand(rest, io);
      case 'explore':
        return await exploreCommand(rest, io);
      case 'replay':
        return await replayCommand(rest, io);
      case 'merge':
        return await mergeCommand(rest, io);
      case 'outcomes':
        return await outcomesCommand(rest, io);
      case 'variants':
        return variantsCommand(rest, io);
      case 'scenarios':
        return scenariosCommand(rest, io);
      default:
        throw new UsageError(`gmemsim: unknown command "${cmd}" (commands: run, explore, replay, merge, outcomes, variants, scenarios; see gmemsim --help)`);
    }
  }
}

const oneLine = (s: string) => s.replace(/\s*[\r\n]+\s*/g, ' ').trim();

/** Anything else is a bug in gmemsim, not a finding: one line (the stack with --debug), exit 3. */
export function internalError(e: unknown, debug: boolean, io: Io): number {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const cut = oneLine(msg).slice(0, 300);
  io.err(`gmemsim: internal error: ${cut} (a bug in gmemsim, not a finding; ${debug ? 'the stack follows' : 'rerun with --debug for the stack'})`);
  if (debug && e instanceof Error && e.stack) io.err(e.stack);
  return EXIT.INTERNAL;
}

/** The version in gmemsim's package.json (found upward from this file: src/ or dist/src/). */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gmemsim') return pkg.version ?? 'unknown';
    }
  }
  return 'unknown';
}
