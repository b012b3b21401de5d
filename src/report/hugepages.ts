// Huge-page telemetry (issue 14): mappings by level (the SPTE leaves installed, and how many of the
// run's installs each level took: the huge-page share), huge leaves zapped whole, fault-time
// splits, and the guest_memfd side: huge folios allocated, THP attempts that fell back to 4K, folios
// split by a partial punch and those only zeroed because a reference blocked the split.
import type { Stats } from '../engine/stats.js';

const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (a: number, b: number) => (b ? `${((a / b) * 100).toFixed(1)}%` : '0.0%');

/** The huge-page figures of a run, or null when it tried no huge folio and mapped nothing above 4K (hugepages off). */
export function hugepagesJson(st: Stats) {
  const t = st.total;
  if (t.hugeFolios + t.hugeFallbacks + t.installs2m + t.installs1g === 0) return null;
  const huge = t.installs2m + t.installs1g;
  return {
    /** SPTE leaves installed, by level */
    installs: { '4K': t.installs - huge, '2M': t.installs2m, '1G': t.installs1g },
    /** the share of installs that were huge */
    hugeShare: t.installs ? Math.round((huge / t.installs) * 10000) / 10000 : 0,
    zaps: { '4K': t.zaps - t.zaps2m - t.zaps1g, '2M': t.zaps2m, '1G': t.zaps1g },
    spteSplits: t.spteSplits,
    hugeFolios: t.hugeFolios,
    hugeFallbacks: t.hugeFallbacks,
    folioSplits: t.folioSplits,
    folioZeroed: t.folioZeroed,
    /** hugetlb (the 1G RFC): merges back into huge folios, restructurings that waited for references, -ENOMEM from the file's subpool */
    folioMerges: t.folioMerges,
    freezeWaits: t.freezeSpins,
    hugetlbEnomem: t.hugetlbEnomem,
  };
}

/** The table's rows: level, installs, share of installs, leaves zapped. */
export function hugepagesRows(h: NonNullable<ReturnType<typeof hugepagesJson>>): string[][] {
  const all = h.installs['4K'] + h.installs['2M'] + h.installs['1G'];
  return (['4K', '2M', '1G'] as const).map((l) => [l, fmt(h.installs[l]), pct(h.installs[l], all), fmt(h.zaps[l])]);
}

export function hugepagesText(st: Stats): string | null {
  const h = hugepagesJson(st);
  if (!h) return null;
  const rows = hugepagesRows(h);
  return [
    `    mappings by level (the sizes are the scenario's hugepages.pages2m and pages1g; installs count leaves, a huge one covers many 4K pages):`,
    `      level   installs   share    leaves zapped`,
    ...rows.map(([l, n, s, z]) => `      ${l.padEnd(6)}${n.padStart(10)}${s.padStart(8)}${z.padStart(17)}`),
    `    huge leaves split at fault time: ${fmt(h.spteSplits)}`,
    `    guest_memfd folios: ${fmt(h.hugeFolios)} huge allocated, ${fmt(h.hugeFallbacks)} THP attempts fell back to 4K; ${fmt(h.folioSplits)} split into 4K folios, ${fmt(h.folioMerges)} merged back; ${fmt(h.folioZeroed)} partial punches only zeroed`,
    ...(h.folioMerges + h.freezeWaits + h.hugetlbEnomem > 0 ? [`    hugetlb: ${fmt(h.freezeWaits)} splits or merges waited for references to drop (folio_ref_freeze), ${fmt(h.hugetlbEnomem)} allocations got -ENOMEM from the file's subpool (faults racing on one huge page take two reservations)`] : []),
  ].join('\n');
}
