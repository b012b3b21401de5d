// The floor for bench/macro.ts: only the Atomics operations a fault must do, on the same shared
// state, over this worker's own gfns, with none of the protocol around them.
import { parentPort, workerData } from 'node:worker_threads';
import { F_SPTE_PFN, G_MMU_LOCK, gfnWord, type Layout } from '../src/shm/layout.js';
import { rwReadUnlock, rwTryRead } from '../src/sync/locks.js';

export interface FloorInput {
  sab: SharedArrayBuffer;
  layout: Layout;
  lo: number;
  hi: number;
  durationMs: number;
}

const { sab, layout: l, lo, hi, durationMs } = workerData as FloorInput;
const a = new Int32Array(sab);
const n = hi - lo;
let x = (lo * 2654435761 + 1) >>> 0; // xorshift32: a cheap random gfn, as the vCPU picks one
let ops = 0;
let sink = 0;
const t0 = performance.now();
const end = t0 + durationMs;
for (;;) {
  for (let i = 0; i < 1024; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const gfn = lo + ((x >>> 0) % n);
    sink += Atomics.load(a, l.filemapBase + gfn); // page-cache lookup
    while (!rwTryRead(a, G_MMU_LOCK)); // read_lock(mmu_lock)
    const w = gfnWord(l, gfn, F_SPTE_PFN);
    const old = Atomics.load(a, w);
    Atomics.compareExchange(a, w, old, (old + 1) & 0xffff); // SPTE install
    rwReadUnlock(a, G_MMU_LOCK);
  }
  ops += 1024;
  if (performance.now() >= end) break;
}
parentPort!.postMessage({ ops, elapsedMs: performance.now() - t0, sink });
