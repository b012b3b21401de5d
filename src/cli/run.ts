// gmemsim run: one run of a scenario, on worker threads (default) or under the sim engine.
import { hugepagesOn } from '../scenario/types.js';
import { explore } from '../explore/explore.js';
import { runSim } from '../engine/sim.js';
import { GuidedScheduler } from '../engine/scheduler.js';
import { modelOf } from '../workload/kinds.js';
import { checkedInvariants, encodeToken } from '../explore/token.js';
import { runThreads, type ThreadsResult } from '../engine/threads.js';
import { activityTable, numaJson, numaTable, rate, seconds, statsJson, violationText } from '../report/text.js';
import { telemetryJson, telemetryText } from '../report/telemetry.js';
import { exploreReportData, threadsReportData, reportOutput } from '../report/report_data.js';
import type { Scenario } from '../scenario/types.js';
import type { VariantInfo } from '../variants.js';
import { SWEPT_INVARIANTS, type InvariantId } from '../check/invariants.js';
import { UsageError, helpText, parseArgs, type OptSpec } from './args.js';
import { INVARIANTS_OPT, JSON_OPT, KERNEL_OPT, REPORT_OPT, checkOutputPath, MMU_LOCK_OPT, SCALE_OPT, VCPU_GFNS_OPT, SCENARIO_OPT, SEED_OPT, VARIANT_OPT, PROGRESS_OPT, abortOnStop, progressFor, scenarioFrom, stopSignalName, stopWordOf, withVcpus, resolveInvariants, resolveVariant, variantFor, scenarioLabel, variantLabel, writeOutputs, type Io } from './common.js';
import { exploreJson, exploreReport, findingJson, stoppedLine } from './explore.js';

export const RUN_OPTS: OptSpec[] = [
  SCENARIO_OPT,
  SCALE_OPT,
  KERNEL_OPT,
  MMU_LOCK_OPT,
  VCPU_GFNS_OPT,
  { name: 'engine', kind: 'string', choices: ['threads', 'sim'], value: 'threads|sim', help: 'threads: one worker thread per actor; sim: deterministic schedules on one thread', default: 'threads' },
  { name: 'duration', kind: 'int', min: 1, max: 86_400_000, value: 'MS', help: 'how long to run', default: 3000 },
  { name: 'ops', kind: 'int', min: 1, max: 1e9, value: 'N', help: 'threads: operations per actor instead of a duration', only: { opt: 'engine', values: ['threads'] }, conflicts: ['duration'] },
  SEED_OPT,
  VARIANT_OPT,
  INVARIANTS_OPT,
  { name: 'vcpus', kind: 'int', min: 1, max: 64, value: 'N', help: 'override the scenario\'s vCPU count' },
  { name: 'jitter', only: { opt: 'engine', values: ['threads'] }, kind: 'int', min: 0, max: 3, value: 'LEVEL', help: 'threads: random short spins at yield points to widen race windows (0 off, 3 most)', default: 0 },
  { name: 'pause-ms', only: { opt: 'engine', values: ['threads'] }, kind: 'number', min: 0, max: 1000, value: 'MS', help: 'threads: converter/puncher sleep between operations (memslot churn 20x)', default: 0.05 },
  { name: 'sweep-every', only: { opt: 'engine', values: ['threads'] }, kind: 'int', min: 0, max: 3_600_000, value: 'MS', help: `threads: park all actors at an operation boundary and sweep the state invariants (${SWEPT_INVARIANTS.join(' ')}) this often; backs off after a barrier an actor could not reach (0: only at the end)`, default: 1000 },
  { name: 'watchdog', only: { opt: 'engine', values: ['threads'] }, kind: 'int', min: 100, max: 3_600_000, value: 'MS', help: 'threads: report a deadlock when no actor progresses this long', default: 5000 },
  PROGRESS_OPT,
  REPORT_OPT,
  JSON_OPT,
];

