// mmu_lock built as a big-reader lock (--mmu-lock percpu): same semantics as the rwlock, no
// shared line on the read side. Proven three ways: the try forms, mutual exclusion between real
// threads, and the sim engine taking exactly the same schedules as with the rwlock.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { brCanRead, brCanWrite, brReadUnlock, brTryRead, brTryWrite, brWriteLock, brWriteUnlock, StopError } from '../../src/sync/locks.js';
import { explore } from '../../src/explore/explore.js';
import { runThreads } from '../../src/engine/threads.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { modelOf } from '../../src/workload/kinds.js';
import { DEFAULT_SCENARIO } from '../helpers.js';

// word 0: the lock (+1 sleepers); slots at 16, 32, 48 (one line each)
const fresh = () => new Int32Array(new SharedArrayBuffer(4 * 64));
const SLOTS = [16, 3, 16] as const; // first, n, stride

describe('big-reader lock (try forms)', () => {
  it('readers share through their own slots; a writer waits for every slot to drain', () => {
    const a = fresh();
    expect(brTryRead(a, 0, 16)).toBe(true);
    expect(brTryRead(a, 0, 32)).toBe(true);
    expect(a[0]).toBe(0); // readers never write the lock word
    expect(brCanWrite(a, 0, ...SLOTS)).toBe(false);
    expect(brTryWrite(a, 0, ...SLOTS)).toBe(false);
    brReadUnlock(a, 0, 16);
    expect(brTryWrite(a, 0, ...SLOTS)).toBe(false); // slot 32 still in
    brReadUnlock(a, 0, 32);
    expect(brTryWrite(a, 0, ...SLOTS)).toBe(true);
  });

  it('a writer excludes readers and writers; a writer giving up while draining releases the word', () => {
    const a = fresh();
    expect(brTryWrite(a, 0, ...SLOTS)).toBe(true);
    expect(brCanRead(a, 0)).toBe(false);
    expect(brTryRead(a, 0, 16)).toBe(false);
    expect(a[16]).toBe(0); // the failed reader took its slot back
    expect(brTryWrite(a, 0, ...SLOTS)).toBe(false);
    brWriteUnlock(a, 0);
    expect(brTryRead(a, 0, 48)).toBe(true);
    expect(() => brWriteLock(a, 0, ...SLOTS, () => true)).toThrow(StopError);
    expect(a[0]).toBe(0);
    expect(brCanRead(a, 0)).toBe(true);
  });
});

describe('big-reader lock: nested read holds', () => {
  it('a slot counts its holds: the writer waits until the outer one is released too', () => {
    const a = fresh();
    expect(brTryRead(a, 0, 16)).toBe(true);
    expect(brTryRead(a, 0, 16)).toBe(true);
    brReadUnlock(a, 0, 16);
    expect(brTryWrite(a, 0, ...SLOTS)).toBe(false);
    brReadUnlock(a, 0, 16);
    expect(brTryWrite(a, 0, ...SLOTS)).toBe(true);
  });
});

describe('big-reader lock on real threads', () => {
  it('no reader is ever inside with a writer, and writers are alone (2 workers, 20,000 acquisitions each)', async () => {
    const sab = new SharedArrayBuffer(4 * 64);
    const locks = pathToFileURL(resolve('dist/src/sync/locks.js')).href;
    // word 8: writers inside, word 9: readers inside, word 10: violations seen
    const code = `
      const { workerData: { sab, slot, seed } } = require('node:worker_threads');
      import(${JSON.stringify(locks)}).then((L) => {
        const a = new Int32Array(sab);
        let x = seed;
        for (let i = 0; i < 20000; i++) {
          x = (x * 1103515245 + 12345) & 0x7fffffff;
          if (x % 4 === 0) {
            L.brWriteLock(a, 0, 16, 2, 16);
            if (Atomics.add(a, 8, 1) !== 0 || Atomics.load(a, 9) !== 0) Atomics.add(a, 10, 1);
            for (let k = 0; k < 20; k++) Atomics.load(a, 9);
            Atomics.sub(a, 8, 1);
            L.brWriteUnlock(a, 0);
          } else {
            L.brReadLock(a, 0, slot);
            Atomics.add(a, 9, 1);
            if (Atomics.load(a, 8) !== 0) Atomics.add(a, 10, 1);
            for (let k = 0; k < 20; k++) Atomics.load(a, 8);
            Atomics.sub(a, 9, 1);
            L.brReadUnlock(a, 0, slot);
          }
        }
        require('node:worker_threads').parentPort.postMessage('done');
      });`;
    await Promise.all(
      [16, 32].map(
        (slot, i) =>
          new Promise((res, rej) => {
            const w = new Worker(code, { eval: true, workerData: { sab, slot, seed: 7 + i } });
            w.once('message', res);
            w.once('error', rej);
          }),
      ),
    );
    const a = new Int32Array(sab);
    expect(a[10]).toBe(0);
    expect([a[0], a[16], a[32], a[8], a[9]]).toEqual([0, 0, 0, 0, 0]);
  });
});

describe('mmu_lock: percpu is the same lock to the model', () => {
  const PERCPU = validateScenario({ mmuLock: 'percpu' }, DEFAULT_SCENARIO);

  it('the sim engine takes the very same schedules (same trace hashes) with either build', () => {
    const a = explore(DEFAULT_SCENARIO, { seed: 5, schedules: 60, variant: null });
    const b = explore(PERCPU, { seed: 5, schedules: 60, variant: null });
    expect(b.steps).toBe(a.steps);
    expect(b.stats.total).toEqual(a.stats.total);
    const f = explore(PERCPU, { seed: 1, schedules: 200, variant: 'B1' }).violations[0];
    const g = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 200, variant: 'B1' }).violations[0];
    expect(['I1', 'I2']).toContain(f.invariant); // B1's split (variants.ts)
    expect(f.traceHash).toBe(g.traceHash);
  });

  it('on worker threads: the correct model runs clean and the telemetry names the build', async () => {
    const r = await runThreads(modelOf(PERCPU), { seed: 2, variant: null, ops: 40 });
    expect(r.violation).toBeNull();
    expect(r.quiescent).toBe(true);
    expect(r.stats.mmuLock).toBe('percpu');
    expect(r.stats.total.mmuReadAcquires).toBeGreaterThan(0);
  });
});
