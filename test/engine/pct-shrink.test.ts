// Strategies beyond uniform random (PCT, the portfolio) and shrinking a violating schedule.
import { describe, expect, it } from 'vitest';
import { PctScheduler, pctBound } from '../../src/engine/pct.js';
import { runSim } from '../../src/engine/sim.js';
import { LenientScheduler, ReplayScheduler } from '../../src/engine/scheduler.js';
import { explore, pctK, pctLadder } from '../../src/explore/explore.js';
import { contextSwitches, scenarioSize, shrinkScenario, shrinkSchedule } from '../../src/explore/shrink.js';
import { actorCount, actorDefs, modelOf } from '../../src/workload/kinds.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { decodeToken } from '../../src/explore/token.js';
import { findVariant } from '../../src/variants.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO, cli } from '../helpers.js';

describe('PCT', () => {
  it('runs the highest-priority runnable actor; a change point or a retry drops the runner below everyone', () => {
    const p = new PctScheduler(3, { depth: 2, k: 1 }, 9); // k = 1: the change point is step 1
    const all = Int32Array.from([0, 1, 2]);
    const first = p.next(0, all, 3);
    expect(p.next(0, all, 3)).toBe(first); // strict priorities: the same actor again
    p.after(first, 1, false); // step 1 is the change point
    const second = p.next(0, all, 3);
    expect(second).not.toBe(first);
    p.after(second, 2, true); // a retry: below everyone, even the changed one
    const third = p.next(0, all, 3);
    expect([first, second]).not.toContain(third);
    p.after(third, 3, true);
    expect(p.next(0, all, 3)).toBe(first); // changed to d-1 = 1: above the two that spun
    expect(p.next(0, Int32Array.from([second, third]), 2)).toBe(second); // spun earlier: less low
  });

  it('with kActor, a change point fires at one actor\'s own step, however many steps the others took', () => {
    // 2 actors, 1 step each: the one change point is the first own step of actor 0 or of actor 1
    const seen = new Set<string>();
    for (let seed = 1; seed <= 16; seed++) {
      const p = new PctScheduler(2, { depth: 2, k: 100, kActor: [1, 1] }, seed);
      const both = Int32Array.from([0, 1]);
      const first = p.next(0, both, 2);
      p.after(first, 1, false);
      if (p.next(0, both, 2) !== first) {
        seen.add('first');
        continue;
      }
      // the change point is the other's: the first runs on whatever the global step
      for (let step = 2; step <= 5; step++) {
        p.after(first, step, false);
        expect(p.next(0, both, 2)).toBe(first);
      }
      seen.add('other');
    }
    expect([...seen].sort()).toEqual(['first', 'other']);
    // more change points than places: as many as there are, no endless draw
    const q = new PctScheduler(2, { depth: 50, k: 3, kActor: [1, 2] }, 3);
    expect(q.next(0, Int32Array.from([0, 1]), 2)).toBeGreaterThanOrEqual(0);
    expect(new PctScheduler(2, { depth: 50, k: 3 }, 3).next(0, Int32Array.from([0, 1]), 2)).toBeGreaterThanOrEqual(0);
  });

  it('the depth ladder doubles the change points up to a quarter of the steps; pctK measures every actor', () => {
    expect(pctLadder({ k: 10, perActor: [3, 4] })).toEqual([2]);
    expect(pctLadder({ k: 40, perActor: [20, 20] })).toEqual([2, 3, 5, 9]);
    const l = pctK(DEFAULT_SCENARIO, 1, null);
    expect(l.perActor).toHaveLength(8);
    expect(Math.max(...l.perActor)).toBeLessThanOrEqual(l.k);
    expect(pctK(DEFAULT_SCENARIO, 1, null)).toEqual(l); // deterministic from the campaign seed
    expect(pctLadder(l)[0]).toBe(2);
    expect(pctLadder(l).length).toBeGreaterThanOrEqual(8);
  });

  it("the bound is Burckhardt et al.'s 1/(n·k^(d-1)), and the runs for 99% follow from it", () => {
    expect(pctBound(2, 10, 2)).toEqual({ perRun: 1 / 20, runsFor99: Math.ceil(Math.log(0.01) / Math.log(0.95)) });
    expect(pctBound(8, 1000, 1).perRun).toBe(1 / 8);
    expect(pctBound(1, 5, 1)).toEqual({ perRun: 1, runsFor99: 1 });
  });

  it('a PCT schedule is deterministic from its seed and differs from the random one', () => {
    const a = runSim(modelOf(DEFAULT_SCENARIO), { seed: 4, variant: null, scheduler: new PctScheduler(actorCount(DEFAULT_SCENARIO), { depth: 2, k: 900 }, 4) });
    const b = runSim(modelOf(DEFAULT_SCENARIO), { seed: 4, variant: null, scheduler: new PctScheduler(actorCount(DEFAULT_SCENARIO), { depth: 2, k: 900 }, 4) });
    const c = runSim(modelOf(DEFAULT_SCENARIO), { seed: 4, variant: null });
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.traceHash).not.toBe(c.traceHash);
    expect(a.violation).toBeNull();
  });

  it('explore --strategy pct finds B1 and reports n, k, d and the bound; the portfolio finds B10', () => {
    const r = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 2000, variant: 'B1', strategy: 'pct', depth: 2 });
    expect(['I1', 'I2']).toContain(r.violations[0]?.invariant); // B1's, by the catalogue (expect and alsoBreaks)
    expect(r.pct).toMatchObject({ n: 8, depth: 2, depths: [2], share: 1 });
    expect(r.pct!.perRun).toBeCloseTo(1 / (8 * 8 * r.pct!.kMax)); // change points per actor: 1/(n·(n·kMax)^(d-1))
    const p = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 200, variant: 'B10', strategy: 'portfolio' });
    expect(p.violations[0]?.invariant).toBe('I4');
  });

  it('pct without a depth takes the ladder in turn and finds what d = 2 does not (B5, B11 within 1,000)', () => {
    const r = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 1000, variant: 'B11', strategy: 'pct' });
    expect(r.violations[0]?.invariant).toBe('I2');
    expect(r.pct!.depth).toBeNull();
    expect(r.pct!.depths).toEqual(pctLadder(pctK(DEFAULT_SCENARIO, 1, 'B11')));
    expect(r.pct!.share).toBeCloseTo(1 / r.pct!.depths.length);
    const b5 = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 1000, variant: 'B5', strategy: 'pct' });
    expect(b5.violations[0]?.invariant).toBe(findVariant('B5')!.expect);
    // the same campaign in 3 shards: every shard draws over the same lengths, the lowest index wins
    const shards = [0, 1, 2].map((index) => explore(DEFAULT_SCENARIO, { seed: 1, schedules: 1000, variant: 'B11', strategy: 'pct', shard: { index, count: 3 } }));
    const first = Math.min(...shards.flatMap((x) => x.violations.map((f) => f.schedule)));
    expect(first).toBe(r.violations[0].schedule);
    expect(shards.find((x) => x.violations[0]?.schedule === first)!.violations[0].traceHash).toBe(r.violations[0].traceHash);
  });
});

