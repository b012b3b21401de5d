// Compatibility: tokens and campaign statistics captured from gmemsim at daa8ff6 (before the
// restructuring of issue 10). Every token must replay with the trace hash, steps, invariant and
// counters it had then, and the campaigns must produce the same statistics: the restructuring
// moved code, not behaviour.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeToken, replayRun } from '../../src/explore/token.js';
import { runSim } from '../../src/engine/sim.js';
import { cli } from '../helpers.js';

interface Fixture {
  tokens: Array<{ label: string; token: string; traceHash: string; steps: number; invariant: string | null; total: Record<string, number> }>;
  campaigns: Array<{ name: string; argv: string[]; schedules: number; steps: number; stats: unknown; actors: unknown; numa: unknown; telemetry: unknown }>;
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/compat-v1.json', import.meta.url), 'utf8')) as Fixture;

describe('tokens of gmemsim before issue 10 replay exactly', () => {
  it('the fixture holds every variant found on default and on its litmus scenario', () => {
    expect(fx.tokens.length).toBeGreaterThanOrEqual(40);
    expect(fx.campaigns.map((c) => c.name)).toEqual(['campaign-default', 'campaign-punch-race', 'campaign-shared-pct']);
  });

  it.each(fx.tokens.map((t) => [t.label, t] as const))('%s: gmemsim replay gives the recorded trace hash', async (_label, t) => {
    const r = await cli('replay', t.token, '--json');
    expect(r.code).toBe(t.invariant ? 1 : 0);
    const j = JSON.parse(r.out);
    expect({ traceHash: j.traceHash, steps: j.steps, invariant: j.violations[0]?.invariant ?? null, reproduced: j.reproduced }).toEqual({ traceHash: t.traceHash, steps: t.steps, invariant: t.invariant, reproduced: true });
  });

  it('the replays count the same (every counter of every token)', () => {
    for (const t of fx.tokens) {
      const { model, options } = replayRun(decodeToken(t.token));
      const r = runSim(model, options);
      expect(r.stats.total, t.label).toEqual(t.total);
    }
  });

  it.each(fx.campaigns.map((c) => [c.name, c] as const))('%s: the same statistics', async (_name, c) => {
    const r = await cli(...c.argv);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect({ schedules: j.schedules, steps: j.steps, stats: j.stats, actors: j.actors, numa: j.numa, telemetry: j.telemetry }).toEqual({ schedules: c.schedules, steps: c.steps, stats: c.stats, actors: c.actors, numa: c.numa, telemetry: c.telemetry });
  });
});
