// Bounded exhaustive search: every schedule with at most c preemptions, on the litmus scenarios.
import { describe, expect, it } from 'vitest';
import { exploreDfs } from '../../src/explore/dfs.js';
import { explore, scheduleSeed } from '../../src/explore/explore.js';
import { runSim } from '../../src/engine/sim.js';
import { ReplayScheduler } from '../../src/engine/scheduler.js';
import { modelOf } from '../../src/workload/kinds.js';
import { LITMUS_SCENARIOS } from '../../src/scenario/builtins.js';
import { findVariant, type VariantId } from '../../src/variants.js';
import { cli } from '../helpers.js';

const SEED = scheduleSeed(1, 0); // the workload explore --strategy dfs uses for --seed 1

/** Which variants each litmus test's paths exercise (measured: dfs with c = 2 finds each). */
const COVERS: Record<string, VariantId[]> = {
  'litmus-punch': ['B1', 'B2', 'B5', 'B7', 'B8', 'B20'],
  'litmus-convert': ['B1', 'B2', 'B4', 'B11'],
  'litmus-memslot': ['B21'],
  'litmus-lock-order': ['B10', 'B22'],
  'litmus-notifier': ['B23'],
};

describe('dfs on the litmus scenarios', () => {
  for (const [name, variants] of Object.entries(COVERS)) {
    const sc = LITMUS_SCENARIOS[name];
    it(`${name}: the correct model exhausts the space clean; ${variants.join(', ')} are found, each by an invariant it breaks`, () => {
      const clean = exploreDfs(modelOf(sc), { seed: SEED, variant: null, preemptions: 2, maxSchedules: 100_000 });
      expect(clean.exhausted).toBe(true);
      expect(clean.violation).toBeNull();
      for (const v of variants) {
        const r = exploreDfs(modelOf(sc), { seed: SEED, variant: v, preemptions: 2, maxSchedules: 100_000 });
        const info = findVariant(v)!;
        expect([info.expect, ...info.alsoBreaks], `${name} ${v}`).toContain(r.violation?.invariant);
        // the violating schedule replays strictly to the same violation
        const again = runSim(modelOf(sc), { seed: SEED, variant: v, scheduler: new ReplayScheduler(r.decisions!) });
        expect(again.violation?.invariant).toBe(r.violation!.invariant);
      }
    });
  }

  it('collect mode knows the shortest violation; a shrunk finding is within 2x of it (B1, B22)', () => {
    for (const [v, name] of [['B1', 'litmus-punch'], ['B22', 'litmus-lock-order']] as const) {
      const sc = LITMUS_SCENARIOS[name];
      const f = explore(sc, { seed: 1, schedules: 5000, variant: v, strategy: 'portfolio', shrink: true }).violations[0]!;
      const all = exploreDfs(modelOf(sc), { seed: f.scheduleSeed, variant: v, preemptions: 2, maxSchedules: 100_000, collect: true });
      const first = exploreDfs(modelOf(sc), { seed: f.scheduleSeed, variant: v, preemptions: 2, maxSchedules: 100_000 });
      expect(all.exhausted, v).toBe(true);
      expect(all.shortest, v).toBeGreaterThan(0);
      expect(all.shortest!, v).toBeLessThanOrEqual(first.decisions!.length);
      expect(f.shrunk!.shrunkSteps, v).toBeLessThanOrEqual(2 * all.shortest!);
    }
  });

  it('the bound matters: more preemptions, more schedules; c = 0 runs each actor until it blocks', () => {
    const sc = LITMUS_SCENARIOS['litmus-punch'];
    const n = [0, 1, 2].map((c) => exploreDfs(modelOf(sc), { seed: SEED, variant: null, preemptions: c, maxSchedules: 100_000 }).schedules);
    expect(n[0]).toBeLessThan(n[1]);
    expect(n[1]).toBeLessThan(n[2]);
    const capped = exploreDfs(modelOf(sc), { seed: SEED, variant: null, preemptions: 2, maxSchedules: 10 });
    expect(capped).toMatchObject({ exhausted: false, schedules: 10 });
  });

  it('gmemsim explore --strategy dfs: says the space is exhausted, or shows the violation with a token', async () => {
    const ok = await cli('explore', '--strategy', 'dfs', '--preemptions', '2', '--scenario', 'litmus-punch');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/the space is exhausted: no violation in all [\d,]+ schedules with <= 2 preemptions/);
    const bad = await cli('explore', '--strategy', 'dfs', '--scenario', 'litmus-punch', '--variant', 'B1', '--json');
    expect(bad.code).toBe(1);
    const v = JSON.parse(bad.out).violations[0];
    expect(v.invariant).toBe('I1');
    const r = await cli('replay', v.replay, '--json');
    expect(JSON.parse(r.out).traceHash).toBe(v.traceHash);
    const capped = await cli('explore', '--strategy', 'dfs', '--scenario', 'litmus-punch', '--schedules', '5');
    expect(capped.out).toMatch(/not exhausted/);
  });
});
