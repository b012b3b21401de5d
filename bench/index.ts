// npm run bench: micro benchmarks (tinybench) of the primitives and the sim engine, explore
// throughput and its piscina speed-up, and the threads macro benchmarks of issue 4 (bench/macro.ts:
// full protocol vs a floor, scaling, the invalidate-retry curve, memory), printed and written to
// bench/results/latest.json (the retry curve also to bench/results/retry-curve.csv).
import { mkdirSync, writeFileSync } from 'node:fs';
import { printComparison } from './compare.js';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { explore } from '../src/explore/explore.js';
import { ExplorePool, exploreParallel } from '../src/explore/pool.js';
import { runSim } from '../src/engine/sim.js';
import { mmuInvalidateRetryGfn } from '../src/kvm/mmu_invalidate.js';
import { DEFAULT_SCENARIO } from '../src/scenario/builtins.js';
import { KVM_MEMORY_ATTRIBUTE_PRIVATE, PfnOwner } from '../src/shm/layout.js';
import { runMacro } from './macro.js';
import { runDetection } from './detection.js';
import { runConversionBench } from './conversion.js';
import { makeCtxs } from '../src/engine/model.js';
import type { ActorCtx, Gen } from '../src/engine/ctx.js';
import { fiberOf } from '../src/engine/fiber.js';
import { tryProceed } from '../src/engine/wait.js';
import { filemapGet } from '../src/shm/file.js';
import { setGfnAttr } from '../src/shm/gfn.js';
import { LOCK_WORDS, mmuInvalidateSeq } from '../src/shm/kvm.js';
import { kvmGmemPunchHole } from '../src/gmem/guest_memfd.js';
import { kvmMmuPageFault, newFault, RET_PF_FIXED } from '../src/kvm/mmu.js';
import { tdpMmuZapLeaf } from '../src/kvm/spte.js';
import { allocPage, pagePut } from '../src/mm/page_alloc.js';
import { validateScenario } from '../src/scenario/schema.js';
import { createShm } from '../src/shm/state.js';
import { rwReadUnlock, rwTryRead, rwTryWrite, rwWriteUnlock } from '../src/sync/locks.js';
import { modelOf } from '../src/workload/kinds.js';

const BATCH = 1000; // sub-100 ns operations are timed in batches (tinybench's timer costs ~50 ns)
const FAULTS = 16;
const MMU = LOCK_WORDS.mmuLock;
const DEFAULT_MODEL = modelOf(DEFAULT_SCENARIO);
const s = createShm(DEFAULT_SCENARIO, DEFAULT_MODEL.actors.length);
const a = s.i32;
let sink = 0;
const fx = faultFixture();

/** A one-node default scenario: vCPU 0 faults on private gfns 0..FAULTS-1 of memslot 0. */
function faultFixture() {
  const sc = validateScenario({ numa: null }, DEFAULT_SCENARIO);
  const model = modelOf(sc);
  const fs = createShm(sc, model.actors.length);
  const ctxs = makeCtxs(model, fs, { seed: 1, variant: null, report: () => undefined });
  const vcpu = ctxs[0];
  const puncher = ctxs.find((c) => c.kind === 'puncher')!;
  for (let g = 0; g < FAULTS; g++) setGfnAttr(fs, g, KVM_MEMORY_ATTRIBUTE_PRIVATE);
  return { s: fs, vcpu, puncher, fault: newFault() };
}

/** Run a generator to its end, completing each wait at once (nothing else runs). */
function drive<T>(ctx: ActorCtx, g: Gen<T>): T {
  const gen = (ctx.fiber = fiberOf(g));
  for (;;) {
    if (!tryProceed(ctx.s, ctx)) throw new Error(`${ctx.name} would block`);
    const r = gen.next();
    if (r.done) return r.value;
  }
}

