// The bench regression check (issue 15): each figure of a `npm run bench` result beside the same
// figure of a baseline result, with the ratio now / baseline and whether that is better or worse.
// `npm run bench -- --compare FILE` prints it after a run; `npm run bench:compare -- OLD NEW` compares
// two saved results. bench/results/baseline.json is the committed baseline (recorded before the
// performance work of issue 15).
import { readFileSync } from 'node:fs';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Figure {
  name: string;
  get: (j: Json) => number | undefined;
  better: 'higher' | 'lower';
  goal?: string;
}

/** full/floor at n vCPU workers (results before issue 15 have only the 4-worker figure). */
const byWorkers = (j: Json, n: number): number | undefined => (j.macro?.fullVsFloorByWorkers ?? []).find((r: Json) => r.vcpus === n)?.ratio;

const FIGURES: Figure[] = [
  { name: 'explore on default, one core (schedules/s)', get: (j) => j.macro?.exploreSchedulesPerSec, better: 'higher', goal: '>= 5,000' },
  { name: 'sim (steps/s)', get: (j) => j.macro?.simStepsPerSec, better: 'higher', goal: '>= 2 M' },
  { name: '2 explore workers from a cold start (speed-up)', get: (j) => j.macro?.exploreSpeedup2Workers, better: 'higher', goal: '>= 1.7x' },
  { name: 'full protocol / Atomics floor, 1 vCPU', get: (j) => byWorkers(j, 1), better: 'higher', goal: '>= 0.5' },
  { name: 'full protocol / Atomics floor, 2 vCPUs', get: (j) => byWorkers(j, 2), better: 'higher', goal: '>= 0.5' },
  { name: 'full protocol / Atomics floor, 4 vCPUs on 2 cores', get: (j) => j.macro?.fullVsFloor?.ratio, better: 'higher', goal: '(reported apart)' },
  { name: 'shared state at 4 M pages (bytes/page)', get: (j) => j.macro?.memory?.numaInterleave?.bytesPerPage, better: 'lower', goal: '<= 32' },
  { name: '16 GiB faulted once (ms)', get: (j) => j.macro?.memory?.faultIn?.elapsedMs, better: 'lower', goal: '<= 10,000' },
  { name: "the seed's 50 GiB table (ms)", get: (j) => j.macro?.memory?.seedTable?.elapsedMs, better: 'lower', goal: '<= 30,000' },
];

/** Every micro-benchmark row (ns/op) and every fault-in-by-level run (ms), named from the result itself. */
function figuresOf(base: Json, now: Json): Figure[] {
  const micro = [...new Set([...(base.micro ?? []), ...(now.micro ?? [])].map((r: Json) => r.name as string))].map<Figure>((name) => ({ name: `micro: ${name} (ns/op)`, get: (j) => (j.micro ?? []).find((r: Json) => r.name === name)?.nsPerOp, better: 'lower' }));
  const levels = [...new Set([...(base.macro?.faultInByLevel?.runs ?? []), ...(now.macro?.faultInByLevel?.runs ?? [])].map((r: Json) => r.level as string))].map<Figure>((level) => ({ name: `fault-in 1 GiB at ${level} (ms)`, get: (j) => (j.macro?.faultInByLevel?.runs ?? []).find((r: Json) => r.level === level)?.elapsedMs, better: 'lower' }));
  return [...FIGURES, ...levels, ...micro];
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(Math.abs(x) >= 1 ? 2 : 4));

/** The comparison as table rows; a figure missing on either side says so. Within 5% counts as the same (the machine is noisy). */
export function compareBench(base: Json, now: Json): Array<Record<string, string>> {
  return figuresOf(base, now).map((f) => {
    const [b, n] = [f.get(base), f.get(now)];
    if (typeof b !== 'number' || typeof n !== 'number' || b === 0) return { figure: f.name, baseline: b === undefined ? '-' : fmt(b), now: n === undefined ? '-' : fmt(n), 'now / baseline': '-', verdict: 'not in both', goal: f.goal ?? '' };
    const r = n / b;
    const better = f.better === 'higher' ? r > 1.05 : r < 1 / 1.05;
    const worse = f.better === 'higher' ? r < 1 / 1.05 : r > 1.05;
    return { figure: f.name, baseline: fmt(b), now: fmt(n), 'now / baseline': `${r.toFixed(2)}x`, verdict: better ? 'better' : worse ? 'WORSE' : 'same (within 5%)', goal: f.goal ?? '' };
  });
}

export function printComparison(baseFile: string, now: Json, nowName = 'this run'): void {
  const base = JSON.parse(readFileSync(baseFile, 'utf8')) as Json;
  console.log(`\ncompared with ${baseFile} (${base.date ?? 'undated'}), ${nowName}:`);
  console.table(compareBench(base, now));
}

/** `bench:compare OLD NEW`: two saved results. */
export function compareFiles(args: string[]): number {
  const files = args.filter((a) => !a.startsWith('-'));
  if (files.length !== 2) {
    console.error('usage: npm run bench:compare -- BASELINE.json RESULT.json');
    return 2;
  }
  printComparison(files[0]!, JSON.parse(readFileSync(files[1]!, 'utf8')) as Json, files[1]!);
  return 0;
}
