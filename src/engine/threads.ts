// The threads engine: one worker thread per actor over one SharedArrayBuffer. Free-running for
// stress (the OS interleaves; locks block on Atomics), or replaying a recorded schedule through
// a turn word so real threads take exactly the steps the sim engine took.
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import type { ActorApi, ActorRunState, ActorSnapshot, WorkerInput } from './actor_api.js';
import { nodeEndpoint } from './comlink_node.js';
import type { InvariantId } from '../check/invariants.js';
import { quiescentSweep } from '../check/sweep.js';
import { Ctr, actorBase as actorBaseOf, actorCounter, actorReturned, publishedWait, sleepWordOf } from '../shm/actor.js';
import { ringMbDoorbell } from '../shm/kvm.js';
import { claimViolation, openStartGate, replayStep, runStop, startReady, runViolation, scheduleSlice, setReplayStep, setReplayTurn, setRunPause, setRunStop, setScheduleAt, traceAt } from '../shm/run.js';
import { createShm, type Shm } from '../shm/state.js';
import type { VariantId } from '../variants.js';
import type { ActorCtx, Violation } from './ctx.js';
import type { Model } from './model.js';
import { FNV_INIT, fnv } from './prng.js';
import { hashHex } from './sim.js';
import { applyExactTimes, collectStats, type Stats } from './stats.js';
import { describeWait, waitableOf } from './wait.js';

export type { WorkerInput } from './actor_api.js';

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
  /** raise a pause barrier and run the quiescent sweep (every invariant with a state predicate) about this often (ms); 0: only at the end */
  sweepEveryMs?: number;
  /** called at each pause barrier once every actor has parked, before the sweep (tests look at, or break, the parked state) */
  onBarrier?: (s: Shm) => void;
  /** called about every 250 ms with totals so far */
  onProgress?: (p: { elapsedMs: number; stats: Stats; sweeps: number; violations: number }) => void;
  /** abort early (Ctrl-C): soft stop, partial report */
  signal?: AbortSignal;
}

export type StopReason = 'duration' | 'ops' | 'violation' | 'interrupt' | 'watchdog';