export const RUN_HELP = helpText(
  'usage: gmemsim run [options]',
  `Run a scenario and print a report. With --engine threads (the default) every actor (vCPUs,
the VMM, converter, puncher, memslot churn) runs on its own worker thread over one
SharedArrayBuffer; locks are Atomics-based; invariants are checked at every SPTE install, page
removal and attribute store, and swept at pause barriers (--sweep-every) and at the end. With
--engine sim the run is a stream of deterministic schedules for --duration ms. A violation prints a replay token for the sim engine.
Ctrl-C (SIGINT) or SIGTERM stops the run cleanly: the workers stop, the report of what ran is
printed, and the exit status is 130 (SIGINT) or 143 (SIGTERM). --duration is kept inside a sim
schedule too (a schedule still running when it ends is cut, and the report says so).
A threads run that completed no fault in its measured time measured nothing: it says so on one
line and exits 2 (give a longer --duration, more --ops, or fewer vCPUs).
Exit status: 0 no violation, 1 violation found, 2 bad input, no progress, or a --report file
that cannot be written, 3 internal error; 130/143 after SIGINT/SIGTERM.`,
  RUN_OPTS,
  'Examples:\n  gmemsim run                                  # default scenario, 3 s on worker threads\n  gmemsim run --variant B4 --duration 10000    # find the injected bug on real threads\n  gmemsim run --engine sim --duration 5000 --json\n  gmemsim run --scenario numa-interleave --scale 0.01   # the NUMA series\' experiment at 1%',
);

interface RecordingReplay {
  recordedSteps: number;
  reproduced: boolean;
  detail: string;
  replay: string | null;
}

/**
 * Replay the threads run's step log (the order actors started their steps, up to the violating
 * one) on the sim engine, guided (GuidedScheduler): real threads overlap their steps and sim
 * serialises them, so the sim may take another path; the report says whether the violation came back.
 */
function replayRecordingOnSim(sc: Scenario, variant: VariantInfo | null, seed: number, invariants: InvariantId[] | null, r: ThreadsResult): RecordingReplay | null {
  if (!r.violation || !r.recorded) return null;
  const opsOverride = r.opsPerActor;
  const base = { recordedSteps: r.recorded.length };
  try {
    const guided = { ...sc, maxSteps: Math.max(sc.maxSteps, r.recorded.length) };
    const sim = runSim(modelOf(guided), { seed, variant: variant?.id ?? null, invariants: invariants ? new Set(invariants) : undefined, scheduler: new GuidedScheduler(r.recorded), record: true, opsOverride });
    if (sim.violation?.invariant !== r.violation.invariant) {
      const seen = sim.violation ? `${sim.violation.invariant} instead` : 'no violation';
      return { ...base, reproduced: false, detail: `${seen} in the ${sim.steps} steps the recording could guide`, replay: null };
    }
    const replay = encodeToken({
      v: 2,
      scenario: guided,
      variant: variant?.id ?? null,
      seed,
      invariants: checkedInvariants(invariants),
      expect: { invariant: sim.violation.invariant, traceHash: sim.traceHash, steps: sim.steps },
      schedule: sim.decisions!, // the steps the sim actually took: an exact replay
      ...(opsOverride === undefined ? {} : { ops: opsOverride === Infinity ? null : opsOverride }),
    });
    return { ...base, reproduced: true, detail: `${sim.violation.invariant} at step ${sim.violation.step}`, replay };
  } catch (e) {
    return { ...base, reproduced: false, detail: (e as Error).message, replay: null };
  }
}

/** Find a sim schedule showing the same invariant, so a threads finding comes with a token that replays. */
function reproduceOnSim(sc: Scenario, variant: VariantInfo | null, seed: number, invariant: InvariantId, stop: Int32Array) {
  const r = explore(sc, { seed, schedules: 100_000, variant: variant?.id ?? null, invariants: [invariant], timeBudgetMs: 5000, stop });
  return { finding: r.violations[0] ?? null, schedules: r.schedulesRun };
}

function barrierLine(r: ThreadsResult): string {
  const w = r.sweeps;
  if (w.everyMs === 0) return 'pause barriers: off (--sweep-every 0): invariants swept at the end only';
  const n = `${w.done} state sweep${w.done === 1 ? '' : 's'} (${SWEPT_INVARIANTS.join(' ')}) at pause barriers (every ${w.everyMs} ms)`;
  const times = w.done ? `; actors parked within ${w.maxParkMs} ms, longest sweep ${w.maxSweepMs.toFixed(1)} ms` : '';
  return `${n}${times}${w.skipped ? `; ${w.skipped} skipped (an actor did not reach an operation boundary within 1 s; the next barrier backs off)` : ''}`;
}

