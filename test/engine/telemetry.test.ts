// Invalidate-retry telemetry: the outcome table's INTERESTING cases come from real interleavings,
// the counters add up, and the retries-per-fault histogram is what the vCPUs recorded.
import { describe, expect, it } from 'vitest';
import { P } from '../../src/engine/points.js';
import { runSim } from '../../src/engine/sim.js';
import { applyExactTimes, collectStats } from '../../src/engine/stats.js';
import { kvmGmemPunchHole } from '../../src/gmem/guest_memfd.js';
import { kvmMmuPageFault, newFault, RET_PF_RETRY } from '../../src/kvm/mmu.js';
import { bucketLabel, telemetryJson, telemetryText } from '../../src/report/telemetry.js';
import { DEFAULT_SCENARIO } from '../../src/scenario/builtins.js';
import { COUNTERS } from '../../src/shm/layout.js';
import { Ctr, counterAdd } from '../../src/shm/actor.js';
import { modelOf } from '../../src/workload/kinds.js';
import { drive, stepUntil, world } from '../helpers.js';
import { actor, closeInvalidation, counter, openInvalidation, setAttr } from '../paths/util.js';

describe('fault outcomes', () => {
  it('stale page caught: the resolved folio is punched before the locked check; the fault retries', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const p = actor(w, 'puncher');
    setAttr(w, 3, true);
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 3, true);
    stepUntil(v, g, P['mmu_lock:read']); // pfn resolved and referenced; about to take mmu_lock
    drive(p, kvmGmemPunchHole(p, 0, 8)); // zap, truncate (our reference keeps the page), end
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.staleCaught).toBe(true);
    expect(counter(w, v.id, Ctr.outStalePfnCaught)).toBe(1);
    expect(counter(w, v.id, Ctr.outRetry)).toBe(1);
    expect(counter(w, v.id, Ctr.retryStaleSeq)).toBe(1); // by then only the seq had moved
  });

  it('refilled then retried: the fault allocates the folio, an invalidation ends, it retries unmapped', () => {
    const w = world();
    const v = actor(w, 'vcpu0');
    const c = actor(w, 'converter');
    setAttr(w, 5, true);
    const f = newFault();
    const g = kvmMmuPageFault(v, f, 5, true);
    stepUntil(v, g, P['precheck-lockless-2']); // a new folio is in the page cache now
    expect(counter(w, v.id, Ctr.allocations)).toBe(1);
    drive(c, openInvalidation(c, 20, 24)); // elsewhere: only the seq will move
    drive(c, closeInvalidation(c));
    expect(drive(v, g)).toBe(RET_PF_RETRY);
    expect(f.staleCaught).toBe(false); // the folio is still the one in the cache
    expect(counter(w, v.id, Ctr.outRefilledRetry)).toBe(1);
    expect(counter(w, v.id, Ctr.retryLocklessSeq)).toBe(1);
  });

  it('outcomes add up to the faults taken, on a whole sim run, and the text grades them', () => {
    const r = runSim(modelOf(DEFAULT_SCENARIO), { seed: 5, variant: null });
    const t = r.stats.total;
    expect(t.outFixed + t.outSpurious + t.outRetry + t.outExit + t.outEmulate + t.outError).toBe(t.faults);
    expect(t.outRetry).toBe(t.retryLockless + t.retryStale + t.retryInvalidSlot);
    expect(t.outFixed).toBe(t.installs);
    const j = telemetryJson(r.stats);
    expect(j.retryReasons.locklessPrecheck.gfnInRange + j.retryReasons.locklessPrecheck.seqMoved).toBe(t.retryLockless);
    expect(j.retryReasons.underMmuLock.seqMoved).toBeLessThanOrEqual(t.retryStale);
    // there is no time under sim: lock timings stay empty and the text says why
    expect(j.mmuLock.read).toEqual({ acquires: 0, waitUs: 0, holdUs: 0, meanWaitUs: 0, meanHoldUs: 0 });
    const text = telemetryText(r.stats);
    expect(text).toContain('measured on worker threads only');
    expect(text).toMatch(/FIXED +[\d,]+ +[\d.]+% +ACCEPTABLE/);
    expect(text).toContain('INTERESTING');
  });
});