function faults(miss: boolean): void {
  for (let g = 0; g < FAULTS; g++) {
    const r = drive(fx.vcpu, kvmMmuPageFault(fx.vcpu, fx.fault, g, true));
    if (r !== RET_PF_FIXED) throw new Error(`bench fault on gfn ${g} (${miss ? 'miss' : 'hit'}) returned ${r}`);
  }
}

function resetFaults(miss: boolean): void {
  if (miss) drive(fx.puncher, kvmGmemPunchHole(fx.puncher, 0, FAULTS)); // zaps the SPTEs and truncates the folios
  else for (let g = 0; g < FAULTS; g++) tdpMmuZapLeaf(fx.vcpu, g);
}
const bench = new Bench({ time: 1000 });
bench
  .add(`rwlock read acquire+release x${BATCH}`, () => {
    for (let i = 0; i < BATCH; i++) {
      rwTryRead(a, MMU);
      rwReadUnlock(a, MMU);
    }
  })
  .add(`rwlock write acquire+release x${BATCH}`, () => {
    for (let i = 0; i < BATCH; i++) {
      rwTryWrite(a, MMU);
      rwWriteUnlock(a, MMU);
    }
  })
  .add(`seq snapshot + mmu_invalidate_retry_gfn x${BATCH}`, () => {
    for (let i = 0; i < BATCH; i++) mmuInvalidateRetryGfn(fx.vcpu, mmuInvalidateSeq(fx.s), i & 31);
  })
  .add(`filemap lookup x${BATCH}`, () => {
    for (let i = 0; i < BATCH; i++) sink += filemapGet(s, i & 31);
  })
  .add(`pfn alloc+free x${BATCH}`, () => {
    for (let i = 0; i < BATCH; i++) pagePut(fx.vcpu, allocPage(fx.vcpu, PfnOwner.PageCache, i & 31, 0));
  })
  // One whole kvm_mmu_page_fault under the sim engine's wait protocol, on a private gfn with no
  // SPTE: a page-cache miss (allocates, zeroes, inserts the folio) or a hit (the folio is there).
  // Between faults the SPTE is zapped (and, for misses, the folio truncated), outside the timing.
  .add(`sim: one full fault, page-cache miss x${FAULTS}`, () => faults(true), { beforeEach: () => resetFaults(true) })
  .add(`sim: one full fault, page-cache hit x${FAULTS}`, () => faults(false), { beforeEach: () => resetFaults(false) })
  .add('sim: one default-scenario schedule', () => {
    runSim(DEFAULT_MODEL, { seed: 7, variant: null });
  });
await bench.run();

const rows = bench.tasks.map((t) => {
  const r = t.result as { latency?: { p50?: number; mean: number }; throughput?: { mean: number } } | undefined;
  const per = t.name.includes(`x${BATCH}`) ? BATCH : t.name.includes(`x${FAULTS}`) ? FAULTS : 1;
  const meanMs = r?.latency?.mean ?? NaN;
  return { name: t.name.replace(` x${BATCH}`, '').replace(` x${FAULTS}`, ''), nsPerOp: (meanMs * 1e6) / per, opsPerSec: (1000 / meanMs) * per };
});
const ex = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 1000, variant: null });
// the same clean campaign on 1 thread and on 2 (this thread plus a pool worker), back to back
const POOLED = 6000;
const rate = async (run: () => Promise<{ schedulesRun: number }>) => {
  const t = performance.now();
  const r = await run();
  return (r.schedulesRun * 1000) / (performance.now() - t);
};
const campaign = { seed: 2, schedules: POOLED, variant: null };
const w1 = await rate(() => exploreParallel(DEFAULT_SCENARIO, campaign, 1));
// a fresh pool, as one `gmemsim explore --workers 2` runs: its worker starts cold (V8 warm-up)
const w2 = await rate(() => exploreParallel(DEFAULT_SCENARIO, campaign, 2));
// a pool kept across campaigns, its worker warmed by one campaign before
const keep = new ExplorePool(2);
await keep.explore(DEFAULT_SCENARIO, { seed: 5, schedules: 2000, variant: null });
const w2warm = await rate(() => keep.explore(DEFAULT_SCENARIO, campaign));
await keep.close();

