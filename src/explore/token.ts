// Replay tokens: everything needed to reproduce one schedule, self-contained (the scenario is
// embedded, so a token keeps working if the built-in scenario or the file changes later).
//
// Versions. A v1 token (gmemsim before issue 10) says `invariants: null` for "all", which meant
// the checks that existed then; it replays with exactly those (invariantsOfVersion(1)), so a
// check added since cannot change what an old token shows. A v2 token names its checks and the
// yield-point table (engine/points.ts POINTS_VERSION) its schedule's trace hash is over.
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Scenario } from '../scenario/types.js';
import { INVARIANT_IDS, invariantsOfVersion, type InvariantId } from '../check/invariants.js';
import { POINTS_VERSION } from '../engine/points.js';
import { validateScenario } from '../scenario/schema.js';
import { checkReplayRecord, replayScenarioBase, type ReplayFields } from '../scenario/replay.js';
import { show } from '../scenario/check.js';
import { ReplayScheduler, type Scheduler } from '../engine/scheduler.js';
import type { SimOptions } from '../engine/sim.js';
import { modelOf } from '../workload/kinds.js';
import type { Model } from '../engine/model.js';

export const TOKEN_PREFIX = 'gm1_';
export const TOKEN_VERSION = 2;

/** A replay record: its fields (scenario/replay.ts checks them) and the token's version. */
export interface ReplaySpec extends ReplayFields {
  v: number;
}

/** The checks a run makes, as a new token records them (every invariant when none were chosen). */
export const checkedInvariants = (chosen: readonly InvariantId[] | null | undefined): InvariantId[] => (chosen ? [...chosen] : [...INVARIANT_IDS]);

/**
 * A replay record as read: versions checked, then every field by the scenario schema's checks
 * (scenario/replay.ts: the variant in the catalogue, known invariants, the schedule's actors in
 * range, expect whole ...), `invariants` made explicit. `what` names the input in the error.
 */
function normalise(v: unknown, j: Record<string, unknown>, what: string): ReplaySpec {
  if (v !== 1 && v !== TOKEN_VERSION) throw new Error(`${what} version ${show(v)} is not supported (this gmemsim reads versions 1 and ${TOKEN_VERSION})`);
  // another yield-point table first: a record from another gmemsim is named as such, whatever else it holds
  if (Number.isInteger(j.points) && j.points !== POINTS_VERSION) {
    throw new Error(`${what} was recorded with yield-point table ${String(j.points)}; this gmemsim has table ${POINTS_VERSION} (replay it with the gmemsim that wrote it)`);
  }
  const r = checkReplayRecord(j, v, what);
  const points = r.points ?? 1;
  if (points !== POINTS_VERSION) throw new Error(`${what} was recorded with yield-point table ${points}; this gmemsim has table ${POINTS_VERSION} (replay it with the gmemsim that wrote it)`);
  return { v, ...r, points, invariants: r.invariants ?? invariantsOfVersion(v) };
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
    throw new Error(`${name} is a replay file of version ${show(j.version)}; this gmemsim reads versions 1 and ${REPLAY_FILE_VERSION} (replay it with the gmemsim that wrote it)`);
  }
  const { format: _f, version, ...rest } = j;
  return normalise(version, rest, `replay file ${name}`);
}

// The token body. Since checksums: base64url of [CHECKED, deflateRaw(JSON)..., CRC-32 (big-endian)
// of everything before it]. CHECKED (0x07) reads as a deflate block header of the reserved type 3,
// which no deflate stream starts with, so a body from before checksums (base64url of the bare
// deflateRaw stream) is told apart by its first byte and still read, with no check but the schema's.
// A changed, added or dropped character of a checksummed token fails the CRC (or the canonical
// base64url check): it is refused as damaged, never replayed as something else.
const CHECKED = 0x07;
/** What a token may inflate to: far above any real record (a long threads recording is a few MB). */
const MAX_TOKEN_JSON = 64 * 1024 * 1024;
const damaged = (why: string) => new Error(`replay token is damaged (${why}); copy it whole`);

export function encodeToken(r: ReplaySpec): string {
  const deflated = deflateRawSync(Buffer.from(JSON.stringify({ ...r, v: TOKEN_VERSION, points: POINTS_VERSION })));
  const body = Buffer.alloc(1 + deflated.length + 4);
  body[0] = CHECKED;
  deflated.copy(body, 1);
  body.writeUInt32BE(crc32(body.subarray(0, body.length - 4)), body.length - 4);
  return TOKEN_PREFIX + body.toString('base64url');
}

export function decodeToken(token: string): ReplaySpec {
  if (!token.startsWith(TOKEN_PREFIX)) {
    throw new Error(`not a gmemsim replay token (expected it to start with "${TOKEN_PREFIX}")`);
  }
  const text = token.slice(TOKEN_PREFIX.length);
  // Buffer.from skips what is not base64url: only a body that re-encodes to itself is whole
  const bytes = Buffer.from(text, 'base64url');
  if (!/^[A-Za-z0-9_-]+$/.test(text) || bytes.toString('base64url') !== text) throw damaged('cannot be decoded');
  let deflated: Buffer;
  if (bytes[0] === CHECKED) {
    if (bytes.length < 6 || crc32(bytes.subarray(0, bytes.length - 4)) !== bytes.readUInt32BE(bytes.length - 4)) throw damaged('its checksum does not match');
    deflated = bytes.subarray(1, bytes.length - 4);
  } else {
    deflated = bytes; // from before checksums
  }
  let r: unknown;
  try {
    const { buffer, engine } = inflateRawSync(deflated, { info: true, maxOutputLength: MAX_TOKEN_JSON } as object) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    // inflate stops at the end of the stream: bytes after it are not part of a token
    if (engine.bytesWritten !== deflated.length) throw new Error('trailing bytes');
    r = JSON.parse(buffer.toString('utf8'));
  } catch {
    throw damaged('cannot be decoded');
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) throw damaged('not a replay record');
  const { v, ...rest } = r as Record<string, unknown>;
  return normalise(v, rest, 'replay token');
}

/**
 * What a replay record runs: its scenario validated (a section it lacks is a kind that did not
 * exist when it was recorded: none of it), the model, and the sim options that take its schedule.
 */
export function replayRun(spec: ReplaySpec): { sc: Scenario; model: Model; options: SimOptions } {
  const sc = validateScenario(spec.scenario, replayScenarioBase());
  const scheduler: Scheduler | undefined = spec.schedule ? new ReplayScheduler(spec.schedule) : undefined;
  return {
    sc,
    model: modelOf(sc),
    options: { seed: spec.seed, variant: spec.variant, invariants: spec.invariants ? new Set(spec.invariants) : undefined, scheduler, opsOverride: spec.ops === null ? Infinity : (spec.ops ?? undefined) },
  };
}
