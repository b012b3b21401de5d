// gmemsim explore: many deterministic schedules under the sim engine.
import { SHRINK_MS, SHRINK_RUNS, makeFinding, scheduleSeed, type ExploreResult, type Finding, type PctInfo, type Strategy } from '../explore/explore.js';
import { exploreDfs } from '../explore/dfs.js';
import { actorDefs, modelOf } from '../workload/kinds.js';
import type { InvariantId } from '../check/invariants.js';
import { replayFileJson } from '../explore/token.js';
import { coverageJson, coverageText } from '../explore/coverage.js';
import { ShardEnvError, parseShardSpec, shardFromEnv, type Env, type ShardSpec } from '../explore/shard_env.js';
import { traceOf } from './replay.js';
import { exploreParallel } from '../explore/pool.js';
import { activityTable, numaJson, numaTable, rate, seconds, statsJson, violationText } from '../report/text.js';
import { telemetryJson, telemetryText } from '../report/telemetry.js';
import { dfsReportData, exploreReportData, reportOutput } from '../report/report_data.js';
import type { Scenario } from '../scenario/types.js';
import { SCALABLE_SCENARIOS } from '../scenario/builtins.js';
import type { VariantInfo } from '../variants.js';
import { UsageError, helpText, parseArgs, type OptSpec } from './args.js';
import { INVARIANTS_OPT, JSON_OPT, KERNEL_OPT, REPORT_OPT, MMU_LOCK_OPT, SCALE_OPT, VCPU_GFNS_OPT, SCENARIO_OPT, SEED_OPT, VARIANT_OPT, PROGRESS_OPT, checkOutputPath, progressFor, scenarioFrom, stopSignalName, stopWordOf, resolveInvariants, resolveVariant, variantFor, scenarioLabel, variantLabel, writeOutputs, type Io, type Output } from './common.js';

export const EXPLORE_OPTS: OptSpec[] = [
  SCENARIO_OPT,
  SCALE_OPT,
  KERNEL_OPT,
  MMU_LOCK_OPT,
  VCPU_GFNS_OPT,
  { name: 'schedules', kind: 'int', min: 1, max: 1e9, value: 'N', help: 'schedules to try', default: 1000 },
  SEED_OPT,
  VARIANT_OPT,
  INVARIANTS_OPT,
  { name: 'time', kind: 'int', min: 1, value: 'MS', help: 'stop after this long even if schedules remain' },
  { name: 'workers', only: { opt: 'strategy', values: ['portfolio', 'random', 'pct'] }, kind: 'int', min: 1, max: 64, value: 'K', help: 'worker threads (a piscina pool); the findings do not depend on it', default: 1 },
  { name: 'strategy', kind: 'string', choices: ['random', 'pct', 'portfolio', 'dfs'], value: 'random|pct|portfolio|dfs', help: 'portfolio (the default): even schedules random, odd ones pct with the depth ladder; random: a uniformly random runnable actor each step; pct: priorities with d-1 change points, each at a random step of a random actor (prints its detection bound); dfs: every schedule with at most --preemptions preemptions, up to --schedules (default for dfs 200,000; says whether the space was exhausted; meant for the litmus-* scenarios)', default: 'portfolio' },
  { name: 'preemptions', only: { opt: 'strategy', values: ['dfs'] }, kind: 'int', min: 0, max: 10, value: 'C', help: 'dfs: the preemption bound', default: 2 },
  { name: 'depth', only: { opt: 'strategy', values: ['pct'] }, kind: 'int', min: 1, max: 1000, value: 'D', help: 'pct: the bug depth d (ordering constraints the bug needs), the same in every schedule; without it, schedule i takes depth i mod L of the ladder 2, 3, 5, 9 ... (L depths: 1, 2, 4, 8 ... change points while at most a quarter of the actors\' measured steps; up to 257 on default)' },
  { name: 'no-shrink', kind: 'bool', help: 'report the violating schedule as found, without minimising it' },
  { name: 'shard', only: { opt: 'strategy', values: ['portfolio', 'random', 'pct'] }, kind: 'string', value: 'I/N|auto', help: 'run only schedules i with i mod N = I (0 <= I < N), e.g. one job of a CI matrix; combine the --json outputs with gmemsim merge. auto: I and N from the environment, the first set of GMEMSIM_SHARD=I/N, GMEMSIM_SHARD_INDEX+GMEMSIM_SHARD_COUNT (a GitHub Actions matrix), SLURM_ARRAY_TASK_ID (id - MIN; COUNT or MIN/MAX), JOB_COMPLETION_INDEX+GMEMSIM_SHARD_COUNT (a Kubernetes Indexed Job; set the count from spec.completions), CI_NODE_INDEX/CI_NODE_TOTAL (GitLab, 1-based), CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL, BUILDKITE_PARALLEL_JOB/BUILDKITE_PARALLEL_JOB_COUNT' },
  { name: 'trace', kind: 'string', value: 'FILE', help: 'write the violation\'s schedule as Chrome Trace Event JSON (open it in Perfetto or chrome://tracing): a lane per actor, mmu_lock, seq/in_progress/range, attribute changes' },
  PROGRESS_OPT,
  { name: 'save', kind: 'string', value: 'FILE', help: 'write the violation\'s replay file (versioned JSON: scenario, seed, variant, the invariants checked, the yield-point table, schedule, expected trace hash); replay it with gmemsim replay FILE' },
  REPORT_OPT,
  JSON_OPT,
];

