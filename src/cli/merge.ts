// gmemsim merge: combine the --json outputs of the shards of one explore campaign (--shard I/N)
// into the campaign's result: every violation found (the first is the one with the lowest
// schedule index, as the unsharded campaign, which stops at its first, would report), the
// activity counters and telemetry added up, and the coverage sets unioned.
import { readFileSync } from 'node:fs';
import { UsageError, helpText, parseArgs, type OptSpec } from './args.js';
import { JSON_OPT, type Io } from './common.js';
import { addStats, emptyStats, type ActorStats, type Counters, type NodeStats, type Stats } from '../engine/stats.js';
import { activityTable, numaJson, numaTable, statsJson } from '../report/text.js';
import { bucketLabel, telemetryJson, telemetryText } from '../report/telemetry.js';
import { coverageFromJson, coverageJson, coverageText, unionCoverage, type Coverage } from '../explore/coverage.js';

export const MERGE_OPTS: OptSpec[] = [JSON_OPT];

export const MERGE_HELP = helpText(
  'usage: gmemsim merge SHARD.json... [options]',
  `Combine the shards of an explore campaign: each file is the --json output of
  gmemsim explore ... --shard I/N --json > shard-I.json     (or --shard auto, see explore --help)
for I = 0 .. N-1, all with the same scenario, seed, variant, strategy and schedules. Every shard
must be there exactly once. The result:
  - every violation the shards found, by schedule index; the first is the lowest index, so it
    is the unsharded campaign's finding however the campaign was sharded
  - schedules, steps, the activity counters (per actor and in total), the invalidate-retry
    telemetry and its retry histogram, added up (maxima: the largest); the NUMA block is the
    campaign's last schedule's, as explore's is. With no violation these equal the unsharded
    campaign's; with one, each shard ran on to its own first violation, so they count more
  - coverage: the union of the shards' yield-point transitions (actor kind, from -> to) and of
    their trace hashes (distinct schedules)
  - a shard cut short (explore --time ran out, or a signal) is listed: the merged campaign is
    then incomplete ("complete": false, and "incomplete" names the shards)
--json prints the same fields as explore --json (stats, actors, numa, telemetry, coverage), and
violations, first, shards, complete, incomplete.
Exit status: 0 no violation (complete or not: see "complete"), 1 violation found, 2 bad input (a
missing, repeated or foreign shard, or an output that cannot be written), 3 internal error.
Ctrl-C (SIGINT) or SIGTERM: merge is quick and stops at once, exit 130 or 143.`,
  MERGE_OPTS,
  'Example: gmemsim merge shard-*.json --json > campaign.json',
);

interface ShardOut {
  ok: boolean;
  strategy: string;
  pct: unknown;
  schedules: number;
  steps: number;
  elapsedMs: number;
  violations: Array<{ invariant: string; message: string; schedule: number; traceHash: string; replay: string; shrunk?: unknown }>;
  campaign: Record<string, unknown>;
  shard: { index: number; count: number; source?: string } | null;
  stats: Counters;
  actors: ActorStats[];
  numa: { nodes: Array<NodeStats & { filePagesMiB?: number; unevictableMiB?: number }> };
  telemetry: ReturnType<typeof telemetryJson>;
  coverage: unknown;
  /** why the shard stopped before its schedules were done (absent in older outputs: it was not) */
  interrupted?: 'time' | 'signal' | null;
  interruptedBy?: string | null;
}

const isInt = (v: unknown, min = 0) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Nested deeper than `max` (walked without recursion: a hostile file can nest 100,000 deep). */
function depthOver(v: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (d > max) return true;
    if (typeof x === 'object' && x !== null) for (const c of Object.values(x)) stack.push([c, d + 1]);
  }
  return false;
}

