// STARVATION counts only retries that no writer at work explains. Regression: a long memslot
// flush (4096 pages) under 8 vCPUs hammering one page each made the correct model "starve".
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/explore/explore.js';
import { runSim } from '../../src/engine/sim.js';
import { modelOf } from '../../src/workload/kinds.js';
import { loadScenario } from '../../src/scenario/schema.js';
import { DEFAULT_SCENARIO } from '../helpers.js';

const BIG = loadScenario(fileURLToPath(new URL('../fixtures/big-slot-churn.json', import.meta.url)));

describe('STARVATION', () => {
  it('retries while a memslot is being deleted are not starvation (correct model, long flush)', () => {
    const r = runSim(modelOf({ ...BIG, starvationRetries: 500 }), { seed: 1, variant: null });
    expect(r.violation).toBeNull();
    // the scenario really does make faults wait on the deletion
    expect(r.stats.total.retryInvalidSlot).toBeGreaterThan(500);
    expect(r.stats.total.slotDeletes).toBe(3);
  });

  it('an orphaned invalidation (B10) still starves the faults behind it', () => {
    const r = explore(DEFAULT_SCENARIO, { seed: 3, schedules: 300, variant: 'B10', invariants: ['STARVATION'] });
    expect(r.violations[0]?.invariant).toBe('STARVATION');
    expect(r.violations[0]?.message).toMatch(/no writer at work/);
  });
});
