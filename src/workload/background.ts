// What the background actors share: their scenario section (how many, how many operations, how
// large a range) and the helpers of their operation loops.
import type { ActorCtx, Gen } from '../engine/ctx.js';
import { sleepWord } from '../shm/actor.js';
import { int, MAX_OPS, type Shape } from '../scenario/check.js';
import { registerPaths } from '../engine/fiber.js';

/** A background actor kind's scenario section. */
export interface BackgroundSpec {
  count: number;
  /** Operations per actor under `sim`; under `threads` it loops until the run ends. */
  ops: number;
  /** Largest range in pages. */
  maxPages: number;
}

export const BACKGROUND_SHAPE: Shape<BackgroundSpec> = { count: int(0, 16), ops: int(0, MAX_OPS), maxPages: int(1) };
/** A background kind a scenario does not mention: none of it. */
export const BACKGROUND_NONE: BackgroundSpec = { count: 0, ops: 0, maxPages: 1 };

/** Threads engine: the pause between operations (0 under sim, and for the vCPUs and the VMM). */
export function* pause(ctx: ActorCtx): Gen {
  if (ctx.pauseMs > 0) Atomics.wait(ctx.s.i32, sleepWord(ctx.s, ctx.base), 0, ctx.pauseMs);
}

/** A random range of at most maxPages of [0, size). */
export function randomRange(ctx: ActorCtx, size: number, maxPages: number): [number, number] {
  const len = 1 + ctx.rng.below(Math.min(size, maxPages));
  const start = ctx.rng.below(size - len + 1);
  return [start, start + len];
}

// the paths' names, for lockdep's reports (engine/fiber.ts)
registerPaths({ pause });