describe('lenient schedules (what shrinking edits)', () => {
  it('an entry whose actor cannot run is skipped; after the list, the last actor goes on without preemption', () => {
    const strict = runSim(modelOf(DEFAULT_SCENARIO), { seed: 2, variant: null, record: true });
    const d = strict.decisions!;
    const r = runSim(modelOf(DEFAULT_SCENARIO), { seed: 2, variant: null, scheduler: new LenientScheduler([]), record: true });
    // nothing listed: the lowest id starts and keeps running (start, hypercall) until it waits for the VMM
    expect(r.decisions!.slice(0, 2)).toEqual([0, 0]);
    expect(r.violation).toBeNull();
    const same = runSim(modelOf(DEFAULT_SCENARIO), { seed: 2, variant: null, scheduler: new LenientScheduler(d) });
    expect(same.traceHash).toBe(strict.traceHash); // a schedule that fits is followed exactly
    expect(() => runSim(modelOf(DEFAULT_SCENARIO), { seed: 2, variant: null, scheduler: new LenientScheduler([99, ...d]) })).not.toThrow();
    expect(() => runSim(modelOf(DEFAULT_SCENARIO), { seed: 2, variant: null, scheduler: new ReplayScheduler([99, ...d]) })).toThrow(/schedule diverged/);
  });
});

describe('shrinking', () => {
  for (const [variant, campaign] of [['B1', 1], ['B20', 2], ['B10', 1]] as const) {
    it(`${variant}: fewer steps and switches, the same invariant, and the result replays strictly`, () => {
      const f = explore(DEFAULT_SCENARIO, { seed: campaign, schedules: 3000, variant }).violations[0];
      const found = runSim(modelOf(DEFAULT_SCENARIO), { seed: f.scheduleSeed, variant, record: true });
      const d = found.decisions!.slice(0, found.violation!.step);
      const s = shrinkSchedule(DEFAULT_SCENARIO, { seed: f.scheduleSeed, variant }, d, f.invariant);
      expect(s.decisions.length).toBeLessThan(d.length);
      expect(contextSwitches(s.decisions)).toBeLessThan(contextSwitches(d));
      const again = runSim(modelOf(DEFAULT_SCENARIO), { seed: f.scheduleSeed, variant, scheduler: new ReplayScheduler(s.decisions) });
      expect(again.violation?.invariant).toBe(f.invariant);
      expect(again.violation?.step).toBe(s.decisions.length);
    });
  }

  it('explore with shrink: the finding carries both sizes, the step list with the invalidation state, and both tokens', () => {
    const r = explore(DEFAULT_SCENARIO, { seed: 1, schedules: 500, variant: 'B4', shrink: true });
    const f = r.violations[0];
    expect(f.shrunk).not.toBeNull();
    const s = f.shrunk!;
    expect(s.shrunkSteps).toBeLessThan(s.originalSteps);
    expect(s.steps).toHaveLength(s.shrunkSteps);
    expect(s.steps[0]).toMatch(/^1: \S+ start -> \S+ {2}\| seq \d+, in_progress \d+, range (none|\[\d+, \d+\))$/);
    // a vCPU step inside a fault also shows its gfn, attribute, snapshot, resolved pfn and SPTE
    expect(s.steps.some((t) => /\| gfn \d+ (private|shared), snapshot seq \d+, resolved (no pfn|pfn \d+), SPTE (none|pfn \d+)$/.test(t))).toBe(true);
    expect(decodeToken(f.replay).schedule).toHaveLength(s.shrunkSteps);
    expect(decodeToken(s.originalReplay).schedule!.length).toBeGreaterThanOrEqual(s.originalSteps);
  });
});

