// Coverage of explore campaigns (src/explore/coverage.ts): collected without changing a schedule,
// and unioned exactly across shards and pool threads.
import { describe, expect, it } from 'vitest';
import { explore, scheduleSeed } from '../../src/explore/explore.js';
import { exploreParallel } from '../../src/explore/pool.js';
import { TraceSet, coverageFromJson, coverageJson, unionCoverage } from '../../src/explore/coverage.js';
import { edgeSlots, runSim } from '../../src/engine/sim.js';
import { modelOf } from '../../src/workload/kinds.js';
import { DEFAULT_SCENARIO } from '../../src/scenario/builtins.js';
import { loadScenario } from '../../src/scenario/schema.js';

describe('coverage', () => {
  it('marking the transitions changes no schedule: same trace hash, steps, decisions and violation', () => {
    for (const [sc, variant] of [[DEFAULT_SCENARIO, null], [DEFAULT_SCENARIO, 'B11'], [loadScenario('litmus-punch'), 'B2']] as const) {
      const model = modelOf(sc);
      const edges = new Uint8Array(edgeSlots(model.actors.length));
      for (let i = 0; i < 6; i++) {
        const seed = scheduleSeed(9, i);
        const a = runSim(model, { seed, variant, record: true });
        const b = runSim(model, { seed, variant, record: true, edges });
        expect([b.traceHash, b.steps, b.violation, b.decisions]).toEqual([a.traceHash, a.steps, a.violation, a.decisions]);
      }
      expect(edges.some((x) => x === 1)).toBe(true);
    }
  });

  it('a campaign counts its distinct trace hashes and the transitions of each kind', () => {
    const r = explore(DEFAULT_SCENARIO, { seed: 2, schedules: 60, variant: null });
    const model = modelOf(DEFAULT_SCENARIO);
    const hashes = new Set(Array.from({ length: 60 }, (_, i) => runSim(model, { seed: scheduleSeed(2, i), variant: null }).traceHash));
    expect(Array.from(r.coverage.traces, (h) => h.toString(16).padStart(8, '0')).sort()).toEqual([...hashes].sort());
    expect(Object.keys(r.coverage.transitions).sort()).toEqual([...new Set(model.actors.map((a) => a.kind))].sort());
    expect(r.coverage.transitions.vcpu.some((t) => t.startsWith('start>'))).toBe(true);
    expect(r.coverage.transitions.vcpu.some((t) => t.endsWith('>done'))).toBe(true);
  });

  it('the shards\' coverages, and the pool threads\', union to the whole campaign\'s', async () => {
    const o = { seed: 5, schedules: 120, variant: null };
    const whole = explore(DEFAULT_SCENARIO, o);
    const parts = [0, 1, 2].map((index) => explore(DEFAULT_SCENARIO, { ...o, shard: { index, count: 3 } }).coverage);
    expect(unionCoverage(...parts)).toEqual(whole.coverage);
    const pooled = await exploreParallel(DEFAULT_SCENARIO, o, 2);
    expect(pooled.coverage).toEqual(whole.coverage);
  });

  it('JSON round trip; a litmus campaign repeats schedules', () => {
    const r = explore(loadScenario('litmus-convert'), { seed: 1, schedules: 400, variant: null });
    expect(r.coverage.traces.length).toBeLessThan(400);
    const j = JSON.parse(JSON.stringify(coverageJson(r.coverage)));
    expect(j.traces.distinct).toBe(r.coverage.traces.length);
    expect(j.transitions.reached).toBe(Object.values(r.coverage.transitions).flat().length);
    expect(coverageFromJson(j)).toEqual(r.coverage);
  });

  it('TraceSet keeps each hash once across refills', () => {
    const t = new TraceSet();
    const want = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const h = (Math.imul(i % 5000, 2654435761) >>> 0);
      t.add(h);
      want.add(h);
    }
    expect(Array.from(t.values())).toEqual([...want].sort((a, b) => a - b));
    expect(t.complete).toBe(true);
  });
});
