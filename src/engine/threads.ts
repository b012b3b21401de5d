// The threads engine: one worker thread per actor over one SharedArrayBuffer. Free-running for
// stress (the OS interleaves; locks block on Atomics), or replaying a recorded schedule through
// a turn word so real threads take exactly the steps the sim engine took.
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Scenario } from '../scenario/types.js';
import type { InvariantId } from '../check/invariant-ids.js';
import { quiescentSweep } from '../check/sweep.js';
import { A_DONE, A_RETURNED, A_WAIT_ARG, A_WAIT_ARG2, A_WAIT_KIND, C, G_MB_DOORBELL, G_STEP, G_STOP, G_TURN, actorWord, type LayoutConfig } from '../shm/layout.js';
import { createShm, type Shm } from '../shm/state.js';
import type { VariantId } from '../variants.js';
import { actorDefs } from './actors.js';
import type { ActorCtx, Violation } from './ctx.js';
import { FNV_INIT, fnv } from './prng.js';
import { hashHex } from './sim.js';
import { collectStats, type Stats } from './stats.js';
import { canProceed, describeWait } from './wait.js';

export interface WorkerInput {
  sab: SharedArrayBuffer;
  layout: LayoutConfig;
  scenario: Scenario;
  actor: number;
  seed: number;
  variant: VariantId | null;
  invariants: InvariantId[] | null;
  mode: 'free' | 'replay';
  /** operations per actor; 'scenario': the scenario's own counts; undefined: until stopped (replay: the scenario's) */
  ops?: number | 'scenario';
  pauseMs: number;
  scheduleLength: number;
  /** free mode: 0 off; 1-3 spin briefly at random yield points to widen race windows */
  jitter: number;
}

export type WorkerMessage =
  | { type: 'violation'; invariant: InvariantId; message: string; actor: number; step: number; elapsedMs: number }
  | { type: 'done'; actor: number }
  | { type: 'error'; actor: number; message: string };

export interface ThreadsOptions {
  seed: number;
  variant: VariantId | null;
  invariants?: InvariantId[] | null;
  /** run until this many ms have passed (soft stop: every actor finishes its current operation) */
  durationMs?: number;
  /** or: every actor does this many operations */
  ops?: number;
  /** background actors sleep this long between operations (keeps them from starving vCPUs on 2 cores) */
  pauseMs?: number;
  /** 0 off; 1-3: random short spins at yield points, more and longer with each level */
  jitter?: number;
  /** no actor passed a yield point for this long: report who waits on what */
  watchdogMs?: number;
  /** called about every 250 ms with totals so far */
  onProgress?: (p: { elapsedMs: number; stats: Stats }) => void;
  /** abort early (Ctrl-C): soft stop, partial report */
  signal?: AbortSignal;
}

export type StopReason = 'duration' | 'ops' | 'violation' | 'interrupt' | 'watchdog';

export interface ThreadsResult {
  violation: Violation | null;
  stats: Stats;
  elapsedMs: number;
  stoppedBy: StopReason;
  /** the final sweep ran (every actor finished its operation) */
  quiescent: boolean;
  workers: number;
  /** on a violation: the order in which actors started their steps up to the violating one (a sim schedule), if the log held it */
  recorded: number[] | null;
  /** the operations per actor the run used (Infinity: until stopped), for replaying the recording */
  opsPerActor: number | undefined;
}

/** Steps the free-running step log holds (16 MiB); a violation later than this has no recording. */
export const STEP_LOG_CAP = 1 << 22;

/** A compiled worker entry (Node 20 cannot start a worker from a .ts file): dist/workers/NAME.js. */
export function workerScript(name = 'actor-worker'): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // compiled: dist/src/engine -> dist/workers; from source (tsx, vitest): src/engine -> dist/workers
  const compiled = basename(resolve(here, '../..')) === 'dist';
  const p = compiled ? resolve(here, `../../workers/${name}.js`) : resolve(here, `../../dist/workers/${name}.js`);
  if (!existsSync(p)) throw new Error(`worker script ${p} is missing: run "npm run build" first`);
  return p;
}

interface Pool {
  workers: Worker[];
  finished: Promise<void>;
  violation: Violation | null;
  errors: string[];
  done: Set<number>;
}