describe('shrinking the scenario: fewer actors and operations', () => {
  it('B20: actors removed keep the others on their random streams; the result still fires and replays strictly', () => {
    const f = explore(DEFAULT_SCENARIO, { seed: 78, schedules: 3000, variant: 'B20' }).violations[0];
    const found = runSim(modelOf(DEFAULT_SCENARIO), { seed: f.scheduleSeed, variant: 'B20', record: true });
    const d = shrinkSchedule(DEFAULT_SCENARIO, { seed: f.scheduleSeed, variant: 'B20' }, found.decisions!.slice(0, found.violation!.step), f.invariant).decisions;
    const z = shrinkScenario(DEFAULT_SCENARIO, { seed: f.scheduleSeed, variant: 'B20' }, d, f.invariant);
    const [before, after] = [scenarioSize(DEFAULT_SCENARIO), scenarioSize(z.scenario)];
    expect(after.actors).toBeLessThan(before.actors);
    expect(after.ops).toBeLessThan(before.ops);
    expect(z.changes.length).toBeGreaterThan(0);
    expect(z.scenario.actorStreams).toHaveLength(actorDefs(z.scenario).length);
    // still a valid scenario (a saved replay file is validated), and the schedule replays strictly
    expect(validateScenario(JSON.parse(JSON.stringify(z.scenario)))).toEqual(z.scenario);
    const again = runSim(modelOf(z.scenario), { seed: f.scheduleSeed, variant: 'B20', scheduler: new ReplayScheduler(z.decisions) });
    expect(again.violation?.invariant).toBe(f.invariant);
    expect(again.violation?.step).toBe(z.decisions.length);
  });

  it('B18: a smaller scenario is kept only when its story is no longer (regression: 42 steps became 216 with fewer actors)', () => {
    const f = explore(BUILTIN_SCENARIOS['numa-mbind']!, { seed: 1, schedules: 100, variant: 'B18', shrink: true }).violations[0]!;
    expect(f.shrunk!.shrunkSteps).toBeLessThanOrEqual(f.shrunk!.originalSteps);
    expect(f.shrunk!.shrunkActors).toBeLessThan(f.shrunk!.originalActors);
  });

  it('actorStreams in a scenario file must give one stream per actor', () => {
    expect(() => validateScenario({ actorStreams: [0, 1] })).toThrow(/actorStreams.*one stream per actor \(8/);
    expect(() => validateScenario({ actorStreams: [-1] })).toThrow(/actorStreams/);
  });
});

describe('explore --strategy on the command line', () => {
  it('pct --depth 2 --variant B1 --json: exit 1, the bound, the original and the shrunk length; the shrunk token replays on sim and threads', async () => {
    // campaign 2 finds it at schedule 106 (seed 1 needs more than the 1,000 schedules since zaps yield only to a waiter)
    const r = await cli('explore', '--strategy', 'pct', '--depth', '2', '--variant', 'B1', '--seed', '2', '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.strategy).toBe('pct');
    expect(j.pct.runsFor99).toBeGreaterThan(0);
    const v = j.violations[0];
    expect(v.shrunk.shrunkSteps).toBeLessThan(v.shrunk.originalSteps);
    // fewer actors and workload operations too; the token carries the smaller scenario
    expect(v.shrunk.shrunkActors).toBeLessThan(v.shrunk.originalActors);
    expect(v.shrunk.shrunkOps).toBeLessThan(v.shrunk.originalOps);
    expect(v.shrunk.scenarioChanges.length).toBeGreaterThan(0);
    expect(scenarioSize(decodeToken(v.replay).scenario)).toEqual({ actors: v.shrunk.shrunkActors, ops: v.shrunk.shrunkOps });
    for (const engine of ['sim', 'threads']) {
      const p = await cli('replay', v.replay, '--engine', engine, '--json');
      expect(p.code, engine).toBe(1);
      expect(JSON.parse(p.out).traceHash, engine).toBe(v.traceHash);
    }
  });

  it('refuses an unknown strategy or depth, naming the option', async () => {
    const a = await cli('explore', '--strategy', 'bfs');
    expect(a.code).toBe(2);
    expect(a.err[0]).toMatch(/--strategy must be one of random, pct, portfolio, dfs/);
    const b = await cli('explore', '--strategy', 'pct', '--depth', '0');
    expect(b.code).toBe(2);
    expect(b.err[0]).toMatch(/--depth must be an integer from 1 to 1000/);
  });
});
