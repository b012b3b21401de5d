// Coverage of an explore campaign, as sets that shards can union exactly (gmemsim merge):
//  - yield-point transitions: (actor kind, from point -> to point) pairs some step took, "done"
//    when the actor returned; the sim engine marks them in a byte map per actor (SimOptions.edges)
//  - distinct schedules: the set of trace hashes (32-bit FNV over the steps: two schedules with
//    the same hash took, but for a collision, the same steps)
// Collecting them only writes: schedules, findings and trace hashes are the same without it.
import { POINT_NAMES } from '../engine/points.js';
import { edgeIndex } from '../engine/sim.js';

const NP = POINT_NAMES.length;

/** At most this many distinct trace hashes are kept (16 MiB; 22 MiB of base64 in --json); past it the count is a lower bound. */
export const MAX_TRACES = 1 << 22;

/** A campaign's coverage as plain data (it crosses to and from pool workers by structured clone). */
export interface Coverage {
  /** per actor kind, the transitions reached: "from>to" point names, sorted */
  transitions: Record<string, string[]>;
  /** the distinct trace hashes, sorted ascending */
  traces: Uint32Array;
  /** false: MAX_TRACES was reached and later hashes were not kept */
  tracesComplete: boolean;
}

export const emptyCoverage = (): Coverage => ({ transitions: {}, traces: new Uint32Array(0), tracesComplete: true });

/** Every (from, to) pair one actor kind could take: points × (points + "done"). */
export const PAIRS_PER_KIND = NP * (NP + 1);

/** The transitions marked in a SimOptions.edges map, per actor kind (`kinds[id]` is actor id's kind). */
export function transitionsOf(edges: Uint8Array, kinds: readonly string[]): Record<string, string[]> {
  const byKind = new Map<string, Set<string>>();
  for (let a = 0; a < kinds.length; a++) {
    let set = byKind.get(kinds[a]);
    if (!set) byKind.set(kinds[a], (set = new Set()));
    for (let from = 0; from < NP; from++)
      for (let to = -1; to < NP; to++) if (edges[edgeIndex(a, from, to)]) set.add(`${POINT_NAMES[from]}>${to < 0 ? 'done' : POINT_NAMES[to]}`);
  }
  return Object.fromEntries([...byKind].map(([k, s]) => [k, [...s].sort()]));
}

/** Trace hashes as they come (one per schedule), deduplicated by sorting when the buffer fills. */
export class TraceSet {
  private buf = new Uint32Array(1024);
  private n = 0;
  /** entries [0, sorted) are sorted and distinct */
  private sorted = 0;
  complete = true;

  add(hash: number): void {
    if (this.n === this.buf.length && !this.makeRoom()) {
      this.complete = false;
      return;
    }
    this.buf[this.n++] = hash;
  }

  private makeRoom(): boolean {
    this.compact();
    if (this.n < this.buf.length * 0.75) return true;
    if (this.buf.length >= MAX_TRACES) return this.n < this.buf.length;
    const bigger = new Uint32Array(Math.min(MAX_TRACES, this.buf.length * 2));
    bigger.set(this.buf.subarray(0, this.n));
    this.buf = bigger;
    return true;
  }

  private compact(): void {
    if (this.sorted === this.n) return;
    const a = this.buf.subarray(0, this.n).sort();
    let w = 0;
    for (let r = 0; r < a.length; r++) if (r === 0 || a[r] !== a[w - 1]) a[w++] = a[r];
    this.n = this.sorted = w;
  }

  /** the distinct hashes, sorted (a copy) */
  values(): Uint32Array {
    this.compact();
    return this.buf.slice(0, this.n);
  }
}

