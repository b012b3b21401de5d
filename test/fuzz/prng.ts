// A small seeded PRNG for the fuzzer: input i of seed s is generated from its own stream
// (mix(s, i)), so one input can be regenerated alone (npm run fuzz -- --seed s --only i).

/** splitmix32-style mixing of a seed and an input index into a 32-bit state. */
export function mix(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 0x9e3779b9, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x6d2b79f5;
  }
  /** mulberry32: a uint32 */
  u32(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** [0, 1) */
  float(): number {
    return this.u32() / 4294967296;
  }
  /** an integer in [lo, hi] */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.float() < p;
  }
  pick<T>(a: readonly T[]): T {
    if (a.length === 0) throw new Error('pick from an empty list');
    return a[Math.floor(this.float() * a.length)]!;
  }
  /** one of `choices`, by weight */
  weighted<T>(choices: ReadonlyArray<readonly [number, T]>): T {
    const total = choices.reduce((n, [w]) => n + w, 0);
    let x = this.float() * total;
    for (const [w, v] of choices) {
      if ((x -= w) < 0) return v;
    }
    return choices[choices.length - 1]![1];
  }
  /** a random subset of `a`, each kept with probability p, order kept */
  subset<T>(a: readonly T[], p: number): T[] {
    return a.filter(() => this.chance(p));
  }
}