function threadsReport(sc: Scenario, variant: VariantInfo | null, seed: number, jitter: number, r: ThreadsResult, rec: RecordingReplay | null, repro: ReturnType<typeof reproduceOnSim> | null, interruptedBy: string | null): string {
  const t = r.stats.total;
  const out = [
    `gmemsim run: scenario ${scenarioLabel(sc)}, variant ${variantLabel(variant)}, seed ${seed}, engine threads (${r.workers} workers, started in ${seconds(r.startupMs)}${jitter ? `, jitter ${jitter}` : ''})`,
    `  ${seconds(r.elapsedMs)}, stopped by ${r.stoppedBy === 'interrupt' ? `${interruptedBy ?? 'an interrupt'} (the report covers what ran)` : r.stoppedBy}; ${t.faults.toLocaleString('en-US')} faults (${rate(t.faults, r.elapsedMs)}), ${t.installs.toLocaleString('en-US')} installs (${rate(t.installs, r.elapsedMs)})` +
      (r.quiescent ? '; final sweep clean' : ''),
    `  ${barrierLine(r)}`,
    ...(jitter ? [`  jitter ${jitter}: ${r.jitterSpins.toLocaleString('en-US')} delays injected at yield points`] : []),
    '',
  ];
  if (r.violation) {
    out.push(violationText(r.violation));
    if (r.violation.actor >= 0) out.push(`  reported by ${r.stats.actors[r.violation.actor]?.name ?? r.violation.actor}${r.violation.step ? ` in global step ${r.violation.step}` : ''}`);
    if (rec) {
      out.push(`  the ${rec.recordedSteps} recorded steps, guiding the sim engine: ${rec.reproduced ? `reproduced (${rec.detail})` : `not reproduced (${rec.detail})`}`);
      if (rec.replay) out.push(`  gmemsim replay ${rec.replay}`);
    }
    // repro exists only when the recording did not reproduce: a sim search for the same invariant
    if (repro?.finding) {
      out.push(`  the sim engine shows the same invariant in schedule ${repro.finding.schedule} (searched ${repro.schedules}); replay it with:`, `  gmemsim replay ${repro.finding.replay}`);
    } else if (repro) {
      out.push(`  the sim engine did not show it within ${repro.schedules} schedules; rerun on threads to see it again`);
    }
    out.push('');
  } else {
    out.push('result: OK, no invariant violated', '');
  }
  out.push('activity:', activityTable(r.stats), '', 'invalidate-retry telemetry:', telemetryText(r.stats));
  if (sc.numa) out.push('', 'memory by NUMA node (numastat; pages freed by punch/discard are no longer counted):', numaTable(r.stats));
  return out.join('\n');
}

