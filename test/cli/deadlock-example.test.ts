// The documented deadlock example: a scenario carrying its variant (B22), caught by lockdep on
// both engines before anything hangs; with lockdep's check left out it deadlocks for real and
// the watchdog (threads) or the engine (sim) reports the deadlock, naming who holds what.
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

  it('examples/deadlock.json on threads: lockdep reports the inverted order with both acquisitions, exit 1', async () => {
    const r = await cli('run', '--scenario', EXAMPLE, '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.stoppedBy).toBe('violation');
    expect(j.variant).toBe('B22');
    expect(j.violations[0].invariant).toBe('LOCK_ORDER');
    expect(j.violations[0].message).toMatch(/puncher0 took kvm->mmu_lock while holding filemap invalidate_lock \(stack: puncherProgram > kvmGmemPunchHole > .*mmuWriteLock\)/);
    expect(j.violations[0].message).toMatch(/slotchurn0 took filemap invalidate_lock while holding kvm->mmu_lock \(stack: slotChurnProgram > kvmDeleteMemslot > kvmGmemUnbind > invLock\)/);
  });

  it('without lockdep the threads watchdog names the lock each actor waits on and who holds it', async () => {
    const r = await cli('run', '--scenario', EXAMPLE, '--invariants', '-LOCK_ORDER', '--watchdog', '1000', '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.stoppedBy).toBe('watchdog');
    expect(j.violations[0].invariant).toBe('DEADLOCK');
    expect(j.violations[0].message).toMatch(/puncher0 waits for write-lock on kvm->mmu_lock \(held by slotchurn0\)/);
    expect(j.violations[0].message).toMatch(/slotchurn0 waits for write-lock on filemap invalidate_lock \(held by puncher0\)/);
  });

  it('pause barriers that cannot complete do not delay the watchdog: skipped, backed off, and left in its clock', async () => {
    const r = await cli('run', '--scenario', EXAMPLE, '--invariants', '-LOCK_ORDER', '--watchdog', '3000', '--sweep-every', '500', '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.stoppedBy).toBe('watchdog');
    expect(j.sweeps.skipped).toBeGreaterThan(0);
    // A skipped barrier waits out its 1 s timeout: had it been left out of the watchdog's clock,
    // the excluded time would be at least that per skipped barrier. Only the barriers that did
    // complete (before the deadlock formed, each within a few ms) are left out.
    expect(j.sweeps.watchdogExcludedMs).toBeLessThan(1000 * j.sweeps.skipped);
  });

  it('the sim engine finds the same: LOCK_ORDER, or without it the deadlock; --variant overrides the scenario\'s (B9 runs clean)', async () => {
    const a = await cli('explore', '--scenario', EXAMPLE, '--schedules', '50', '--json');
    expect(a.code).toBe(1);
    expect(JSON.parse(a.out).violations[0].invariant).toBe('LOCK_ORDER');
    const d = await cli('explore', '--scenario', EXAMPLE, '--schedules', '50', '--invariants', '-LOCK_ORDER', '--json');
    expect(d.code).toBe(1);
    expect(JSON.parse(d.out).violations[0].invariant).toBe('DEADLOCK');
    const b = await cli('explore', '--scenario', EXAMPLE, '--schedules', '5', '--variant', 'B9', '--json');
    expect(b.code).toBe(0);
  });
});
