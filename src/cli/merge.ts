// gmemsim merge: combine the --json outputs of the shards of one explore campaign (--shard I/N)
// into the campaign's result: the first violation is the one with the lowest schedule index, as
// the unsharded campaign (which stops at its first) would report.
import { readFileSync } from 'node:fs';
import { UsageError, helpText, parseArgs, type OptSpec } from './args.js';
import { JSON_OPT, type Io } from './common.js';

const OPTS: OptSpec[] = [JSON_OPT];

export const MERGE_HELP = helpText(
  'usage: gmemsim merge SHARD.json... [options]',
  `Combine the shards of an explore campaign: each file is the --json output of
  gmemsim explore ... --shard I/N --json > shard-I.json
for I = 0 .. N-1, all with the same scenario, seed, variant, strategy and schedules. Every shard
must be there exactly once. The merged first violation is the lowest schedule index found, so
the result is the same however the campaign was sharded.
Exit status: 0 no violation, 1 violation found, 2 bad input (a missing, repeated or foreign shard).`,
  OPTS,
);

interface ShardOut {
  ok: boolean;
  schedules: number;
  steps: number;
  elapsedMs: number;
  violations: Array<{ invariant: string; message: string; schedule: number; traceHash: string; replay: string; shrunk?: unknown }>;
  campaign: Record<string, unknown>;
  shard: { index: number; count: number } | null;
}

export async function mergeCommand(argv: string[], io: Io): Promise<number> {
  if (argv.includes('--help')) {
    io.out(MERGE_HELP);
    return 0;
  }
  const { positionals, opts } = parseArgs('merge', argv, OPTS, Infinity);
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
    return { file: f, j };
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
  const found = shards.flatMap(({ j }) => j.violations).sort((a, b) => a.schedule - b.schedule);
  const first = found[0] ?? null;
  const merged = {
    ok: !first,
    command: 'merge',
    shards: count,
    campaign: shards[0].j.campaign,
    schedules: shards.reduce((n, { j }) => n + j.schedules, 0),
    steps: shards.reduce((n, { j }) => n + j.steps, 0),
    violations: first ? [first] : [],
  };
  if (opts.json === true) io.out(JSON.stringify(merged, null, 2));
  else {
    const c = merged.campaign as { scenario: { name: string }; seed: number; variant: string | null; strategy: string; schedules: number };
    const out = [
      `gmemsim merge: ${count} shards of the campaign scenario "${c.scenario.name}", variant ${c.variant ?? 'none'}, seed ${c.seed}, strategy ${c.strategy}, ${c.schedules.toLocaleString('en-US')} schedules`,
      `  ${merged.schedules.toLocaleString('en-US')} schedules run, ${merged.steps.toLocaleString('en-US')} steps`,
      '',
    ];
    if (first) out.push(`VIOLATION ${first.invariant}: ${first.message}`, `  first at schedule ${first.schedule} (trace ${first.traceHash})`, `  replay: gmemsim replay ${first.replay}`);
    else out.push('result: OK, no invariant violated in any shard');
    io.out(out.join('\n'));
  }
  return first ? 1 : 0;
}
