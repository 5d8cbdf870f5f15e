/**
 * The article's losses with TensorFlow.js, written from the same formulas as the from-scratch
 * versions (losses.ts) rather than by calling tf.losses, so the tests can compare all three.
 * Each returns a scalar tensor (call `.dataSync()[0]` or `await .data()` for the number) and is
 * differentiable with `tf.grad`.
 */
import * as tf from "@tensorflow/tfjs";
import type { CrossEntropyOptions } from "./losses";

type In = tf.Tensor | tf.TensorLike;

function pair(y: In, yHat: In, where: string): [tf.Tensor, tf.Tensor] {
  const a = y instanceof tf.Tensor ? y : tf.tensor(y);
  const b = yHat instanceof tf.Tensor ? yHat : tf.tensor(yHat);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${where}: y has shape [${a.shape}] and the prediction has shape [${b.shape}]; expected equal shapes`);
  }
  return [a.toFloat(), b.toFloat()];
}

/** MSE = (1/m) Σᵢ (yᵢ − ŷᵢ)² with tfjs. Introduced in notebook 02-loss-and-backprop. */
export function mse(y: In, yHat: In): tf.Scalar {
  return tf.tidy(() => {
    const [a, b] = pair(y, yHat, "losses.tf.mse");
    return tf.mean(tf.square(tf.sub(a, b)));
  });
}

/** log-softmax along the last axis: z − logΣexp(z), with tfjs. Introduced in notebook 02-loss-and-backprop. */
export function logSoftmax(z: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(z, tf.logSumExp(z, -1, true)));
}

/**
 * H(y, ŷ) = −Σᵢ yᵢ log ŷᵢ with tfjs, averaged over the rows of a batch; `{ fromLogits: true }` uses
 * log-softmax. Introduced in notebook 02-loss-and-backprop.
 */
export function crossEntropy(y: In, yHat: In, options: CrossEntropyOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const [a, b] = pair(y, yHat, "losses.tf.crossEntropy");
    if (a.rank !== 1 && a.rank !== 2) {
      throw new Error(`losses.tf.crossEntropy: expected a vector or a matrix, found shape [${a.shape}]`);
    }
    const logP = options.fromLogits ? logSoftmax(b) : tf.log(b);
    // 0 · log 0 counts as 0 (its limit), as in the from-scratch version.
    const terms = tf.where(tf.equal(a, 0), tf.zerosLike(a), tf.mul(a, logP));
    const perRow = tf.neg(tf.sum(terms, -1));
    return tf.mean(perRow);
  });
}

/**
 * Binary cross-entropy −[y log ŷ + (1 − y) log(1 − ŷ)] with tfjs, averaged over every element;
 * `{ fromLogits: true }` uses max(z, 0) − z·y + log(1 + exp(−|z|)). Introduced in notebook 02-loss-and-backprop.
 */
export function binaryCrossEntropy(y: In, yHat: In, options: CrossEntropyOptions = {}): tf.Scalar {
  return tf.tidy(() => {
    const [a, b] = pair(y, yHat, "losses.tf.binaryCrossEntropy");
    if (options.fromLogits) {
      return tf.mean(tf.add(tf.sub(tf.relu(b), tf.mul(b, a)), tf.log1p(tf.exp(tf.neg(tf.abs(b)))))) as tf.Scalar;
    }
    const zeros = tf.zerosLike(a);
    const pos = tf.where(tf.equal(a, 0), zeros, tf.mul(a, tf.log(b)));
    const oneMinusY = tf.sub(1, a);
    const neg = tf.where(tf.equal(oneMinusY, 0), zeros, tf.mul(oneMinusY, tf.log(tf.sub(1, b))));
    return tf.neg(tf.mean(tf.add(pos, neg))) as tf.Scalar;
  });
}
