// run --vcpus / --jitter / --scale and the telemetry block of its JSON.
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';


describe('run options', () => {
  it('--vcpus 8 --jitter 2 on threads: 12 workers, jitter recorded, telemetry in the JSON', async () => {
    const r = await cli('run', '--vcpus', '8', '--jitter', '2', '--ops', '40', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.workers).toBe(12);
    expect(j.jitter).toBe(2);
    expect(j.actors.filter((a: { kind: string }) => a.kind === 'vcpu')).toHaveLength(8);
    expect(Object.keys(j.telemetry)).toEqual(['retryReasons', 'retriesPerFault', 'mmuLock', 'invalidationWindows', 'zaps', 'starvation', 'outcomes', 'conversion', 'hugepages']);
    expect(j.telemetry.conversion).toBeNull(); // kernel 7.0: no in-place conversion
    expect(j.telemetry.hugepages).toBeNull(); // huge pages off
    expect(j.telemetry.mmuLock.build).toBe('rwlock');
    expect(j.telemetry.mmuLock.readContended).toBeGreaterThanOrEqual(0);
    expect(j.telemetry.starvation.threshold).toBe(500);
    expect(j.telemetry.invalidationWindows.unit).toBe('us');
    expect(j.telemetry.invalidationWindows.count).toBeGreaterThan(0);
    expect(j.telemetry.invalidationWindows.max).toBeGreaterThanOrEqual(j.telemetry.invalidationWindows.mean);
    expect(j.jitterSpins).toBeGreaterThan(0);
    expect(j.sweeps.everyMs).toBe(1000);
    // mmu_lock wait/hold by mode, measured on the worker threads
    for (const mode of ['read', 'write'] as const) {
      const m = j.telemetry.mmuLock[mode];
      expect(m.acquires, mode).toBeGreaterThan(0);
      expect(m.holdUs, mode).toBeGreaterThanOrEqual(0);
      expect(m.meanHoldUs, mode).toBeCloseTo(m.holdUs / m.acquires, 1);
    }
    // every fault that reached mmu_lock took it for read
    expect(j.telemetry.mmuLock.read.acquires).toBeGreaterThanOrEqual(j.telemetry.outcomes.FIXED);
    expect(j.telemetry.retriesPerFault.faultingAccesses).toBeGreaterThan(0);
    expect(j.telemetry.outcomes.FIXED).toBe(j.stats.installs);
  });

  it('refuses a jitter level or vCPU count out of range, naming it', async () => {
    const a = await cli('run', '--jitter', '5');
    expect(a.code).toBe(2);
    expect(a.err[0]).toMatch(/--jitter must be an integer from 0 to 3/);
    const b = await cli('run', '--vcpus', '40');
    expect(b.code).toBe(2);
    expect(b.err[0]).toMatch(/vcpus\.count must be at most 32/);
  });

  it('--mmu-lock and --vcpu-gfns: applied to the scenario, bad values refused with the allowed ones', async () => {
    const r = await cli('run', '--mmu-lock', 'percpu', '--vcpu-gfns', 'shared', '--vcpus', '3', '--duration', '500', '--sweep-every', '100', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.telemetry.mmuLock.build).toBe('percpu');
    expect(j.sweeps.done).toBeGreaterThan(0);
    expect(j.stats.faults).toBeGreaterThan(0);
    const bad = await cli('run', '--mmu-lock', 'ticket');
    expect(bad.code).toBe(2);
    expect(bad.err[0]).toMatch(/--mmu-lock must be one of rwlock, percpu/);
    const bad2 = await cli('explore', '--vcpu-gfns', 'all');
    expect(bad2.code).toBe(2);
    expect(bad2.err[0]).toMatch(/--vcpu-gfns must be one of own, shared/);
  });

  it('--scale only for a scalable built-in; the text report has the telemetry and the node table', async () => {
    expect((await cli('explore', '--scale', '0.5')).code).toBe(2);
    const r = await cli('run', '--scenario', 'numa-interleave', '--scale', '0.0002');
    expect(r.code).toBe(0);
    expect(r.out).toContain('invalidate-retry telemetry');
    expect(r.out).toMatch(/FilePages \(MiB\) +[\d.]+ +[\d.]+/);
  });
});
