// One actor on its own worker thread, over the shared state. Free-running (the OS interleaves
// actors; blocking yields wait on Atomics) or following a recorded schedule (a turn word in the
// shared state says whose step it is, so the same code takes the same steps as under sim).
// Controlled through comlink (engine/actor_api.ts): start, resume after a pause barrier, stop,
// snapshot.
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { actorDefs, makeCtx, type ActorDef } from '../src/engine/actors.js';
import { addUs, Wait, type ActorCtx, type Gen, type Violation } from '../src/engine/ctx.js';
import { canProceed, proceed, waitBlocking } from '../src/engine/wait.js';
import { invariantIndex, type InvariantId } from '../src/check/invariant-ids.js';
import { attachShm, type Shm } from '../src/shm/state.js';
import { A_RETURNED, A_WAIT_ARG, A_WAIT_ARG2, A_WAIT_KIND, C, G_LOG_STEP, G_MMU_LOCK, G_PAUSE, G_STEP, G_STOP, G_TURN, G_VIOLATION } from '../src/shm/layout.js';
import { StopError } from '../src/sync/locks.js';
import { bugsFor } from '../src/variants.js';
import { Prng, mixSeed } from '../src/engine/prng.js';
import { nodeEndpoint } from '../src/engine/comlink_node.js';
import type { ActorApi, ActorRunState, ActorSnapshot, WorkerInput } from '../src/engine/actor_api.js';

// Jitter: at a random share of yield points, spin a random while, widening race windows. Its own
// PRNG, so the actor's workload choices are the same with or without it.
const JITTER_CHANCE = [0, 0.05, 0.2, 0.5];
const JITTER_SPINS = [0, 200, 800, 3200];
/** mmu_lock acquisitions are timed, by mode, whichever lock build the scenario uses */
const MMU_MODE = new Int32Array(16);
MMU_MODE[Wait.Read] = MMU_MODE[Wait.BrRead] = Wait.Read;
MMU_MODE[Wait.Write] = MMU_MODE[Wait.BrWrite] = Wait.Write;

class Actor {
  private readonly s: Shm;
  private readonly a: Int32Array;
  private readonly def: ActorDef;
  private readonly ctx: ActorCtx;
  private readonly replay: boolean;
  private readonly jitterRng: Prng;
  private gen: Gen | null = null;
  private r: IteratorResult<number, void> = { done: false, value: 0 };
  private violation: Violation | null = null;
  private stopRequested = false;
  /** the global step this actor is taking (1-based), as recorded in the step log */
  private curStep = 0;
  private parkedAt = 0;
  private parks = 0;
  private parkedMs = 0;
  private jitterSpins = 0;
  jitterSink = 0;

  constructor(private readonly input: WorkerInput) {
    this.s = attachShm(input.sab, input.layout);
    const a = (this.a = this.s.i32);
    this.replay = input.mode === 'replay';
    this.jitterRng = new Prng(mixSeed(input.seed ^ 0x6a177e, input.actor));
    this.def = actorDefs(input.scenario)[input.actor];
    const enabled = input.invariants ? new Set<InvariantId>(input.invariants) : null;
    const replay = this.replay;
    this.ctx = makeCtx(this.def, input.actor, {
      s: this.s,
      sc: input.scenario,
      seed: input.seed,
      bugs: bugsFor(input.variant),
      report: (c, invariant, message) => {
        if (enabled && !enabled.has(invariant)) return;
        // The first violation wins; the rest of the run is stopped.
        if (Atomics.compareExchange(a, G_VIOLATION, 0, invariantIndex(invariant) + 1) !== 0) return;
        // Steps are numbered from 1, as under sim (free mode: the global step this actor is taking).
        this.violation = { invariant, message, actor: c.id, step: replay ? Atomics.load(a, G_STEP) + 1 : this.curStep };
        if (!replay) {
          Atomics.store(a, G_STOP, 2);
          Atomics.notify(a, G_STOP);
        }
      },
      stopping: replay ? () => false : () => this.stopRequested || Atomics.load(a, G_STOP) !== 0,
      parking: replay ? undefined : () => Atomics.load(a, G_PAUSE) !== 0,
      opsOverride: input.ops === 'scenario' ? undefined : replay ? input.ops : (input.ops ?? Infinity),
      clock: replay ? null : () => performance.now() - t0,
      pauseMs: replay ? 0 : input.pauseMs,
    });
  }

  start(): ActorRunState {
    this.gen = this.def.program(this.ctx);
    this.r = this.gen.next(); // to the first yield point ('start'): touches nothing shared, as the sim engine primes actors
    return this.guard(() => (this.replay ? this.runReplay() : this.runFree()));
  }