export interface ThreadsResult {
  violation: Violation | null;
  stats: Stats;
  /** from the start gate (every worker loaded and primed) to the end */
  elapsedMs: number;
  /** spawning and loading the workers, before the clock started */
  startupMs: number;
  stoppedBy: StopReason;
  /** the final sweep ran (every actor finished its operation) */
  quiescent: boolean;
  workers: number;
  /** on a violation: the order in which actors started their steps up to the violating one (a sim schedule), if the log held it */
  recorded: number[] | null;
  /** the operations per actor the run used (Infinity: until stopped), for replaying the recording */
  opsPerActor: number | undefined;
  sweeps: SweepStats;
  /** jitter delays injected at yield points, over all workers */
  jitterSpins: number;
  /** the workers' JS heaps at the end (the shared state is not in them) */
  workerHeapBytes: number;
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

interface Handle {
  id: number;
  worker: Worker;
  api: Comlink.Remote<ActorApi>;
  state: 'running' | 'parked' | 'done';
}

interface Pool {
  handles: Handle[];
  violation: Violation | null;
  errors: string[];
  snapshots: ActorSnapshot[];
  /** hand a running call's outcome to the handle */
  track(h: Handle, call: Promise<ActorRunState>): void;
  allDone(): boolean;
  /** snapshot every worker, then end the threads */
  close(): Promise<void>;
}

function startWorkers(s: Shm, model: Model, base: Omit<WorkerInput, 'actor' | 'sab' | 'layout'>): Pool {
  const script = workerScript();
  const hardStop = () => {
    setRunStop(s, 2);
    setReplayTurn(s, -1);
  };
  const pool: Pool = {
    handles: [],
    violation: null,
    errors: [],
    snapshots: [],
    track(h, call) {
      h.state = 'running';
      call.then(
        (r) => {
          if (r.violation && !pool.violation) pool.violation = r.violation;
          h.state = r.state;
        },
        (e: unknown) => {
          pool.errors.push(`actor ${h.id}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
          h.state = 'done';
          hardStop();
        },
      );
    },
    allDone: () => pool.handles.every((h) => h.state === 'done'),
    async close() {
      pool.snapshots = await Promise.all(pool.handles.map((h) => withTimeout(h.api.snapshot(), 1000))).then((xs) => xs.filter((x): x is ActorSnapshot => x !== null));
      for (const h of pool.handles) h.api[Comlink.releaseProxy]();
      await Promise.all(pool.handles.map((h) => h.worker.terminate()));
    },
  };
  const n = model.actors.length;
  for (let id = 0; id < n; id++) {
    const worker = new Worker(script);
    const h: Handle = { id, worker, api: Comlink.wrap<ActorApi>(nodeEndpoint(worker)), state: 'running' };
    // A worker that dies outside a call (out of memory, a crash) never answers: count it done.
    worker.on('error', (e) => {
      pool.errors.push(`actor ${id}: ${e.message}`);
      h.state = 'done';
      hardStop();
    });
    worker.on('exit', () => (h.state = 'done'));
    pool.handles.push(h);
    pool.track(h, h.api.start({ ...base, actor: id, sab: s.sab, layout: s.l }));
  }
  return pool;
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  try {
    // a worker whose actor never started cannot answer: no snapshot, and no error to mask the real one
    return await Promise.race([p.catch(() => null), t]);
  } finally {
    clearTimeout(timer);
  }
}

const totalSteps = (s: Shm) => {
  let t = 0;
  for (let id = 0; id < s.l.nActors; id++) t += actorCounter(s, id, Ctr.steps);
  return t;
};

/** Who waits on what, from the words each worker publishes before it blocks. */
export function describeWaiters(s: Shm, model: Model, only?: Set<number>): string[] {
  const names = model.actors.map((d) => d.name);
  return model.actors.flatMap((def, id) => {
    if ((only && !only.has(id)) || actorReturned(s, id)) return [];
    const w = publishedWait(s, id);
    return [`${def.name} ${w.kind ? `waits for ${describeWait(s, w.kind, w.arg, w.arg2, names)}` : 'is running (not blocked)'}`];
  });
}

/** Cut short the sleeps background actors take between operations (--pause-ms). */
function wakeSleepers(s: Shm): void {
  for (let id = 0; id < s.l.nActors; id++) Atomics.notify(s.i32, sleepWordOf(s, id));
}

function stop(s: Shm, hard: boolean): void {
  setRunStop(s, hard ? 2 : 1);
  wakeSleepers(s);
  ringMbDoorbell(s);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the pause barriers of a run did. */
export interface SweepStats {
  /** the interval asked for (0: only the final sweep) */
  everyMs: number;
  /** barriers at which every actor parked and the full sweep ran */
  done: number;
  /** barriers given up: some actor did not reach an operation boundary in time (a stuck fault, a long wait) */
  skipped: number;
  /** longest time from raising the barrier to the last actor parking, and longest sweep */
  maxParkMs: number;
  maxSweepMs: number;
  /** time left out of the watchdog's clock: only completed barriers' (a skipped one counts, so a stuck run is still reported in time) */
  watchdogExcludedMs: number;
}

/** Give up a barrier when the actors have not all parked by then. */
const BARRIER_TIMEOUT_MS = 1000;

export async function runThreads(model: Model, o: ThreadsOptions): Promise<ThreadsResult> {
  const { sc } = model;
  // A finite workload (stopWhen: ops) runs to its end; --duration does not cut it.
  const finite = sc.stopWhen === 'ops';
  const s = createShm(sc, model.actors.length, STEP_LOG_CAP);
  const spawnedAt = Date.now();
  const pool = startWorkers(s, model, {
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
  const enabled = o.invariants ? new Set(o.invariants) : null;
  const sweepFinding = () => quiescentSweep(s, enabled);
  const defs = model.actors;
  let stoppedBy: StopReason = finite || (o.ops !== undefined && o.durationMs === undefined) ? 'ops' : 'duration';
  const stopping = () => runStop(s) !== 0;
  const onAbort = () => {
    if (!stopping()) {
      stoppedBy = 'interrupt';
      stop(s, false);
    }
  };
  o.signal?.addEventListener('abort', onAbort);
  // The clock (duration, sweeps, watchdog, rates) starts when every worker is loaded and primed:
  // a duration is time spent running the workload, however long the threads took to start.
  while (startReady(s) < defs.length && !pool.allDone() && !stopping()) await sleep(1);
  const t0 = Date.now();
  const startupMs = t0 - spawnedAt;
  openStartGate(s);
  let watchdog: Violation | null = null;
  let barrierViolation: Violation | null = null;
  const watchdogMs = o.watchdogMs ?? 10_000;
  const sweeps: SweepStats = { everyMs: o.sweepEveryMs ?? 1000, done: 0, skipped: 0, maxParkMs: 0, maxSweepMs: 0, watchdogExcludedMs: 0 };
  let nextSweepAt = sweeps.everyMs > 0 ? t0 + sweeps.everyMs : Infinity;
  let skipBackoff = 500;
  let lastSteps = -1;
  let lastProgressAt = Date.now();
  let lastReport = 0;
  let stopAt = o.durationMs !== undefined && !finite ? t0 + o.durationMs : Infinity;

  // Every actor is at an operation boundary: parked (or done), or, one with no boundary (the VMM), idle.
  const allParked = () => pool.handles.every((h, id) => h.state !== 'running' || defs[id].idle?.(s) === true);

  // Pause barrier: every actor parks at its next operation boundary (holding no lock, no
  // operation half done), the quiescent sweep runs on that state, then all resume.
  async function barrier(): Promise<void> {
    const raised = Date.now();
    setRunPause(s, 1);
    wakeSleepers(s); // a background actor sleeping between operations parks now, not after its pause
    let parked = false;
    while (!stopping() && Date.now() - raised < BARRIER_TIMEOUT_MS) {
      if (allParked()) {
        parked = true;
        break;
      }
      await sleep(1);
    }
    if (parked) {
      skipBackoff = 500;
      sweeps.maxParkMs = Math.max(sweeps.maxParkMs, Date.now() - raised);
      o.onBarrier?.(s);
      const t = performance.now();
      const f = sweepFinding();
      const sweepMs = performance.now() - t;
      sweeps.maxSweepMs = Math.max(sweeps.maxSweepMs, sweepMs);
      sweeps.done++;
      if (f) {
        barrierViolation = { invariant: f.invariant, message: `at a pause barrier (${((Date.now() - t0) / 1000).toFixed(2)} s): ${f.message}`, actor: -1, step: totalSteps(s) };
        claimViolation(s, 1);
        stop(s, true);
      }
      // A sweep costs time on a big state: keep it to about a tenth of the run.
      nextSweepAt = Date.now() + Math.max(sweeps.everyMs, 10 * sweepMs);
    } else {
      if (!stopping()) sweeps.skipped++;
      // Something is stuck or slow: back off (doubling, up to 30 s) rather than stall the run again.
      skipBackoff = Math.min(30_000, skipBackoff * 2);
      nextSweepAt = Date.now() + sweeps.everyMs + skipBackoff;
    }
    setRunPause(s, 0);
    // The watchdog does not count a barrier at which everyone parked; a skipped one it does (the
    // actors that did not park could have progressed, and a deadlock must be reported in time).
    if (parked) {
      lastProgressAt += Date.now() - raised;
      sweeps.watchdogExcludedMs += Date.now() - raised;
    }
  }

  // Parked actors go on (or, when the run is ending, leave at the boundary where they wait).
  // Also catches an actor that saw the barrier just before it was lowered.
  const releaseParked = () => {
    for (const h of pool.handles) if (h.state === 'parked') pool.track(h, stopping() ? h.api.stop() : h.api.resume());
  };

  while (!pool.allDone()) {
    await sleep(25);
    const now = Date.now();
    if (runViolation(s) !== 0 && runStop(s) !== 2) {
      stoppedBy = 'violation';
      stop(s, true);
    }
    if (now >= stopAt && !stopping()) {
      stop(s, false);
      stopAt = Infinity;
    }
    if (now >= nextSweepAt && !stopping()) await barrier();
    releaseParked();
    const steps = totalSteps(s);
    if (steps !== lastSteps) {
      lastSteps = steps;
      lastProgressAt = now;
    } else if (now - lastProgressAt > watchdogMs && !watchdog) {
      const live = new Set(pool.handles.filter((h) => h.state !== 'done').map((h) => h.id));
      watchdog = { invariant: 'DEADLOCK', message: `watchdog: no actor progressed for ${watchdogMs} ms: ${describeWaiters(s, model, live).join('; ')}`, actor: -1, step: steps };
      stoppedBy = 'watchdog';
      stop(s, true);
      // Blocked actors see the hard stop within their next poll; a livelocked one may not.
      const deadline = Date.now() + 500;
      while (!pool.allDone() && Date.now() < deadline) await sleep(10);
      break;
    }
    if (o.onProgress && now - lastReport >= 250) {
      lastReport = now;
      o.onProgress({ elapsedMs: now - t0, stats: collectStats(s, model, true), sweeps: sweeps.done, violations: runViolation(s) !== 0 ? 1 : 0 });
    }
  }
  await pool.close();
  o.signal?.removeEventListener('abort', onAbort);
  if (pool.errors.length) throw new Error(`worker failed: ${pool.errors[0]}`);
  let violation = pool.violation ?? barrierViolation ?? watchdog;
  const quiescent = !violation && runStop(s) !== 2;
  if (quiescent) {
    const f = sweepFinding();
    if (f) violation = { invariant: f.invariant, message: `at quiescence: ${f.message}`, actor: -1, step: totalSteps(s) };
  }
  if (violation && stoppedBy !== 'watchdog') stoppedBy = 'violation';
  const step = pool.violation?.step ?? 0;
  const recorded = step > 0 && step <= STEP_LOG_CAP ? scheduleSlice(s, step) : null;
  const opsPerActor = o.ops ?? (finite ? undefined : Infinity);
  const jitterSpins = pool.snapshots.reduce((n, x) => n + x.jitterSpins, 0);
  const stats = collectStats(s, model, true);
  applyExactTimes(stats, pool.snapshots);
  return {
    violation,
    stats,
    elapsedMs: Date.now() - t0,
    startupMs,
    stoppedBy,
    quiescent,
    workers: pool.handles.length,
    recorded,
    opsPerActor,
    sweeps,
    jitterSpins,
    workerHeapBytes: pool.snapshots.reduce((n, x) => n + x.heapUsedBytes, 0),
  };
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
  model: Model,
  decisions: readonly number[],
  o: { seed: number; variant: VariantId | null; invariants?: InvariantId[] | null; ops?: number; stop?: Int32Array },
): Promise<ThreadsReplayResult> {
  const { sc } = model;
  const s = createShm(sc, model.actors.length, Math.max(1, decisions.length));
  const t0 = Date.now();
  decisions.forEach((d, i) => setScheduleAt(s, i, d));
  setReplayStep(s, 0);
  setReplayTurn(s, decisions.length ? decisions[0] : -1);
  const pool = startWorkers(s, model, {
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
  const stopped = () => o.stop !== undefined && Atomics.load(o.stop, 0) !== 0;
  while (!pool.allDone() && !stopped()) await sleep(5);
  await pool.close();
  if (pool.errors.length && !stopped()) throw new Error(`replay on threads failed: ${pool.errors[0]}`);
  let hash = FNV_INIT;
  for (let i = 0; i < decisions.length; i++) hash = fnv(hash, (decisions[i] << 16) | traceAt(s, i));
  const steps = replayStep(s);
  let violation = pool.violation;
  if (!violation && steps === decisions.length) {
    // The sim engine's end-of-schedule checks: nobody can run -> deadlock; everyone returned -> sweep.
    const live = model.actors.map((_, id) => id).filter((id) => !actorReturned(s, id));
    if (live.length > 0 && live.every((id) => !canProceedPublished(s, id))) {
      violation = { invariant: 'DEADLOCK', message: `no actor can run: ${describeWaiters(s, model, new Set(live)).join('; ')}`, actor: -1, step: steps };
    } else if (live.length === 0) {
      const f = quiescentSweep(s, o.invariants ? new Set(o.invariants) : null);
      if (f) violation = { invariant: f.invariant, message: `at quiescence: ${f.message}`, actor: -1, step: steps };
    }
  }
  return { traceHash: hashHex(hash), steps, violation, stats: collectStats(s, model), elapsedMs: Date.now() - t0 };
}

/** Could an actor go on, from the wait it published (a stand-in context carrying only that)? */
function canProceedPublished(s: Shm, id: number): boolean {
  const w = publishedWait(s, id);
  const waitable = waitableOf(w.kind);
  if (!waitable) return true;
  return waitable.canProceed(s, { waitArg: w.arg, waitArg2: w.arg2, base: actorBaseOf(s, id) } as ActorCtx);
}