/** The machine's own 2-thread scaling: a pure CPU loop on 1 and on 2 worker threads (median of 3 pairs of 1 s runs). */
async function cpuLoopScaling(): Promise<number> {
  const script = resolve(dirname(fileURLToPath(import.meta.url)), 'cpu-worker.js');
  const rounds = (threads: number) =>
    Promise.all(
      Array.from(
        { length: threads },
        () =>
          new Promise<number>((ok, fail) => {
            const w = new Worker(script, { workerData: { durationMs: 1000 } });
            w.once('message', (m: { rounds: number }) => ok(m.rounds));
            w.once('error', fail);
          }),
      ),
    ).then((xs) => xs.reduce((a, b) => a + b, 0));
  const ratios: number[] = [];
  for (let i = 0; i < 3; i++) {
    const one = await rounds(1);
    ratios.push((await rounds(2)) / one);
  }
  return ratios.sort((a, b) => a - b)[1];
}
const cpuScaling = await cpuLoopScaling();
const macro = {
  exploreSchedulesPerSec: (ex.schedulesRun * 1000) / ex.elapsedMs,
  simStepsPerSec: (ex.steps * 1000) / ex.elapsedMs,
  exploreWorkers1SchedulesPerSec: w1,
  exploreWorkers2SchedulesPerSec: w2,
  exploreSpeedup2Workers: w2 / w1,
  exploreWorkers2WarmSchedulesPerSec: w2warm,
  exploreSpeedup2WorkersWarm: w2warm / w1,
  cpuLoopScaling2Threads: cpuScaling,
};
console.table(rows.map((r) => ({ benchmark: r.name, 'ns/op': r.nsPerOp.toFixed(1), 'ops/s': Math.round(r.opsPerSec).toLocaleString('en-US') })));
const met = (ok: boolean) => (ok ? 'met' : 'not met');
console.log(
  `explore, default scenario, 1000 schedules, one core: ${macro.exploreSchedulesPerSec.toFixed(0)} schedules/s (goal 5,000: ${met(macro.exploreSchedulesPerSec >= 5000)}), ` +
    `${(macro.simStepsPerSec / 1e6).toFixed(2)} M steps/s (goal 2 M: ${met(macro.simStepsPerSec >= 2e6)})`,
);
console.log(
  `explore --workers (${POOLED} schedules): 1 worker ${w1.toFixed(0)}/s, 2 workers ${w2.toFixed(0)}/s, speed-up ${macro.exploreSpeedup2Workers.toFixed(2)}x ` +
    `(goal 1.7x: ${met(macro.exploreSpeedup2Workers >= 1.7)}); on a warm pool ${w2warm.toFixed(0)}/s, ${macro.exploreSpeedup2WorkersWarm.toFixed(2)}x; ` +
    `the machine's own 2-thread scaling on a pure CPU loop: ${cpuScaling.toFixed(2)}x`,
);
console.log(
  '  (2 workers = this thread plus one pool worker; a fresh worker warms V8 up first, about 1.4 s of TurboFan compiling on the same 2 cores, ' +
    'which a campaign this short does not amortise; the 1-worker run and the warm pool are warmed up)',
);

const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(here, here.includes('dist') ? '../../bench/results' : 'results');
mkdirSync(outDir, { recursive: true });
const threads = await runMacro(outDir);
const conversion = await runConversionBench();
const detection = runDetection();
const result = { date: new Date().toISOString(), node: process.version, micro: rows, macro: { ...macro, ...threads, conversion }, detection };
writeFileSync(resolve(outDir, 'latest.json'), JSON.stringify(result, null, 2));
console.log(`written ${resolve(outDir, 'latest.json')}`);
// --compare FILE: each figure against a baseline result (bench/results/baseline.json is the committed one)
const at = process.argv.indexOf('--compare');
if (at >= 0) printComparison(process.argv[at + 1] ?? resolve(outDir, 'baseline.json'), result);
