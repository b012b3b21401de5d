// Variants that reorder a kernel function's statements are written as named alternatives of it,
// side by side in the kernel file: the upstream order and each variant's. The run's variant
// selects one alternative per table once, when its actors' contexts are made (ctx.alt); the path
// then calls what was selected. A removed check needs none of this: it stays a one-line flag at
// its site (ctx.bugs.B1).
import type { ActorCtx } from './engine/ctx.js';
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
  return ((ctx: ActorCtx, ...args: unknown[]) => (ctx.alt[slot] as F)(ctx, ...args)) as F;
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
