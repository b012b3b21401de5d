// One actor on its own worker thread, over the shared state. Free-running (the OS interleaves
// actors; blocking yields wait on Atomics) or following a recorded schedule (a turn word in the
// shared state says whose step it is, so the same code takes the same steps as under sim).
// Controlled through comlink (engine/actor_api.ts): start, resume after a pause barrier, stop,
// snapshot.
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { makeCtx, type ActorDef } from '../src/engine/model.js';
import { addUs, type ActorCtx, type Violation } from '../src/engine/ctx.js';
import { Fiber } from '../src/engine/fiber.js';
import { PARK, StopError } from '../src/engine/wait.js';
import { invariantIndex, type InvariantId } from '../src/check/invariants.js';
import { checkerEvents } from '../src/check/checker.js';
import { attachShm, type Shm } from '../src/shm/state.js';
import { Ctr, actorCounter, clearWait, counterAdd, publishWait, setActorReturned } from '../src/shm/actor.js';
import { arriveAtStartGate, claimViolation, replayStep, replayTurn, runPause, runStop, scheduleAt, setReplayStep, setReplayTurn, setRunStop, setScheduleAt, setTraceAt, takeLogStep, waitTurnChange } from '../src/shm/run.js';
import { lockdepAssertNoneHeld } from '../src/sync/lockdep.js';
import { bugsFor } from '../src/variants.js';
import { actorDefs } from '../src/workload/kinds.js';
import { Prng, mixSeed } from '../src/engine/prng.js';
import { nodeEndpoint } from '../src/engine/comlink_node.js';
import type { ActorApi, ActorRunState, ActorSnapshot, WorkerInput } from '../src/engine/actor_api.js';

// Jitter: at a random share of yield points, spin a random while, widening race windows. Its own
// PRNG, so the actor's workload choices are the same with or without it.
const JITTER_CHANCE = [0, 0.05, 0.2, 0.5];
const JITTER_SPINS = [0, 200, 800, 3200];

/** Steps every actor has counted (each its own counter): the run's steps so far, give or take the ones under way. */
function stepsCounted(s: Shm): number {
  let t = 0;
  for (let id = 0; id < s.l.nActors; id++) t += actorCounter(s, id, Ctr.steps);
  return t;
}

class Actor {
  private readonly s: Shm;
  private readonly a: Int32Array;
  private readonly def: ActorDef;
  private readonly ctx: ActorCtx;
  private readonly replay: boolean;
  private readonly jitterRng: Prng;
  private gen: Fiber<void> | null = null;
  private r: IteratorResult<number, void> = { done: false, value: 0 };
  private violation: Violation | null = null;
  private stopRequested = false;
  /** the global step this actor is taking (1-based), as recorded in the step log */
  private curStep = 0;
  /**
   * The step log is full (STEP_LOG_CAP steps): a violation from here on has no recording, so the
   * shared step counter is no longer taken (one contended Atomics.add per step, on a line every
   * worker writes) and a violation's step is the actors' steps counted so far.
   */
  private logFull = false;
  private parkedAt = 0;
  private parks = 0;
  private parkedMs = 0;
  private jitterSpins = 0;
  jitterSink = 0;

  constructor(private readonly input: WorkerInput) {
    const s = (this.s = attachShm(input.sab, input.layout));
    this.a = s.i32;
    this.replay = input.mode === 'replay';
    this.jitterRng = new Prng(mixSeed(input.seed ^ 0x6a177e, input.actor));
    const defs = actorDefs(input.scenario);
    this.def = defs[input.actor];
    const enabled = input.invariants ? new Set<InvariantId>(input.invariants) : undefined;
    const replay = this.replay;
    this.ctx = makeCtx(this.def, input.actor, {
      s,
      sc: input.scenario,
      seed: input.seed,
      variant: input.variant,
      bugs: bugsFor(input.variant),
      ev: checkerEvents(enabled),
      names: defs.map((d) => d.name),
      lockdepStacks: true, // a new lock dependency is rare on threads; its report names the functions
      report: (c, invariant, message) => {
        if (enabled && !enabled.has(invariant)) return;
        // The first violation wins; the rest of the run is stopped.
        if (!claimViolation(s, invariantIndex(invariant) + 1)) return;
        // Steps are numbered from 1, as under sim (free mode: the global step this actor is taking).
        this.violation = { invariant, message, actor: c.id, step: replay ? replayStep(s) + 1 : this.logFull ? Math.max(s.l.scheduleWords + 1, stepsCounted(s) + 1) : this.curStep }; // past the log: no recording
        if (!replay) setRunStop(s, 2);
      },
      stopping: replay ? () => false : () => this.stopRequested || runStop(s) !== 0,
      parking: replay ? undefined : () => runPause(s) !== 0,
      opsOverride: input.ops === 'scenario' ? undefined : replay ? input.ops : (input.ops ?? Infinity),
      clock: replay ? null : () => performance.now() - t0,
      pauseMs: replay ? 0 : input.pauseMs,
    });
  }

  start(): ActorRunState {
    this.gen = this.ctx.fiber = new Fiber(this.def.program(this.ctx));
    this.r = this.gen.next(); // to the first yield point ('start'): touches nothing shared, as the sim engine primes actors
    if (!this.replay) arriveAtStartGate(this.s);
    return this.guard(() => (this.replay ? this.runReplay() : this.runFree()));
  }

