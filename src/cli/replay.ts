// gmemsim replay TOKEN: re-run one recorded schedule, on the sim engine or on worker threads.
import { describeInvariant } from '../check/invariants.js';
import { runSim } from '../engine/sim.js';
import { replayThreads } from '../engine/threads.js';
import { existsSync, readFileSync } from 'node:fs';
import { chromeTrace } from '../report/chrome_trace.js';
import { TOKEN_PREFIX, decodeToken, parseReplayFile, replayRun, type ReplaySpec } from '../explore/token.js';
import { violationText } from '../report/text.js';
import { VARIANTS } from '../variants.js';
import { UsageError, helpText, parseArgs, type OptSpec } from './args.js';
import { JSON_OPT, checkOutputPath, stopSignalName, stopWordOf, scenarioLabel, variantLabel, writeOutputs, type Io } from './common.js';

export const REPLAY_OPTS: OptSpec[] = [
  { name: 'engine', kind: 'string', choices: ['sim', 'threads'], value: 'sim|threads', help: 'sim: one thread; threads: real worker threads follow the schedule through a turn word in the shared state', default: 'sim' },
  { name: 'trace', kind: 'string', value: 'FILE', help: 'write the schedule as Chrome Trace Event JSON (open it in Perfetto or chrome://tracing): a lane per actor, mmu_lock, seq/in_progress/range, attribute changes' },
  JSON_OPT,
];

/** A replay file's text; a directory or an unreadable file is named with the reason (Node's, without its repeat of the path). */
function readReplayFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`cannot read the replay file ${path}: ${err.code ? err.message.split(', ')[0] : err.message}`);
  }
}

/** The Chrome trace of a replay record's schedule. */
export function traceOf(spec: ReplaySpec) {
  const { model, options } = replayRun(spec);
  return chromeTrace(model, options);
}

export const REPLAY_HELP = helpText(
  'usage: gmemsim replay TOKEN|FILE [options]',
  `Reproduce the schedule a token names (printed by explore and run when they find a violation),
or a replay file (written by explore --save: versioned JSON). Tokens and files of versions 1
and 2 are read (a version-1 one replays with the checks of its day, without LOCK_ORDER and
LOCK_HELD); another version, or another yield-point table, is refused naming both.
The token carries the scenario, variant, seed and the invariants checked; the schedule is rebuilt on the sim engine and,
with --engine threads, followed step by step by one worker thread per actor. The report gives
the trace hash: the same token gives the same hash on either engine, every time.
Ctrl-C (SIGINT) or SIGTERM stops a replay on threads: the steps done are reported (not compared
with the recording), and the exit status is 130 (SIGINT) or 143 (SIGTERM).
Exit status: 0 no violation, 1 violation reproduced, 2 bad input (a damaged token, a bad replay
file, or a --trace file that cannot be written), 3 internal error.`,
  REPLAY_OPTS,
);

export async function replayCommand(argv: string[], io: Io): Promise<number> {
  // -h/--help: main.ts answers it for every command
  const { positionals, opts } = parseArgs('replay', argv, REPLAY_OPTS, 1);
  if (positionals.length === 0) throw new UsageError('gmemsim replay: a TOKEN or a replay FILE is required (see gmemsim replay --help)');
  const arg = positionals[0];
  const tracePath = checkOutputPath('replay', '--trace', opts.trace);
  let spec;
  try {
    if (arg.startsWith(TOKEN_PREFIX)) spec = decodeToken(arg);
    else if (existsSync(arg)) spec = parseReplayFile(readReplayFile(arg), arg);
    else throw new Error(`"${arg.length > 40 ? `${arg.slice(0, 40)}…` : arg}" is neither a replay token (gm1_…) nor a replay file`);
  } catch (e) {
    throw new UsageError(`gmemsim replay: ${(e as Error).message}`);
  }
  const { sc, model, options } = replayRun(spec);
  const engine = String(opts.engine);
  const ops = options.opsOverride;
  let sim;
  try {
    sim = runSim(model, { ...options, record: true, traceTail: 24 });
  } catch (e) {
    throw new UsageError(`gmemsim replay: the token's schedule does not fit this model (${(e as Error).message})`);
  }
  let traceHash = sim.traceHash;
  let steps = sim.steps;
  let violation = sim.violation;
  let elapsedMs = 0;
  if (engine === 'threads') {
    const t = await replayThreads(model, sim.decisions!, { seed: spec.seed, variant: spec.variant, invariants: spec.invariants, ops, stop: stopWordOf(io) });
    traceHash = t.traceHash;
    steps = t.steps;
    violation = t.violation;
    elapsedMs = t.elapsedMs;
  }
  const interruptedBy = io.stop ? stopSignalName(io.stop) : null;
  const reproduced = !interruptedBy && traceHash === spec.expect.traceHash && (violation?.invariant ?? null) === spec.expect.invariant;
  if (opts.json === true) {
    io.out(
      JSON.stringify(
        {
          ok: !violation,
          engine,
          scenario: sc.name,
          kernel: sc.kernel,
          variant: spec.variant,
          seed: spec.seed,
          traceHash,
          steps,
          reproduced,
          interruptedBy,
          expected: spec.expect,
          violations: violation ? [{ invariant: violation.invariant, message: violation.message, actor: violation.actor, step: violation.step }] : [],
          ...(engine === 'threads' ? { elapsedMs } : {}),
        },
        null,
        2,
      ),
    );
  } else {
    const v = VARIANTS.find((x) => x.id === spec.variant) ?? null;
    const out = [
      `gmemsim replay: scenario ${scenarioLabel(sc)}, variant ${variantLabel(v)}, schedule seed ${spec.seed}, engine ${engine}`,
      interruptedBy
        ? `  interrupted by ${interruptedBy} after ${steps} of ${sim.steps} steps: not compared with the recording (${spec.expect.traceHash})`
        : `  ${steps} steps, trace ${traceHash} (recorded ${spec.expect.traceHash}): ${reproduced ? 'reproduced exactly' : 'DIFFERENT from the recording'}`,
      '',
      violation ? violationText(violation) : `result: no invariant violated${spec.expect.invariant ? ` (the recording saw ${spec.expect.invariant}: ${describeInvariant(spec.expect.invariant)})` : ''}`,
    ];
    if (violation && engine === 'sim' && sim.trace.length) out.push('  last steps:', ...sim.trace.map((t) => `    ${t}`));
    io.out(out.join('\n'));
  }
  writeOutputs('replay', [['--trace', tracePath, () => JSON.stringify(traceOf(spec))]]);
  return violation ? 1 : 0;
}
