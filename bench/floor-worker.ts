// The floor for bench/macro.ts: only the Atomics operations a fault must do, on the same shared
// state, over this worker's own gfns, with none of the protocol around them.
import { parentPort, workerData } from 'node:worker_threads';
import type { Layout } from '../src/shm/layout.js';
import { filemapGet } from '../src/shm/file.js';
import { spteCmpxchg, sptePfn } from '../src/shm/gfn.js';
import { LOCK_WORDS } from '../src/shm/kvm.js';
import { rwReadUnlock, rwTryRead } from '../src/sync/locks.js';

export interface FloorInput {
  sab: SharedArrayBuffer;
  layout: Layout;
  lo: number;
  hi: number;
  durationMs: number;
}

const { sab, layout: l, lo, hi, durationMs } = workerData as FloorInput;
const s = { sab, i32: new Int32Array(sab), l };
const a = s.i32;
const MMU = LOCK_WORDS.mmuLock;
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
    sink += filemapGet(s, gfn); // page-cache lookup
    while (!rwTryRead(a, MMU)); // read_lock(mmu_lock)
    const old = sptePfn(s, gfn);
    spteCmpxchg(s, gfn, old, (old + 1) & 0xffff); // SPTE install
    rwReadUnlock(a, MMU);
  }
  ops += 1024;
  if (performance.now() >= end) break;
}
parentPort!.postMessage({ ops, elapsedMs: performance.now() - t0, sink });
