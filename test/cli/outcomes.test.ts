// gmemsim outcomes: a graded outcome table, dfs (exact) beside threads (observed).
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';

describe('outcome tables', () => {
  it('litmus-punch, correct model: the whole space, INTERESTING outcomes seen exactly, nothing FORBIDDEN', async () => {
    const r = await cli('outcomes', '--scenario', 'litmus-punch', '--duration', '300', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.dfs.exhausted).toBe(true);
    expect(j.dfs.forbidden).toEqual({});
    const row = (name: string) => j.outcomes.find((o: { outcome: string }) => o.outcome === name);
    expect(row('FIXED').dfs).toBeGreaterThan(0);
    expect(row('RETRY').dfs).toBeGreaterThan(0);
    expect(row('refilled, then retried').grade).toBe('INTERESTING');
    expect(row('refilled, then retried').dfs).toBeGreaterThan(0);
    expect(row('stale page caught').dfs).toBeGreaterThan(0);
    expect(j.threads.faults).toBeGreaterThan(0);
    const shares = j.outcomes.filter((o: { grade: string }) => o.grade === 'ACCEPTABLE').reduce((n: number, o: { dfsShare: number }) => n + o.dfsShare, 0);
    expect(shares).toBeCloseTo(1, 6);
  });

  it('with B1 the FORBIDDEN row counts the violating schedules by invariant, exit 1', async () => {
    const r = await cli('outcomes', '--scenario', 'litmus-punch', '--variant', 'B1', '--duration', '300');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FORBIDDEN \(violations\) +FORBIDDEN +[\d,]+ schedules/);
    expect(r.out).toMatch(/dfs: I1 in [\d,]+ schedules/);
  });
});
