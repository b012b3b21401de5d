#!/usr/bin/env node
// Entry point: the compiled CLI (npm install builds it via the "prepare" script), run on a worker
// thread (dist/src/cli/cli_worker.js) so this thread is free for SIGINT and SIGTERM: the first one
// sets the stop word, the command stops and prints what it has, and the exit status is 128 + the
// signal (130, 143); a second one, or a command that does not stop within 20 s, ends it at once.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const cli = new URL('../dist/src/cli/cli_worker.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('gmemsim: not built yet; run "npm install" (or "npm run build") in the gmemsim directory\n');
  process.exit(2);
}

// --debug anywhere before a "--" (after it, it is an argument like any other)
const args = process.argv.slice(2);
const debug = (args.includes('--') ? args.slice(0, args.indexOf('--')) : args).includes('--debug');
/** Not a finding: a bug in gmemsim. One line (the stack with --debug), exit 3. */
const fatal = (e) => {
  const msg = String(e instanceof Error ? `${e.name}: ${e.message}` : e).replace(/\s*[\r\n]+\s*/g, ' ').slice(0, 300);
  process.stderr.write(`gmemsim: internal error: ${msg} (a bug in gmemsim, not a finding; ${debug ? 'the stack follows' : 'rerun with --debug for the stack'})\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(3);
};
// A reader that went away (gmemsim ... | head -1): the rest of the output has nowhere to go; the
// command still ends with its own exit status, and that is not an internal error.
const gone = { out: false, err: false };
const quietly = (which) => (e) => {
  if (e && e.code === 'EPIPE') gone[which] = true;
  else fatal(e);
};
process.stdout.on('error', quietly('out'));
process.stderr.on('error', quietly('err'));
const write = (which, s) => {
  if (!gone[which]) (which === 'out' ? process.stdout : process.stderr).write(s);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

const stop = new Int32Array(new SharedArrayBuffer(4));
const isTTY = process.stderr.isTTY === true;
const worker = new Worker(cli, { workerData: { argv: args, stop, isTTY } });
let code = null;
let signalled = 0;
worker.on('message', (m) => {
  if (m.t === 'out') write('out', m.s);
  else if (m.t === 'err') write('err', m.s);
  else if (m.t === 'exit') {
    code = m.code;
    // everything it printed came before this message; whatever it left running ends with it
    void worker.terminate();
  }
});
worker.on('error', fatal);
worker.on('exit', () => {
  process.exitCode = code ?? (signalled ? 128 + signalled : 3);
  if (code === null && !signalled) process.stderr.write('gmemsim: internal error: the command thread ended without an exit status (a bug in gmemsim)\n');
});

const NAMES = { 2: 'SIGINT', 15: 'SIGTERM' };
const GRACE_MS = 20_000;
const onSignal = (n) => {
  if (signalled) {
    process.stderr.write(`\ngmemsim: ${NAMES[n]} again: stopping now, without the report\n`);
    code = 128 + signalled;
    void worker.terminate();
    return;
  }
  signalled = n;
  Atomics.store(stop, 0, n);
  process.stderr.write(`${isTTY ? '\r\x1b[2K' : '\n'}gmemsim: ${NAMES[n]}: stopping; the report of what ran follows (${NAMES[n]} again to stop at once)\n`);
  setTimeout(() => {
    process.stderr.write(`gmemsim: the command did not stop within ${GRACE_MS / 1000} s of ${NAMES[n]}; ending it\n`);
    code = 128 + n;
    void worker.terminate();
  }, GRACE_MS).unref();
};
process.on('SIGINT', () => onSignal(2));
process.on('SIGTERM', () => onSignal(15));