/** The union of coverages (the inputs are not changed); past MAX_TRACES hashes, the lowest are kept. */
export function unionCoverage(...cs: Coverage[]): Coverage {
  const byKind = new Map<string, Set<string>>();
  for (const c of cs)
    for (const [k, list] of Object.entries(c.transitions)) {
      let set = byKind.get(k);
      if (!set) byKind.set(k, (set = new Set()));
      for (const t of list) set.add(t);
    }
  const all = new Uint32Array(cs.reduce((n, c) => n + c.traces.length, 0));
  let at = 0;
  for (const c of cs) {
    all.set(c.traces, at);
    at += c.traces.length;
  }
  all.sort();
  let n = 0;
  for (let r = 0; r < all.length; r++) if (r === 0 || all[r] !== all[n - 1]) all[n++] = all[r];
  return {
    transitions: Object.fromEntries([...byKind].sort(([x], [y]) => (x < y ? -1 : 1)).map(([k, set]) => [k, [...set].sort()])),
    traces: all.slice(0, Math.min(n, MAX_TRACES)),
    tracesComplete: n <= MAX_TRACES && cs.every((c) => c.tracesComplete),
  };
}

const sortedKinds = (c: Coverage) => Object.keys(c.transitions).sort();
const reached = (c: Coverage) => Object.values(c.transitions).reduce((n, l) => n + l.length, 0);

/** The --json `coverage` block: counts, and the sets themselves (transitions by name, hashes as base64 of big-endian u32s). */
export function coverageJson(c: Coverage) {
  const bytes = Buffer.alloc(c.traces.length * 4);
  c.traces.forEach((h, i) => bytes.writeUInt32BE(h, i * 4));
  const kinds = sortedKinds(c);
  return {
    transitions: {
      reached: reached(c),
      possible: kinds.length * PAIRS_PER_KIND,
      pairsPerKind: PAIRS_PER_KIND,
      byKind: Object.fromEntries(kinds.map((k) => [k, c.transitions[k]])),
    },
    traces: { distinct: c.traces.length, complete: c.tracesComplete, hashes: bytes.toString('base64') },
  };
}

export type CoverageJson = ReturnType<typeof coverageJson>;

/** The Coverage a --json `coverage` block holds (merge), or an Error saying what is wrong. */
export function coverageFromJson(j: unknown): Coverage {
  const x = j as CoverageJson;
  if (!x || typeof x !== 'object' || !x.transitions || typeof x.transitions.byKind !== 'object' || !x.traces || typeof x.traces.hashes !== 'string') throw new Error('no coverage block');
  const bytes = Buffer.from(x.traces.hashes, 'base64');
  if (bytes.length !== x.traces.distinct * 4) throw new Error('coverage.traces.hashes does not hold coverage.traces.distinct hashes');
  const traces = new Uint32Array(bytes.length / 4);
  for (let i = 0; i < traces.length; i++) {
    traces[i] = bytes.readUInt32BE(i * 4);
    if (i > 0 && traces[i] <= traces[i - 1]) throw new Error('coverage.traces.hashes is not sorted');
  }
  const transitions: Record<string, string[]> = {};
  for (const [k, list] of Object.entries(x.transitions.byKind)) {
    if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) throw new Error(`coverage.transitions.byKind.${k} is not a list of transitions`);
    transitions[k] = list;
  }
  return { transitions, traces, tracesComplete: x.traces.complete !== false };
}

/** The report's line: "coverage: X of Y yield-point transitions ..., Z distinct schedules". */
export function coverageText(c: Coverage, schedules: number): string {
  const kinds = sortedKinds(c);
  const fmt = (n: number) => n.toLocaleString('en-US');
  const per = kinds.map((k) => `${k} ${c.transitions[k].length}`).join(', ');
  return (
    `coverage: ${fmt(reached(c))} of ${fmt(kinds.length * PAIRS_PER_KIND)} yield-point transitions (actor kind, from point -> to point: ${per}; of all point pairs of ${kinds.length} kind${kinds.length === 1 ? '' : 's'}, most impossible), ` +
    `${c.tracesComplete ? '' : 'at least '}${fmt(c.traces.length)} distinct schedules (trace hashes) of ${fmt(schedules)} run`
  );
}