export const EXPLORE_HELP = helpText(
  'usage: gmemsim explore [options]',
  `Run the scenario's actors as generators on one thread, many times, each time under a different
seeded schedule: the strategy picks which runnable actor takes the next step at every yield
point (random: uniformly; pct: by priority, with d-1 change points). Every invariant is checked
at every step, and lockdep records the order locks are taken in (LOCK_ORDER: a cycle, even in a
schedule that did not deadlock). The first violation stops the campaign; its schedule is shrunk
(fewer steps and context switches, then fewer actors and workload operations, the same invariant
still fires) and printed step by step with a replay token for it and for the schedule as found.
The same seed always finds the same thing.
--time is kept inside a schedule too (a schedule still running when it ends is cut). Ctrl-C
(SIGINT) or SIGTERM stops the campaign, with --workers too: the report of the schedules run so
far and the finding, if any, is printed, and the exit status is 130 (SIGINT) or 143 (SIGTERM).
With pct or portfolio, 4 seeded runs measure the schedule lengths first; a --time that ends
during them runs no schedule (the report says so). Shrinking a finding takes up to 10 s (or
4,000 runs) more whatever --time says (--no-shrink skips it); a signal stops it.
Output files (--save, --trace, --report) are written after the report is printed.
Exit status: 0 no violation, 1 violation found, 2 bad input (or an output file that cannot be
written: the report printed before it has the token), 3 internal error.`,
  EXPLORE_OPTS,
  'Example: gmemsim explore --variant B1 --schedules 20000 --seed 1',
);

export function findingJson(f: Finding) {
  return { invariant: f.invariant, message: f.message, replay: f.replay, actor: f.actor, actorName: f.actorName, step: f.step, schedule: f.schedule, traceHash: f.traceHash, shrunk: f.shrunk };
}

export function findingText(f: Finding, actorName: (id: number) => string): string {
  const where = f.actor >= 0 ? `by ${f.actorName ?? actorName(f.actor)} at step ${f.step}` : `at step ${f.step}`;
  const lines = [violationText(f), `  found ${where} of schedule ${f.schedule} (trace ${f.traceHash})`];
  const s = f.shrunk;
  if (s) {
    lines.push(
      `  shrunk from ${s.originalSteps} steps (${s.originalSwitches} context switches) to ${s.shrunkSteps} steps (${s.shrunkSwitches} switch${s.shrunkSwitches === 1 ? '' : 'es'}) in ${s.runs} runs, ${seconds(s.elapsedMs)}${shrinkCutText(s.cutBy)};`,
      `  actors ${s.originalActors} → ${s.shrunkActors}, workload operations ${s.originalOps} → ${s.shrunkOps}${s.scenarioChanges.length ? ` (${s.scenarioChanges.join(', ')}; the token carries the smaller scenario)` : ''}:`,
      "  step: actor  from yield point -> to yield point  | invalidation state after the step | a vCPU's fault: gfn, attribute, snapshot seq, resolved pfn, SPTE",
      ...s.steps.map((t) => `    ${t}`),
    );
  } else if (f.trace.length) lines.push('  last steps (actor: from yield point -> to yield point):', ...f.trace.map((t) => `    ${t}`));
  lines.push(`  replay: gmemsim replay ${f.replay}`);
  if (s) lines.push(`  the schedule as found: gmemsim replay ${s.originalReplay}`);
  return lines.join('\n');
}

const shrinkCutText = (c: 'signal' | 'limit' | null) =>
  c === 'signal' ? ' (stopped by the signal: the smallest found so far)' : c === 'limit' ? ` (stopped at its limit of ${SHRINK_RUNS.toLocaleString('en-US')} runs or ${seconds(SHRINK_MS)}: it may shrink further)` : '';

