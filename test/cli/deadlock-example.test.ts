// The documented deadlock example: a scenario carrying its variant, caught by both engines.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';
import { loadScenario, validateScenario } from '../../src/scenario/schema.js';
import { DEFAULT_SCENARIO } from '../../src/scenario/builtins.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/deadlock.json', import.meta.url));


describe('a scenario that carries its variant', () => {
  it('validates the variant (id or name) and refuses an unknown one, naming the field', () => {
    expect(validateScenario({ variant: 'unbind-under-mmu-lock' }).variant).toBe('B22');
    expect(() => validateScenario({ variant: 'B99' })).toThrow(/scenario: variant must be null or a variant of the catalogue/);
    expect(DEFAULT_SCENARIO.variant).toBeNull();
    expect(loadScenario(EXAMPLE).variant).toBe('B22');
  });

  it('examples/deadlock.json: the threads watchdog names the lock each actor waits on, exit 1', async () => {
    const r = await cli('run', '--scenario', EXAMPLE, '--watchdog', '1000', '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.stoppedBy).toBe('watchdog');
    expect(j.variant).toBe('B22');
    expect(j.violations[0].invariant).toBe('DEADLOCK');
    expect(j.violations[0].message).toMatch(/puncher0 waits for write-lock on mmu_lock/);
    expect(j.violations[0].message).toMatch(/slotchurn0 waits for write-lock on filemap invalidate_lock/);
  });

  it('pause barriers that cannot complete do not delay the watchdog (skipped, backed off, counted)', async () => {
    const r = await cli('run', '--scenario', EXAMPLE, '--watchdog', '3000', '--sweep-every', '500', '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.stoppedBy).toBe('watchdog');
    expect(j.sweeps.done).toBe(0);
    expect(j.sweeps.skipped).toBeGreaterThan(0);
    expect(j.elapsedMs).toBeLessThan(4500);
  });

  it('the sim engine finds the same deadlock; --variant overrides the scenario\'s (the correct model runs clean)', async () => {
    const a = await cli('explore', '--scenario', EXAMPLE, '--schedules', '50', '--json');
    expect(a.code).toBe(1);
    expect(JSON.parse(a.out).violations[0].invariant).toBe('DEADLOCK');
    const b = await cli('explore', '--scenario', EXAMPLE, '--schedules', '5', '--variant', 'B9', '--json');
    expect(b.code).toBe(0);
  });
});
