// What an engine runs: a model, i.e. the scenario (the state's size and settings) and the actors,
// each a program and how it is set up. Scenarios become models in workload/kinds.ts; a test can
// hand an engine ad-hoc programs (runSim({ sc, actors: [...] }, ...), as loom's model()).
import type { Scenario } from '../scenario/types.js';
import type { Shm } from '../shm/state.js';
import { bugsFor, type Bugs, type VariantId } from '../variants.js';
import { checkerEvents } from '../check/checker.js';
import { selectAlternatives } from '../alternatives.js';
import { actorBase } from '../shm/actor.js';
import { mmuLockFor } from '../sync/ops.js';
import { newLockdep } from '../sync/lockdep.js';
import { numaCtxFor } from '../mm/policy.js';
import type { ActorCtx, Gen } from './ctx.js';
import type { KernelEvents } from './events.js';
import type { InvariantId } from '../check/invariants.js';
import { Prng, mixSeed } from './prng.js';

export interface ActorDef {
  /** the actor's kind, e.g. 'vcpu' (what reports group by) */
  kind: string;
  /** index among actors of its kind */
  index: number;
  name: string;
  program: (ctx: ActorCtx) => Gen;
  /** operations under sim (Infinity: until the others are done) */
  ops: number;
  /** the operation count is its own (the VMM's): an override (--ops, a threads duration) does not apply */
  fixedOps?: boolean;
  /** NUMA node it runs on (numa_node_id()) */
  node: number;
  /** threads engine: its pause between operations for a given --pause-ms (0: none) */
  pauseMs: (base: number) => number;
  /** an actor with no operation boundary: when it counts as parked for a pause barrier (threads) */
  idle?: (s: Shm) => boolean;
}

export interface Model {
  sc: Scenario;
  actors: ActorDef[];
}

export interface CtxOptions {
  s: Shm;
  sc: Scenario;
  seed: number;
  variant: VariantId | null;
  bugs: Bugs;
  /** the checkers' subscriptions (check/checker.ts) */
  ev: KernelEvents;
  report: (ctx: ActorCtx, invariant: InvariantId, message: string) => void;
  stopping: () => boolean;
  /** every actor's name, by id */
  names: readonly string[];
  /** threads engine: the pause barrier is up (default: never) */
  parking?: () => boolean;
  /** override the per-actor op counts (threads: Infinity until --duration ends, or --ops) */
  opsOverride?: number;
  clock?: (() => number) | null;
  pauseMs?: number;
  /** lockdep records the kernel functions on the way to each new lock dependency (costly: off in explore's hot loop) */
  lockdepStacks?: boolean;
}

const never = () => false;

export function makeCtx(def: ActorDef, id: number, o: CtxOptions): ActorCtx {
  const ctx: ActorCtx = {
    id,
    kind: def.kind,
    index: def.index,
    name: def.name,
    actorNames: o.names,
    s: o.s,
    rng: new Prng(mixSeed(o.seed, (o.sc.actorStreams?.[id] ?? id) + 1)),
    bugs: o.bugs,
    alt: selectAlternatives(o.variant),
    ev: o.ev,
    wait: null,
    waitArg: 0,
    waitArg2: 0,
    spun: false,
    stopping: o.stopping,
    parking: o.parking ?? never,
    report: (inv, msg) => o.report(ctx, inv, msg),
    base: actorBase(o.s, id),
    sc: o.sc,
    opsLimit: def.fixedOps ? def.ops : (o.opsOverride ?? def.ops),
    clock: o.clock ?? null,
    pauseMs: def.pauseMs(o.pauseMs ?? 0),
    numa: numaCtxFor(o.sc, def.node, !o.bugs.N1),
    mmuLock: mmuLockFor(o.s.l.mmuLock),
    lockdep: newLockdep(o.lockdepStacks ?? false),
    locksHeld: 0,
    mmuLockedAt: -1,
    usAcc: null,
    invBegan: [],
    fault: null,
    taskWork: null,
    fiber: null,
  };
  return ctx;
}

/** Contexts for every actor of a model over state `s` (the engines make their own; tests and benchmarks drive these by hand). */
export function makeCtxs(model: Model, s: Shm, o: { seed: number; variant: VariantId | null; invariants?: ReadonlySet<InvariantId>; report: CtxOptions['report']; lockdepStacks?: boolean }): ActorCtx[] {
  const names = model.actors.map((d) => d.name);
  const bugs = bugsFor(o.variant);
  const ev = checkerEvents(o.invariants);
  return model.actors.map((def, id) => makeCtx(def, id, { s, sc: model.sc, seed: o.seed, variant: o.variant, bugs, ev, names, report: o.report, stopping: never, lockdepStacks: o.lockdepStacks }));
}

/** An actor for an ad-hoc model (a test's own program, as loom's model(...) closures): one of its kind, no NUMA node of its own. */
export const programActor = (name: string, program: (ctx: ActorCtx) => Gen, kind = 'program'): ActorDef => ({ kind, index: 0, name, program, ops: 1, node: 0, pauseMs: () => 0 });