  resume(): ActorRunState {
    if (this.ctx.wait !== Wait.Park) throw new Error(`${this.ctx.name}: resume while not parked`);
    this.parkedMs += performance.now() - this.parkedAt;
    this.ctx.wait = Wait.None;
    Atomics.store(this.a, this.ctx.base + A_WAIT_KIND, 0);
    // The rest of the step that reached the park: no new global step (under sim it is one step).
    return this.guard(() => {
      this.r = this.gen!.next();
      return this.runFree();
    });
  }

  stop(): ActorRunState {
    this.stopRequested = true;
    return this.ctx.wait === Wait.Park ? this.resume() : { state: 'done', violation: this.violation };
  }

  snapshot(): ActorSnapshot {
    return {
      actor: this.input.actor,
      parks: this.parks,
      parkedMs: this.parkedMs,
      jitterSpins: this.jitterSpins,
      heapUsedBytes: process.memoryUsage().heapUsed,
      exactUs: Array.from(this.ctx.usAcc),
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
    if (state === 'done' && (this.r.done || !this.replay)) Atomics.store(this.a, this.ctx.base + A_RETURNED, 1);
    return { state, violation: this.violation };
  }

  private publishWait(): void {
    const { a, ctx } = this;
    a[ctx.base + A_WAIT_ARG] = ctx.waitArg;
    a[ctx.base + A_WAIT_ARG2] = ctx.waitArg2;
    Atomics.store(a, ctx.base + A_WAIT_KIND, ctx.wait);
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
    const { a, s, ctx } = this;
    const gen = this.gen!;
    const cap = s.l.scheduleWords;
    const log = s.l.scheduleBase;
    const me = this.input.actor;
    const jitter = this.input.jitter > 0;
    const stepsWord = ctx.base + C.steps;
    const aborting = () => Atomics.load(a, G_STOP) === 2;
    for (;;) {
      if (this.r.done) return 'done';
      if (ctx.wait === Wait.Park) {
        this.publishWait();
        this.parks++;
        this.parkedAt = performance.now();
        return 'parked';
      }
      if (ctx.wait !== Wait.None) {
        this.publishWait();
        const mmu = ctx.waitArg === G_MMU_LOCK ? MMU_MODE[ctx.wait] : 0;
        const t = mmu ? performance.now() : 0;
        const contended = waitBlocking(s, ctx, aborting);
        if (mmu) {
          ctx.mmuLockedAt = performance.now();
          const read = mmu === Wait.Read;
          a[ctx.base + (read ? C.mmuReadAcquires : C.mmuWriteAcquires)]++;
          addUs(ctx, read ? C.mmuReadWaitUs : C.mmuWriteWaitUs, (ctx.mmuLockedAt - t) * 1000);
          if (contended) a[ctx.base + C.mmuReadContended] += contended;
        }
        Atomics.store(a, ctx.base + A_WAIT_KIND, 0);
      }
      if (aborting()) return 'done';
      if (jitter) this.jitter();
      const i = Atomics.add(a, G_LOG_STEP, 1) >>> 0; // unsigned: a long run passes 2^31 steps
      if (i < cap) a[log + i] = me;
      this.curStep = i + 1;
      this.r = gen.next();
      a[stepsWord]++;
    }
  }

  /** Wait for our turn; false when the schedule is over. */
  private awaitTurn(): boolean {
    const a = this.a;
    for (let i = 0; ; i++) {
      const t = Atomics.load(a, G_TURN);
      if (t === this.input.actor) return true;
      if (t < 0) return false;
      if (i > 200) Atomics.wait(a, G_TURN, t, 100);
    }
  }

  private runReplay(): 'done' {
    const { a, s, ctx } = this;
    const gen = this.gen!;
    if (this.r.done) return 'done';
    const n = this.input.scheduleLength;
    while (this.awaitTurn()) {
      const step = Atomics.load(a, G_STEP);
      if (ctx.wait !== Wait.None) {
        if (!canProceed(s, ctx)) throw new Error(`replay diverged at step ${step}: ${ctx.name} scheduled but blocked`);
        proceed(s, ctx);
      }
      this.r = gen.next();
      a[ctx.base + C.steps]++;
      Atomics.store(a, s.l.traceBase + step, this.r.done ? 0 : this.r.value);
      if (ctx.wait !== Wait.None) this.publishWait();
      else Atomics.store(a, ctx.base + A_WAIT_KIND, 0);
      Atomics.store(a, G_STEP, step + 1);
      Atomics.store(a, G_TURN, step + 1 < n ? Atomics.load(a, s.l.scheduleBase + step + 1) : -1);
      Atomics.notify(a, G_TURN);
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
