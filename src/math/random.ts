/**
 * A small seeded random generator, so every demo and test draws the same numbers on every run.
 * mulberry32 (a well-known 32-bit generator) is a dozen lines; a dependency would not be smaller.
 */

/** A seeded source of random numbers. */
export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number;
  /** Standard normal (Box–Muller). */
  normal(mean?: number, std?: number): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
}

/** A seeded random generator (mulberry32). Introduced in notebook 02-loss-and-backprop. */
export function rng(seed = 0): Rng {
  if (!Number.isFinite(seed)) throw new Error(`rng: seed must be a finite number, found ${seed}`);
  let state = Math.floor(seed) >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | null = null;
  const gauss = (): number => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return {
    uniform,
    between: (lo, hi) => lo + (hi - lo) * uniform(),
    normal: (mean = 0, std = 1) => mean + std * gauss(),
    int: (n) => Math.floor(uniform() * n),
    pick: (items) => {
      if (items.length === 0) throw new Error("rng.pick: expected a non-empty array, found an empty one");
      return items[Math.floor(uniform() * items.length)];
    },
  };
}