/** The fields merge reads, checked: a damaged shard file is named with its field (exit 2), never a crash. */
function checkShape(f: string, j: ShardOut): void {
  const bad = (field: string, allowed: string) => new UsageError(`gmemsim merge: ${f}: ${field} must be ${allowed} (a damaged or hand-edited explore --json output?)`);
  const sh = j.shard as unknown;
  if (depthOver(j.campaign, 64)) throw bad('campaign', 'the campaign explore wrote (it is nested deeper than any scenario)');
  if (!isObj(sh) || !isInt(sh.count, 1) || (sh.count as number) > 100_000 || !isInt(sh.index) || (sh.index as number) >= (sh.count as number)) throw bad('shard', '{ index, count } with 0 <= index < count');
  if (!isObj(j.campaign) || !isObj(j.campaign.scenario) || typeof j.campaign.scenario.name !== 'string' || !isInt(j.campaign.schedules, 1) || !isInt(j.campaign.seed)) {
    throw bad('campaign', 'the campaign explore wrote (scenario, seed, schedules, ...)');
  }
  if (!isInt(j.schedules)) throw bad('schedules', 'an integer >= 0');
  if (!isInt(j.steps)) throw bad('steps', 'an integer >= 0');
  if (typeof j.elapsedMs !== 'number' || !(j.elapsedMs >= 0)) throw bad('elapsedMs', 'a number >= 0');
  if (!Array.isArray(j.violations) || !j.violations.every((v) => isObj(v) && isInt(v.schedule) && typeof v.invariant === 'string')) throw bad('violations', 'a list of { invariant, schedule, ... }');
  if (j.interrupted !== undefined && j.interrupted !== null && j.interrupted !== 'time' && j.interrupted !== 'signal') throw bad('interrupted', 'null, "time" or "signal"');
  if (!isObj(j.stats) || !Array.isArray(j.actors) || !isObj(j.numa) || !Array.isArray(j.numa.nodes) || !isObj(j.telemetry)) throw bad('stats/actors/numa/telemetry', 'what explore --json writes');
}

/** The Stats a shard's --json holds (the figures telemetryJson and numaJson derive theirs from). */
function statsOf(j: ShardOut): Stats {
  const st = emptyStats();
  const t = j.telemetry;
  for (const h of t.retriesPerFault.histogram) {
    const b = st.retryHist.findIndex((_, i) => bucketLabel(i) === h.retries);
    if (b < 0) throw new Error(`retry bucket "${h.retries}"`);
    st.retryHist[b] = h.count;
  }
  st.total = { ...j.stats };
  st.actors = j.actors.map((a) => ({ name: a.name, kind: a.kind, counters: { ...a.counters } }));
  st.nodes = j.numa.nodes.map(({ filePagesMiB: _f, unevictableMiB: _u, ...n }) => n);
  st.retryMax = t.retriesPerFault.max;
  st.mmuLock = t.mmuLock.build;
  st.starvationRetries = t.starvation.threshold;
  st.timed = t.invalidationWindows.unit === 'us';
  return st;
}