/** --save and --trace: the finding's replay file and Chrome trace (nothing without a finding). */
function findingOutputs(f: Finding | null | undefined, save: string | null, trace: string | null): Output[] {
  if (!f) return [];
  return [
    ['--save', save, () => replayFileJson(f.spec)],
    ['--trace', trace, () => JSON.stringify(traceOf(f.spec))],
  ];
}

/** What makes two shards parts of one campaign (gmemsim merge compares it). */
export interface Campaign {
  scenario: Scenario;
  seed: number;
  variant: string | null;
  invariants: string[] | null;
  strategy: Strategy;
  /** pct: the fixed depth, or null: the depth ladder */
  depth: number | null;
  schedules: number;
  shrink: boolean;
}

/** --shard I/N, or auto: from the batch engine's environment (explore/shard_env.ts). */
function parseShard(v: unknown, env: Env): ShardSpec | null {
  if (v === undefined) return null;
  if (v === 'auto') {
    try {
      return shardFromEnv(env);
    } catch (e) {
      if (e instanceof ShardEnvError) throw new UsageError(`gmemsim explore: --shard auto: ${e.message}`);
      throw e;
    }
  }
  const s = parseShardSpec(String(v));
  if (!s) throw new UsageError(`gmemsim explore: --shard must be I/N with 0 <= I < N, or auto (got "${String(v)}")`);
  return { ...s, source: '--shard' };
}

export function exploreReport(cmd: string, sc: Scenario, variant: VariantInfo | null, seed: number, r: ExploreResult, shard: ShardSpec | null = null, interruptedBy: string | null = null): string {
  const names = r.stats.actors.map((a) => a.name);
  const out = [
    `gmemsim ${cmd}: scenario ${scenarioLabel(sc)}, variant ${variantLabel(variant)}, seed ${seed}, engine sim, strategy ${r.strategy}`,
    ...(r.pct ? [`  ${pctLine(r.strategy, r.pct)}`] : []),
    `  ${r.schedulesRun.toLocaleString('en-US')} schedule${r.schedulesRun === 1 ? '' : 's'}, ${r.steps.toLocaleString('en-US')} steps in ${seconds(r.elapsedMs)} (${rate(r.steps, r.elapsedMs)} steps, ${rate(r.schedulesRun, r.elapsedMs)} schedules)` +
      (r.cut ? `; ${r.cut} cut at maxSteps` : ''),
    ...(r.interrupted ? [`  ${stoppedLine(cmd, r, interruptedBy)}`] : []),
    `  ${coverageText(r.coverage, r.schedulesRun)}`,
    '',
  ];
  if (shard) out.splice(1, 0, `  shard ${shard.index}/${shard.count}${shard.source === '--shard' ? '' : ` (from ${shard.source})`}: schedules i with i mod ${shard.count} = ${shard.index}; combine the shards' --json outputs with gmemsim merge`);
  if (r.violations.length) out.push(...r.violations.map((f) => findingText(f, (id) => names[id] ?? `actor ${id}`)), '');
  else out.push('result: OK, no invariant violated', '');
  out.push('activity (all schedules):', activityTable(r.stats), '', 'invalidate-retry telemetry (all schedules):', telemetryText(r.stats));
  if (sc.numa) out.push('', 'memory by NUMA node (the last schedule, at its end):', numaTable(r.stats));
  return out.join('\n');
}

/** Why the campaign ended early, and what of it the report covers. */
export function stoppedLine(cmd: string, r: ExploreResult, interruptedBy: string | null): string {
  const why = r.interrupted === 'signal' ? `interrupted by ${interruptedBy ?? 'a signal'}` : `${cmd === 'run' ? '--duration' : '--time'} ran out`;
  if (r.cutMeasuring) return `${why} while PCT measured the schedule lengths (4 seeded runs before the first schedule): no schedule ran${r.interrupted === 'time' ? '; give more --time, or --strategy random' : ''}`;
  const shrink = r.violations[0]?.shrunk?.cutBy === 'signal' ? ' (while the finding was being shrunk: it is the smallest found so far)' : '';
  const cut = r.partialSteps ? `; the schedule under way was cut after ${r.partialSteps.toLocaleString('en-US')} steps (not counted)` : '';
  return `${why}${shrink}: the report covers the ${r.schedulesRun.toLocaleString('en-US')} schedule${r.schedulesRun === 1 ? '' : 's'} completed${cut}`;
}

