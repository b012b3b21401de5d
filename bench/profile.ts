// The profiles of bench/README.md, reproducible: `npm run bench:profile -- sim|threads [N]` runs
// the workload in a child under `node --cpu-prof` (one profile per thread: the main thread and
// every worker) and prints each thread's top N functions by self time.
//   sim:     explore on `default`, 3,000 portfolio schedules, one core
//   threads: numa-interleave --scale 0.05 faulted in (4 vCPU workers and the VMM)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by function (name, file, line), largest first, and the profile's total (ms). */
export function topSelf(p: CpuProfile, n: number): { totalMs: number; rows: Array<{ ms: number; share: number; fn: string }> } {
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const cf = byId.get(p.samples[i]!)!.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + p.timeDeltas[i]!);
    total += p.timeDeltas[i]!;
  }
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, us]) => ({ ms: us / 1000, share: total ? us / total : 0, fn }));
  return { totalMs: total / 1000, rows };
}

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, here.includes('dist') ? '../..' : '..');

async function workload(which: string): Promise<void> {
  if (which === 'sim') {
    const { explore } = await import(resolve(root, 'dist/src/explore/explore.js'));
    const { DEFAULT_SCENARIO } = await import(resolve(root, 'dist/src/scenario/builtins.js'));
    const r = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 3000, variant: null, strategy: 'portfolio' });
    console.log(`explore default: ${r.schedulesRun} schedules in ${r.elapsedMs} ms`);
    return;
  }
  const { runThreads } = await import(resolve(root, 'dist/src/engine/threads.js'));
  const { modelOf } = await import(resolve(root, 'dist/src/workload/kinds.js'));
  const { numaInterleaveScenario } = await import(resolve(root, 'dist/src/scenario/builtins.js'));
  const sc = numaInterleaveScenario(0.05);
  const r = await runThreads(modelOf(sc), { seed: 1, variant: null, sweepEveryMs: 0 });
  console.log(`numa-interleave 0.05: ${sc.gmemPages} pages faulted in ${Math.round(r.elapsedMs)} ms`);
}

export function runProfile(argv: string[]): number {
  const which = argv[0] ?? 'sim';
  const n = Number(argv[1] ?? 15);
  if (which !== 'sim' && which !== 'threads') {
    console.error(`bench:profile: the workload must be sim or threads, not ${JSON.stringify(which)}`);
    return 2;
  }
  if (!Number.isInteger(n) || n < 1 || n > 200) {
    console.error('bench:profile: N (rows per thread) must be an integer from 1 to 200');
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gmemsim-prof-'));
  try {
    const out = execFileSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, fileURLToPath(import.meta.url), '--workload', which], { encoding: 'utf8' });
    console.log(out.trim());
    // the file names hold the thread id: 0 is the main thread
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
    for (const f of files.sort()) {
      const thread = f.split('.')[4] ?? '?';
      const { totalMs, rows } = topSelf(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile, n);
      if (totalMs < 1) continue;
      console.log(`\nthread ${thread}${thread === '0' ? ' (main)' : ''}: ${Math.round(totalMs)} ms sampled`);
      console.table(rows.map((r) => ({ 'self ms': Math.round(r.ms), share: `${(100 * r.share).toFixed(1)}%`, function: r.fn })));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return 0;
}

if (process.argv[2] === '--workload') await workload(process.argv[3]!);
