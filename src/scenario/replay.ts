// Replay records (a token's JSON, a replay file's): checked by the scenario schema's own checks
// (check.ts), the embedded scenario by validateScenario itself, so a bad field is refused on one
// line naming it and what is allowed, e.g.
//   replay file x.json: variant must be one of "B1", ..., "N1", or null (got "B99")
// before anything runs: a record that passes replays, or is refused, but never crashes gmemsim.
import { INVARIANT_IDS, type InvariantId } from '../check/invariants.js';
import { VARIANT_IDS, type VariantId } from '../variants.js';
import { actorCount, sectionDefaults } from '../workload/kinds.js';
import { DEFAULT_SCENARIO } from './builtins.js';
import { got, int, isObject, list, oneOf, record, type Check, type Shape } from './check.js';
import { ScenarioError } from './errors.js';
import { validateScenario } from './schema.js';
import { UNNAMED_KERNEL, type Scenario } from './types.js';

/** A replay record's fields, checked (v and the file's format/version are the caller's). */
export interface ReplayFields {
  /** the yield-point table the trace hash is over (absent in v1: table 1) */
  points?: number;
  scenario: Scenario;
  variant: VariantId | null;
  /** the schedule seed (actors' PRNGs and the strategy derive from it) */
  seed: number;
  /** the invariants checked; v1 tokens may say null: every invariant of version 1 */
  invariants: InvariantId[] | null;
  /** what the run found, to compare against */
  expect: { invariant: InvariantId | null; traceHash: string; steps: number };
  /** an explicit schedule (actor per step), e.g. recorded on worker threads; absent: the seeded random strategy */
  schedule?: number[];
  /** operations per actor the schedule was taken with; null = until stopped (a duration-bound run) */
  ops?: number | null;
}

/** --ops on the threads engine (cli/run.ts) goes up to 1e9: a record's ops as well. */
const MAX_RECORD_OPS = 1e9;

/** The base a recorded scenario is read over: a section it lacks is a kind that did not exist when it was recorded (none of it). */
// what a recorded scenario leaves out is what the model that recorded it did: kernel 6.12, the VMM's old conversion order, a zap that yields at every chunk
export const replayScenarioBase = (): Scenario => ({ ...DEFAULT_SCENARIO, ...sectionDefaults(), kernel: UNNAMED_KERNEL, zapYield: 'always', vcpus: { ...DEFAULT_SCENARIO.vcpus, conversionOrder: 'legacy' } });

/**
 * A recorded scenario as the model that recorded it ran it. One without `gmemFlags` was recorded
 * before guest_memfd's flags existed (issue 12), when every kernel baseline ran the 6.12 model
 * (mbind ranges without a mapping, hybrid memslots): it replays as 6.12, whatever it names.
 */
export function recordedScenario(raw: Record<string, unknown>): Record<string, unknown> {
  return Object.hasOwn(raw, 'gmemFlags') ? raw : { ...raw, kernel: UNNAMED_KERNEL };
}

const nullable = <T>(check: Check<T>, what: string): Check<T | null> => (v, path) => {
  if (v === null) return null;
  try {
    return check(v, path);
  } catch (e) {
    if (e instanceof ScenarioError && e.field === path) throw new ScenarioError(path, `${e.allowed}, or null${what}`, e.detail);
    throw e;
  }
};
const invariantId = oneOf(...INVARIANT_IDS);
const traceHash: Check<string> = (v, path) => {
  if (typeof v === 'string' && /^[0-9a-f]{8}$/.test(v)) return v;
  throw new ScenarioError(path, 'a trace hash: 8 lowercase hex digits', got(v));
};
const invariantList = list(invariantId, `invariant ids (${INVARIANT_IDS.join(', ')})`, 1);
const EXPECT: Shape<ReplayFields['expect']> = { invariant: nullable(invariantId, ' (no violation)'), traceHash, steps: int(0) };

/** The record's own fields; `scenario` and `schedule` are checked apart (the schedule against the scenario's actors). */
const fields = (version: number): Shape<Omit<ReplayFields, 'scenario' | 'schedule'>> => ({
  points: (v, path) => (v === undefined ? undefined : int(1)(v, path)),
  variant: (v, path) => {
    if (v === null || (typeof v === 'string' && (VARIANT_IDS as readonly string[]).includes(v))) return v as VariantId | null;
    throw new ScenarioError(path, `one of ${VARIANT_IDS.join(', ')}, or null`, got(v));
  },
  seed: int(0, 4_294_967_295),
  // version 1 said null for "every check of version 1"; version 2 names them
  invariants: (v, path) => (version === 1 ? nullable(invariantList, ' (every check of version 1)')(v, path) : invariantList(v, path)),
  expect: (v, path) => record(EXPECT, v, path),
  ops: (v, path) => (v === undefined ? undefined : nullable(int(1, MAX_RECORD_OPS), ' (until stopped)')(v, path)),
});

/** An explicit schedule: one actor id per step, each below the actor count. */
function schedule(v: unknown, actors: number): number[] | undefined {
  if (v === undefined) return undefined;
  const allowed = `an array of actor ids from 0 to ${actors - 1} (the scenario's ${actors} actors), one per step`;
  if (!Array.isArray(v)) throw new ScenarioError('schedule', allowed, got(v));
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= actors) throw new ScenarioError(`schedule[${i}]`, `an actor id from 0 to ${actors - 1} (the scenario has ${actors} actors)`, got(x));
  }
  return v as number[];
}

/**
 * Check a replay record of format version `version` (1 or 2): `j` without the version field (v,
 * or a file's format and version). Returns the record with its fields checked and the scenario
 * as it was written (validated, not rewritten: replayRun validates it again, as it always did).
 * Throws an Error of one line: "<what>: <field> must be <allowed> (<what it got>)".
 */
export function checkReplayRecord(j: Record<string, unknown>, version: number, what: string): ReplayFields {
  const shape = fields(version);
  const known = ['scenario', ...Object.keys(shape), 'schedule'];
  try {
    for (const k of Object.keys(j)) {
      if (!known.includes(k)) throw new ScenarioError(k, `a known key; a replay record has ${known.join(', ')}`, `unknown key "${k}"`);
    }
    if (!isObject(j.scenario)) throw new ScenarioError('scenario', 'the scenario it was recorded on (a JSON object)', got(j.scenario));
    const recorded = recordedScenario(j.scenario);
    let sc: Scenario;
    try {
      sc = validateScenario(recorded, replayScenarioBase());
    } catch (e) {
      if (e instanceof ScenarioError) throw new ScenarioError(`scenario.${e.field}`, e.allowed, e.detail);
      throw e;
    }
    const rest = record(shape, Object.fromEntries(Object.keys(shape).filter((k) => Object.hasOwn(j, k)).map((k) => [k, j[k]])), '');
    const sched = schedule(j.schedule, actorCount(sc));
    const out: ReplayFields = { scenario: recorded as unknown as Scenario, variant: rest.variant, seed: rest.seed, invariants: rest.invariants, expect: rest.expect };
    if (rest.points !== undefined) out.points = rest.points;
    if (sched !== undefined) out.schedule = sched;
    if (rest.ops !== undefined) out.ops = rest.ops;
    return out;
  } catch (e) {
    if (e instanceof ScenarioError) throw new Error(`${what}: ${e.field} must be ${e.allowed}${e.detail ? ` (${e.detail})` : ''}`.replace(/\s*[\r\n]+\s*/g, ' '));
    throw e;
  }
}
