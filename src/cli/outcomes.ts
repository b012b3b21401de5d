// gmemsim outcomes: a jcstress-style outcome table for a litmus scenario: every outcome a fault
// can have, graded, with its exact count over all schedules (dfs, bounded by preemptions) beside
// the frequencies seen on real worker threads looping the same workload.
import { exploreDfs } from '../explore/dfs.js';
import { scheduleSeed } from '../explore/explore.js';
import { runThreads } from '../engine/threads.js';
import { modelOf } from '../workload/kinds.js';
import type { Stats } from '../engine/stats.js';
import { outcomeRows } from '../report/telemetry.js';
import { outcomesReportData, reportOutput } from '../report/report_data.js';
import { helpText, parseArgs, type OptSpec } from './args.js';
import { INVARIANTS_OPT, JSON_OPT, KERNEL_OPT, REPORT_OPT, checkOutputPath, SCENARIO_OPT, SEED_OPT, VARIANT_OPT, abortOnStop, resolveInvariants, resolveVariant, scenarioFrom, stopSignalName, stopWordOf, variantFor, scenarioLabel, variantLabel, writeOutputs, type Io } from './common.js';

export const OUTCOMES_OPTS: OptSpec[] = [
  { ...SCENARIO_OPT, default: 'litmus-punch' },
  KERNEL_OPT,
  SEED_OPT,
  VARIANT_OPT,
  INVARIANTS_OPT,
  { name: 'preemptions', kind: 'int', min: 0, max: 10, value: 'C', help: 'dfs: the preemption bound', default: 2 },
  { name: 'schedules', kind: 'int', min: 1, max: 1e9, value: 'N', help: 'dfs: give up after this many schedules', default: 200_000 },
  { name: 'duration', kind: 'int', min: 100, max: 3_600_000, value: 'MS', help: 'threads: how long the workers loop the workload', default: 2000 },
  REPORT_OPT,
  JSON_OPT,
];

export const OUTCOMES_HELP = helpText(
  'usage: gmemsim outcomes [options]',
  `Grade every outcome of the faults in a small (litmus) scenario: ACCEPTABLE (the protocol
allows it), INTERESTING (allowed, and a race was needed to see it), FORBIDDEN (an invariant
violated). The dfs column counts them over every schedule with at most --preemptions
preemptions (exact); the threads column over --duration ms of worker threads looping the
workload (observed frequencies). Built for the litmus-* scenarios.
Ctrl-C (SIGINT) or SIGTERM stops it: the table of what ran so far is printed (marked
interrupted), and the exit status is 130 (SIGINT) or 143 (SIGTERM).
Exit status: 0 nothing FORBIDDEN, 1 a FORBIDDEN outcome seen, 2 bad input (or a --report file
that cannot be written), 3 internal error.`,
  OUTCOMES_OPTS,
  'Example: gmemsim outcomes --scenario litmus-punch --preemptions 2',
);

const fmtN = (n: number) => n.toLocaleString('en-US');
const faultsOf = (st: Stats) => st.total.outFixed + st.total.outSpurious + st.total.outRetry + st.total.outExit + st.total.outEmulate + st.total.outError;

