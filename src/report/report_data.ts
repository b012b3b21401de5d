// What an HTML report shows (report/html.ts draws it): the charts and tables of a command's
// result, as plain data. One maker per kind of result, and writeReport for the commands.
import { describeInvariant, type InvariantId } from '../check/invariants.js';
import type { Stats } from '../engine/stats.js';
import type { ThreadsResult } from '../engine/threads.js';
import type { ExploreResult, Finding } from '../explore/explore.js';
import type { Scenario } from '../scenario/types.js';
import type { VariantInfo } from '../variants.js';
import { htmlReport, type ChartSpec, type ReportData, type TableSpec } from './html.js';
import { bucketLabel, outcomeRows, telemetryJson } from './telemetry.js';
import { conversionJson } from './conversion.js';
import { hugepagesJson, hugepagesRows } from './hugepages.js';
import { rate, seconds } from './text.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const variantText = (v: VariantInfo | null) => (v ? `${v.id} (${v.name})` : 'none (correct model)');
const GRADE_COLOR: Record<string, string> = { ACCEPTABLE: '#4e79a7', INTERESTING: '#f28e2b', FORBIDDEN: '#e15759' };

/** The --report output (cli/common.ts writeOutputs): `make` runs only when a path was given. */
export const reportOutput = (path: string | null, make: () => ReportData): [string, string | null, () => string] => ['--report', path, () => htmlReport(make())];

function baseMeta(sc: Scenario, variant: VariantInfo | null, seed: number, engine: string): Array<[string, string]> {
  return [
    ['scenario', sc.name],
    ['kernel', sc.kernel],
    ['variant', variantText(variant)],
    ['seed', String(seed)],
    ['engine', engine],
  ];
}

const headline = (v: { invariant: InvariantId; message: string }) => `VIOLATION ${v.invariant} (${describeInvariant(v.invariant)})`;

/** The buckets up to the last non-empty one (at least two, so a chart has a shape). */
function histogram(hist: number[]): { labels: string[]; counts: number[] } {
  let last = 1;
  hist.forEach((n, b) => {
    if (n > 0) last = Math.max(last, b);
  });
  const counts = hist.slice(0, last + 1);
  return { labels: counts.map((_, b) => bucketLabel(b)), counts };
}

/** Counts spanning more than two orders of magnitude read better on a log axis. */
function wantsLog(values: number[]): boolean {
  const nz = values.filter((v) => v > 0);
  return nz.length > 1 && Math.max(...nz) / Math.min(...nz) > 100;
}

