// Budgets: a deadline or a stop word ends a sim schedule part-way (checked every
// BUDGET_CHECK_STEPS steps), an explore campaign and a dfs search at once, and says why.
import { describe, expect, it } from 'vitest';
import { BUDGET_CHECK_STEPS, newStopWord } from '../../src/engine/budget.js';
import { runSim } from '../../src/engine/sim.js';
import { explore, makeFinding, pctK } from '../../src/explore/explore.js';
import { ExplorePool } from '../../src/explore/pool.js';
import { exploreDfs } from '../../src/explore/dfs.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from '../../src/scenario/builtins.js';
import { modelOf } from '../../src/workload/kinds.js';

// default with many operations per actor: one schedule far longer than a budget check
const LONG = { ...DEFAULT_SCENARIO, maxSteps: 10_000_000 };
const longModel = modelOf(LONG);

describe('a budget inside one sim schedule', () => {
  it('a deadline already past stops the schedule at the first check, with no violation and no sweep', () => {
    const r = runSim(longModel, { seed: 1, variant: null, opsOverride: 1_000_000, budget: { deadline: 0 } });
    expect(r.stopped).toBe('time');
    expect(r.steps).toBe(BUDGET_CHECK_STEPS - 1);
    expect(r.violation).toBeNull();
    expect(r.cut).toBe(false);
  });

  it('a set stop word stops it as a signal', () => {
    const stop = newStopWord();
    Atomics.store(stop, 0, 2);
    const r = runSim(longModel, { seed: 1, variant: null, opsOverride: 1_000_000, budget: { stop } });
    expect(r.stopped).toBe('signal');
    expect(r.steps).toBe(BUDGET_CHECK_STEPS - 1);
  });

  it('a budget that does not run out changes nothing: the same steps and trace hash', () => {
    const model = modelOf(DEFAULT_SCENARIO);
    const plain = runSim(model, { seed: 7, variant: 'B1' });
    const budgeted = runSim(model, { seed: 7, variant: 'B1', budget: { deadline: Date.now() + 3_600_000, stop: newStopWord() } });
    expect(budgeted.stopped).toBeNull();
    expect([budgeted.steps, budgeted.traceHash, budgeted.violation?.invariant]).toEqual([plain.steps, plain.traceHash, plain.violation?.invariant]);
  });
});

