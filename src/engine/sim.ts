// The deterministic engine: every actor is a generator on this one thread; at each step a
// seeded strategy picks one runnable actor and resumes it to its next yield point. Same scenario,
// variant and seed give the same schedule and the same trace hash.
import type { Scenario } from '../scenario/types.js';
import type { InvariantId } from '../check/invariant-ids.js';
import { quiescentSweep } from '../check/sweep.js';
import { createShm, resetShm, type Shm } from '../shm/state.js';
import { bugsFor, type VariantId } from '../variants.js';
import { actorDefs, makeCtx } from './actors.js';
import { Wait, type ActorCtx, type Gen, type Violation } from './ctx.js';
import { POINT_NAMES } from './points.js';
import { FNV_INIT, Prng, fnv, mixSeed } from './prng.js';
import { canProceed, describeWait, proceed } from './wait.js';
import { collectStats, type Stats } from './stats.js';
import { C, F_ATTR, F_SPTE_PFN, G_IN_PROGRESS, G_RANGE_END, G_RANGE_START, G_SEQ, INVALID_GFN, KVM_MEMORY_ATTRIBUTE_PRIVATE, gfnWord } from '../shm/layout.js';
import { PctStrategy, type PctParams } from './pct.js';

export interface SimOptions {
  seed: number;
  variant: VariantId | null;
  /** invariants to check; undefined = all */
  invariants?: ReadonlySet<InvariantId>;
  /** record the decision list (which actor ran at each step) */
  record?: boolean;
  /** follow this decision list instead of the random strategy */
  schedule?: ArrayLike<number>;
  /**
   * Be guided by a recorded step order (from worker threads, where steps overlap): take the
   * earliest of the next GUIDE_WINDOW unconsumed entries whose actor can run, dropping entries
   * none of which can; stop when the recording is used up.
   */
  guide?: ArrayLike<number>;
  /** keep a readable trace of the last `traceTail` steps */
  traceTail?: number;
  /** with traceTail: each line also gives the invalidation state after the step (seq, in_progress, range) */
  traceState?: boolean;
  /** operations per actor instead of the scenario's (Infinity: as a duration-bound threads run) */
  opsOverride?: number;
  /** pick by PCT priorities (seeded from `seed`) instead of uniformly at random */
  pct?: PctParams;
  /**
   * With `schedule`: an entry whose actor cannot run is skipped instead of an error, and once the
   * list is used up the run goes on without preemption (the last actor while it can run, else the
   * lowest id). What shrinking needs: any edit of a schedule is still a schedule.
   */
  lenient?: boolean;
  /** called before every pick with the runnable actors (their ids in runnable[0..n)); dfs branches on them */
  onChoice?: (step: number, runnable: Int32Array, n: number, lastYielded: boolean) => void;
  /**
   * Run on this state, reset in place first (it must come from createShm(sc), the same scenario),
   * instead of a freshly allocated one. explore passes one buffer for all its schedules; the
   * result's `s` is then that buffer, valid until the next run on it.
   */
  shm?: Shm;
  /** called after every step (traces); `to` is -1 when the actor returned */
  onStep?: (step: number, actor: number, from: number, to: number, s: Shm) => void;
}

export interface SimResult {
  seed: number;
  steps: number;
  traceHash: string;
  violation: Violation | null;
  /** the schedule was longer than scenario.maxSteps and was cut */
  cut: boolean;
  decisions: number[] | null;
  stats: Stats;
  trace: string[];
  s: Shm;
}

interface SimActor {
  ctx: ActorCtx;
  gen: Gen;
  point: number;
  done: boolean;
}

export const hashHex = (h: number) => h.toString(16).padStart(8, '0');

/** How far ahead a guided replay looks for a recorded step whose actor can run. */
export const GUIDE_WINDOW = 32;

function isRunnable(runnable: Int32Array, n: number, id: number): boolean {
  for (let k = 0; k < n; k++) if (runnable[k] === id) return true;
  return false;
}