/** The telemetry charts of a run or a campaign: retries, outcomes, invalidation windows, mmu_lock, NUMA placement. */
export function statsSections(stats: Stats, sc: Scenario, scope: string): ReportData['sections'] {
  const j = telemetryJson(stats);
  const unit = j.invalidationWindows.unit === 'us' ? 'µs' : 'global steps';
  const charts: ChartSpec[] = [];

  const r = histogram(stats.retryHist);
  const rLog = wantsLog(r.counts);
  charts.push({
    id: 'chart-retries',
    title: 'Retries per faulting access',
    caption:
      `${fmt(j.retriesPerFault.faultingAccesses)} faulting guest accesses (${scope}), by how many times the fault returned RET_PF_RETRY before the access was done; ` +
      `p50 ${j.retriesPerFault.p50}, p99 ${j.retriesPerFault.p99}, max ${fmt(j.retriesPerFault.max)} (log2 buckets${rLog ? '; log scale' : ''}).`,
    type: 'bar',
    labels: r.labels,
    datasets: [{ label: 'accesses', data: r.counts, color: '#4e79a7' }],
    xLabel: 'retries before the access was done',
    yLabel: 'faulting accesses',
    logY: rLog,
  });

  const rows = outcomeRows(stats);
  const faults = rows.slice(0, 6).reduce((a, x) => a + x[1], 0);
  const oLog = wantsLog(rows.map((x) => x[1]));
  charts.push({
    id: 'chart-outcomes',
    title: 'Fault outcomes',
    caption: `What each of the ${fmt(faults)} kvm_mmu_page_fault calls returned (${scope}). Blue: ACCEPTABLE outcomes; orange: INTERESTING ones (counted within the faults above: a fault that refilled a hole and retried is also a RETRY)${oLog ? '; log scale' : ''}.`,
    type: 'bar',
    labels: rows.map((x) => x[0].trim()),
    datasets: [{ label: 'faults', data: rows.map((x) => x[1]), color: rows.map((x) => GRADE_COLOR[x[2]] ?? '#4e79a7') }],
    xLabel: 'faults',
    yLabel: 'outcome',
    horizontal: true,
    logY: oLog,
  });

  const w = histogram(stats.invWindowHist);
  const wLog = wantsLog(w.counts);
  charts.push({
    id: 'chart-inv-windows',
    title: 'Invalidation window lengths',
    caption: `${fmt(j.invalidationWindows.count)} invalidations (${scope}), kvm_mmu_invalidate_begin to end, by length in ${unit}${stats.timed ? '' : ' (the sim engine has no time: the steps every actor took meanwhile)'}; mean ${j.invalidationWindows.mean}, max ${fmt(j.invalidationWindows.max)} (log2 buckets${wLog ? '; log scale' : ''}).`,
    type: 'bar',
    labels: w.labels,
    datasets: [{ label: 'windows', data: w.counts, color: '#59a14f' }],
    xLabel: `window length (${unit})`,
    yLabel: 'invalidation windows',
    logY: wLog,
  });

  const notes: string[] = [];
  const lockActors = stats.actors.filter((a) => a.counters.mmuReadAcquires + a.counters.mmuWriteAcquires > 0);
  if (lockActors.length) {
    const mean = (us: number, n: number) => (n ? Math.round((us / n) * 100) / 100 : 0);
    const c = (a: (typeof lockActors)[number]) => a.counters;
    charts.push({
      id: 'chart-mmu-lock',
      title: 'mmu_lock: mean wait and hold per acquisition',
      caption:
        `Per actor, microseconds waited for and held per acquisition of kvm->mmu_lock (${j.mmuLock.build}), read and write mode, on worker threads. ` +
        `All actors: read ${fmt(j.mmuLock.read.acquires)} acquisitions (wait ${j.mmuLock.read.meanWaitUs} µs, hold ${j.mmuLock.read.meanHoldUs} µs), write ${fmt(j.mmuLock.write.acquires)} (wait ${j.mmuLock.write.meanWaitUs} µs, hold ${j.mmuLock.write.meanHoldUs} µs).`,
      type: 'bar',
      labels: lockActors.map((a) => a.name),
      datasets: [
        { label: 'read: wait', data: lockActors.map((a) => mean(c(a).mmuReadWaitUs, c(a).mmuReadAcquires)), color: '#a0cbe8' },
        { label: 'read: hold', data: lockActors.map((a) => mean(c(a).mmuReadHoldUs, c(a).mmuReadAcquires)), color: '#4e79a7' },
        { label: 'write: wait', data: lockActors.map((a) => mean(c(a).mmuWriteWaitUs, c(a).mmuWriteAcquires)), color: '#ffbe7d' },
        { label: 'write: hold', data: lockActors.map((a) => mean(c(a).mmuWriteHoldUs, c(a).mmuWriteAcquires)), color: '#f28e2b' },
      ],
      xLabel: 'actor',
      yLabel: 'µs per acquisition (mean)',
    });
  } else {
    notes.push(`mmu_lock (${j.mmuLock.build}) wait and hold times are measured on worker threads only (there is no time under the sim engine): run with --engine threads to see them.`);
  }

  const sections: ReportData['sections'] = [{ title: `Invalidate-retry telemetry (${scope})`, charts, notes }];

  const conv = conversionJson(stats);
  if (conv) {
    const converters = stats.actors.filter((a) => a.counters.gmemSetAttrs > 0);
    const unit = conv.timeToConvert.unit === 'us' ? 'µs' : 'global steps';
    sections.push({
      title: `In-place conversions, kernel "next" (${scope})`,
      intro: 'KVM_SET_MEMORY_ATTRIBUTES2 on the guest_memfd: a conversion to private refuses with -EAGAIN while a folio in range holds a reference the kernel cannot drop (a DMA pin, a transient reference); the VMM and the converter retry the range.',
      charts: [
        {
          id: 'chart-conversions',
          title: 'KVM_SET_MEMORY_ATTRIBUTES2 per actor',
          caption: `Per actor: ioctls, those that changed attributes, and those refused with -EAGAIN (${(conv.eagainRate * 100).toFixed(1)}% of all ioctls).`,
          type: 'bar',
          labels: converters.map((a) => a.name),
          datasets: [
            { label: 'ioctls', data: converters.map((a) => a.counters.gmemSetAttrs), color: '#4e79a7' },
            { label: 'changed', data: converters.map((a) => a.counters.convChanged), color: '#59a14f' },
            { label: '-EAGAIN', data: converters.map((a) => a.counters.convEagain), color: '#e15759' },
          ],
          xLabel: 'actor',
          yLabel: 'ioctls',
        },
      ],
      tables: [
        {
          title: 'Figures',
          header: ['figure', 'value'],
          rows: [
            ['conversions seen through', fmt(conv.settled)],
            ['given up after the retry bound', fmt(conv.gaveUp)],
            ['retries per conversion', String(conv.retriesPerConversion)],
            [`time to convert, mean (${unit})`, String(conv.timeToConvert.mean)],
            [`time to convert, max (${unit})`, fmt(conv.timeToConvert.max)],
            ['LRU-add drains', fmt(conv.lruDrains)],
            ['DMA pins (refused)', `${fmt(conv.pins)} (${fmt(conv.pinFails)})`],
            ['DMA accesses', fmt(conv.dmaAccesses)],
            ['speculative references', fmt(conv.specRefs)],
          ],
        },
      ],
    });
  }

  const huge = hugepagesJson(stats);
  if (huge) {
    const rows = hugepagesRows(huge);
    sections.push({
      title: `Huge pages (${scope})`,
      intro: `guest_memfd's huge folios (hugepages.gmem "${sc.hugepages.gmem}", a 2M page of ${fmt(sc.hugepages.pages2m)} 4K pages) and the SPTE leaves mapping them: a fault maps at the largest level lpage_info (KVM_LPAGE_MIXED_FLAG, the memslot's shape) and the folio allow; a zap takes a huge leaf whole.`,
      charts: [
        {
          id: 'chart-hugepages',
          title: 'SPTE leaves installed, by level',
          caption: `Leaves installed and zapped at each level; ${(huge.hugeShare * 100).toFixed(1)}% of installs were huge. ${fmt(huge.spteSplits)} huge leaves were split at fault time.`,
          type: 'bar',
          labels: rows.map((r) => r[0]),
          datasets: [
            { label: 'installed', data: rows.map((_, i) => Object.values(huge.installs)[i]), color: '#4e79a7' },
            { label: 'zapped', data: rows.map((_, i) => Object.values(huge.zaps)[i]), color: '#e15759' },
          ],
          xLabel: 'level',
          yLabel: 'leaves',
        },
      ],
      tables: [
        { title: 'Mappings by level', header: ['level', 'installs', 'share of installs', 'leaves zapped'], rows },
        {
          title: 'Folios',
          header: ['figure', 'value'],
          rows: [
            ['huge folios allocated', fmt(huge.hugeFolios)],
            ['THP attempts that fell back to 4K', fmt(huge.hugeFallbacks)],
            ['folios split into 4K folios (a partial punch; hugetlb: a page going shared)', fmt(huge.folioSplits)],
            ['folios merged back (hugetlb: all pages private again, or a punch of the whole page)', fmt(huge.folioMerges)],
            ['partial punches that only zeroed', fmt(huge.folioZeroed)],
            ['splits or merges that waited for references (folio_ref_freeze)', fmt(huge.freezeWaits)],
            ['-ENOMEM from the hugetlb subpool', fmt(huge.hugetlbEnomem)],
          ],
        },
      ],
    });
  }

  if (sc.numa && stats.nodes.length) {
    const ns = stats.nodes;
    const labels = ns.map((n) => `node ${n.node}`);
    // numastat -m speaks MiB; a small scenario's nodes hold a few hundred 4 KiB pages: pages then
    const inPages = Math.max(...ns.map((n) => n.capacity)) < 2560;
    const amount = (p: number) => (inPages ? p : Math.round((p / 256) * 100) / 100);
    const unit = inPages ? 'pages (4 KiB)' : 'MiB';
    sections.push({
      title: 'Memory by NUMA node (numastat)',
      intro: `${scope === 'this run' ? 'At the end of the run' : 'At the end of the last schedule'}; pages freed by punch/discard are no longer counted.`,
      charts: [
        {
          id: 'chart-numa-memory',
          title: 'Memory per node (numastat -m)',
          caption: `Per node, in ${unit}: guest_memfd file pages (Unevictable: the same pages, as gmem folios are), anonymous (HVA) pages and free memory, stacked; MemTotal: ${ns.map((n) => `node ${n.node} ${fmt(amount(n.capacity))}`).join(', ')} ${inPages ? 'pages' : 'MiB'}.`,
          type: 'bar',
          labels,
          datasets: [
            { label: 'FilePages', data: ns.map((n) => amount(n.filePages)), color: '#4e79a7' },
            { label: 'AnonPages', data: ns.map((n) => amount(n.anonPages)), color: '#f28e2b' },
            { label: 'MemFree', data: ns.map((n) => amount(n.free)), color: '#bab0ac' },
          ],
          xLabel: 'NUMA node',
          yLabel: unit,
          stacked: true,
        },
        {
          id: 'chart-numa-alloc',
          title: 'Allocations per node (numastat)',
          caption: 'Page allocations by node, as numastat counts them: numa_hit (the intended node), numa_miss and numa_foreign (fallbacks), interleave_hit, local_node and other_node (relative to the allocating task).',
          type: 'bar',
          labels,
          datasets: (['numa_hit', 'numa_miss', 'numa_foreign', 'interleave_hit', 'local_node', 'other_node'] as const).map((k) => ({ label: k, data: ns.map((n) => n[k]) })),
          xLabel: 'NUMA node',
          yLabel: 'pages',
        },
      ],
    });
  }
  return sections;
}

