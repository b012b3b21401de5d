// Seeded PRNGs. Every random choice an actor makes comes from its own Prng, so a schedule
// (the order of steps) plus the seed fixes everything that happens.

export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** mulberry32: uniform uint32 */
  nextU32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** uniform in [0, n) */
  below(n: number): number {
    return n <= 1 ? 0 : this.nextU32() % n;
  }
  /** uniform in [0, 1) */
  float(): number {
    return this.nextU32() / 4294967296;
  }
  chance(p: number): boolean {
    return p > 0 && this.float() < p;
  }
}

/** Mix two numbers into a 32-bit seed (splitmix-style), e.g. (schedule seed, actor id). */
export function mixSeed(a: number, b: number): number {
  let h = (Math.imul(a >>> 0, 0x9e3779b1) ^ Math.imul((b >>> 0) + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a step over one 32-bit value: the trace hash. */
export function fnv(h: number, v: number): number {
  h = Math.imul(h ^ (v & 0xff), 16777619);
  h = Math.imul(h ^ ((v >>> 8) & 0xff), 16777619);
  h = Math.imul(h ^ ((v >>> 16) & 0xff), 16777619);
  return Math.imul(h ^ (v >>> 24), 16777619) >>> 0;
}
export const FNV_INIT = 0x811c9dc5;
