// The checks a scenario's JSON goes through: each names the field's path and what is allowed.
// Shared by the scenario schema and each actor kind's section (workload/kinds.ts).
import { ScenarioError } from './errors.js';

export const MAX_OPS = 10_000_000;

/** How a value is quoted in an error: JSON, cut at 40 characters. */
export function show(v: unknown): string {
  const s = preview(v, 0);
  return s.length > SHOW_MAX ? `${s.slice(0, SHOW_MAX - 3)}...` : s;
}
const SHOW_MAX = 40;
const SHOW_DEPTH = 4;

/**
 * JSON of `v` as far as an error shows it: the first SHOW_MAX characters' worth of elements, no
 * deeper than SHOW_DEPTH levels ([…] below), so a value nested 10,000 levels deep (which makes
 * JSON.stringify and String overflow the stack) costs a few calls. Not finite numbers read as
 * themselves (JSON would say null).
 */
function preview(v: unknown, depth: number): string {
  if (typeof v === 'string') return JSON.stringify(v.length > SHOW_MAX ? v.slice(0, SHOW_MAX) : v);
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : String(v);
  if (v === null || typeof v !== 'object') return String(v);
  const array = Array.isArray(v);
  if (depth >= SHOW_DEPTH) return array ? '[…]' : '{…}';
  const parts: string[] = [];
  let len = 2;
  const add = (p: string) => {
    parts.push(p);
    len += p.length + 1;
    return len > SHOW_MAX; // the rest would be cut anyway
  };
  if (array) {
    for (const x of v as unknown[]) if (add(preview(x, depth + 1))) break;
  } else {
    for (const k in v) {
      if (Object.hasOwn(v, k) && add(`${JSON.stringify(k.length > SHOW_MAX ? k.slice(0, SHOW_MAX) : k)}:${preview((v as Record<string, unknown>)[k], depth + 1)}`)) break;
    }
  }
  return array ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
}
export const got = (v: unknown) => (v === undefined ? 'missing' : `got ${show(v)}`);

/** Checks one value at `path`; `base` is what a partial object merges onto. */
export type Check<T> = (v: unknown, path: string, base?: T) => T;
export type Shape<T> = { [K in keyof T]-?: Check<T[K]> };

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const int = (min: number, max = Infinity): Check<number> => (v, path) => {
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  throw new ScenarioError(path, max === Infinity ? `an integer >= ${min}` : `an integer from ${min} to ${max}`, got(v));
};

export const fraction: Check<number> = (v, path) => {
  if (typeof v === 'number' && v >= 0 && v <= 1) return v;
  throw new ScenarioError(path, 'a number from 0 to 1', got(v));
};

export const bool: Check<boolean> = (v, path) => {
  if (typeof v === 'boolean') return v;
  throw new ScenarioError(path, 'true or false', got(v));
};

export const str = (minLen: number, maxLen: number): Check<string> => (v, path) => {
  if (typeof v === 'string' && v.length >= minLen && v.length <= maxLen) return v;
  throw new ScenarioError(path, minLen > 0 ? `a non-empty string of at most ${maxLen} characters` : 'a string', got(v));
};

export const oneOf = <T extends string>(...values: T[]): Check<T> => (v, path) => {
  if (values.includes(v as T)) return v as T;
  throw new ScenarioError(path, `one of ${values.map((x) => `"${x}"`).join(', ')}`, got(v));
};

/** An object of `shape`: unknown keys are errors, missing keys come from `base`. */
export function record<T>(shape: Shape<T>, v: unknown, path: string, base?: T): T {
  const keys = Object.keys(shape) as (keyof T & string)[];
  if (!isObject(v)) throw new ScenarioError(path, `an object with keys ${keys.join(', ')}`, got(v));
  const at = (k: string) => (path ? `${path}.${k}` : k);
  for (const k of Object.keys(v)) {
    if (!Object.hasOwn(shape, k)) throw new ScenarioError(at(k), `a known key; ${path || 'a scenario'} has ${keys.join(', ')}`, `unknown key "${k}"`);
  }
  const out = {} as T;
  for (const k of keys) out[k] = shape[k](Object.hasOwn(v, k) ? v[k] : base?.[k], at(k), base?.[k]);
  return out;
}
export const sub = <T>(shape: Shape<T>): Check<T> => (v, path, base) => record(shape, v, path, base);

export const list = <T>(each: Check<T>, what: string, min = 0, max = Infinity): Check<T[]> => (v, path) => {
  if (!Array.isArray(v) || v.length < min || v.length > max) {
    const bounds = [min ? `at least ${min}` : '', max < Infinity ? `at most ${max}` : ''].filter(Boolean).join(', ');
    throw new ScenarioError(path, `an array of ${what}${bounds ? ` (${bounds})` : ''}`, Array.isArray(v) && v.length > max ? `got ${v.length} entries` : got(v));
  }
  return v.map((x, i) => each(x, `${path}[${i}]`));
};