/** One step of a shrunk schedule, as src/engine/sim.ts prints it with traceState. */
const STEP_LINE = /^(\d+): (\S+) (\S+) -> (\S+)(?: {2}\| seq (-?\d+), in_progress (-?\d+), range (none|\[-?\d+, -?\d+\)))?(?: \| (.*))?$/;

/** The finding's step list (the shrunk schedule with the invalidation state after each step) as a chart and a table. */
export function findingSection(f: Finding): ReportData['sections'][number] {
  const s = f.shrunk;
  const lines = s ? s.steps : f.trace;
  const parsed = lines.map((l) => STEP_LINE.exec(l));
  const rows = lines.map((l, i) => {
    const m = parsed[i];
    return m ? [m[1], m[2], `${m[3]} → ${m[4]}`, m[5] ?? '', m[6] ?? '', m[7] ?? '', m[8] ?? ''] : ['', '', l, '', '', '', ''];
  });
  const withState = parsed.filter((m) => m && m[5] !== undefined) as RegExpExecArray[];
  const charts: ChartSpec[] = [];
  if (withState.length) {
    charts.push({
      id: 'chart-finding-state',
      title: `Invalidation state over the ${s ? 'shrunk ' : ''}schedule`,
      caption:
        `mmu_invalidate_seq and mmu_invalidate_in_progress after each step of the ${s ? `shrunk schedule (${s.shrunkSteps} steps, ${s.shrunkSwitches} context switches)` : 'last steps'}; ` +
        `${f.invariant} fires at step ${withState[withState.length - 1][1]}, the last. Hover a point for the actor and its yield points.`,
      type: 'line',
      labels: withState.map((m) => m[1]),
      datasets: [
        { label: 'mmu_invalidate_seq', data: withState.map((m) => Number(m[5])), color: '#4e79a7', stepped: true },
        { label: 'mmu_invalidate_in_progress', data: withState.map((m) => Number(m[6])), color: '#e15759', stepped: true },
      ],
      xLabel: s ? 'step of the shrunk schedule' : 'step',
      yLabel: 'value after the step',
      tooltip: withState.map((m) => [`${m[2]}: ${m[3]} -> ${m[4]}`, `range ${m[7]}`, ...(m[8] ? [m[8]] : [])]),
    });
  }
  const table: TableSpec = {
    title: s ? 'The shrunk schedule, step by step' : 'The last steps before the violation',
    caption: "A step: the actor, the yield point it left and the one it stopped at; then the invalidation state after the step; for a vCPU, its fault: gfn, attribute, snapshot seq, resolved pfn, SPTE. The highlighted step is the violating one.",
    header: ['step', 'actor', 'from → to yield point', 'seq', 'in_progress', 'range', "vCPU's fault"],
    rows,
    highlight: rows.length ? [rows.length - 1] : [],
    mono: true,
  };
  const intro = s
    ? `Found by ${f.actorName} at step ${f.step} of schedule ${f.schedule} (trace ${f.traceHash}); shrunk from ${fmt(s.originalSteps)} steps (${fmt(s.originalSwitches)} context switches) to ${fmt(s.shrunkSteps)} (${fmt(s.shrunkSwitches)}) in ${fmt(s.runs)} runs; actors ${s.originalActors} → ${s.shrunkActors}, workload operations ${s.originalOps} → ${s.shrunkOps}${s.scenarioChanges.length ? ` (${s.scenarioChanges.join(', ')})` : ''}.`
    : `Found by ${f.actorName} at step ${f.step} of schedule ${f.schedule} (trace ${f.traceHash}); not shrunk.`;
  return { title: `The finding: ${f.invariant}`, intro, charts, tables: [table], tokens: s ? [{ label: 'The schedule as found (before shrinking):', code: `gmemsim replay ${s.originalReplay}` }] : [] };
}