  resume(): ActorRunState {
    if (this.ctx.wait !== PARK) throw new Error(`${this.ctx.name}: resume while not parked`);
    this.parkedMs += performance.now() - this.parkedAt;
    this.ctx.wait = null;
    clearWait(this.s, this.ctx.base);
    // The rest of the step that reached the park: no new global step (under sim it is one step).
    return this.guard(() => {
      this.r = this.gen!.next();
      return this.runFree();
    });
  }

  stop(): ActorRunState {
    this.stopRequested = true;
    return this.ctx.wait === PARK ? this.resume() : { state: 'done', violation: this.violation };
  }

  snapshot(): ActorSnapshot {
    return {
      actor: this.input.actor,
      parks: this.parks,
      parkedMs: this.parkedMs,
      jitterSpins: this.jitterSpins,
      heapUsedBytes: process.memoryUsage().heapUsed,
      exactUs: this.ctx.usAcc ? Array.from(this.ctx.usAcc) : [],
    };
  }

  private guard(run: () => 'parked' | 'done'): ActorRunState {
    let state: 'parked' | 'done';
    try {
      state = run();
    } catch (e) {
      if (!(e instanceof StopError)) throw e;
      state = 'done';
    }
    if (state === 'done' && this.r.done) lockdepAssertNoneHeld(this.ctx, 'returned');
    if (state === 'done' && (this.r.done || !this.replay)) setActorReturned(this.s, this.ctx.base);
    return { state, violation: this.violation };
  }

  private publishWait(): void {
    const { s, ctx } = this;
    publishWait(s, ctx.base, ctx.wait ? ctx.wait.id : 0, ctx.waitArg, ctx.waitArg2);
  }

  private jitter(): void {
    const level = this.input.jitter;
    if (!level || !this.jitterRng.chance(JITTER_CHANCE[level])) return;
    this.jitterSpins++;
    for (let i = this.jitterRng.below(JITTER_SPINS[level]); i > 0; i--) this.jitterSink += i & 1;
  }

  // Each step takes the next global step number (one Atomics.add) and logs this actor there: the
  // order in which actors started their steps, which the sim engine can replay.
  private runFree(): 'parked' | 'done' {
    const { s, ctx } = this;
    const gen = this.gen!;
    const cap = s.l.scheduleWords;
    const me = this.input.actor;
    const jitter = this.input.jitter > 0;
    const aborting = () => runStop(s) === 2;
    for (;;) {
      if (this.r.done) return 'done';
      const w = ctx.wait;
      if (w === PARK) {
        this.publishWait();
        this.parks++;
        this.parkedAt = performance.now();
        return 'parked';
      }
      if (w !== null) {
        this.publishWait();
        // mmu_lock acquisitions are timed, by mode, whichever lock build the scenario uses
        const read = w === ctx.mmuLock.read;
        const mmu = read || w === ctx.mmuLock.write;
        const t = mmu ? performance.now() : 0;
        const contended = w.block(s, ctx, aborting);
        ctx.wait = null;
        if (mmu) {
          ctx.mmuLockedAt = performance.now();
          counterAdd(s, ctx.base, read ? Ctr.mmuReadAcquires : Ctr.mmuWriteAcquires);
          addUs(ctx, read ? Ctr.mmuReadWaitUs : Ctr.mmuWriteWaitUs, (ctx.mmuLockedAt - t) * 1000);
          if (contended) counterAdd(s, ctx.base, Ctr.mmuReadContended, contended);
        }
        clearWait(s, ctx.base);
      }
      if (aborting()) return 'done';
      if (jitter) this.jitter();
      if (!this.logFull) {
        const i = takeLogStep(s);
        if (i < cap) setScheduleAt(s, i, me);
        else this.logFull = true;
        this.curStep = i + 1;
      }
      this.r = gen.next();
      ctx.spun = false;
      counterAdd(s, ctx.base, Ctr.steps);
    }
  }

  /** Wait for our turn; false when the schedule is over. */
  private awaitTurn(): boolean {
    for (let i = 0; ; i++) {
      const t = replayTurn(this.s);
      if (t === this.input.actor) return true;
      if (t < 0) return false;
      if (i > 200) waitTurnChange(this.s, t, 100);
    }
  }

  private runReplay(): 'done' {
    const { s, ctx } = this;
    const gen = this.gen!;
    if (this.r.done) return 'done';
    const n = this.input.scheduleLength;
    while (this.awaitTurn()) {
      const step = replayStep(s);
      if (ctx.wait !== null) {
        if (!ctx.wait.canProceed(s, ctx)) throw new Error(`replay diverged at step ${step}: ${ctx.name} scheduled but blocked`);
        ctx.wait.proceed(s, ctx);
        ctx.wait = null;
      }
      this.r = gen.next();
      ctx.spun = false;
      counterAdd(s, ctx.base, Ctr.steps);
      setTraceAt(s, step, this.r.done ? 0 : this.r.value);
      if (ctx.wait !== null) this.publishWait();
      else clearWait(s, ctx.base);
      setReplayStep(s, step + 1);
      setReplayTurn(s, step + 1 < n ? scheduleAt(s, step + 1) : -1);
      if (this.r.done) return 'done';
    }
    return 'done';
  }
}

const t0 = performance.now();
let actor: Actor | null = null;
const need = () => {
  if (!actor) throw new Error('actor worker: start() first');
  return actor;
};
const api: ActorApi = {
  start(input) {
    if (actor) throw new Error('actor worker: already started');
    actor = new Actor(input);
    return actor.start();
  },
  resume: () => need().resume(),
  stop: () => need().stop(),
  snapshot: () => need().snapshot(),
};
Comlink.expose(api, nodeEndpoint(parentPort!));