/** The PCT line of the report: n, the lengths, the depths and the bound. */
export function pctLine(strategy: Strategy, p: PctInfo): string {
  const who = strategy === 'portfolio' ? 'portfolio: even schedules random, odd ones pct' : 'pct';
  const depths = p.depth !== null ? `depth d = ${p.depth}` : `depths ${p.depths.join(', ')} in turn`;
  const share = p.share < 1 ? ` in the ${p.share === 0.5 ? 'half' : `1/${Math.round(1 / p.share)}`} of the schedules that take it` : '';
  return (
    `${who}: n = ${p.n} actors, k = ${p.k.toLocaleString('en-US')} steps (kMax = ${p.kMax.toLocaleString('en-US')} for one actor), ${depths}; change points at a random step of a random actor: ` +
    `a schedule finds a depth-${p.boundDepth} bug with probability >= 1/(n·(n·kMax)^(d-1))${share}, ${p.perRun.toExponential(2)} per schedule; ${p.runsFor99.toLocaleString('en-US')} schedules for 99%`
  );
}

export function exploreJson(cmd: string, sc: Scenario, variant: VariantInfo | null, seed: number, r: ExploreResult) {
  return {
    ok: r.violations.length === 0,
    command: cmd,
    engine: 'sim',
    scenario: sc.name,
    kernel: sc.kernel,
    variant: variant?.id ?? null,
    seed,
    strategy: r.strategy,
    pct: r.pct,
    schedules: r.schedulesRun,
    interrupted: r.interrupted,
    cutMeasuring: r.cutMeasuring,
    partialSteps: r.partialSteps,
    steps: r.steps,
    elapsedMs: r.elapsedMs,
    violations: r.violations.map(findingJson),
    stats: statsJson(r.stats),
    actors: r.stats.actors,
    numa: numaJson(r.stats),
    telemetry: telemetryJson(r.stats),
    coverage: coverageJson(r.coverage),
  };
}

export async function exploreCommand(argv: string[], io: Io): Promise<number> {
  // -h/--help: main.ts answers it for every command
  const { opts, given } = parseArgs('explore', argv, EXPLORE_OPTS, 0);
  resolveVariant('explore', opts.variant); // a bad --variant is refused before the scenario is read
  const invariants = resolveInvariants('explore', opts.invariants);
  const sc = scenarioFrom('explore', opts, io.scenario);
  const variant = variantFor('explore', opts.variant, sc);
  const seed = Number(opts.seed);
  const json = opts.json === true;
  const progress = progressFor('explore', io, opts.progress);
  const stop = stopWordOf(io);
  const schedules = Number(opts.schedules);
  const shard = parseShard(opts.shard, io.env ?? process.env);
  const save = checkOutputPath('explore', '--save', opts.save);
  const tracePath = checkOutputPath('explore', '--trace', opts.trace);
  const report = checkOutputPath('explore', '--report', opts.report);
  bigScenarioNote(sc, io);
  if (opts.strategy === 'dfs') return dfsCommand(sc, variant, seed, invariants, opts, given.has('schedules') ? schedules : DFS_DEFAULT_SCHEDULES, io, save, tracePath, stop, report);
  const r = await exploreParallel(
    sc,
    {
      seed,
      schedules,
      variant: variant?.id ?? null,
      invariants,
      timeBudgetMs: opts.time === undefined ? undefined : Number(opts.time),
      strategy: opts.strategy as Strategy,
      depth: opts.depth === undefined ? undefined : Number(opts.depth),
      shrink: opts['no-shrink'] !== true,
      shard,
      stop,
      onProgress: (p) => progress.update(`${p.done.toLocaleString('en-US')}/${schedules.toLocaleString('en-US')} schedules, ${rate(p.steps, p.elapsedMs)} steps, ${seconds(p.elapsedMs)}`, { schedules: p.done, of: schedules, steps: p.steps, elapsedMs: p.elapsedMs }),
    },
    Number(opts.workers),
  );
  progress.done();
  const campaign: Campaign = { scenario: sc, seed, variant: variant?.id ?? null, invariants, strategy: opts.strategy as Strategy, depth: opts.depth === undefined ? null : Number(opts.depth), schedules, shrink: opts['no-shrink'] !== true };
  const interruptedBy = r.interrupted === 'signal' ? stopSignalName(stop) : null;
  io.out(json ? JSON.stringify({ ...exploreJson('explore', sc, variant, seed, r), interruptedBy, campaign, shard }, null, 2) : exploreReport('explore', sc, variant, seed, r, shard, interruptedBy));
  const f = r.violations[0];
  writeOutputs('explore', [...findingOutputs(f, save, tracePath), reportOutput(report, () => exploreReportData('explore', sc, variant, seed, r, r.interrupted ? stoppedLine('explore', r, interruptedBy) : null))]);
  return f ? 1 : 0;
}

