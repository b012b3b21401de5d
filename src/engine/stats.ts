// Counters gathered from every actor's words in the shared state.
import { MAX_COUNTERS, COUNTERS, RETRY_HIST_BUCKETS, type CounterName } from '../shm/layout.js';
import { INV_HIST_BUCKETS, countersWord, actorCounters, invHist, readCounters, retryHist, retryMax } from '../shm/actor.js';
import { NODE_COUNTERS, nodeAnonPages, nodeCapacity, nodeCounter, nodeFilePages, nodeFree, nodeUnevictable, nodeUsage } from '../shm/node.js';
import type { Shm } from '../shm/state.js';
import type { Model } from './model.js';

export type Counters = Record<CounterName, number>;

export interface ActorStats {
  name: string;
  kind: string;
  counters: Counters;
}

/** One NUMA node as numastat / node meminfo / memcg numa_stat would show it (pages). */
export interface NodeStats {
  node: number;
  capacity: number;
  free: number;
  filePages: number;
  unevictable: number;
  anonPages: number;
  numa_hit: number;
  numa_miss: number;
  numa_foreign: number;
  interleave_hit: number;
  local_node: number;
  other_node: number;
  /** gmem pages still allocated here, by the actor that allocated them (memcg numa_stat "file") */
  byActor: Record<string, number>;
}

export interface Stats {
  total: Counters;
  actors: ActorStats[];
  nodes: NodeStats[];
  /** faulting guest accesses by retries needed, log2 buckets (see A_RETRY_HIST), all vCPUs */
  retryHist: number[];
  retryMax: number;
  /** invalidation windows by length (µs on threads, global steps under sim), log2 buckets as retryHist's, all actors */
  invWindowHist: number[];
  /** how mmu_lock was built (Scenario.mmuLock) */
  mmuLock: 'rwlock' | 'percpu';
  /** Scenario.starvationRetries: an access retried more often than this is a starvation episode */
  starvationRetries: number;
  /** threads: time-based figures (µs); sim: steps */
  timed: boolean;
}

// Counters objects are built (shm/actor.ts) and added up by functions generated once from
// COUNTERS: plain property accesses of one shape, instead of a keyed access per counter (explore
// collects and adds one Stats per schedule).
const addCounters = new Function('a', 'b', COUNTERS.map((c) => (MAX_COUNTERS.has(c) ? `if (b.${c} > a.${c}) a.${c} = b.${c};` : `a.${c} += b.${c};`)).join('\n')) as (a: Counters, b: Counters) => void;
const ZERO = readCounters(new Int32Array(COUNTERS.length), 0);

export function zeroCounters(): Counters {
  return { ...ZERO };
}

/** Replace time counters with the workers' exact totals (the words in the buffer wrap), and redo the totals. */
export function applyExactTimes(st: Stats, exact: ReadonlyArray<{ actor: number; exactUs: number[] }>): void {
  for (const x of exact) {
    const c = st.actors[x.actor]?.counters;
    if (!c) continue;
    x.exactUs.forEach((us, i) => {
      if (us !== 0) c[COUNTERS[i]] = Math.floor(us);
    });
  }
  const total = zeroCounters();
  for (const a of st.actors) addCounters(total, a.counters);
  st.total = total;
}

export function collectStats(s: Shm, model: Model, timed = false): Stats {
  const total = zeroCounters();
  const actors = model.actors.map((def, id) => {
    const counters = actorCounters(s, id);
    addCounters(total, counters);
    return { name: def.name, kind: def.kind, counters };
  });
  const hist = new Array<number>(RETRY_HIST_BUCKETS).fill(0);
  const inv = new Array<number>(INV_HIST_BUCKETS).fill(0);
  let most = 0;
  for (let id = 0; id < s.l.nActors; id++) {
    for (let b = 0; b < RETRY_HIST_BUCKETS; b++) hist[b] += retryHist(s, id, b);
    for (let b = 0; b < INV_HIST_BUCKETS; b++) inv[b] += invHist(s, id, b);
    most = Math.max(most, retryMax(s, id));
  }
  return { total, actors, nodes: nodeStats(s, actors), retryHist: hist, retryMax: most, invWindowHist: inv, mmuLock: s.l.mmuLock, starvationRetries: model.sc.starvationRetries, timed };
}

