#!/usr/bin/env node
// Entry point: the compiled CLI (npm install builds it via the "prepare" script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('gmemsim: not built yet; run "npm install" (or "npm run build") in the gmemsim directory\n');
  process.exit(2);
}
// A throw outside main's own catch (a worker's event after the command returned) is still a bug
// in gmemsim, never exit 1 (a finding): one line, exit 3.
const fatal = (e) => {
  const debug = process.argv.includes('--debug');
  const msg = String(e instanceof Error ? `${e.name}: ${e.message}` : e).replace(/\s*[\r\n]+\s*/g, ' ').slice(0, 300);
  process.stderr.write(`gmemsim: internal error: ${msg} (a bug in gmemsim, not a finding; ${debug ? 'the stack follows' : 'rerun with --debug for the stack'})\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(3);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
const { main } = await import(cli.href);
const code = await main(process.argv.slice(2), {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
});
process.exitCode = code;
