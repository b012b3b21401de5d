// A kernel bug injected (B1: the fault path's stale check removed) must be caught, and its replay
// token must reproduce the violation exactly.
import { describe, expect, it } from 'vitest';
import { explore, replay, variants } from 'gmemsim';

describe('the stale-fault check', () => {
  it('is in the catalogue', () => {
    expect(variants().map((v) => v.id)).toContain('B1');
  });

  it('removed (B1), is caught by every schedule search of litmus-punch', async () => {
    const r = await explore({ scenario: 'litmus-punch', variant: 'B1', strategy: 'dfs' });
    expect(r.ok).toBe(false);
    expect(r.violations[0].invariant).toBe('I1');
    const token = r.violations[0].replay;
    expect(typeof token).toBe('string');
    const again = await replay(token as string);
    expect(again.reproduced).toBe(true);
    expect(again.violations[0].invariant).toBe('I1');
  });
});