function startWorkers(s: Shm, sc: Scenario, base: Omit<WorkerInput, 'actor' | 'sab' | 'layout'>): Pool {
  const script = workerScript();
  const n = actorDefs(sc).length;
  const pool: Pool = { workers: [], finished: Promise.resolve(), violation: null, errors: [], done: new Set() };
  const ends: Promise<void>[] = [];
  for (let actor = 0; actor < n; actor++) {
    const w = new Worker(script, { workerData: { ...base, actor, sab: s.sab, layout: s.l } satisfies WorkerInput });
    pool.workers.push(w);
    ends.push(
      new Promise<void>((res) => {
        w.on('message', (m: WorkerMessage) => {
          if (m.type === 'violation' && !pool.violation) pool.violation = { invariant: m.invariant, message: m.message, actor: m.actor, step: m.step };
          if (m.type === 'error') {
            pool.errors.push(`actor ${m.actor}: ${m.message}`);
            Atomics.store(s.i32, G_STOP, 2);
            Atomics.store(s.i32, G_TURN, -1);
            Atomics.notify(s.i32, G_TURN);
          }
          if (m.type === 'done') pool.done.add(m.actor);
        });
        w.on('error', (e) => {
          pool.errors.push(`actor ${actor}: ${e.message}`);
          res();
        });
        w.on('exit', () => res());
      }),
    );
  }
  pool.finished = Promise.all(ends).then(() => undefined);
  return pool;
}

const totalSteps = (s: Shm) => {
  let t = 0;
  for (let id = 0; id < s.l.nActors; id++) t += Atomics.load(s.i32, actorWord(s.l, id, C.steps));
  return t;
};

/** Who waits on what, from the words each worker publishes before it blocks. */
export function describeWaiters(s: Shm, sc: Scenario, only?: Set<number>): string[] {
  return actorDefs(sc).flatMap((def, id) => {
    if (only && !only.has(id)) return [];
    if (Atomics.load(s.i32, actorWord(s.l, id, A_DONE)) === 1 && def.kind === 'vcpu') return [];
    const kind = Atomics.load(s.i32, actorWord(s.l, id, A_WAIT_KIND));
    return [`${def.name} ${kind ? `waits for ${describeWait(kind, s.i32[actorWord(s.l, id, A_WAIT_ARG)], s)}` : 'is running (not blocked)'}`];
  });
}

