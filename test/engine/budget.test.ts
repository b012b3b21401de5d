// Budgets: a deadline or a stop word ends a sim schedule part-way (checked every
// BUDGET_CHECK_STEPS steps), an explore campaign and a dfs search at once, and says why.
import { describe, expect, it } from 'vitest';
import { BUDGET_CHECK_STEPS, newStopWord } from '../../src/engine/budget.js';
import { runSim } from '../../src/engine/sim.js';
import { explore } from '../../src/explore/explore.js';
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
    const r = explore(big, { seed: 1, schedules: 5, variant: null, timeBudgetMs: 1 });
    expect(r.interrupted).toBe('time');
    expect(r.schedulesRun).toBe(0);
    expect(r.partialSteps).toBe(BUDGET_CHECK_STEPS - 1); // the first schedule starts whatever the clock says, and is cut at the first check
  });

  it('a campaign that finishes its schedules is not interrupted, whatever the clock', () => {
    const r = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 3, variant: null, timeBudgetMs: 3_600_000 });
    expect([r.interrupted, r.schedulesRun, r.partialSteps]).toEqual([null, 3, 0]);
  });

  it('dfs stops at a set stop word and does not claim the space exhausted', () => {
    const stop = newStopWord();
    Atomics.store(stop, 0, 2);
    const r = exploreDfs(modelOf(BUILTIN_SCENARIOS['litmus-punch']), { seed: 1, variant: null, preemptions: 2, maxSchedules: 1000, stop });
    expect([r.interrupted, r.exhausted, r.schedules]).toEqual(['signal', false, 0]);
  });
});
