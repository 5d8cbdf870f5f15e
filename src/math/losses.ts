/**
 * The article's losses (§4.2), written from scratch on plain number arrays (float64). Each has a
 * TensorFlow.js twin in `losses.tf` (see losses-tf.ts); the tests check both against
 * `tf.losses.*` and against values worked out by hand.
 *
 * Conventions (the same as tf.losses with its default reduction):
 * - `mse` averages over every element.
 * - `crossEntropy` sums over the classes (the last axis) and, for a batch (a matrix, one row per
 *   example), averages over the rows.
 * - `binaryCrossEntropy` averages over every element.
 */
import { flat, sameShape, shapeOf, fmtShape, type Matrix, type Shaped, type Vector } from "./arrays";

export * as tf from "./losses-tf";

/** MSE = (1/m) Σᵢ (yᵢ − ŷᵢ)², over every element. Introduced in notebook 02-loss-and-backprop. */
export function mse(y: Shaped, yHat: Shaped): number {
  sameShape(y, yHat, "mse", ["y", "ŷ"]);
  const a = flat(y);
  const b = flat(yHat);
  if (a.length === 0) throw new Error("mse: expected at least one value, found none");
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return sum / a.length;
}

/** Options shared by the cross-entropy losses. */
export interface CrossEntropyOptions {
  /** The second argument holds logits (scores before softmax/sigmoid), not probabilities. */
  fromLogits?: boolean;
}

/**
 * log-softmax of one vector of logits, computed stably: zᵢ − (max z + log Σⱼ exp(zⱼ − max z)).
 * Introduced in notebook 02-loss-and-backprop.
 */
export function logSoftmax(z: Vector): Vector {
  if (z.length === 0) throw new Error("logSoftmax: expected at least one logit, found none");
  const max = Math.max(...z);
  if (!Number.isFinite(max)) throw new Error(`logSoftmax: expected finite logits, found ${max}`);
  let sum = 0;
  for (const v of z) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return z.map((v) => v - lse);
}

function rows(x: Vector | Matrix): Matrix {
  return shapeOf(x).length === 1 ? [x as Vector] : (x as Matrix);
}

function checkProbabilities(values: number[], where: string, shape: number[]): void {
  values.forEach((p, k) => {
    if (!(p >= 0 && p <= 1)) {
      const at = shape.length === 2 ? `[${Math.floor(k / shape[1])}][${k % shape[1]}]` : `[${k}]`;
      throw new Error(`${where}: expected probabilities in [0, 1], found ${p} at ${at}; pass { fromLogits: true } for logits`);
    }
  });
}

/**
 * Cross-entropy H(y, ŷ) = −Σᵢ yᵢ log ŷᵢ for one distribution (vectors), or its mean over the rows
 * of a batch (matrices). With `{ fromLogits: true }` the second argument is logits and
 * log ŷ = logSoftmax(z), which stays finite where softmax would round to 0.
 * Introduced in notebook 02-loss-and-backprop.
 */
export function crossEntropy(y: Vector | Matrix, yHat: Vector | Matrix, options: CrossEntropyOptions = {}): number {
  const shape = sameShape(y, yHat, "crossEntropy", ["y", options.fromLogits ? "logits" : "ŷ"]);
  if (shape.length !== 1 && shape.length !== 2) {
    throw new Error(`crossEntropy: expected a vector or a matrix (one row per example), found shape ${fmtShape(shape)}`);
  }
  if (shape[shape.length - 1] === 0 || (shape.length === 2 && shape[0] === 0)) {
    throw new Error(`crossEntropy: expected at least one class and one example, found shape ${fmtShape(shape)}`);
  }
  if (!options.fromLogits) checkProbabilities(flat(yHat), "crossEntropy", shape);
  const ys = rows(y);
  const logs = rows(yHat).map((r) => (options.fromLogits ? logSoftmax(r) : r.map(Math.log)));
  let total = 0;
  ys.forEach((row, i) => {
    let h = 0;
    // A zero label contributes 0 whatever ŷ is (0 · log 0 is taken as 0, its limit).
    row.forEach((yi, j) => {
      if (yi !== 0) h -= yi * logs[i][j];
    });
    total += h;
  });
  return total / ys.length;
}

/**
 * Binary cross-entropy −[y log ŷ + (1 − y) log(1 − ŷ)], averaged over every element. With
 * `{ fromLogits: true }` it uses the stable form max(z, 0) − z·y + log(1 + exp(−|z|)).
 * Introduced in notebook 02-loss-and-backprop.
 */
export function binaryCrossEntropy(y: Shaped, yHat: Shaped, options: CrossEntropyOptions = {}): number {
  const shape = sameShape(y, yHat, "binaryCrossEntropy", ["y", options.fromLogits ? "logits" : "ŷ"]);
  const a = flat(y);
  const b = flat(yHat);
  if (a.length === 0) throw new Error("binaryCrossEntropy: expected at least one value, found none");
  if (!options.fromLogits) checkProbabilities(b, "binaryCrossEntropy", shape);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const yi = a[i];
    if (options.fromLogits) {
      const z = b[i];
      sum += Math.max(z, 0) - z * yi + Math.log1p(Math.exp(-Math.abs(z)));
    } else {
      if (yi !== 0) sum -= yi * Math.log(b[i]);
      if (yi !== 1) sum -= (1 - yi) * Math.log(1 - b[i]);
    }
  }
  return sum / a.length;
}
