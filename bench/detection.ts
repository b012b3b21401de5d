// Detection benchmark (issue 5): for each variant of the catalogue, schedules to the first
// violation on the variant's campaign scenario (`default` unless the catalogue names another) with random, pct (the depth ladder, its default), pct with d = 2 and the portfolio, as
// a median over campaign seeds, dfs (c = 2) on the litmus scenario that covers it, the time
// to shrink the violation random found, and on the litmus scenario the shrunk length against
// the shortest violating schedule dfs knows.
import { exploreDfs } from '../src/explore/dfs.js';
import { explore, makeFinding, scheduleSeed } from '../src/explore/explore.js';
import { modelOf } from '../src/workload/kinds.js';
import { runSim } from '../src/engine/sim.js';
import { BUILTIN_SCENARIOS, LITMUS_SCENARIOS } from '../src/scenario/builtins.js';
import { VARIANTS } from '../src/variants.js';

const SEEDS = 20;
const CAP = 1000; // schedules per campaign; a campaign that finds nothing counts as > CAP


function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

const show = (n: number) => (n > CAP ? `>${CAP}` : String(n));

export function runDetection() {
  const rows = [];
  for (const v of VARIANTS.filter((x) => x.expect)) {
    const scenario = v.scenario ?? 'default';
    const sc = BUILTIN_SCENARIOS[scenario]!;
    const firsts = (strategy: 'random' | 'pct' | 'portfolio', depth?: number) =>
      Array.from({ length: SEEDS }, (_, k) => {
        const r = explore(sc, { seed: k + 1, schedules: CAP, variant: v.id, strategy, depth });
        return r.violations[0] ? r.violations[0].schedule + 1 : CAP + 1;
      });
    const random = firsts('random');
    const pct = firsts('pct');
    const pct2 = firsts('pct', 2);
    const portfolio = firsts('portfolio');
    const litmus = v.litmus; // the litmus scenario whose paths it needs (the catalogue's)
    const dfs = litmus ? exploreDfs(modelOf(LITMUS_SCENARIOS[litmus]), { seed: scheduleSeed(1, 0), variant: v.id, preemptions: 2, maxSchedules: 200_000 }) : null;
    // shrink what random found with campaign seed 1
    const f = explore(sc, { seed: 1, schedules: CAP, variant: v.id }).violations[0];
    let shrink: { ms: number; from: number; to: number } | null = null;
    if (f) {
      const found = runSim(modelOf(sc), { seed: f.scheduleSeed, variant: v.id, record: true });
      const t = performance.now();
      const sf = makeFinding(sc, { variant: v.id, shrink: true }, f.schedule, f.scheduleSeed, found.decisions!);
      shrink = { ms: performance.now() - t, from: sf.shrunk?.originalSteps ?? 0, to: sf.shrunk?.shrunkSteps ?? 0 };
    }
    // On the litmus scenario: the shrunk length against the shortest known, the fewest steps to a
    // violation over every schedule dfs (c = 2) runs of the same workload
    let vsShortest: { shrunk: number; shortest: number; ratio: number } | null = null;
    if (litmus) {
      const lf = explore(LITMUS_SCENARIOS[litmus], { seed: 1, schedules: 5000, variant: v.id, strategy: 'portfolio', shrink: true }).violations[0];
      const all = lf ? exploreDfs(modelOf(LITMUS_SCENARIOS[litmus]), { seed: lf.scheduleSeed, variant: v.id, preemptions: 2, maxSchedules: 300_000, collect: true }) : null;
      if (lf?.shrunk && all?.shortest) vsShortest = { shrunk: lf.shrunk.shrunkSteps, shortest: all.shortest, ratio: lf.shrunk.shrunkSteps / all.shortest };
    }
    rows.push({
      variant: v.id,
      scenario,
      expect: v.expect,
      randomMedian: median(random),
      pctMedian: median(pct),
      pctD2Median: median(pct2),
      portfolioMedian: median(portfolio),
      pctWithin1000: median(pct) <= CAP,
      dfs: dfs ? { scenario: litmus!, schedules: dfs.schedules, found: dfs.violation?.invariant ?? null } : null,
      shrink,
      vsShortest,
    });
  }
  console.log(`\nf. detection (issue 5): schedules to the first violation on each variant's campaign scenario (default unless named), median over ${SEEDS} campaign seeds (cap ${CAP}), random, pct (the depth ladder), pct with d = 2 in every schedule, and portfolio (explore's default); dfs c = 2 on the litmus scenario covering the variant; shrinking what random found (seed 1)`);
  console.table(
    rows.map((r) => ({
      variant: r.variant,
      scenario: r.scenario,
      expect: r.expect,
      random: show(r.randomMedian),
      pct: show(r.pctMedian),
      'pct d=2': show(r.pctD2Median),
      portfolio: show(r.portfolioMedian),
      dfs: r.dfs ? `${r.dfs.found ? `${r.dfs.schedules}` : 'not found'} (${r.dfs.scenario})` : '-',
      'shrink ms': r.shrink ? r.shrink.ms.toFixed(0) : '-',
      'steps found -> shrunk': r.shrink ? `${r.shrink.from} -> ${r.shrink.to}` : '-',
      'litmus: shrunk / shortest': r.vsShortest ? `${r.vsShortest.shrunk} / ${r.vsShortest.shortest} = ${r.vsShortest.ratio.toFixed(2)}` : '-',
    })),
  );
  const measured = rows.filter((r) => r.vsShortest);
  const worst = Math.max(...measured.map((r) => r.vsShortest!.ratio));
  console.log(`   goal: shrunk schedules no longer than 2x the shortest known (dfs c = 2, every schedule of the same workload; portfolio's first finding on the litmus scenario, shrunk): worst ${worst.toFixed(2)}x over ${measured.length} variants (${worst <= 2 ? 'met' : 'not met'})`);
  const pctOk = rows.filter((r) => r.pctWithin1000).length;
  console.log(`   goal: every variant found by pct (the depth ladder) within a median of 1,000 schedules: ${pctOk}/${rows.length} (${pctOk === rows.length ? 'met' : 'not met'})`);
  return { seeds: SEEDS, cap: CAP, rows };
}
