/**
 * Seeded randomness: every shuffle, split and augmentation in `dl.data` draws from mulberry32 so
 * that a seed reproduces a run exactly, on any backend (tfjs's own random ops differ by backend).
 */
import { check } from "./errors";

/**
 * mulberry32: a tiny 32-bit PRNG returning floats in [0, 1); good enough for shuffles and
 * augmentation, not for cryptography. Introduced in notebook 04.
 */
export function mulberry32(seed: number): () => number {
  check(Number.isFinite(seed), `mulberry32: seed must be a finite number, found ${seed}`);
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded random source with the draws the data helpers need. */
export interface Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** A float in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [lo, hi], both ends included. */
  intBetween(lo: number, hi: number): number;
}

/** A seeded random source (mulberry32) with uniform and integer draws. Introduced in notebook 04. */
export function createRng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    seed,
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.floor(next() * n),
    intBetween: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
  };
}

/** Arrays and typed arrays alike: indexable, with a copying `slice()`. */
export type Shuffleable = ArrayLike<unknown> & { slice(): unknown };

/**
 * A shuffled copy (Fisher–Yates) of an array or typed array; `random` defaults to Math.random.
 * Introduced in notebook 04.
 */
export function shuffle<A extends Shuffleable>(items: A, random: () => number = Math.random): A {
  const out = items.slice() as A & { [i: number]: unknown };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
  return out;
}

/** A shuffled copy that the same seed always reproduces. Introduced in notebook 04. */
export function seededShuffle<A extends Shuffleable>(items: A, seed: number): A {
  return shuffle(items, mulberry32(seed));
}

/** A random permutation of 0..n-1 as an Int32Array (seeded when `seed` is given). Introduced in notebook 05. */
export function permutation(n: number, seed?: number): Int32Array {
  check(Number.isInteger(n) && n >= 0, `permutation: n must be a non-negative integer, found ${n}`);
  const ids = new Int32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  return shuffle(ids, seed === undefined ? Math.random : mulberry32(seed));
}
