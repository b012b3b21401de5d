#!/usr/bin/env node
// Entry point: the compiled CLI (npm install builds it via the "prepare" script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  process.stderr.write('gmemsim: not built yet; run "npm install" (or "npm run build") in the gmemsim directory\n');
  process.exit(2);
}
const { main } = await import(cli.href);
const code = await main(process.argv.slice(2), {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
});
process.exitCode = code;
