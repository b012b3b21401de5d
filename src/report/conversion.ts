// In-place conversion telemetry (kernel "next"): what KVM_SET_MEMORY_ATTRIBUTES2 met. How many
// ioctls, how many refused with -EAGAIN (a reference the kernel could not drop), how many retries
// the VMM needed to see a conversion through, how long that took, and the references behind it:
// LRU-add batches drained, DMA pins, speculative references.
import type { Stats } from '../engine/stats.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const ratio = (a: number, b: number, digits = 2) => (b ? Math.round((a / b) * 10 ** digits) / 10 ** digits : 0);

/** The conversion figures of a run, or null if it made no in-place conversion. */
export function conversionJson(st: Stats) {
  const t = st.total;
  if (t.gmemSetAttrs === 0) return null;
  return {
    ioctls: t.gmemSetAttrs,
    changed: t.convChanged,
    eagain: t.convEagain,
    /** -EAGAIN per ioctl */
    eagainRate: ratio(t.convEagain, t.gmemSetAttrs, 4),
    /** conversions the VMM (or the converter) saw through, and gave up on after vcpus.eagainRetries */
    settled: t.convSettled,
    gaveUp: t.convGaveUp,
    retries: t.convRetries,
    retriesPerConversion: ratio(t.convRetries, t.convSettled + t.convGaveUp),
    /** first attempt to success: threads microseconds, sim global steps */
    timeToConvert: { unit: st.timed ? 'us' : 'steps', mean: ratio(t.convLatencySum, t.convSettled), max: t.convLatencyMax },
    lruDrains: t.lruDrains,
    pins: t.pins,
    pinFails: t.pinFails,
    dmaAccesses: t.dmaAccesses,
    specRefs: t.specRefs,
  };
}

export function conversionText(st: Stats): string | null {
  const c = conversionJson(st);
  if (!c) return null;
  const unit = c.timeToConvert.unit === 'us' ? 'us' : 'global steps';
  return [
    `    KVM_SET_MEMORY_ATTRIBUTES2: ${fmt(c.ioctls)} ioctls, ${fmt(c.changed)} changed attributes, ${fmt(c.eagain)} refused with -EAGAIN (${(c.eagainRate * 100).toFixed(1)}% of ioctls)`,
    `    conversions seen through: ${fmt(c.settled)}, given up after the retry bound: ${fmt(c.gaveUp)}; ${fmt(c.retries)} retries (${c.retriesPerConversion} per conversion)`,
    `    time to convert (first attempt to success): mean ${c.timeToConvert.mean} ${unit}, max ${fmt(c.timeToConvert.max)} ${unit}`,
    `    references met: ${fmt(c.lruDrains)} LRU-add drains, ${fmt(c.pins)} DMA pins (${fmt(c.pinFails)} refused: private or beyond i_size) with ${fmt(c.dmaAccesses)} DMA accesses, ${fmt(c.specRefs)} speculative references`,
  ].join('\n');
}
