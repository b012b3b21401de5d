// Invalidate-retry telemetry: why faults retried, how many retries a faulting access needed,
// and a jcstress-style table of fault outcomes, graded.
import type { Stats } from '../engine/stats.js';
import { RETRY_HIST_BUCKETS } from '../shm/layout.js';
import { conversionJson, conversionText } from './conversion.js';
import { hugepagesJson, hugepagesText } from './hugepages.js';

const fmt = (n: number) => n.toLocaleString('en-US');

/** The retry range a log2 bucket stands for. */
export function bucketLabel(b: number): string {
  if (b === 0) return '0';
  const lo = 2 ** (b - 1);
  if (b === RETRY_HIST_BUCKETS - 1) return `${lo}+`;
  const hi = 2 ** b - 1;
  return lo === hi ? `${lo}` : `${lo}-${hi}`;
}

/** The bucket holding quantile q (0..1) of faulting accesses; -1 when there were none. */
function quantileBucket(hist: number[], q: number): number {
  const total = hist.reduce((a, b) => a + b, 0);
  if (total === 0) return -1;
  let acc = 0;
  for (let b = 0; b < hist.length; b++) {
    acc += hist[b];
    if (acc >= q * total) return b;
  }
  return hist.length - 1;
}

/** Upper bound of a bucket's range (the quantile is at most this), for JSON. */
const bucketMax = (b: number, max: number) => (b < 0 ? 0 : b === 0 ? 0 : Math.min(max, b === RETRY_HIST_BUCKETS - 1 ? max : 2 ** b - 1));

/** One mmu_lock mode: acquisitions and microseconds waited and held, total and mean (threads only: 0 under sim). */
function lockMode(acquires: number, waitUs: number, holdUs: number) {
  const mean = (x: number) => (acquires ? Math.round((x / acquires) * 100) / 100 : 0);
  return { acquires, waitUs, holdUs, meanWaitUs: mean(waitUs), meanHoldUs: mean(holdUs) };
}

export function telemetryJson(st: Stats) {
  const t = st.total;
  const p50 = quantileBucket(st.retryHist, 0.5);
  const p99 = quantileBucket(st.retryHist, 0.99);
  return {
    retryReasons: {
      locklessPrecheck: { gfnInRange: t.retryLockless - t.retryLocklessSeq, seqMoved: t.retryLocklessSeq },
      underMmuLock: { gfnInRange: t.retryStale - t.retryStaleSeq, seqMoved: t.retryStaleSeq },
      invalidMemslot: t.retryInvalidSlot,
      spteRace: t.retrySpteRace,
    },
    retriesPerFault: {
      faultingAccesses: st.retryHist.reduce((a, b) => a + b, 0),
      p50: bucketMax(p50, st.retryMax),
      p99: bucketMax(p99, st.retryMax),
      max: st.retryMax,
      histogram: st.retryHist.map((count, b) => ({ retries: bucketLabel(b), count })).filter((x) => x.count > 0),
    },
    mmuLock: {
      build: st.mmuLock,
      read: lockMode(t.mmuReadAcquires, t.mmuReadWaitUs, t.mmuReadHoldUs),
      write: lockMode(t.mmuWriteAcquires, t.mmuWriteWaitUs, t.mmuWriteHoldUs),
      // the shared line's cost: rwlock, reader-count CASes lost to another CPU; percpu, backoffs from a writer
      readContended: t.mmuReadContended,
      readContendedPer1k: t.mmuReadAcquires ? Math.round((t.mmuReadContended * 1e6) / t.mmuReadAcquires) / 1000 : 0,
    },
    invalidationWindows: {
      // threads: microseconds; sim: global steps (there is no time under sim)
      unit: st.timed ? 'us' : 'steps',
      count: t.invWindows,
      mean: t.invWindows ? Math.round((t.invWindowSum / t.invWindows) * 100) / 100 : 0,
      max: t.invWindowMax,
    },
    // the zap walks: yields to a waiter on mmu_lock and TLB flushes, per invalidation begun
    zaps: {
      invalidations: t.invalidations,
      yields: t.zapYields,
      tlbFlushes: t.tlbFlushes,
      yieldsPerInvalidation: t.invalidations ? Math.round((t.zapYields / t.invalidations) * 100) / 100 : 0,
      flushesPerInvalidation: t.invalidations ? Math.round((t.tlbFlushes / t.invalidations) * 100) / 100 : 0,
    },
    starvation: {
      threshold: st.starvationRetries,
      episodes: t.starvedAccesses,
      longestRetries: st.retryMax,
    },
    outcomes: {
      FIXED: t.outFixed,
      SPURIOUS: t.outSpurious,
      RETRY: t.outRetry,
      EXIT: t.outExit,
      EMULATE: t.outEmulate,
      ERROR: t.outError,
      INTERESTING: { refilledThenRetried: t.outRefilledRetry, stalePageCaught: t.outStalePfnCaught },
    },
    // kernel "next": in-place conversions (null when the run made none)
    conversion: conversionJson(st),
    // huge pages (null when the run tried no huge folio)
    hugepages: hugepagesJson(st),
  };
}