describe('explore and dfs under a budget', () => {
  it('a stop word set before the campaign: no schedule runs, interrupted by a signal', () => {
    const stop = newStopWord();
    Atomics.store(stop, 0, 15);
    const r = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 1000, variant: null, stop });
    expect(r.interrupted).toBe('signal');
    expect(r.schedulesRun).toBe(0);
  });

  it('--time inside a long schedule: the schedule is cut, counted apart, and the campaign says time', () => {
    const big = { ...LONG, vcpus: { ...LONG.vcpus, ops: 100_000 } };
    const r = explore(big, { seed: 1, schedules: 5, variant: null, timeBudgetMs: 0 });
    expect(r.interrupted).toBe('time');
    expect(r.schedulesRun).toBe(0);
    expect(r.partialSteps).toBe(BUDGET_CHECK_STEPS - 1); // the first schedule starts whatever the clock says, and is cut at the first check
  });

  it('a budget that never runs out changes no figure of a campaign (steps, stats, coverage, the finding)', () => {
    for (const strategy of ['random', 'portfolio'] as const) {
      const o = { seed: 3, schedules: 40, variant: 'B1' as const, strategy, shrink: false };
      const plain = explore(DEFAULT_SCENARIO, o);
      const budgeted = explore(DEFAULT_SCENARIO, { ...o, timeBudgetMs: 3_600_000, stop: newStopWord(), onProgress: () => {} });
      const figures = (r: typeof plain) => ({ ...r, elapsedMs: 0, violations: r.violations.map((f) => ({ ...f, shrunk: null })) });
      expect(figures(budgeted)).toEqual(figures(plain));
    }
  });

  it('pct/portfolio: a budget gone before the lengths are measured runs no schedule and says so (not lengths from fewer runs)', () => {
    const stop = newStopWord();
    Atomics.store(stop, 0, 2);
    const bySignal = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 100, variant: null, strategy: 'portfolio', stop });
    expect([bySignal.interrupted, bySignal.cutMeasuring, bySignal.schedulesRun, bySignal.pct]).toEqual(['signal', true, 0, null]);
    const byTime = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 100, variant: null, strategy: 'pct', deadline: Date.now() - 1 });
    expect([byTime.interrupted, byTime.cutMeasuring, byTime.schedulesRun, byTime.pct]).toEqual(['time', true, 0, null]);
    const uncut = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 2, variant: null, strategy: 'pct' });
    expect([uncut.interrupted, uncut.cutMeasuring, uncut.pct?.k]).toEqual([null, false, pctK(DEFAULT_SCENARIO, 1, null).k]);
  });

  it('--workers: every shard keeps the campaign\'s one deadline (a deadline already past runs nothing, on any thread)', async () => {
    const pool = new ExplorePool(2);
    try {
      const past = await pool.explore(DEFAULT_SCENARIO, { seed: 1, schedules: 500, variant: null, strategy: 'random', deadline: Date.now() - 1 });
      expect([past.interrupted, past.schedulesRun]).toEqual(['time', 0]);
      const measuring = await pool.explore(DEFAULT_SCENARIO, { seed: 1, schedules: 500, variant: null, strategy: 'portfolio', deadline: Date.now() - 1 });
      expect([measuring.interrupted, measuring.cutMeasuring, measuring.schedulesRun]).toEqual(['time', true, 0]);
      const stop = newStopWord();
      Atomics.store(stop, 0, 15);
      const signalled = await pool.explore(DEFAULT_SCENARIO, { seed: 1, schedules: 500, variant: null, strategy: 'portfolio', pctK: pctK(DEFAULT_SCENARIO, 1, null), stop });
      expect([signalled.interrupted, signalled.schedulesRun]).toEqual(['signal', 0]);
      const whole = await pool.explore(DEFAULT_SCENARIO, { seed: 1, schedules: 64, variant: null, strategy: 'portfolio', deadline: Date.now() + 3_600_000 });
      expect([whole.interrupted, whole.schedulesRun]).toEqual([null, 64]);
    } finally {
      await pool.close();
    }
  });

  it('a signal while the finding is shrunk: the finding is kept and says its shrinking was cut', () => {
    const found = explore(DEFAULT_SCENARIO, { seed: 38, schedules: 200, variant: 'B1', shrink: false });
    const f = found.violations[0];
    expect(f).toBeDefined();
    const stop = newStopWord();
    Atomics.store(stop, 0, 2);
    const g = makeFinding(DEFAULT_SCENARIO, { variant: 'B1', shrink: true }, f.schedule, f.scheduleSeed, f.spec.schedule!, stop);
    expect(g.shrunk?.cutBy).toBe('signal');
    expect(g.invariant).toBe(f.invariant);
    const free = makeFinding(DEFAULT_SCENARIO, { variant: 'B1', shrink: true }, f.schedule, f.scheduleSeed, f.spec.schedule!);
    expect(free.shrunk?.cutBy).toBeNull();
    expect(free.shrunk!.shrunkSteps).toBeLessThanOrEqual(g.shrunk!.shrunkSteps);
  });

  it('dfs stops at a set stop word and does not claim the space exhausted', () => {
    const stop = newStopWord();
    Atomics.store(stop, 0, 2);
    const r = exploreDfs(modelOf(BUILTIN_SCENARIOS['litmus-punch']), { seed: 1, variant: null, preemptions: 2, maxSchedules: 1000, stop });
    expect([r.interrupted, r.exhausted, r.schedules]).toEqual(['signal', false, 0]);
  });
});