export function runSim(sc: Scenario, o: SimOptions): SimResult {
  let s: Shm;
  if (o.shm) {
    s = o.shm;
    resetShm(s, sc);
  } else s = createShm(sc);
  let violation: Violation | null = null;
  let steps = 0;
  const enabled = o.invariants;
  const report = (ctx: ActorCtx, invariant: InvariantId, message: string) => {
    if (violation || (enabled && !enabled.has(invariant))) return;
    violation = { invariant, message, actor: ctx.id, step: steps + 1 }; // the step being taken
  };
  const bugs = bugsFor(o.variant);
  // Built by push, not Array.prototype.map: with map, optimised runSim deopted ("wrong map" on this
  // array) dozens of times per campaign in fresh pool workers.
  const defs = actorDefs(sc);
  const actors: SimActor[] = [];
  for (let id = 0; id < defs.length; id++) {
    const ctx = makeCtx(defs[id], id, { s, sc, seed: o.seed, bugs, report, stopping: () => false, opsOverride: o.opsOverride });
    actors.push({ ctx, gen: defs[id].program(ctx), point: 0, done: false });
  }
  for (const a of actors) {
    const r = a.gen.next();
    a.done = !!r.done;
    a.point = r.done ? 0 : r.value;
  }
  const rng = new Prng(mixSeed(o.seed, 0x5eed));
  const pct = o.pct ? new PctStrategy(actors.length, o.pct, new Prng(mixSeed(o.seed, 0x9c7))) : null;
  let last = -1;
  /** the last step ended in a fault retry (a yield, for PCT and the lenient continuation) */
  let lastYielded = false;
  const decisions: number[] | null = o.record ? [] : null;
  const traceTail = o.traceTail ?? 0;
  // The tail is kept as numbers (step, actor, from, to, seq, in_progress, range start, end) and only formatted at the end.
  const W = 13;
  const ring = new Int32Array(traceTail * W);
  // Per step: which actors can run (ids in the first nRunnable entries). A typed array, not a JS
  // array truncated and pushed each step.
  const runnable = new Int32Array(actors.length);
  let nRunnable = 0;
  const guideUsed = new Uint8Array(o.guide ? o.guide.length : 0);
  let guidePos = 0;
  let schedPos = 0;
  let hash = FNV_INIT;
  let cut = false;
  const i32 = s.i32;
  const stepsWord = C.steps;

  for (;;) {
    nRunnable = 0;
    let live = 0;
    for (let i = 0; i < actors.length; i++) {
      const a = actors[i];
      if (a.done) continue;
      live++;
      const ctx = a.ctx;
      if (ctx.wait === Wait.None || canProceed(s, ctx)) runnable[nRunnable++] = i;
    }
    if (live === 0) break;
    if (nRunnable === 0) {
      const waits = actors.filter((a) => !a.done).map((a) => `${a.ctx.name} waits for ${describeWait(a.ctx.wait, a.ctx.waitArg, s)} at ${POINT_NAMES[a.point]}`);
      if (!enabled || enabled.has('DEADLOCK')) violation = { invariant: 'DEADLOCK', message: `no actor can run: ${waits.join('; ')}`, actor: -1, step: steps };
      break;
    }
    if (steps >= sc.maxSteps) {
      cut = true;
      break;
    }
    if (o.onChoice) o.onChoice(steps, runnable, nRunnable, lastYielded);
    let pick: number;
    if (o.guide) {
      pick = -1;
      // When no entry in the window can run here, the oldest is a step this serialised run does not
      // have (threads overlap steps; e.g. a retry loop that went another way): drop it, look again.
      while (pick < 0 && guidePos < o.guide.length) {
        for (let k = 0, seen = 0; guidePos + k < o.guide.length && seen < GUIDE_WINDOW; k++) {
          if (guideUsed[guidePos + k]) continue;
          seen++;
          if (isRunnable(runnable, nRunnable, o.guide[guidePos + k])) {
            pick = o.guide[guidePos + k];
            guideUsed[guidePos + k] = 1;
            break;
          }
        }
        if (pick < 0) guideUsed[guidePos] = 1;
        while (guidePos < o.guide.length && guideUsed[guidePos]) guidePos++;
      }
      if (pick < 0) break;
    } else if (o.schedule && o.lenient) {
      pick = -1;
      while (schedPos < o.schedule.length && pick < 0) {
        const want = o.schedule[schedPos++];
        if (isRunnable(runnable, nRunnable, want)) pick = want;
      }
      if (pick < 0) {
        // No preemption: the last actor goes on, unless it blocked, returned, or yielded (its step
        // ended in a fault retry: a spin waiting for someone else); then the lowest other id.
        if (last >= 0 && !lastYielded && isRunnable(runnable, nRunnable, last)) pick = last;
        else {
          pick = runnable[0];
          for (let k = 0; k < nRunnable; k++) {
            if (runnable[k] !== last) {
              pick = runnable[k];
              break;
            }
          }
        }
      }
    } else if (o.schedule) {
      if (steps >= o.schedule.length) break;
      pick = o.schedule[steps];
      if (!isRunnable(runnable, nRunnable, pick)) throw new Error(`schedule diverged at step ${steps}: actor ${pick} cannot run`);
    } else if (pct) {
      pick = pct.pick(runnable, nRunnable);
    } else {
      pick = nRunnable === 1 ? runnable[0] : runnable[rng.below(nRunnable)];
    }
    const a = actors[pick];
    const ctx = a.ctx;
    if (ctx.wait !== Wait.None) proceed(s, ctx);
    const from = a.point;
    const retriesBefore = i32[ctx.base + C.retries];
    const r = a.gen.next();
    steps++;
    i32[ctx.base + stepsWord]++;
    last = pick;
    lastYielded = i32[ctx.base + C.retries] !== retriesBefore;
    if (pct) pct.after(pick, steps, lastYielded);
    if (r.done) {
      a.done = true;
      a.point = 0;
    } else {
      a.point = r.value;
    }
    hash = fnv(hash, (pick << 16) | a.point);
    if (o.onStep) o.onStep(steps, pick, from, r.done ? -1 : a.point, s);
    if (decisions) decisions.push(pick);
    if (traceTail > 0) {
      const at = ((steps - 1) % traceTail) * W;
      ring[at] = steps;
      ring[at + 1] = pick;
      ring[at + 2] = from;
      ring[at + 3] = r.done ? -1 : a.point;
      if (o.traceState) {
        ring[at + 4] = i32[G_SEQ];
        ring[at + 5] = i32[G_IN_PROGRESS];
        ring[at + 6] = i32[G_RANGE_START];
        ring[at + 7] = i32[G_RANGE_END];
        // the stepping vCPU's fault: gfn, its attribute now, the seq it snapshotted, the pfn it resolved, the SPTE now
        const f = actors[pick].ctx.fault;
        ring[at + 8] = f && f.slot >= 0 ? f.gfn : -1; // before its first fault a vCPU has nothing to show
        if (f) {
          ring[at + 9] = i32[gfnWord(s.l, f.gfn, F_ATTR)] & KVM_MEMORY_ATTRIBUTE_PRIVATE;
          ring[at + 10] = f.mmuSeq;
          ring[at + 11] = f.pfn;
          ring[at + 12] = i32[gfnWord(s.l, f.gfn, F_SPTE_PFN)] - 1;
        }
      }
    }
    if (violation) break;
  }
  if (!violation && !cut && actors.every((a) => a.done)) {
    const f = quiescentSweep(s).find((x) => !enabled || enabled.has(x.invariant));
    if (f) violation = { invariant: f.invariant, message: `at quiescence: ${f.message}`, actor: -1, step: steps };
  }
  const trace: string[] = [];
  for (let k = Math.max(0, steps - traceTail); k < steps; k++) {
    const at = (k % traceTail) * W;
    const to = ring[at + 3];
    let line = `${ring[at]}: ${actors[ring[at + 1]].ctx.name} ${POINT_NAMES[ring[at + 2]]} -> ${to < 0 ? 'done' : POINT_NAMES[to]}`;
    if (o.traceState) {
      const range = ring[at + 6] === INVALID_GFN ? 'none' : `[${ring[at + 6]}, ${ring[at + 7]})`;
      line += `  | seq ${ring[at + 4]}, in_progress ${ring[at + 5]}, range ${range}`;
      if (ring[at + 8] >= 0) {
        const spte = ring[at + 12] < 0 ? 'none' : `pfn ${ring[at + 12]}`;
        line += ` | gfn ${ring[at + 8]} ${ring[at + 9] ? 'private' : 'shared'}, snapshot seq ${ring[at + 10]}, resolved ${ring[at + 11] < 0 ? 'no pfn' : `pfn ${ring[at + 11]}`}, SPTE ${spte}`;
      }
    }
    trace.push(line);
  }
  return { seed: o.seed, steps, traceHash: hashHex(hash), violation, cut, decisions, stats: collectStats(s, sc), trace, s };
}
