// explore --shard I/N and gmemsim merge: the same findings however the campaign is sharded.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gmemsim-shards-'));

async function shardFiles(count: number, ...args: string[]): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await cli('explore', ...args, '--shard', `${i}/${count}`, '--json');
    expect(r.code).toBeLessThanOrEqual(1);
    const f = join(dir, `${args.join('_')}-${i}-of-${count}.json`);
    writeFileSync(f, r.out);
    files.push(f);
  }
  return files;
}

describe('sharded campaigns', () => {
  it('--shard 0/2 and 1/2 merged, and 0..2/3 merged, give the unsharded campaign\'s first violation', async () => {
    const args = ['--variant', 'B2', '--schedules', '600', '--seed', '3'];
    const whole = JSON.parse((await cli('explore', ...args, '--json')).out).violations[0];
    expect(whole).toBeDefined();
    for (const n of [2, 3]) {
      const m = await cli('merge', ...(await shardFiles(n, ...args)), '--json');
      expect(m.code, `${n} shards`).toBe(1);
      const v = JSON.parse(m.out).violations[0];
      expect({ schedule: v.schedule, invariant: v.invariant, traceHash: v.traceHash }, `${n} shards`).toEqual({ schedule: whole.schedule, invariant: whole.invariant, traceHash: whole.traceHash });
    }
  });

  it('a clean campaign merges clean, with every schedule run once', async () => {
    const files = await shardFiles(2, '--schedules', '40', '--seed', '5');
    const m = await cli('merge', ...files, '--json');
    expect(m.code).toBe(0);
    expect(JSON.parse(m.out).schedules).toBe(40);
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
