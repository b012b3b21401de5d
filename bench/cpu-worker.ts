// The machine's own thread scaling, for the explore --workers line: a pure CPU loop (an LCG, no
// memory traffic, no allocation) run for a fixed time; it posts how many rounds it did.
import { parentPort, workerData } from 'node:worker_threads';

const { durationMs } = workerData as { durationMs: number };
const end = performance.now() + durationMs;
let x = 1;
let rounds = 0;
while (performance.now() < end) {
  for (let i = 0; i < 100_000; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  rounds++;
}
parentPort!.postMessage({ rounds, x });
