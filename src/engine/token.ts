// Replay tokens: everything needed to reproduce one schedule, self-contained (the scenario is
// embedded, so a token keeps working if the built-in scenario or the file changes later).
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Scenario } from '../scenario/types.js';
import type { InvariantId } from '../check/invariant-ids.js';
import type { VariantId } from '../variants.js';

export const TOKEN_PREFIX = 'gm1_';
export const TOKEN_VERSION = 1;

export interface ReplaySpec {
  v: number;
  scenario: Scenario;
  variant: VariantId | null;
  /** the schedule seed (actors' PRNGs and the strategy derive from it) */
  seed: number;
  invariants: InvariantId[] | null;
  /** what the run found, to compare against */
  expect: { invariant: InvariantId | null; traceHash: string; steps: number };
  /** an explicit schedule (actor per step), e.g. recorded on worker threads; absent: the seeded random strategy */
  schedule?: number[];
  /** operations per actor the schedule was taken with; null = until stopped (a duration-bound run) */
  ops?: number | null;
}

/** A replay file: the same record as a token, as readable JSON with a format tag and a version. */
export const REPLAY_FILE_FORMAT = 'gmemsim-replay';
export const REPLAY_FILE_VERSION = 1;

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
  if (j.version !== REPLAY_FILE_VERSION) {
    throw new Error(`${name} is a replay file of version ${String(j.version)}; this gmemsim reads version ${REPLAY_FILE_VERSION} (replay it with the gmemsim that wrote it)`);
  }
  const { format: _f, version: _v, ...rest } = j;
  return { v: TOKEN_VERSION, ...(rest as Omit<ReplaySpec, 'v'>) };
}

export function encodeToken(r: ReplaySpec): string {
  return TOKEN_PREFIX + deflateRawSync(Buffer.from(JSON.stringify(r))).toString('base64url');
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
  if (r.v !== TOKEN_VERSION) throw new Error(`replay token version ${r.v} is not supported (this gmemsim reads version ${TOKEN_VERSION})`);
  return r;
}
