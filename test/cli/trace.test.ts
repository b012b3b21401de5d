// --trace FILE: Chrome Trace Event JSON with a lane per actor.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { actorDefs } from '../../src/workload/kinds.js';
import { decodeToken } from '../../src/explore/token.js';
import { cli } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'gmemsim-trace-'));
interface Ev {
  name: string;
  ph: string;
  ts: number;
  tid: number;
  dur?: number;
  args?: Record<string, unknown>;
}

describe('Chrome traces', () => {
  it('explore --trace: a lane per actor plus state lanes; spans nest; one slice per step; the violation marked', async () => {
    const file = join(dir, 'b1.json');
    const r = await cli('explore', '--variant', 'B1', '--trace', file, '--json');
    expect(r.code).toBe(1);
    const v = JSON.parse(r.out).violations[0];
    const t = JSON.parse(readFileSync(file, 'utf8')) as { traceEvents: Ev[]; otherData: { steps: number; traceHash: string } };
    const ev = t.traceEvents;
    const lanes = ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args!.name);
    // the shrunk finding's actors: its token carries the smaller scenario
    expect(lanes).toEqual([...actorDefs(decodeToken(v.replay).scenario).map((d) => d.name), 'mmu_lock / invalidation state', 'memory attributes']);
    expect(t.otherData.traceHash).toBe(v.traceHash);
    expect(ev.filter((e) => e.ph === 'X')).toHaveLength(t.otherData.steps);
    // B/E balanced and properly nested per lane
    const depth = new Map<number, number>();
    for (const e of ev) {
      if (e.ph === 'B') depth.set(e.tid, (depth.get(e.tid) ?? 0) + 1);
      if (e.ph === 'E') {
        depth.set(e.tid, (depth.get(e.tid) ?? 0) - 1);
        expect(depth.get(e.tid)).toBeGreaterThanOrEqual(0);
      }
    }
    for (const d of depth.values()) expect(d).toBe(0);
    expect(ev.some((e) => e.ph === 'B' && e.name === 'kvm_mmu_page_fault')).toBe(true);
    expect(ev.some((e) => e.ph === 'C' && e.name === 'mmu_invalidate')).toBe(true);
    expect(ev.some((e) => e.ph === 'i' && e.name.startsWith('gfn '))).toBe(true);
    expect(ev.some((e) => e.name === `VIOLATION ${v.invariant}`)).toBe(true);
  });

  it('replay --trace writes the same schedule (same steps and hash)', async () => {
    const e = await cli('explore', '--variant', 'B4', '--json');
    const v = JSON.parse(e.out).violations[0];
    const file = join(dir, 'b4.json');
    const r = await cli('replay', v.replay, '--trace', file, '--json');
    expect(r.code).toBe(1);
    const t = JSON.parse(readFileSync(file, 'utf8'));
    expect(t.otherData.traceHash).toBe(JSON.parse(r.out).traceHash);
  });
});