describe('retries per faulting access', () => {
  it('log2 buckets are labelled by the retry counts they hold', () => {
    expect([0, 1, 2, 3, 4, 15].map(bucketLabel)).toEqual(['0', '1', '2-3', '4-7', '8-15', '16384+']);
  });

  it('the histogram counts every access that faulted, p50 <= p99 <= max', () => {
    const r = runSim(modelOf(DEFAULT_SCENARIO), { seed: 9, variant: null });
    const d = telemetryJson(r.stats).retriesPerFault;
    const faulted = r.stats.total.reads + r.stats.total.writes - r.stats.total.fastHits;
    expect(d.faultingAccesses).toBe(faulted);
    expect(d.p50).toBeLessThanOrEqual(d.p99);
    expect(d.p99).toBeLessThanOrEqual(d.max);
    // totals from the buckets can't exceed the retries the vCPUs counted
    expect(r.stats.retryHist.slice(1).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(r.stats.total.retries);
    expect(collectStats(r.s, modelOf(DEFAULT_SCENARIO)).retryMax).toBe(d.max);
  });
});

describe('invalidation windows', () => {
  it('every invalidation that began ended and was measured, in global steps under sim; the maximum is a maximum', () => {
    const r = runSim(modelOf(DEFAULT_SCENARIO), { seed: 11, variant: null });
    const t = r.stats.total;
    expect(t.invalidations).toBeGreaterThan(0);
    expect(t.invWindows).toBe(t.invalidations);
    const j = telemetryJson(r.stats).invalidationWindows;
    expect(j.unit).toBe('steps');
    // a window spans at least the end's two yields (seq, then in_progress)
    expect(j.mean).toBeGreaterThanOrEqual(2);
    expect(j.max).toBe(Math.max(...r.stats.actors.map((a) => a.counters.invWindowMax)));
    expect(j.max).toBeLessThan(r.steps);
  });

  it('a window measured by hand: begin, a step of every other actor, end', () => {
    const w = world();
    const c = actor(w, 'converter');
    drive(c, openInvalidation(c, 0, 4));
    const others = w.ctxs.filter((x) => x !== c);
    for (const x of others) counterAdd(w.s, x.base, Ctr.steps); // what the engine does after each step
    drive(c, closeInvalidation(c));
    expect(counter(w, c.id, Ctr.invWindows)).toBe(1);
    expect(counter(w, c.id, Ctr.invWindowSum)).toBe(others.length);
    expect(counter(w, c.id, Ctr.invWindowMax)).toBe(others.length);
  });
});

describe('exact time totals from the workers', () => {
  it('replace the time counters (whose Int32 words wrap) and the totals are redone', () => {
    const r = runSim(modelOf(DEFAULT_SCENARIO), { seed: 3, variant: null });
    const st = r.stats;
    const exact = new Array<number>(COUNTERS.length).fill(0);
    exact[Ctr.mmuReadWaitUs] = 5e9; // 83 minutes: past what an Int32 word holds
    const faultsBefore = st.total.faults;
    applyExactTimes(st, [{ actor: 1, exactUs: exact }]);
    expect(st.actors[1].counters.mmuReadWaitUs).toBe(5e9);
    expect(st.total.mmuReadWaitUs).toBe(5e9 + st.actors.reduce((n, a, i) => n + (i === 1 ? 0 : a.counters.mmuReadWaitUs), 0));
    expect(st.total.faults).toBe(faultsBefore);
    expect(st.total.invWindowMax).toBe(Math.max(...st.actors.map((a) => a.counters.invWindowMax)));
  });
});