function findingSummary(f: Finding): ReportData['summary'] {
  return { ok: false, headline: headline(f), details: [f.message], replay: `gmemsim replay ${f.replay}` };
}

const OK_SUMMARY: ReportData['summary'] = { ok: true, headline: 'OK, no invariant violated', details: [], replay: null };

/** explore (random/pct/portfolio) and run --engine sim: the campaign's telemetry, and its finding. */
export function exploreReportData(cmd: string, sc: Scenario, variant: VariantInfo | null, seed: number, r: ExploreResult, stopped: string | null = null): ReportData {
  const f = r.violations[0] ?? null;
  return {
    title: `gmemsim ${cmd}: ${sc.name}`,
    meta: [...baseMeta(sc, variant, seed, 'sim'), ['strategy', r.strategy]],
    summary: f ? findingSummary(f) : OK_SUMMARY,
    facts: [`${fmt(r.schedulesRun)} schedule${r.schedulesRun === 1 ? '' : 's'}, ${fmt(r.steps)} steps in ${seconds(r.elapsedMs)} (${rate(r.steps, r.elapsedMs)} steps)${r.cut ? `; ${r.cut} cut at maxSteps` : ''}`, ...(stopped ? [stopped] : [])],
    sections: [...(f ? [findingSection(f)] : []), ...statsSections(r.stats, sc, 'all schedules')],
    generator: `gmemsim ${cmd}`,
  };
}

