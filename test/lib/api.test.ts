// The library API (src/index.ts) in-process: its types are checked by `npm test`'s tsc over the
// tests (the @ts-expect-error lines fail the build if a type lets the wrong thing through), and
// its results are the CLI's --json.
import { describe, expect, it } from 'vitest';
import { GmemsimError, defaultScenario, explore, outcomes, type OutcomesOptions, type ExploreOptions } from '../../src/index.js';

describe('library option types', () => {
  it('each command takes its own options: outcomes has no scale, mmuLock or vcpuGfns', async () => {
    // @ts-expect-error outcomes has no --mmu-lock
    const o1: OutcomesOptions = { mmuLock: 'percpu' };
    // @ts-expect-error outcomes has no --scale
    const o2: OutcomesOptions = { scale: 0.5 };
    const e: ExploreOptions = { mmuLock: 'percpu', scale: 0.01, scenario: 'big-slot-churn' };
    expect(e.scale).toBe(0.01);
    // and what the type refuses, the command refuses too (the CLI's table decides)
    await expect(outcomes(o1)).rejects.toThrow(GmemsimError);
    await expect(outcomes(o2)).rejects.toThrow(/unknown option --scale/);
  });

  it('a scenario may be given in part, at any depth', async () => {
    const r = await explore({ scenario: { name: 'part', vcpus: { count: 2 } }, schedules: 5, seed: 1 });
    expect(r.ok).toBe(true);
    expect(r.scenario).toBe('part');
  });
});

describe('library results', () => {
  it('outcomes() lists its FORBIDDEN outcomes as violations, as the other commands do', async () => {
    const clean = await outcomes({ scenario: 'litmus-punch', preemptions: 1, duration: 100 });
    expect([clean.ok, clean.violations]).toEqual([true, []]);
    const bad = await outcomes({ scenario: 'litmus-punch', variant: 'B1', preemptions: 2, duration: 100 });
    expect(bad.ok).toBe(false);
    expect(bad.violations.length).toBeGreaterThan(0);
    expect(bad.violations[0]).toMatchObject({ engine: 'dfs' });
  });

  it('an AbortSignal that stops a campaign is named as such, not as a SIGINT', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await explore({ scenario: defaultScenario(), schedules: 1000, signal: ac.signal });
    expect(r.interrupted).toBe('signal');
    expect(r.interruptedBy).toBe('the AbortSignal');
    expect(r.schedules).toBe(0);
  });
});
