// One actor on its own worker thread, over the shared state. Free-running (the OS interleaves
// actors; blocking yields wait on Atomics) or following a recorded schedule (a turn word in the
// shared state says whose step it is, so the same code takes the same steps as under sim).
import { parentPort, workerData } from 'node:worker_threads';
import { actorDefs, makeCtx } from '../src/engine/actors.js';
import { Wait, type ActorCtx } from '../src/engine/ctx.js';
import { canProceed, proceed, waitBlocking } from '../src/engine/wait.js';
import { invariantIndex, type InvariantId } from '../src/check/invariant-ids.js';
import { attachShm } from '../src/shm/state.js';
import { A_RETURNED, A_WAIT_ARG, A_WAIT_ARG2, A_WAIT_KIND, C, G_LOG_STEP, G_MMU_LOCK, G_STEP, G_STOP, G_TURN, G_VIOLATION } from '../src/shm/layout.js';
import { StopError } from '../src/sync/locks.js';
import { bugsFor } from '../src/variants.js';
import { Prng, mixSeed } from '../src/engine/prng.js';
import type { WorkerInput, WorkerMessage } from '../src/engine/threads.js';

const input = workerData as WorkerInput;
const s = attachShm(input.sab, input.layout);
const a = s.i32;
const post = (m: WorkerMessage) => parentPort!.postMessage(m);
const replay = input.mode === 'replay';
const enabled = input.invariants ? new Set<InvariantId>(input.invariants) : null;
const t0 = Date.now();

const def = actorDefs(input.scenario)[input.actor];
const ctx: ActorCtx = makeCtx(def, input.actor, {
  s,
  sc: input.scenario,
  seed: input.seed,
  bugs: bugsFor(input.variant),
  report: (c, invariant, message) => {
    if (enabled && !enabled.has(invariant)) return;
    // The first violation wins; the rest of the run is stopped.
    if (Atomics.compareExchange(a, G_VIOLATION, 0, invariantIndex(invariant) + 1) !== 0) return;
    // Steps are numbered from 1, as under sim (free mode: the global step this actor is taking).
    post({ type: 'violation', invariant, message, actor: c.id, step: replay ? Atomics.load(a, G_STEP) + 1 : curStep, elapsedMs: Date.now() - t0 });
    if (!replay) {
      Atomics.store(a, G_STOP, 2);
      Atomics.notify(a, G_STOP);
    }
  },
  stopping: replay ? () => false : () => Atomics.load(a, G_STOP) !== 0,
  opsOverride: input.ops === 'scenario' ? undefined : replay ? input.ops : (input.ops ?? Infinity),
  clock: replay ? null : () => Date.now() - t0,
  pauseMs: replay ? 0 : input.pauseMs,
});
const aborting = () => Atomics.load(a, G_STOP) === 2;

function publishWait(): void {
  a[ctx.base + A_WAIT_ARG] = ctx.waitArg;
  a[ctx.base + A_WAIT_ARG2] = ctx.waitArg2;
  Atomics.store(a, ctx.base + A_WAIT_KIND, ctx.wait);
}

// Jitter: at a random share of yield points, spin a random while, widening race windows. Its own
// PRNG, so the actor's workload choices are the same with or without it.
const JITTER_CHANCE = [0, 0.05, 0.2, 0.5];
const JITTER_SPINS = [0, 200, 800, 3200];
const jitterRng = new Prng(mixSeed(input.seed ^ 0x6a177e, input.actor));
let jitterSink = 0;
function jitter(): void {
  if (!input.jitter || !jitterRng.chance(JITTER_CHANCE[input.jitter])) return;
  for (let i = jitterRng.below(JITTER_SPINS[input.jitter]); i > 0; i--) jitterSink += i & 1;
}

/** The global step this actor is taking (1-based), as recorded in the step log. */
let curStep = 0;

// Each step takes the next global step number (one Atomics.add) and logs this actor there: the
// order in which actors started their steps, which the sim engine can replay.
function runFree(): void {
  const gen = def.program(ctx);
  let r = gen.next(); // to the first yield point ('start'), as the sim engine primes actors
  const cap = s.l.scheduleWords;
  for (;;) {
    if (r.done) return;
    if (ctx.wait !== Wait.None) {
      publishWait();
      const mmu = ctx.waitArg === G_MMU_LOCK && (ctx.wait === Wait.Read || ctx.wait === Wait.Write) ? ctx.wait : 0;
      const t = mmu ? performance.now() : 0;
      waitBlocking(s, ctx, aborting);
      if (mmu) {
        ctx.mmuLockedAt = performance.now();
        const [n, waitUs] = mmu === Wait.Read ? [C.mmuReadAcquires, C.mmuReadWaitUs] : [C.mmuWriteAcquires, C.mmuWriteWaitUs];
        a[ctx.base + n]++;
        a[ctx.base + waitUs] += Math.round((ctx.mmuLockedAt - t) * 1000);
      }
      Atomics.store(a, ctx.base + A_WAIT_KIND, 0);
    }
    if (aborting()) return;
    jitter();
    const i = Atomics.add(a, G_LOG_STEP, 1);
    if (i < cap) a[s.l.scheduleBase + i] = input.actor;
    curStep = i + 1;
    r = gen.next();
    a[ctx.base + C.steps]++;
  }
}

/** Wait for our turn; false when the schedule is over. */
function awaitTurn(): boolean {
  for (let i = 0; ; i++) {
    const t = Atomics.load(a, G_TURN);
    if (t === input.actor) return true;
    if (t < 0) return false;
    if (i > 200) Atomics.wait(a, G_TURN, t, 100);
  }
}

function runReplay(): void {
  const gen = def.program(ctx);
  let r = gen.next(); // to the first yield point ('start'): touches nothing shared
  if (r.done) return;
  const n = input.scheduleLength;
  while (awaitTurn()) {
    const step = Atomics.load(a, G_STEP);
    if (ctx.wait !== Wait.None) {
      if (!canProceed(s, ctx)) throw new Error(`replay diverged at step ${step}: ${ctx.name} scheduled but blocked`);
      proceed(s, ctx);
    }
    r = gen.next();
    a[ctx.base + C.steps]++;
    Atomics.store(a, s.l.traceBase + step, r.done ? 0 : r.value);
    if (ctx.wait !== Wait.None) publishWait();
    else Atomics.store(a, ctx.base + A_WAIT_KIND, 0);
    Atomics.store(a, G_STEP, step + 1);
    Atomics.store(a, G_TURN, step + 1 < n ? Atomics.load(a, s.l.scheduleBase + step + 1) : -1);
    Atomics.notify(a, G_TURN);
    if (r.done) {
      replayReturned = true;
      return;
    }
  }
}
let replayReturned = false;

try {
  if (replay) runReplay();
  else runFree();
  if (replayReturned || !replay) Atomics.store(a, ctx.base + A_RETURNED, 1);
  post({ type: 'done', actor: input.actor });
} catch (e) {
  if (e instanceof StopError) post({ type: 'done', actor: input.actor });
  else post({ type: 'error', actor: input.actor, message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
