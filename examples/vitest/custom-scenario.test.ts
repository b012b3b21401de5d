// My own scenario (two vCPUs sharing every gfn with a busy converter), explored on the correct
// model: no invariant may be violated.
import { describe, expect, it } from 'vitest';
import { checkScenario, defaultScenario, explore } from 'gmemsim';

describe('my conversion workload', () => {
  const mine = defaultScenario();
  mine.name = 'two-vcpus-shared-gfns';
  mine.vcpus.count = 2;
  mine.vcpus.gfns = 'shared';
  mine.vcpus.conversionRate = 0.5;

  it('is a valid scenario', () => {
    expect(checkScenario(mine).vcpus.count).toBe(2);
  });

  it('shows no violation in 300 schedules', async () => {
    const r = await explore({ scenario: mine, schedules: 300, seed: 7 });
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.schedules).toBe(300);
  });
});