function stop(s: Shm, hard: boolean): void {
  Atomics.store(s.i32, G_STOP, hard ? 2 : 1);
  Atomics.notify(s.i32, G_STOP);
  Atomics.add(s.i32, G_MB_DOORBELL, 1);
  Atomics.notify(s.i32, G_MB_DOORBELL);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runThreads(sc: Scenario, o: ThreadsOptions): Promise<ThreadsResult> {
  // A finite workload (stopWhen: ops) runs to its end; --duration does not cut it.
  const finite = sc.stopWhen === 'ops';
  const s = createShm(sc, STEP_LOG_CAP);
  const t0 = Date.now();
  const pool = startWorkers(s, sc, {
    scenario: sc,
    seed: o.seed,
    variant: o.variant,
    invariants: o.invariants ?? null,
    mode: 'free',
    ops: o.ops ?? (finite ? 'scenario' : undefined),
    pauseMs: o.pauseMs ?? 0.05,
    scheduleLength: 0,
    jitter: o.jitter ?? 0,
  });
  let finished = false;
  void pool.finished.then(() => (finished = true));
  let stoppedBy: StopReason = finite || (o.ops !== undefined && o.durationMs === undefined) ? 'ops' : 'duration';
  let watchdog: Violation | null = null;
  const watchdogMs = o.watchdogMs ?? 10_000;
  let lastSteps = -1;
  let lastProgressAt = Date.now();
  let lastReport = 0;
  let stopAt = o.durationMs !== undefined && !finite ? t0 + o.durationMs : Infinity;
  const onAbort = () => {
    if (!Atomics.load(s.i32, G_STOP)) {
      stoppedBy = 'interrupt';
      stop(s, false);
    }
  };
  o.signal?.addEventListener('abort', onAbort);
  while (!finished) {
    await sleep(25);
    const now = Date.now();
    if (pool.violation && Atomics.load(s.i32, G_STOP) !== 2) {
      stoppedBy = 'violation';
      stop(s, true);
    }
    if (now >= stopAt && !Atomics.load(s.i32, G_STOP)) {
      stop(s, false);
      stopAt = Infinity;
    }
    const steps = totalSteps(s);
    if (steps !== lastSteps) {
      lastSteps = steps;
      lastProgressAt = now;
    } else if (now - lastProgressAt > watchdogMs && !watchdog) {
      const live = new Set(actorDefs(sc).map((_, id) => id).filter((id) => !pool.done.has(id)));
      watchdog = { invariant: 'DEADLOCK', message: `watchdog: no actor progressed for ${watchdogMs} ms: ${describeWaiters(s, sc, live).join('; ')}`, actor: -1, step: steps };
      stoppedBy = 'watchdog';
      stop(s, true);
      await sleep(500);
      await Promise.all(pool.workers.map((w) => w.terminate()));
      break;
    }
    if (o.onProgress && now - lastReport >= 250) {
      lastReport = now;
      o.onProgress({ elapsedMs: now - t0, stats: collectStats(s, sc) });
    }
  }
  await pool.finished;
  o.signal?.removeEventListener('abort', onAbort);
  if (pool.errors.length) throw new Error(`worker failed: ${pool.errors[0]}`);
  let violation = pool.violation ?? watchdog;
  const quiescent = !violation && Atomics.load(s.i32, G_STOP) !== 2;
  if (quiescent) {
    const enabled = o.invariants ? new Set(o.invariants) : null;
    const f = quiescentSweep(s).find((x) => !enabled || enabled.has(x.invariant));
    if (f) violation = { invariant: f.invariant, message: `at quiescence: ${f.message}`, actor: -1, step: totalSteps(s) };
  }
  if (violation && stoppedBy !== 'watchdog') stoppedBy = 'violation';
  const step = pool.violation?.step ?? 0;
  const recorded = step > 0 && step <= STEP_LOG_CAP ? Array.from(s.i32.subarray(s.l.scheduleBase, s.l.scheduleBase + step)) : null;
  const opsPerActor = o.ops ?? (finite ? undefined : Infinity);
  return { violation, stats: collectStats(s, sc), elapsedMs: Date.now() - t0, stoppedBy, quiescent, workers: pool.workers.length, recorded, opsPerActor };
}

export interface ThreadsReplayResult {
  traceHash: string;
  steps: number;
  violation: Violation | null;
  stats: Stats;
  elapsedMs: number;
}

/** Follow `decisions` (actor per step, from the sim engine) on real worker threads. */
export async function replayThreads(
  sc: Scenario,
  decisions: readonly number[],
  o: { seed: number; variant: VariantId | null; invariants?: InvariantId[] | null; ops?: number },
): Promise<ThreadsReplayResult> {
  const s = createShm(sc, Math.max(1, decisions.length));
  const t0 = Date.now();
  decisions.forEach((d, i) => (s.i32[s.l.scheduleBase + i] = d));
  Atomics.store(s.i32, G_STEP, 0);
  Atomics.store(s.i32, G_TURN, decisions.length ? decisions[0] : -1);
  const pool = startWorkers(s, sc, {
    scenario: sc,
    seed: o.seed,
    variant: o.variant,
    invariants: o.invariants ?? null,
    mode: 'replay',
    ops: o.ops,
    pauseMs: 0,
    scheduleLength: decisions.length,
    jitter: 0,
  });
  await pool.finished;
  if (pool.errors.length) throw new Error(`replay on threads failed: ${pool.errors[0]}`);
  let hash = FNV_INIT;
  for (let i = 0; i < decisions.length; i++) hash = fnv(hash, (decisions[i] << 16) | s.i32[s.l.traceBase + i]);
  const steps = Atomics.load(s.i32, G_STEP);
  let violation = pool.violation;
  if (!violation && steps === decisions.length) {
    // The sim engine's end-of-schedule checks: nobody can run -> deadlock; everyone returned -> sweep.
    const live = actorDefs(sc).map((_, id) => id).filter((id) => Atomics.load(s.i32, actorWord(s.l, id, A_RETURNED)) === 0);
    if (live.length > 0 && live.every((id) => !canProceed(s, waitCtx(s, id)))) {
      violation = { invariant: 'DEADLOCK', message: `no actor can run: ${describeWaiters(s, sc, new Set(live)).join('; ')}`, actor: -1, step: steps };
    } else if (live.length === 0) {
      const enabled = o.invariants ? new Set(o.invariants) : null;
      const f = quiescentSweep(s).find((x) => !enabled || enabled.has(x.invariant));
      if (f) violation = { invariant: f.invariant, message: `at quiescence: ${f.message}`, actor: -1, step: steps };
    }
  }
  return { traceHash: hashHex(hash), steps, violation, stats: collectStats(s, sc), elapsedMs: Date.now() - t0 };
}

/** A stand-in context carrying only the wait an actor published, for canProceed. */
function waitCtx(s: Shm, id: number): ActorCtx {
  return {
    wait: Atomics.load(s.i32, actorWord(s.l, id, A_WAIT_KIND)),
    waitArg: s.i32[actorWord(s.l, id, A_WAIT_ARG)],
    waitArg2: s.i32[actorWord(s.l, id, A_WAIT_ARG2)],
    base: actorWord(s.l, id, 0),
  } as ActorCtx;
}
