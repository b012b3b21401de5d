// The human-readable report: header, result, per-actor activity table, violation details.
import { describeInvariant, type InvariantId } from '../check/invariants.js';
import type { Stats } from '../engine/stats.js';
import type { CounterName } from '../shm/layout.js';

const fmt = (n: number) => n.toLocaleString('en-US');

export function rate(n: number, ms: number): string {
  const r = ms > 0 ? (n * 1000) / ms : 0;
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)}M/s` : r >= 1e3 ? `${(r / 1e3).toFixed(1)}k/s` : r >= 10 || r === 0 ? `${r.toFixed(0)}/s` : `${r.toFixed(2)}/s`;
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Columns of the activity table, by actor kind relevance. */
const COLUMNS: Array<[CounterName, string]> = [
  ['faults', 'faults'],
  ['installs', 'installs'],
  ['fastHits', 'fast hits'],
  ['retries', 'retries'],
  ['memoryFaultExits', 'mem-fault exits'],
  ['enomem', 'ENOMEM'],
  ['hypercalls', 'hypercalls'],
  ['exitsServed', 'exits served'],
  ['conversions', 'conversions'],
  ['punchHoles', 'punch holes'],
  ['fallocates', 'fallocates'],
  ['invalidations', 'invalidations'],
  ['zaps', 'zaps'],
  ['slotDeletes', 'slot deletes'],
  ['allocations', 'allocs'],
  ['hostAccesses', 'host accesses'],
  ['hostFaults', 'host faults'],
  ['hostSigbus', 'SIGBUS'],
  ['hostUnmaps', 'host unmaps'],
  ['preFaultCalls', 'prefault calls'],
  ['preFaultPages', 'prefault pages'],
  ['hwpoisoned', 'poisoned'],
  ['ehwpoison', 'EHWPOISON'],
  ['notifierInvalidations', 'notifier invalidations'],
  ['zapYields', 'zap yields'],
  ['tlbFlushes', 'TLB flushes'],
  ['prepareFails', 'prepare fails'],
  ['gmemReleases', 'releases'],
  ['fileGone', 'file gone'],
  ['populated', 'populated'],
  ['populateErrors', 'populate refused'],
  ['gmemSetAttrs', 'SET_ATTRIBUTES2'],
  ['convEagain', 'EAGAIN'],
  ['convRetries', 'conv retries'],
  ['lruDrains', 'LRU drains'],
  ['pins', 'pins'],
  ['dmaAccesses', 'DMA'],
  ['specRefs', 'spec refs'],
];

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

export function activityTable(stats: Stats): string {
  const cols = COLUMNS.filter(([c]) => stats.total[c] > 0);
  const rows = stats.actors.map((a) => [a.name, ...cols.map(([c]) => (a.counters[c] ? fmt(a.counters[c]) : '·'))]);
  rows.push(['total', ...cols.map(([c]) => fmt(stats.total[c]))]);
  return table(['actor', ...cols.map(([, h]) => h)], rows);
}

export function violationText(v: { invariant: InvariantId; message: string }): string {
  return `VIOLATION ${v.invariant} (${describeInvariant(v.invariant)})\n  ${v.message}`;
}

/** The fixed JSON stats block: every counter, totals. */
export function statsJson(stats: Stats): Record<CounterName, number> {
  return { ...stats.total };
}

const mib = (pages: number) => (pages / 256).toFixed(pages < 2560 ? 2 : 0);

/** numastat -m style: MiB per node and total, then the allocation counters (pages). */
export function numaTable(stats: Stats): string {
  const ns = stats.nodes;
  const sum = (f: (n: Stats['nodes'][number]) => number) => ns.reduce((t, n) => t + f(n), 0);
  const row = (label: string, f: (n: Stats['nodes'][number]) => number, fmtv: (v: number) => string) => [label, ...ns.map((n) => fmtv(f(n))), fmtv(sum(f))];
  const header = ['', ...ns.map((n) => `node ${n.node}`), 'total'];
  return table(header, [
    row('MemTotal (MiB)', (n) => n.capacity, mib),
    row('MemFree (MiB)', (n) => n.free, mib),
    row('FilePages (MiB)', (n) => n.filePages, mib),
    row('Unevictable (MiB)', (n) => n.unevictable, mib),
    row('AnonPages (MiB)', (n) => n.anonPages, mib),
    row('numa_hit', (n) => n.numa_hit, fmt),
    row('numa_miss', (n) => n.numa_miss, fmt),
    row('numa_foreign', (n) => n.numa_foreign, fmt),
    row('interleave_hit', (n) => n.interleave_hit, fmt),
    row('local_node', (n) => n.local_node, fmt),
    row('other_node', (n) => n.other_node, fmt),
  ]);
}

/** The JSON `numa` block: per node, pages and MiB. */
export function numaJson(stats: Stats) {
  return {
    nodes: stats.nodes.map((n) => ({ ...n, filePagesMiB: n.filePages / 256, unevictableMiB: n.unevictable / 256 })),
  };
}