/** explore --strategy dfs: the verdict and the finding (dfs keeps no telemetry across schedules). */
export function dfsReportData(sc: Scenario, variant: VariantInfo | null, seed: number, preemptions: number, r: { schedules: number; steps: number; elapsedMs: number }, verdict: string, f: Finding | null): ReportData {
  return {
    title: `gmemsim explore: ${sc.name}`,
    meta: [...baseMeta(sc, variant, seed, 'sim'), ['strategy', `dfs (at most ${preemptions} preemption${preemptions === 1 ? '' : 's'})`]],
    summary: f ? findingSummary(f) : OK_SUMMARY,
    facts: [`${fmt(r.schedules)} schedules, ${fmt(r.steps)} steps in ${seconds(r.elapsedMs)}`, verdict, 'dfs keeps no telemetry across schedules: for the charts of retries, outcomes and invalidation windows use another --strategy, or gmemsim outcomes'],
    sections: f ? [findingSection(f)] : [],
    generator: 'gmemsim explore',
  };
}

/** run on threads, a violation: the threads recording replayed on the sim engine, and, when it did not reproduce, a sim search for the same invariant (cli/run.ts). */
interface SimRecording {
  recordedSteps: number;
  detail: string;
  replay: string | null;
}
interface SimSearch {
  finding: Finding | null;
  schedules: number;
}

