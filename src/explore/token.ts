// Replay tokens: everything needed to reproduce one schedule, self-contained (the scenario is
// embedded, so a token keeps working if the built-in scenario or the file changes later).
//
// Versions. A v1 token (gmemsim before issue 10) says `invariants: null` for "all", which meant
// the checks that existed then; it replays with exactly those (invariantsOfVersion(1)), so a
// check added since cannot change what an old token shows. A v2 token names its checks and the
// yield-point table (engine/points.ts POINTS_VERSION) its schedule's trace hash is over.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Scenario } from '../scenario/types.js';
import { INVARIANT_IDS, invariantsOfVersion, type InvariantId } from '../check/invariants.js';
import { POINTS_VERSION } from '../engine/points.js';
import type { VariantId } from '../variants.js';
import { validateScenario } from '../scenario/schema.js';
import { DEFAULT_SCENARIO } from '../scenario/builtins.js';
import { ReplayScheduler, type Scheduler } from '../engine/scheduler.js';
import type { SimOptions } from '../engine/sim.js';
import { modelOf, sectionDefaults } from '../workload/kinds.js';
import type { Model } from '../engine/model.js';

export const TOKEN_PREFIX = 'gm1_';
export const TOKEN_VERSION = 2;

export interface ReplaySpec {
  v: number;
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

/** The checks a run makes, as a new token records them (every invariant when none were chosen). */
export const checkedInvariants = (chosen: readonly InvariantId[] | null | undefined): InvariantId[] => (chosen ? [...chosen] : [...INVARIANT_IDS]);

/** A replay record as read: versions checked, `invariants` made explicit. */
function normalise(r: ReplaySpec, what: string): ReplaySpec {
  if (r.v !== 1 && r.v !== TOKEN_VERSION) throw new Error(`${what} version ${r.v} is not supported (this gmemsim reads versions 1 and ${TOKEN_VERSION})`);
  const points = r.points ?? 1;
  if (points !== POINTS_VERSION) throw new Error(`${what} was recorded with yield-point table ${points}; this gmemsim has table ${POINTS_VERSION} (replay it with the gmemsim that wrote it)`);
  return { ...r, points, invariants: r.invariants ?? invariantsOfVersion(r.v) };
}

/** A replay file: the same record as a token, as readable JSON with a format tag and a version. */
export const REPLAY_FILE_FORMAT = 'gmemsim-replay';
export const REPLAY_FILE_VERSION = 2;

export function replayFileJson(r: ReplaySpec): string {
  const { v: _v, ...rest } = r;
  return `${JSON.stringify({ format: REPLAY_FILE_FORMAT, version: REPLAY_FILE_VERSION, ...rest }, null, 2)}\n`;
}

/** Parse a replay file's text; a clear error for another format or version. */
export function parseReplayFile(text: string, name: string): ReplaySpec {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(text);
  } catch {
    throw new Error(`${name} is not JSON (a replay file is what explore --save writes)`);
  }
  if (typeof j !== 'object' || j === null || j.format !== REPLAY_FILE_FORMAT) throw new Error(`${name} is not a gmemsim replay file (no "format": "${REPLAY_FILE_FORMAT}")`);
  if (j.version !== 1 && j.version !== REPLAY_FILE_VERSION) {
    throw new Error(`${name} is a replay file of version ${String(j.version)}; this gmemsim reads versions 1 and ${REPLAY_FILE_VERSION} (replay it with the gmemsim that wrote it)`);
  }
  const { format: _f, version, ...rest } = j;
  return normalise({ v: version as number, ...(rest as Omit<ReplaySpec, 'v'>) }, name);
}

export function encodeToken(r: ReplaySpec): string {
  return TOKEN_PREFIX + deflateRawSync(Buffer.from(JSON.stringify({ ...r, v: TOKEN_VERSION, points: POINTS_VERSION }))).toString('base64url');
}

export function decodeToken(token: string): ReplaySpec {
  if (!token.startsWith(TOKEN_PREFIX)) {
    throw new Error(`not a gmemsim replay token (expected it to start with "${TOKEN_PREFIX}")`);
  }
  let r: ReplaySpec;
  try {
    r = JSON.parse(inflateRawSync(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url')).toString('utf8'));
  } catch {
    throw new Error('replay token is damaged (cannot be decoded); copy it whole');
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new Error('replay token is damaged (not a replay record); copy it whole');
  return normalise(r, 'replay token');
}

/**
 * What a replay record runs: its scenario validated (a section it lacks is a kind that did not
 * exist when it was recorded: none of it), the model, and the sim options that take its schedule.
 */
export function replayRun(spec: ReplaySpec): { sc: Scenario; model: Model; options: SimOptions } {
  const sc = validateScenario(spec.scenario, { ...DEFAULT_SCENARIO, ...sectionDefaults() });
  const scheduler: Scheduler | undefined = spec.schedule ? new ReplayScheduler(spec.schedule) : undefined;
  return {
    sc,
    model: modelOf(sc),
    options: { seed: spec.seed, variant: spec.variant, invariants: spec.invariants ? new Set(spec.invariants) : undefined, scheduler, opsOverride: spec.ops === null ? Infinity : (spec.ops ?? undefined) },
  };
}
