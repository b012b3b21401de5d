// gmemsim scenarios: the built-in scenarios.
import { BUILTIN_SCENARIOS, SELFTEST_PORTS, UPSTREAM_FINDINGS } from '../scenario/builtins.js';
import { actorCount } from '../workload/kinds.js';
import { helpText, parseArgs } from './args.js';
import { JSON_OPT, type Io } from './common.js';

export const SCENARIOS_HELP = helpText(
  'usage: gmemsim scenarios [--json]',
  'List the built-in scenarios (use one with --scenario NAME; --json prints them in full, a starting point for your own file).',
  [JSON_OPT],
);

export function scenariosCommand(argv: string[], io: Io): number {
  // -h/--help: main.ts answers it for every command
  const { opts } = parseArgs('scenarios', argv, [JSON_OPT], 0);
  if (opts.json === true) {
    io.out(JSON.stringify(Object.values(BUILTIN_SCENARIOS), null, 2));
    return 0;
  }
  const all = Object.values(BUILTIN_SCENARIOS);
  const w = Math.max(...all.map((s) => s.name.length));
  const pages = (n: number) => n.toLocaleString('en-US');
  const pad = `  ${' '.repeat(w)}  `;
  const notes = (name: string) =>
    (SELFTEST_PORTS[name] ? `\n${pad}selftest port: ${SELFTEST_PORTS[name]}` : '') +
    (UPSTREAM_FINDINGS[name] ? `\n${pad}upstream finding: the correct model reports ${UPSTREAM_FINDINGS[name]} here (README "Upstream findings")` : '');
  io.out(all.map((s) => `  ${s.name.padEnd(w)}  ${actorCount(s)} actors, ${pages(s.gmemPages)} gmem pages, ${s.slots.length} memslot(s), kernel ${s.kernel}\n${pad}${s.description}${notes(s.name)}`).join('\n'));
  return 0;
}