/** Where the replay token of a threads violation comes from, in one line. */
function replayNote(rec: SimRecording | null, repro: SimSearch | null): string {
  if (rec?.replay) return `the ${rec.recordedSteps} recorded steps reproduced it on the sim engine (${rec.detail})`;
  if (repro?.finding) return `the sim engine shows the same invariant in schedule ${repro.finding.schedule} (searched ${repro.schedules})`;
  if (repro) return `the sim engine did not show it within ${repro.schedules} schedules; rerun on threads to see it again`;
  return rec ? `the ${rec.recordedSteps} recorded steps did not reproduce it on the sim engine (${rec.detail})` : 'the run kept no recording to replay';
}

/** run on worker threads: the run's telemetry, and the violation with the token that replays it (if the sim engine showed it). */
export function threadsReportData(sc: Scenario, variant: VariantInfo | null, seed: number, r: ThreadsResult, rec: SimRecording | null, repro: SimSearch | null): ReportData {
  const t = r.stats.total;
  const v = r.violation;
  const replay = rec?.replay ?? repro?.finding?.replay ?? null;
  return {
    title: `gmemsim run: ${sc.name}`,
    meta: [...baseMeta(sc, variant, seed, `threads (${r.workers} workers)`)],
    summary: v
      ? { ok: false, headline: headline(v), details: [v.message, ...(v.actor >= 0 ? [`reported by ${r.stats.actors[v.actor]?.name ?? v.actor}`] : []), replayNote(rec, repro)], replay: replay ? `gmemsim replay ${replay}` : null }
      : OK_SUMMARY,
    facts: [`${seconds(r.elapsedMs)}, stopped by ${r.stoppedBy}; ${fmt(t.faults)} faults (${rate(t.faults, r.elapsedMs)}), ${fmt(t.installs)} installs${r.quiescent ? '; final sweep clean' : ''}`],
    sections: statsSections(r.stats, sc, 'this run'),
    generator: 'gmemsim run',
  };
}

/** What gmemsim outcomes computes (its --json document). */
export interface OutcomesResult {
  ok: boolean;
  scenario: string;
  kernel: string;
  variant: string | null;
  seed: number;
  dfs: { preemptions: number; schedules: number; exhausted: boolean; faults: number; forbidden: Record<string, number> };
  threads: { durationMs: number; faults: number; forbidden: Record<string, number> };
  outcomes: Array<{ outcome: string; grade: string; dfs: number; dfsShare: number; threads: number; threadsShare: number; what: string }>;
}