/** The jcstress-style outcome table of the faults in `st`: [outcome, count, grade, meaning]. */
export function outcomeRows(st: Stats): Array<[string, number, string, string]> {
  const o = telemetryJson(st).outcomes;
  return [
    ['FIXED', o.FIXED, 'ACCEPTABLE', 'SPTE installed'],
    ['SPURIOUS', o.SPURIOUS, 'ACCEPTABLE', 'another vCPU installed the same SPTE first'],
    ['RETRY', o.RETRY, 'ACCEPTABLE', 'an invalidation raced the fault: back to the guest, which faults again'],
    ['EXIT', o.EXIT, 'ACCEPTABLE', 'KVM_EXIT_MEMORY_FAULT to the VMM (type mismatch, no memslot, ENOMEM...)'],
    ['EMULATE', o.EMULATE, 'ACCEPTABLE', 'shared access with no memslot: MMIO'],
    ['ERROR', o.ERROR, 'ACCEPTABLE', 'KVM_RUN fails without an exit (a failed GUP: EFAULT)'],
    ['  refilled, then retried', o.INTERESTING.refilledThenRetried, 'INTERESTING', 'the fault allocated a page (e.g. refilled a punched hole) and retried without mapping it'],
    ['  stale page caught', o.INTERESTING.stalePageCaught, 'INTERESTING', 'the page it resolved was truncated/discarded before its check: the retry saved it'],
  ];
}

export function telemetryText(st: Stats): string {
  const j = telemetryJson(st);
  const r = j.retryReasons;
  const d = j.retriesPerFault;
  const o = j.outcomes;
  const faults = o.FIXED + o.SPURIOUS + o.RETRY + o.EXIT + o.EMULATE + o.ERROR;
  const pct = (n: number) => (faults ? `${((100 * n) / faults).toFixed(1)}%` : '-');
  const p50 = quantileBucket(st.retryHist, 0.5);
  const p99 = quantileBucket(st.retryHist, 0.99);
  const rows = outcomeRows(st);
  const w = Math.max(...rows.map((x) => fmt(x[1]).length));
  return [
    `  retries by reason: lockless precheck ${fmt(r.locklessPrecheck.gfnInRange)} in range + ${fmt(r.locklessPrecheck.seqMoved)} seq moved; ` +
      `under mmu_lock ${fmt(r.underMmuLock.gfnInRange)} in range + ${fmt(r.underMmuLock.seqMoved)} seq moved; invalid memslot ${fmt(r.invalidMemslot)}; SPTE changed under the cmpxchg ${fmt(r.spteRace)}`,
    `  retries per faulting access (${fmt(d.faultingAccesses)}): p50 ${p50 < 0 ? '-' : bucketLabel(p50)}, p99 ${p99 < 0 ? '-' : bucketLabel(p99)}, max ${fmt(d.max)}` +
      (d.histogram.length ? `; histogram ${d.histogram.map((h) => `${h.retries}:${fmt(h.count)}`).join(' ')}` : ''),
    ...(j.mmuLock.read.acquires + j.mmuLock.write.acquires > 0
      ? [
          `  mmu_lock (threads, ${j.mmuLock.build}): read ${fmt(j.mmuLock.read.acquires)} acquisitions, mean wait ${j.mmuLock.read.meanWaitUs} us, hold ${j.mmuLock.read.meanHoldUs} us; ` +
            `write ${fmt(j.mmuLock.write.acquires)}, mean wait ${j.mmuLock.write.meanWaitUs} us, hold ${j.mmuLock.write.meanHoldUs} us`,
          j.mmuLock.build === 'rwlock'
            ? `  mmu_lock's shared line: ${fmt(j.mmuLock.readContended)} read acquisitions lost a CAS on the reader count to another CPU (${j.mmuLock.readContendedPer1k} per 1,000; --mmu-lock percpu has none)`
            : `  mmu_lock big-reader slots: no shared line on the read side; ${fmt(j.mmuLock.readContended)} reader backoffs from a writer (${j.mmuLock.readContendedPer1k} per 1,000)`,
        ]
      : [`  mmu_lock (${j.mmuLock.build}) wait/hold times: measured on worker threads only (there is no time under sim)`]),
    `  invalidation windows (begin -> end, ${fmt(j.invalidationWindows.count)}): mean ${j.invalidationWindows.mean} ${j.invalidationWindows.unit === 'us' ? 'us' : 'global steps'}, max ${fmt(j.invalidationWindows.max)} ${j.invalidationWindows.unit === 'us' ? 'us' : 'steps'}`,
    `  zaps: ${fmt(j.zaps.yields)} yields of mmu_lock, ${fmt(j.zaps.tlbFlushes)} TLB flushes over ${fmt(j.zaps.invalidations)} invalidations (${j.zaps.yieldsPerInvalidation} yields, ${j.zaps.flushesPerInvalidation} flushes per invalidation)`,
    `  starvation episodes (a faulting access retried more than ${fmt(j.starvation.threshold)} times): ${fmt(j.starvation.episodes)}; longest ${fmt(j.starvation.longestRetries)} retries` +
      ' (with no writer at work to explain it, that is the STARVATION violation)',
    `  fault outcomes (${fmt(faults)} faults):`,
    ...rows.map(([name, n, grade, what]) => `    ${name.padEnd(24)} ${fmt(n).padStart(w)}  ${pct(n).padStart(6)}  ${grade.padEnd(11)}  ${what}`),
    ...(j.conversion ? ['  in-place conversions (kernel "next"):', conversionText(st)!] : []),
    ...(j.hugepages ? ['  huge pages:', hugepagesText(st)!] : []),
  ].join('\n');
}