/** Schedules this long take seconds each (a sim step is about a microsecond): say so before the wait. */
const BIG_SCHEDULE_STEPS = 10_000_000;
function bigScenarioNote(sc: Scenario, io: Io): void {
  if (sc.maxSteps < BIG_SCHEDULE_STEPS) return;
  const scalable = sc.name in SCALABLE_SCENARIOS;
  io.err(
    `gmemsim explore: note: a schedule of "${sc.name}" may take up to ${sc.maxSteps.toLocaleString('en-US')} steps (maxSteps), minutes each; ` +
      (scalable ? 'for many schedules shrink it with --scale (e.g. --scale 0.0001)' : 'for many schedules use a smaller scenario'),
  );
}

/** dfs without --schedules: enough for the litmus scenarios many times over, not a hang on a big one */
const DFS_DEFAULT_SCHEDULES = 200_000;

/** explore --strategy dfs: bounded exhaustive search over one workload (the campaign's schedule 0 seed). */
function dfsCommand(sc: Scenario, variant: VariantInfo | null, seed: number, invariants: InvariantId[] | null, opts: Record<string, unknown>, maxSchedules: number, io: Io, save: string | null, tracePath: string | null, stop: Int32Array, report: string | null = null): number {
  const json = opts.json === true;
  const progress = progressFor('explore', io, opts.progress);
  const c = Number(opts.preemptions);
  const workload = scheduleSeed(seed, 0);
  const r = exploreDfs(modelOf(sc), {
    seed: workload,
    variant: variant?.id ?? null,
    invariants: invariants ? new Set(invariants) : undefined,
    preemptions: c,
    maxSchedules,
    timeBudgetMs: opts.time === undefined ? undefined : Number(opts.time),
    stop,
    onProgress: (p) => progress.update(`dfs: ${p.schedules.toLocaleString('en-US')} schedules, ${p.pending.toLocaleString('en-US')} branches pending, ${seconds(p.elapsedMs)}`, { schedules: p.schedules, pending: p.pending, steps: p.steps, elapsedMs: p.elapsedMs }),
  });
  progress.done();
  const f = r.violation ? makeFinding(sc, { variant: variant?.id ?? null, invariants, shrink: opts['no-shrink'] !== true }, r.schedules - 1, workload, r.decisions!, stop) : null;
  const verdict = f
    ? `violation in schedule ${r.schedules - 1}, ${r.schedules === 1 ? 'the first' : `the last of ${r.schedules.toLocaleString('en-US')}`} run (${r.violationPreemptions} preemption${r.violationPreemptions === 1 ? '' : 's'})`
    : r.interrupted
      ? `not exhausted: ${r.interrupted === 'signal' ? `interrupted by ${stopSignalName(stop) ?? 'a signal'}` : '--time ran out'}; no violation in the ${r.schedules.toLocaleString('en-US')} schedules completed`
    : r.exhausted
      ? `the space is exhausted: no violation in all ${r.schedules.toLocaleString('en-US')} schedules with <= ${c} preemption${c === 1 ? '' : 's'}`
      : `not exhausted: no violation in the ${r.schedules.toLocaleString('en-US')} schedules run (the --schedules or --time budget ran out)`;
  if (json) {
    io.out(JSON.stringify({ ok: !f, command: 'explore', engine: 'sim', scenario: sc.name, kernel: sc.kernel, variant: variant?.id ?? null, seed, strategy: 'dfs', preemptions: c, exhausted: r.exhausted, interrupted: r.interrupted, interruptedBy: r.interrupted === 'signal' ? stopSignalName(stop) : null, schedules: r.schedules, steps: r.steps, elapsedMs: r.elapsedMs, violations: f ? [findingJson(f)] : [] }, null, 2));
  } else {
    const names = actorDefs(sc).map((d) => d.name);
    const out = [
      `gmemsim explore: scenario ${scenarioLabel(sc)}, variant ${variantLabel(variant)}, seed ${seed}, engine sim, strategy dfs (at most ${c} preemption${c === 1 ? '' : 's'})`,
      `  ${r.schedules.toLocaleString('en-US')} schedule${r.schedules === 1 ? '' : 's'}, ${r.steps.toLocaleString('en-US')} steps in ${seconds(r.elapsedMs)}`,
      `  ${verdict}`,
      '',
    ];
    if (f) out.push(findingText(f, (id) => names[id] ?? `actor ${id}`));
    io.out(out.join('\n'));
  }
  writeOutputs('explore', [...findingOutputs(f, save, tracePath), reportOutput(report, () => dfsReportData(sc, variant, seed, c, r, verdict, f))]);
  return f ? 1 : 0;
}