/** outcomes: the graded table as bars, dfs (exact) beside threads (observed). */
export function outcomesReportData(o: OutcomesResult, variant: VariantInfo | null): ReportData {
  const pct = (x: number) => Math.round(x * 10000) / 100;
  const forbidden = (x: Record<string, number>) => Object.entries(x).map(([inv, n]) => `${inv} in ${fmt(n)}`).join(', ');
  const bad = Object.keys(o.dfs.forbidden).length + Object.keys(o.threads.forbidden).length > 0;
  return {
    title: `gmemsim outcomes: ${o.scenario}`,
    meta: [
      ['scenario', o.scenario],
      ['kernel', o.kernel],
      ['variant', variantText(variant)],
      ['seed', String(o.seed)],
      ['engine', `sim (dfs, at most ${o.dfs.preemptions} preemptions) and threads`],
    ],
    summary: bad
      ? { ok: false, headline: 'FORBIDDEN outcomes seen (an invariant violated)', details: [...(Object.keys(o.dfs.forbidden).length ? [`dfs: ${forbidden(o.dfs.forbidden)} schedules`] : []), ...(Object.keys(o.threads.forbidden).length ? [`threads: ${Object.keys(o.threads.forbidden).join(', ')} (the run stopped)`] : []), 'gmemsim explore --strategy dfs on this scenario prints the finding with a replay token'], replay: null }
      : { ...OK_SUMMARY, headline: 'OK, nothing FORBIDDEN' },
    facts: [
      `dfs: ${fmt(o.dfs.schedules)} schedules with <= ${o.dfs.preemptions} preemptions${o.dfs.exhausted ? ' (the whole space)' : ' (NOT the whole space: the --schedules budget ran out)'}, ${fmt(o.dfs.faults)} faults`,
      `threads: ${(o.threads.durationMs / 1000).toFixed(2)} s of worker threads, ${fmt(o.threads.faults)} faults`,
    ],
    sections: [
      {
        title: 'Outcome table',
        intro: 'Every outcome a fault can have, graded: ACCEPTABLE (the protocol allows it), INTERESTING (allowed, and a race was needed to see it), FORBIDDEN (an invariant violated).',
        charts: [
          {
            id: 'chart-outcomes-compare',
            title: 'Fault outcomes: dfs (exact) vs threads (observed)',
            caption: `Share of the faults with each outcome: over every schedule dfs ran (${fmt(o.dfs.faults)} faults, exact counts) and over the worker threads' loop (${fmt(o.threads.faults)} faults, observed frequencies). INTERESTING outcomes are counted within the faults above them.`,
            type: 'bar',
            labels: o.outcomes.map((x) => x.outcome),
            datasets: [
              { label: 'dfs (exact)', data: o.outcomes.map((x) => pct(x.dfsShare)), color: '#4e79a7' },
              { label: 'threads (observed)', data: o.outcomes.map((x) => pct(x.threadsShare)), color: '#f28e2b' },
            ],
            xLabel: 'outcome',
            yLabel: 'share of faults',
            percent: true,
          },
        ],
        tables: [
          {
            title: 'Counts',
            header: ['outcome', 'grade', 'dfs (exact)', 'dfs share', 'threads (observed)', 'threads share', 'meaning'],
            rows: [
              ...o.outcomes.map((x) => [x.outcome, x.grade, fmt(x.dfs), `${pct(x.dfsShare).toFixed(2)}%`, fmt(x.threads), `${pct(x.threadsShare).toFixed(2)}%`, x.what]),
              ['FORBIDDEN (violations)', 'FORBIDDEN', `${fmt(Object.values(o.dfs.forbidden).reduce((a, b) => a + b, 0))} schedules`, '', Object.keys(o.threads.forbidden).join(', ') || '0', '', 'an invariant violated'],
            ],
          },
        ],
      },
    ],
    generator: 'gmemsim outcomes',
  };
}