export async function mergeCommand(argv: string[], io: Io): Promise<number> {
  // -h/--help: main.ts answers it for every command
  const { positionals, opts } = parseArgs('merge', argv, MERGE_OPTS, Infinity);
  if (positionals.length === 0) throw new UsageError('gmemsim merge: give the shards\' JSON files (see gmemsim merge --help)');
  const shards = positionals.map((f) => {
    let j: ShardOut;
    try {
      j = JSON.parse(readFileSync(f, 'utf8'));
    } catch (e) {
      throw new UsageError(`gmemsim merge: ${f}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not JSON (an explore --json output is expected)'}`);
    }
    if (!j || typeof j !== 'object' || !j.campaign || !('shard' in j)) throw new UsageError(`gmemsim merge: ${f} is not the --json output of gmemsim explore`);
    if (!j.shard) throw new UsageError(`gmemsim merge: ${f} is a whole campaign (run without --shard): nothing to merge`);
    checkShape(f, j);
    let stats: Stats;
    let coverage: Coverage;
    try {
      stats = statsOf(j);
      coverage = coverageFromJson(j.coverage);
    } catch (e) {
      throw new UsageError(`gmemsim merge: ${f} has no readable stats, telemetry or coverage (${(e as Error).message}; written by an older gmemsim?)`);
    }
    return { file: f, j, stats, coverage };
  });
  const ref = JSON.stringify(shards[0].j.campaign);
  const count = shards[0].j.shard!.count;
  const seen = new Map<number, string>();
  for (const { file, j } of shards) {
    if (JSON.stringify(j.campaign) !== ref) throw new UsageError(`gmemsim merge: ${file} is from another campaign than ${shards[0].file} (scenario, seed, variant, strategy, depth or schedules differ)`);
    if (j.shard!.count !== count) throw new UsageError(`gmemsim merge: ${file} is shard ${j.shard!.index}/${j.shard!.count}, the others are of ${count}`);
    const prev = seen.get(j.shard!.index);
    if (prev) throw new UsageError(`gmemsim merge: shard ${j.shard!.index}/${count} is given twice (${prev} and ${file})`);
    seen.set(j.shard!.index, file);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length) throw new UsageError(`gmemsim merge: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} missing`);
  // A shard stops at its first violation: a lower index could only be in a shard that did not reach it.
  const found = shards.flatMap(({ j }) => j.violations.map((v) => ({ ...v, shard: j.shard!.index }))).sort((a, b) => a.schedule - b.schedule);
  const first = found[0] ?? null;
  // Shard I ran schedules I, I + N, ...: the one that ran the highest index goes last, so the
  // NUMA block (one schedule's, the last's) is the campaign's last schedule's.
  const lastIndex = ({ j }: (typeof shards)[number]) => (j.schedules > 0 ? j.shard!.index + (j.schedules - 1) * count : -1);
  const stats = emptyStats();
  for (const s of [...shards].sort((a, b) => lastIndex(a) - lastIndex(b))) addStats(stats, s.stats);
  const coverage = unionCoverage(...shards.map((s) => s.coverage));
  const schedules = shards.reduce((n, { j }) => n + j.schedules, 0);
  // A shard cut by --time or a signal did not run all its schedules: the merged campaign is incomplete, and says so.
  const incomplete = shards
    .filter(({ j }) => j.interrupted)
    .map(({ file, j }) => ({ shard: j.shard!.index, file, interrupted: j.interrupted!, interruptedBy: j.interruptedBy ?? null, schedules: j.schedules }))
    .sort((a, b) => a.shard - b.shard);
  const merged = {
    ok: !first,
    command: 'merge',
    shards: count,
    campaign: shards[0].j.campaign,
    strategy: shards[0].j.strategy,
    pct: shards[0].j.pct,
    schedules,
    complete: incomplete.length === 0,
    incomplete,
    steps: shards.reduce((n, { j }) => n + j.steps, 0),
    /** the shards' run times added (CPU time of the campaign, not its wall time) */
    elapsedMsTotal: shards.reduce((n, { j }) => n + j.elapsedMs, 0),
    violations: found,
    first,
    stats: statsJson(stats),
    actors: stats.actors,
    numa: numaJson(stats),
    telemetry: telemetryJson(stats),
    coverage: coverageJson(coverage),
  };
  if (opts.json === true) io.out(JSON.stringify(merged, null, 2));
  else {
    const c = merged.campaign as { scenario: { name: string; kernel?: string; numa?: unknown }; seed: number; variant: string | null; strategy: string; schedules: number };
    const out = [
      `gmemsim merge: ${count} shards of the campaign scenario "${c.scenario.name}" (kernel ${c.scenario.kernel ?? '6.12'}), variant ${c.variant ?? 'none'}, seed ${c.seed}, strategy ${c.strategy}, ${c.schedules.toLocaleString('en-US')} schedules`,
      `  ${merged.schedules.toLocaleString('en-US')} schedules run, ${merged.steps.toLocaleString('en-US')} steps`,
      ...(incomplete.length
        ? [
            `  INCOMPLETE: ${incomplete.length} of ${count} shard${count === 1 ? '' : 's'} stopped before their schedules were done: ${incomplete
              .map((x) => `${x.shard}/${count} (${x.interrupted === 'time' ? '--time ran out' : `interrupted by ${x.interruptedBy ?? 'a signal'}`}, ${x.schedules.toLocaleString('en-US')} schedules)`)
              .join(', ')}; the results cover the schedules run, not the whole campaign`,
          ]
        : []),
      `  ${coverageText(coverage, schedules)}`,
      '',
    ];
    if (first) {
      out.push(`${found.length} violation${found.length === 1 ? '' : 's'} (each shard stops at its first):`);
      for (const v of found)
        out.push(
          `VIOLATION ${v.invariant}: ${v.message}`,
          `  ${v === first ? 'first, ' : ''}at schedule ${v.schedule} (shard ${v.shard}/${count}, trace ${v.traceHash})`,
          `  replay: gmemsim replay ${v.replay}`,
        );
      out.push('', 'the totals below: each shard ran on to its own first violation, so they count more schedules than the unsharded campaign (which stops at its first)');
    } else out.push(incomplete.length ? 'result: no invariant violated in the schedules the shards ran (the campaign is incomplete, see above)' : 'result: OK, no invariant violated in any shard');
    out.push('', 'activity (all schedules of all shards):', activityTable(stats), '', 'invalidate-retry telemetry (all schedules of all shards):', telemetryText(stats));
    if (c.scenario.numa) out.push('', 'memory by NUMA node (the campaign\'s last schedule, at its end):', numaTable(stats));
    io.out(out.join('\n'));
  }
  return first ? 1 : 0;
}