function nodeStats(s: Shm, actors: ReadonlyArray<{ name: string }>): NodeStats[] {
  const out: NodeStats[] = [];
  for (let n = 0; n < s.l.nNodes; n++) {
    const byActor: Record<string, number> = {};
    actors.forEach((a, id) => {
      const v = nodeUsage(s, id, n);
      if (v) byActor[a.name] = v;
    });
    const ns = { node: n, capacity: nodeCapacity(s, n), free: nodeFree(s, n), filePages: nodeFilePages(s, n), unevictable: nodeUnevictable(s, n), anonPages: nodeAnonPages(s, n), byActor } as NodeStats;
    for (const c of NODE_COUNTERS) ns[c] = nodeCounter(s, n, c);
    out.push(ns);
  }
  return out;
}

/** Add b into a (per actor by position, and totals). Node figures are per run: the last run's are kept. */
export function addStats(a: Stats, b: Stats): void {
  addCounters(a.total, b.total);
  a.nodes = b.nodes;
  for (let i = 0; i < b.retryHist.length; i++) a.retryHist[i] = (a.retryHist[i] ?? 0) + b.retryHist[i];
  a.retryMax = Math.max(a.retryMax, b.retryMax);
  for (let i = 0; i < b.invWindowHist.length; i++) a.invWindowHist[i] = (a.invWindowHist[i] ?? 0) + b.invWindowHist[i];
  a.mmuLock = b.mmuLock;
  a.starvationRetries = b.starvationRetries;
  a.timed = b.timed;
  for (let i = 0; i < b.actors.length; i++) {
    const x = b.actors[i];
    if (!a.actors[i]) a.actors[i] = { name: x.name, kind: x.kind, counters: zeroCounters() };
    addCounters(a.actors[i].counters, x.counters);
  }
}

export const emptyStats = (): Stats => ({ total: zeroCounters(), actors: [], nodes: [], retryHist: new Array<number>(RETRY_HIST_BUCKETS).fill(0), retryMax: 0, invWindowHist: new Array<number>(INV_HIST_BUCKETS).fill(0), mmuLock: 'rwlock', starvationRetries: 0, timed: false });

const IS_MAX = Uint8Array.from(COUNTERS, (c) => (MAX_COUNTERS.has(c) ? 1 : 0));
const countersFrom = new Function('a', 'o', `return { ${COUNTERS.map((c, i) => `${c}: a[o + ${i}]`).join(', ')} };`) as (a: Float64Array, o: number) => Counters;

/**
 * A campaign's statistics added up schedule by schedule straight from the state's words: the
 * figures collectStats then addStats give, without a Stats object (an object of every counter
 * per actor) per schedule. explore adds each schedule it counts.
 */
export class StatsAcc {
  private readonly per: Float64Array;
  private readonly hist = new Array<number>(RETRY_HIST_BUCKETS).fill(0);
  private readonly inv = new Array<number>(INV_HIST_BUCKETS).fill(0);
  private most = 0;
  private nodes: NodeStats[] = [];
  private mmuLock: 'rwlock' | 'percpu' = 'rwlock';
  private runs = 0;

  constructor(private readonly model: Model) {
    this.per = new Float64Array(model.actors.length * COUNTERS.length);
  }

  /** Add the schedule that just ran on `s`. */
  add(s: Shm): void {
    const a = s.i32;
    const per = this.per;
    const nc = COUNTERS.length;
    for (let id = 0; id < this.model.actors.length; id++) {
      const o = countersWord(s, id);
      const p = id * nc;
      for (let c = 0; c < nc; c++) {
        const v = Atomics.load(a, o + c) >>> 0;
        if (IS_MAX[c] === 0) per[p + c] += v;
        else if (v > per[p + c]) per[p + c] = v;
      }
    }
    for (let id = 0; id < s.l.nActors; id++) {
      for (let b = 0; b < RETRY_HIST_BUCKETS; b++) this.hist[b] += retryHist(s, id, b);
      for (let b = 0; b < INV_HIST_BUCKETS; b++) this.inv[b] += invHist(s, id, b);
      this.most = Math.max(this.most, retryMax(s, id));
    }
    this.nodes = nodeStats(s, this.model.actors); // node figures are per run: the last one's are kept
    this.mmuLock = s.l.mmuLock;
    this.runs++;
  }

  stats(): Stats {
    if (this.runs === 0) return emptyStats();
    const nc = COUNTERS.length;
    const total = zeroCounters();
    const actors = this.model.actors.map((def, id) => {
      const counters = countersFrom(this.per, id * nc);
      addCounters(total, counters);
      return { name: def.name, kind: def.kind, counters };
    });
    return { total, actors, nodes: this.nodes, retryHist: [...this.hist], retryMax: this.most, invWindowHist: [...this.inv], mmuLock: this.mmuLock, starvationRetries: this.model.sc.starvationRetries, timed: false };
  }
}
