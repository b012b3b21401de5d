// gmemsim variants: the bug-injection catalogue.
import { describeInvariant } from '../check/invariants.js';
import { VARIANTS } from '../variants.js';
import { helpText, parseArgs } from './args.js';
import { JSON_OPT, type Io } from './common.js';

export const VARIANTS_HELP = helpText(
  'usage: gmemsim variants [--json]',
  `List the bug-injection variants: each removes or reorders one kernel check (spec §4) at the
exact place in the model. "expect" is the invariant that fires first on the default scenario
("also" lists others the same bug breaks; which shows first depends on the interleaving, and
where it splits, "expect" is the one the spec's catalogue names).
B9 is a negative control: a reordering the kernel tolerates, so nothing may fire. N1 is a design
comparison (the kernel before the NUMA series): placement changes, nothing is violated.
Use one with: gmemsim explore --variant B1   (or its name: --variant skip-stale-check)`,
  [JSON_OPT],
);

export function variantsCommand(argv: string[], io: Io): number {
  // -h/--help: main.ts answers it for every command
  const { opts } = parseArgs('variants', argv, [JSON_OPT], 0);
  if (opts.json === true) {
    io.out(JSON.stringify(VARIANTS.map((v) => ({ id: v.id, name: v.name, kind: v.kind, removes: v.removes, expect: v.expect, alsoBreaks: v.alsoBreaks })), null, 2));
    return 0;
  }
  const nameWidth = Math.max(...VARIANTS.map((v) => v.name.length));
  const lines = VARIANTS.map((v) => {
    const exp = v.expect
      ? `${v.expect} (${describeInvariant(v.expect).split(':')[0]})${v.alsoBreaks.length ? `, also ${v.alsoBreaks.join(', ')}` : ''}`
      : `nothing (${v.kind === 'control' ? 'negative control' : 'a design comparison'})`;
    return `  ${v.id.padEnd(4)} ${v.name.padEnd(nameWidth)} expect ${exp}\n       removes: ${v.removes}`;
  });
  io.out(`Bug-injection variants (gmemsim explore --variant ID|NAME):\n${lines.join('\n')}`);
  return 0;
}
