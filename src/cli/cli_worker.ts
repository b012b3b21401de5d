// The gmemsim command on a worker thread (bin/gmemsim.mjs starts it). The sim engine's loops are
// synchronous: on the main thread they would keep SIGINT and SIGTERM from ever being handled. Here
// the main thread stays free to receive them and sets the stop word the loops check.
import { parentPort, workerData } from 'node:worker_threads';
import { main } from './main.js';

interface CliWorkerData {
  argv: string[];
  stop: Int32Array;
  isTTY: boolean;
}

const { argv, stop, isTTY } = workerData as CliWorkerData;
const port = parentPort!;
const line = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
const code = await main(argv, {
  out: (s) => port.postMessage({ t: 'out', s: line(s) }),
  err: (s) => port.postMessage({ t: 'err', s: line(s) }),
  raw: (s) => port.postMessage({ t: 'err', s }),
  isTTY,
  stop,
});
port.postMessage({ t: 'exit', code });
