// Variants that reorder a kernel function's statements are written as named alternatives, side by
// side in the kernel file: the upstream version and each variant's. Most are an *order*: the
// function's statements as named steps, listed upstream's way and each variant's way (orders());
// where the steps do not share a signature, a whole function (alternatives()). The run's variant
// selects one choice per table once, when its actors' contexts are made (ctx.alt); the path runs
// what was selected. A removed check needs none of this: it stays a one-line flag at its site
// (ctx.bugs.B1).
import type { ActorCtx, Gen } from './engine/ctx.js';
import { registerPaths } from './engine/fiber.js';
import type { VariantId } from './variants.js';

interface Table {
  fn: string;
  choices: Partial<Record<'upstream' | VariantId, unknown>>;
}
const TABLES: Table[] = [];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KernelFn = (ctx: ActorCtx, ...args: any[]) => any;

/**
 * Register the alternatives of kernel function `fn`: `upstream`, and one per variant that reorders
 * it. Returns a function of the same signature that calls this run's choice.
 */
export function alternatives<F extends KernelFn>(fn: string, choices: { upstream: F } & { [K in VariantId]?: F }): F {
  const slot = TABLES.push({ fn, choices }) - 1;
  for (const [key, choice] of Object.entries(choices)) registerPaths({ [choice.name || `${fn}:${key}`]: choice as unknown as (...args: unknown[]) => Gen<unknown> });
  // Fixed arity, not rest and spread: some of these are on the fault path (a kernel function here takes at most four arguments after ctx).
  return ((ctx: ActorCtx, a: unknown, b: unknown, c: unknown, d: unknown) => (ctx.alt[slot] as F)(ctx, a, b, c, d)) as F;
}

/** One statement of a kernel function, as a step of an order (a generator, or a function returning one). */
export type Step<A extends unknown[]> = (ctx: ActorCtx, ...args: A) => Gen<unknown>;

export interface Order<A extends unknown[]> {
  /** the steps, in the order this run's variant selected: run them as `for (const step of X.of(ctx)) yield step(ctx, ...)` */
  of(ctx: ActorCtx): readonly Step<A>[];
}

/** Register the orders of kernel function `fn`'s steps: `upstream`, and one per variant that reorders (or drops) them. */
export function orders<A extends unknown[]>(fn: string, choices: { upstream: Step<A>[] } & { [K in VariantId]?: Step<A>[] }): Order<A> {
  const slot = TABLES.push({ fn, choices }) - 1;
  for (const steps of Object.values(choices)) for (const step of steps as Step<A>[]) registerPaths({ [step.name]: step });
  return { of: (ctx) => ctx.alt[slot] as Step<A>[] };
}

const SELECTED = new Map<string, unknown[]>();

/** One choice per table for the variant (the same array for every actor of every run of it). */
export function selectAlternatives(variant: VariantId | null): unknown[] {
  const key = variant ?? '';
  let sel = SELECTED.get(key);
  if (!sel || sel.length !== TABLES.length) {
    sel = TABLES.map((t) => (variant ? t.choices[variant] : undefined) ?? t.choices.upstream);
    SELECTED.set(key, sel);
  }
  return sel;
}

/** The kernel functions a variant replaces with an alternative (empty: it is a flag, or nothing). */
export const alternativesOf = (variant: VariantId): string[] => TABLES.filter((t) => t.choices[variant] !== undefined).map((t) => t.fn);
