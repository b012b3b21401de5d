// explore --shard I/N and gmemsim merge: the same findings however the campaign is sharded.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';
import { main } from '../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'gmemsim-shards-'));

async function shardFiles(count: number, ...args: string[]): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await cli('explore', ...args, '--shard', `${i}/${count}`, '--json');
    expect(r.code).toBeLessThanOrEqual(1);
    const f = join(dir, `${args.join('_').replace(/[^\w.-]/g, '_')}-${i}-of-${count}.json`);
    writeFileSync(f, r.out);
    files.push(f);
  }
  return files;
}

describe('sharded campaigns', () => {
  it('--shard 0/2 and 1/2 merged, and 0..2/3 merged, give the unsharded campaign\'s first violation', async () => {
    // --no-shrink: shrinking stops at a wall-clock budget, so on a loaded machine the shrunk schedule
    // (and its hash) may differ between runs; the schedule as found does not
    const args = ['--variant', 'B2', '--schedules', '600', '--seed', '3', '--no-shrink'];
    const whole = JSON.parse((await cli('explore', ...args, '--json')).out).violations[0];
    expect(whole).toBeDefined();
    for (const n of [2, 3]) {
      const files = await shardFiles(n, ...args);
      const m = await cli('merge', ...files, '--json');
      expect(m.code, `${n} shards`).toBe(1);
      const j = JSON.parse(m.out);
      const v = j.first;
      expect({ schedule: v.schedule, invariant: v.invariant, traceHash: v.traceHash }, `${n} shards`).toEqual({ schedule: whole.schedule, invariant: whole.invariant, traceHash: whole.traceHash });
      // every shard's violation is listed, by schedule, the first first
      expect(j.violations.length, `${n} shards`).toBeGreaterThanOrEqual(1);
      expect(j.violations[0]).toEqual(j.first);
      const at = j.violations.map((x: { schedule: number }) => x.schedule);
      expect(at).toEqual([...at].sort((a, b) => a - b));
      expect(new Set(j.violations.map((x: { shard: number }) => x.shard)).size).toBe(j.violations.length);
      const text = (await cli('merge', ...files)).out;
      expect(text).toMatch(new RegExp(`first, at schedule ${whole.schedule} \\(shard ${whole.schedule % n}/${n}`));
    }
  });

  // The fields that are sums (or maxima, or derived from them) come out as the unsharded campaign's.
  const totals = (j: Record<string, unknown>) => ({ schedules: j.schedules, steps: j.steps, stats: j.stats, actors: j.actors, numa: j.numa, telemetry: j.telemetry, coverage: j.coverage });

  it.each([
    ['default', ['--schedules', '90', '--seed', '11']],
    ['a NUMA scenario, pct', ['--scenario', 'examples/numa-bind-small.json', '--schedules', '30', '--seed', '2', '--strategy', 'pct']],
  ])('%s: merged 2 and 3 shards have the unsharded campaign\'s totals, telemetry and coverage', async (_name, args) => {
    const whole = JSON.parse((await cli('explore', ...args, '--json')).out);
    expect(whole.ok).toBe(true);
    expect(whole.coverage.transitions.reached).toBeGreaterThan(0);
    expect(whole.coverage.traces.distinct).toBeGreaterThan(0);
    for (const n of [2, 3]) {
      const files = await shardFiles(n, ...args);
      const m = await cli('merge', ...files, '--json');
      expect(m.code, `${n} shards`).toBe(0);
      const j = JSON.parse(m.out);
      expect(totals(j), `${n} shards`).toEqual(totals(whole));
      expect(j.violations).toEqual([]);
      expect(j.first).toBe(null);
      // each shard's coverage is a part of it
      const one = JSON.parse((await cli('explore', ...args, '--shard', `0/${n}`, '--json')).out);
      expect(one.coverage.traces.distinct).toBeLessThan(whole.coverage.traces.distinct);
    }
    const text = (await cli('merge', ...(await shardFiles(2, ...args)))).out;
    expect(text).toContain(`coverage: ${whole.coverage.transitions.reached} of ${whole.coverage.transitions.possible.toLocaleString('en-US')} yield-point transitions`);
    expect(text).toMatch(/activity \(all schedules of all shards\)/);
  });

  it('a clean campaign merges clean, with every schedule run once', async () => {
    const files = await shardFiles(2, '--schedules', '40', '--seed', '5');
    const m = await cli('merge', ...files, '--json');
    expect(m.code).toBe(0);
    expect(JSON.parse(m.out).schedules).toBe(40);
  });

  it('a shard cut short (a signal, --time) is listed, and the merged campaign says it is incomplete, not OK', async () => {
    const [whole] = await shardFiles(2, '--schedules', '30', '--seed', '6');
    const stop = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(stop, 0, 2); // SIGINT before the shard began: it runs nothing and says so
    const out: string[] = [];
    const code = await main(['explore', '--schedules', '30', '--seed', '6', '--shard', '1/2', '--json'], { out: (x) => out.push(x), err: () => {}, stop });
    expect(code).toBe(130);
    const cut = join(dir, 'cut-1-of-2.json');
    writeFileSync(cut, out.join(''));
    const m = await cli('merge', whole, cut, '--json');
    expect(m.code).toBe(0);
    const j = JSON.parse(m.out);
    expect(j.complete).toBe(false);
    expect(j.incomplete).toEqual([{ shard: 1, file: cut, interrupted: 'signal', interruptedBy: 'SIGINT', schedules: 0 }]);
    const text = await cli('merge', whole, cut);
    expect(text.out).toContain('INCOMPLETE: 1 of 2 shards stopped before their schedules were done: 1/2 (interrupted by SIGINT, 0 schedules)');
    expect(text.out).not.toContain('result: OK');
    const clean = await cli('merge', ...(await shardFiles(2, '--schedules', '30', '--seed', '6')), '--json');
    expect([JSON.parse(clean.out).complete, JSON.parse(clean.out).incomplete]).toEqual([true, []]);
  });

  it('refuses a missing, repeated or foreign shard, and a bad --shard', async () => {
    const a = await shardFiles(2, '--schedules', '20', '--seed', '7');
    const b = await shardFiles(2, '--schedules', '20', '--seed', '8');
    expect((await cli('merge', a[0])).err[0]).toMatch(/shard 1\/2 missing/);
    expect((await cli('merge', a[0], a[0], a[1])).err[0]).toMatch(/shard 0\/2 is given twice/);
    expect((await cli('merge', a[0], b[1])).err[0]).toMatch(/is from another campaign/);
    for (const bad of ['2/2', '1', 'a/b', '0/0']) {
      const r = await cli('explore', '--shard', bad);
      expect(r.code, bad).toBe(2);
      expect(r.err[0], bad).toMatch(/--shard must be I\/N with 0 <= I < N/);
    }
  });
});
