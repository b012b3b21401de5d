// A/B: this checkout against another built checkout (a git worktree of the commit before a
// change), run by turns on the same machine in the same minutes. On a shared 2-core VM the same
// code measures 1.6x apart from one run of `npm run bench` to the next (bench/README.md), so a
// change is judged by runs taken in turns, each a fresh process, and the median of each side.
//
//   git worktree add /tmp/base <commit> && (cd /tmp/base && npm ci && npm run build)
//   npm run bench:ab -- /tmp/base [rounds]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const self = resolve(here, here.includes('dist') ? '../..' : '..');

/** One figure measured in a fresh process of the checkout at `root` (run by this script with --probe). */
async function probe(root: string, which: string): Promise<number> {
  const imp = (p: string) => import(resolve(root, 'dist', p));
  const { modelOf } = await imp('src/workload/kinds.js');
  const { runThreads } = await imp('src/engine/threads.js');
  if (which === 'explore') {
    // schedules per CPU second: the process's CPU time, less sensitive than the wall clock to a host that steals cycles
    const { explore } = await imp('src/explore/explore.js');
    const { DEFAULT_SCENARIO } = await imp('src/scenario/builtins.js');
    let best = 0;
    for (let k = 0; k < 3; k++) {
      const c0 = process.cpuUsage();
      const r = explore(DEFAULT_SCENARIO, { seed: 1 + k, schedules: 1500, variant: null, strategy: 'portfolio' });
      const c = process.cpuUsage(c0);
      best = Math.max(best, (r.schedulesRun * 1e6) / (c.user + c.system));
    }
    return best;
  }
  if (which === 'fault1' || which === 'fault2') {
    const { faultScenario } = await imp('bench/macro.js');
    const v = which === 'fault1' ? 1 : 2;
    const stop = new AbortController();
    let first = -1;
    let f0 = 0;
    let last = { ms: 0, f: 0 };
    await runThreads(modelOf(faultScenario(v)), {
      seed: 1,
      variant: null,
      durationMs: 60_000,
      sweepEveryMs: 0,
      signal: stop.signal,
      onProgress: ({ elapsedMs, stats: { total: t } }: { elapsedMs: number; stats: { total: { faults: number } } }) => {
        if (t.faults > 0 && first < 0) {
          first = elapsedMs;
          f0 = t.faults;
        }
        last = { ms: elapsedMs, f: t.faults };
        if (first >= 0 && elapsedMs - first >= 2000) stop.abort();
      },
    });
    return (last.f - f0) / ((last.ms - first) / 1000) / v;
  }
  const { numaInterleaveScenario } = await imp('src/scenario/builtins.js');
  const r = await runThreads(modelOf(numaInterleaveScenario(0.05)), { seed: 1, variant: null, sweepEveryMs: 0 });
  return r.elapsedMs;
}

const FIGURES = [
  { id: 'explore', name: 'explore on default (schedules per CPU-second)', better: 'higher' },
  { id: 'fault1', name: 'threads, 1 vCPU (faults/s)', better: 'higher' },
  { id: 'fault2', name: 'threads, 2 vCPUs (faults/s per vCPU)', better: 'higher' },
  { id: 'faultin', name: 'threads, numa-interleave 0.05 faulted in (ms)', better: 'lower' },
] as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export function runAb(argv: string[]): number {
  const base = argv[0] ? resolve(argv[0]) : '';
  const rounds = Number(argv[1] ?? 3);
  if (!base || !existsSync(resolve(base, 'dist/src/engine/threads.js')) || !existsSync(resolve(base, 'dist/bench/macro.js'))) {
    console.error('bench:ab: give a built checkout: npm run bench:ab -- DIR [rounds] (DIR/dist/src/engine/threads.js and DIR/dist/bench/macro.js must exist: cd DIR && npm ci && npm run build)');
    return 2;
  }
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) {
    console.error('bench:ab: rounds must be an integer from 1 to 20');
    return 2;
  }
  const script = fileURLToPath(import.meta.url);
  const runs: Record<string, { base: number[]; self: number[] }> = Object.fromEntries(FIGURES.map((f) => [f.id, { base: [], self: [] }]));
  for (let i = 0; i < rounds; i++) {
    for (const f of FIGURES) {
      // the order within a pair alternates, so neither side always runs on a machine the other warmed
      const order = i % 2 === 0 ? (['base', 'self'] as const) : (['self', 'base'] as const);
      for (const side of order) {
        let out: string;
        try {
          out = execFileSync(process.execPath, [script, '--probe', side === 'base' ? base : self, f.id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        } catch (e) {
          const err = (e as { stderr?: string }).stderr?.trim().split('\n').find((l) => /Error/.test(l)) ?? String(e);
          console.error(`bench:ab: measuring "${f.name}" on ${side === 'base' ? base : self} failed: ${err}`);
          return 2;
        }
        runs[f.id]![side].push(Number(out.trim().split('\n').pop()));
      }
    }
    console.log(`round ${i + 1}/${rounds} done`);
  }
  console.log(`\nA/B: ${self} against ${base}, ${rounds} rounds taken in turns (median of each side)`);
  console.table(
    FIGURES.map((f) => {
      const b = median(runs[f.id]!.base);
      const n = median(runs[f.id]!.self);
      const gain = f.better === 'higher' ? n / b : b / n;
      return { figure: f.name, base: Math.round(b).toLocaleString('en-US'), this: Math.round(n).toLocaleString('en-US'), 'speed-up': `${gain.toFixed(2)}x`, runs: `${runs[f.id]!.base.map(Math.round).join(' ')} | ${runs[f.id]!.self.map(Math.round).join(' ')}` };
    }),
  );
  return 0;
}

if (process.argv[2] === '--probe') {
  const v = await probe(process.argv[3]!, process.argv[4]!);
  console.log(String(v));
  process.exit(0);
}
