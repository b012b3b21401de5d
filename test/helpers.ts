// Test helpers: build a state and actor contexts for a scenario, and drive one kernel path
// generator to completion on one thread (asserting it never has to wait for another actor).
import type { ActorCtx, Gen, Violation } from '../src/engine/ctx.js';
import { fiberOf } from '../src/engine/fiber.js';
import { makeCtxs } from '../src/engine/model.js';
import { tryProceed } from '../src/engine/wait.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO } from '../src/scenario/builtins.js';
import type { Scenario } from '../src/scenario/types.js';
import { createShm, type Shm } from '../src/shm/state.js';
import type { VariantId } from '../src/variants.js';
import { modelOf } from '../src/workload/kinds.js';
import { main } from '../src/cli/main.js';

export interface World {
  s: Shm;
  sc: Scenario;
  ctxs: ActorCtx[];
  violations: Violation[];
}

/** The default scenario on one NUMA node holding the whole pool: the protocol without placement. */
export const ONE_NODE: Scenario = { ...DEFAULT_SCENARIO, numa: null, pfnPool: 96 };

/** A fresh state for `sc` (default: ONE_NODE) with one context per actor (ids as in actorDefs: vCPUs first, then vmm, ...). */
export function world(sc: Scenario = ONE_NODE, variant: VariantId | null = null, seed = 1): World {
  const model = modelOf(sc);
  const s = createShm(sc, model.actors.length);
  const violations: Violation[] = [];
  const ctxs = makeCtxs(model, s, { seed, variant, report: (ctx, invariant, message) => violations.push({ invariant, message, actor: ctx.id, step: 0 }) });
  return { s, sc, ctxs, violations };
}

/** Run a path to its return value; every wait must be satisfiable at once (no other actor runs). */
export function drive<T>(ctx: ActorCtx, g: Gen<T>): T {
  const gen = (ctx.fiber = fiberOf(g));
  for (;;) {
    if (!tryProceed(ctx.s, ctx)) throw new Error(`${ctx.name} would block: wait ${ctx.wait!.id} on ${ctx.waitArg}`);
    const r = gen.next();
    if (r.done) return r.value;
  }
}

/** Step a generator until it yields `point` (a POINT id) and return; the generator stays suspended there. */
export function stepUntil<T>(ctx: ActorCtx, g: Gen<T>, point: number, maxSteps = 10_000): void {
  const gen = (ctx.fiber = fiberOf(g));
  for (let i = 0; i < maxSteps; i++) {
    if (!tryProceed(ctx.s, ctx)) throw new Error(`${ctx.name} would block before reaching point ${point}`);
    const r = gen.next();
    if (r.done) throw new Error(`${ctx.name} finished before reaching point ${point}`);
    if (r.value === point) return;
  }
  throw new Error(`point ${point} not reached in ${maxSteps} steps`);
}

export { BUILTIN_SCENARIOS, DEFAULT_SCENARIO };

/** What one in-process `gmemsim` call printed and returned. */
export interface Ran {
  code: number;
  /** stdout, joined */
  out: string;
  /** stderr, one entry per line written */
  err: string[];
}

/** Run the gmemsim command in-process with a capturing io. */
export async function cli(...argv: string[]): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err };
}
