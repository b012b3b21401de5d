// In-place conversion under pins (issue 13, kernel "next"): the inplace-conversion scenario on the
// threads engine with more and longer DMA pins each row. What a VMM developer wants to know:
// how often KVM_SET_MEMORY_ATTRIBUTES2 refuses with -EAGAIN, how many retries a conversion then
// needs, how long it takes to see one through, and how often the VMM's retry bound runs out.
// Every figure is measured in this run; nothing is asserted.
import { runThreads } from '../src/engine/threads.js';
import { INPLACE_CONVERSION_SCENARIO } from '../src/scenario/builtins.js';
import { validateScenario } from '../src/scenario/schema.js';
import { conversionJson } from '../src/report/conversion.js';
import { modelOf } from '../src/workload/kinds.js';

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** The pin load of each row: devices pinning, pages per pin operation, DMA rounds a pin is held for. */
export const PIN_LOADS = [
  { pinners: 0, maxPages: 1, hold: 1 },
  { pinners: 1, maxPages: 1, hold: 1 },
  { pinners: 1, maxPages: 2, hold: 8 },
  { pinners: 2, maxPages: 4, hold: 32 },
  { pinners: 4, maxPages: 8, hold: 128 },
];

export async function runConversionBench(durationMs = 1500) {
  const rows = [];
  for (const p of PIN_LOADS) {
    const sc = validateScenario({ name: `bench-pins-${p.pinners}x${p.maxPages}x${p.hold}`, pinner: { count: p.pinners, ops: 2, maxPages: p.maxPages, hold: p.hold } }, INPLACE_CONVERSION_SCENARIO);
    const r = await runThreads(modelOf(sc), { seed: 1, variant: null, durationMs });
    const c = conversionJson(r.stats);
    const secs = r.elapsedMs / 1000;
    rows.push({
      ...p,
      elapsedMs: r.elapsedMs,
      pinsPerSec: secs ? r.stats.total.pins / secs : 0,
      ioctls: c?.ioctls ?? 0,
      eagain: c?.eagain ?? 0,
      eagainRate: c?.eagainRate ?? 0,
      retriesPerConversion: c?.retriesPerConversion ?? 0,
      gaveUp: c?.gaveUp ?? 0,
      settled: c?.settled ?? 0,
      meanUs: c?.timeToConvert.mean ?? 0,
      maxUs: c?.timeToConvert.max ?? 0,
      lruDrains: c?.lruDrains ?? 0,
      violation: r.violation?.invariant ?? null,
    });
  }
  console.log(`\nf. in-place conversion (kernel "next") by pin rate: inplace-conversion on threads, ${durationMs} ms per row; a refused conversion is retried whole (backing off 10 us doubling to 1 ms) up to vcpus.eagainRetries (${INPLACE_CONVERSION_SCENARIO.vcpus.eagainRetries}) times`);
  console.table(
    rows.map((r) => ({
      'pinners x pages x hold': `${r.pinners} x ${r.maxPages} x ${r.hold}`,
      'pins/s': fmt(r.pinsPerSec),
      ioctls: fmt(r.ioctls),
      'EAGAIN rate': fmt(r.eagainRate, 4),
      'retries/conv': fmt(r.retriesPerConversion, 2),
      'gave up': fmt(r.gaveUp),
      'time to convert mean us': fmt(r.meanUs, 1),
      'max us': fmt(r.maxUs),
      'LRU drains': fmt(r.lruDrains),
      violation: r.violation ?? '',
    })),
  );
  return { durationMs, eagainRetries: INPLACE_CONVERSION_SCENARIO.vcpus.eagainRetries, rows };
}
