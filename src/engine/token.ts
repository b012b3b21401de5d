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
