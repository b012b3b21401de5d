import { describe, expect, it } from 'vitest';
import { runSim } from '../src/engine/sim.js';
import { DEFAULT_SCENARIO } from '../src/scenario/builtins.js';
import { modelOf } from '../src/workload/kinds.js';

describe('smoke', () => {
  it('the default scenario runs clean under sim', () => {
    const r = runSim(modelOf(DEFAULT_SCENARIO), { seed: 1, variant: null });
    expect(r.violation).toBeNull();
    expect(r.stats.total.installs).toBeGreaterThan(0);
  });
});