export async function runCommand(argv: string[], io: Io): Promise<number> {
  // -h/--help: main.ts answers it for every command
  const { opts } = parseArgs('run', argv, RUN_OPTS, 0);
  resolveVariant('run', opts.variant); // a bad --variant is refused before the scenario is read
  const invariants = resolveInvariants('run', opts.invariants);
  const sc = withVcpus(scenarioFrom('run', opts, io.scenario), opts.vcpus);
  const hugeOn = hugepagesOn(sc);
  let lastInstalls = 0;
  let lastHuge = 0;
  const variant = variantFor('run', opts.variant, sc);
  const seed = Number(opts.seed);
  const json = opts.json === true;
  const duration = Number(opts.duration);
  const progress = progressFor('run', io, opts.progress);
  const stop = stopWordOf(io);
  const report = checkOutputPath('run', '--report', opts.report);

  if (opts.engine === 'sim') {
    const r = explore(sc, {
      seed,
      schedules: Number.MAX_SAFE_INTEGER,
      variant: variant?.id ?? null,
      invariants,
      timeBudgetMs: duration,
      stop,
      onProgress: (p) => progress.update(`sim: ${seconds(p.elapsedMs)}, ${p.done} schedules, ${rate(p.steps, p.elapsedMs)} steps`, { schedules: p.done, steps: p.steps, elapsedMs: p.elapsedMs }),
    });
    progress.done();
    // --duration ends a sim run by design: only a signal is an interruption here
    const interruptedBy = r.interrupted === 'signal' ? stopSignalName(stop) : null;
    io.out(json ? JSON.stringify({ ...exploreJson('run', sc, variant, seed, r), interruptedBy }, null, 2) : exploreReport('run', sc, variant, seed, r, null, interruptedBy));
    writeOutputs('run', [reportOutput(report, () => exploreReportData('run', sc, variant, seed, r, r.interrupted ? stoppedLine('run', r, interruptedBy) : null))]);
    return r.violations.length ? 1 : 0;
  }

  const abort = abortOnStop(stop);
  let r: ThreadsResult;
  try {
    r = await runThreads(modelOf(sc), {
      seed,
      variant: variant?.id ?? null,
      invariants,
      durationMs: opts.ops === undefined ? duration : undefined,
      ops: opts.ops === undefined ? undefined : Number(opts.ops),
      pauseMs: Number(opts['pause-ms']),
      jitter: Number(opts.jitter),
      watchdogMs: Number(opts.watchdog),
      sweepEveryMs: Number(opts['sweep-every']),
      signal: abort.signal,
      onProgress: (p) => {
        // huge pages on: the share of the SPTE leaves installed since the last line that were huge (the share over time)
        const c = p.stats.total;
        const huge = c.installs2m + c.installs1g;
        const share = hugeOn && c.installs > lastInstalls ? (huge - lastHuge) / (c.installs - lastInstalls) : null;
        [lastInstalls, lastHuge] = [c.installs, huge];
        progress.update(`  ${seconds(p.elapsedMs)}  faults ${c.faults.toLocaleString('en-US')} (${rate(c.faults, p.elapsedMs)})  retries ${c.retries.toLocaleString('en-US')}  sweeps ${p.sweeps}  violations ${p.violations}${share === null ? '' : `  huge ${(share * 100).toFixed(1)}% of installs`}`, {
          elapsedMs: p.elapsedMs,
          faults: c.faults,
          retries: c.retries,
          sweeps: p.sweeps,
          violations: p.violations,
          ...(hugeOn ? { hugeShare: share === null ? null : Math.round(share * 10000) / 10000 } : {}),
        });
      },
    });
  } finally {
    abort.dispose();
    progress.done();
  }
  if (!r.violation && r.stoppedBy !== 'interrupt' && r.stats.total.faults === 0) {
    throw new UsageError(
      `gmemsim run: no progress: the vCPUs completed no fault in ${seconds(r.elapsedMs)} of measured run (${r.workers} workers, started in ${seconds(r.startupMs)}); nothing was measured: give a longer --duration, more --ops, or fewer vCPUs`,
    );
  }
  const rec = replayRecordingOnSim(sc, variant, seed, invariants, r);
  const repro = r.violation && r.violation.invariant !== 'DEADLOCK' && !rec?.reproduced ? reproduceOnSim(sc, variant, seed, r.violation.invariant, stop) : null;
  if (json) {
    const replay = rec?.replay ?? repro?.finding?.replay ?? null;
    const replayFrom = rec?.replay ? 'threads-recording' : repro?.finding ? 'sim-search' : null;
    const v = r.violation ? [{ ...r.violation, replay, replayFrom }] : [];
    io.out(
      JSON.stringify(
        {
          ok: !r.violation,
          command: 'run',
          engine: 'threads',
          scenario: sc.name,
          kernel: sc.kernel,
          variant: variant?.id ?? null,
          seed,
          elapsedMs: r.elapsedMs,
          startupMs: r.startupMs,
          stoppedBy: r.stoppedBy,
          interruptedBy: r.stoppedBy === 'interrupt' ? stopSignalName(stop) : null,
          workers: r.workers,
          jitter: Number(opts.jitter),
          jitterSpins: r.jitterSpins,
          quiescent: r.quiescent,
          sweeps: r.sweeps,
          violations: v,
          threadsRecording: rec,
          simReproduction: repro?.finding ? findingJson(repro.finding) : null,
          stats: statsJson(r.stats),
          actors: r.stats.actors,
          numa: numaJson(r.stats),
          telemetry: telemetryJson(r.stats),
        },
        null,
        2,
      ),
    );
  } else {
    io.out(threadsReport(sc, variant, seed, Number(opts.jitter), r, rec, repro, stopSignalName(stop)));
  }
  writeOutputs('run', [reportOutput(report, () => threadsReportData(sc, variant, seed, r, rec, repro))]);
  return r.violation ? 1 : 0;
}