export async function outcomesCommand(argv: string[], io: Io): Promise<number> {
  // -h/--help: main.ts answers it for every command
  const { opts } = parseArgs('outcomes', argv, OUTCOMES_OPTS, 0);
  resolveVariant('outcomes', opts.variant);
  const invariants = resolveInvariants('outcomes', opts.invariants);
  const sc = scenarioFrom('outcomes', opts, io.scenario);
  const variant = variantFor('outcomes', opts.variant, sc);
  const seed = Number(opts.seed);
  const c = Number(opts.preemptions);
  const report = checkOutputPath('outcomes', '--report', opts.report);
  const model = modelOf(sc);
  const stop = stopWordOf(io);
  const dfs = exploreDfs(model, {
    stop,
    seed: scheduleSeed(seed, 0),
    variant: variant?.id ?? null,
    invariants: invariants ? new Set(invariants) : undefined,
    preemptions: c,
    maxSchedules: Number(opts.schedules),
    collect: true,
  });
  const abort = abortOnStop(stop);
  let threads;
  try {
    // interrupted during dfs: the threads column runs no time at all
    threads = await runThreads(model, { seed, variant: variant?.id ?? null, invariants, durationMs: Atomics.load(stop, 0) ? 1 : Number(opts.duration), sweepEveryMs: 0, signal: abort.signal });
  } finally {
    abort.dispose();
  }
  const interruptedBy = stopSignalName(stop);
  const dRows = outcomeRows(dfs.stats!);
  const tRows = outcomeRows(threads.stats);
  const dFaults = faultsOf(dfs.stats!);
  const tFaults = faultsOf(threads.stats);
  const forbiddenDfs = Object.values(dfs.violationsBy).reduce((a, b) => a + b, 0);
  const forbiddenThreads = threads.violation ? 1 : 0;
  const table = dRows.map(([name, n, grade, what], i) => ({ outcome: name.trim(), grade, dfs: n, dfsShare: dFaults ? n / dFaults : 0, threads: tRows[i][1], threadsShare: tFaults ? tRows[i][1] / tFaults : 0, what }));
  const result = {
    ok: forbiddenDfs + forbiddenThreads === 0,
    command: 'outcomes',
    scenario: sc.name,
    kernel: sc.kernel,
    variant: variant?.id ?? null,
    seed,
    interruptedBy,
    dfs: { preemptions: c, schedules: dfs.schedules, exhausted: dfs.exhausted, faults: dFaults, forbidden: dfs.violationsBy },
    threads: { durationMs: threads.elapsedMs, faults: tFaults, forbidden: threads.violation ? { [threads.violation.invariant]: 1 } : {} },
    outcomes: table,
    // the FORBIDDEN outcomes as the other commands list violations: each invariant dfs saw, and the threads run's
    violations: [
      ...Object.entries(dfs.violationsBy).map(([invariant, schedules]) => ({ invariant, message: `in ${fmtN(schedules)} dfs schedule${schedules === 1 ? '' : 's'}`, engine: 'dfs', schedules })),
      ...(threads.violation ? [{ invariant: threads.violation.invariant, message: threads.violation.message, engine: 'threads', schedules: null }] : []),
    ],
  };
  if (opts.json === true) io.out(JSON.stringify(result, null, 2));
  else {
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
    const fmt = (n: number) => n.toLocaleString('en-US');
    const w = Math.max(...table.map((r) => r.outcome.length), 'FORBIDDEN (violations)'.length);
    const out = [
      `gmemsim outcomes: scenario ${scenarioLabel(sc)}, variant ${variantLabel(variant)}, seed ${seed}`,
      ...(interruptedBy ? [`  interrupted by ${interruptedBy}: the table covers what ran before it`] : []),
      `  dfs: ${fmt(dfs.schedules)} schedules with <= ${c} preemptions${dfs.exhausted ? ' (the whole space)' : ` (NOT the whole space: ${dfs.interrupted === 'signal' ? `stopped by ${interruptedBy ?? 'a signal'}` : 'the --schedules budget ran out'})`}, ${fmt(dFaults)} faults`,
      `  threads: ${(threads.elapsedMs / 1000).toFixed(2)} s of worker threads, ${fmt(tFaults)} faults`,
      '',
      `  ${'outcome'.padEnd(w)}  ${'grade'.padEnd(11)}  ${'dfs (exact)'.padStart(20)}  ${'threads (observed)'.padStart(22)}`,
      ...table.map((r) => `  ${r.outcome.padEnd(w)}  ${r.grade.padEnd(11)}  ${`${fmt(r.dfs)} ${pct(r.dfsShare)}`.padStart(20)}  ${`${fmt(r.threads)} ${pct(r.threadsShare)}`.padStart(22)}`),
      `  ${'FORBIDDEN (violations)'.padEnd(w)}  ${'FORBIDDEN'.padEnd(11)}  ${`${fmt(forbiddenDfs)} schedules`.padStart(20)}  ${(threads.violation ? `${threads.violation.invariant} (run stopped)` : '0').padStart(22)}`,
      ...Object.entries(dfs.violationsBy).map(([inv, n]) => `    dfs: ${inv} in ${fmt(n)} schedules`),
      '',
      '  INTERESTING outcomes are counted within the faults above (a fault that allocated and retried is also a RETRY).',
    ];
    io.out(out.join('\n'));
  }
  writeOutputs('outcomes', [reportOutput(report, () => outcomesReportData(result, variant))]);
  return result.ok ? 0 : 1;
}
