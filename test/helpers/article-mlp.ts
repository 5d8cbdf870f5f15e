/**
 * The article's MNIST multilayer perceptron, for benchmarks: 784 → 256 ReLU → dropout 0.5 →
 * 128 ReLU → dropout 0.5 → 10 logits, Adam (lr 0.001), softmax cross-entropy on the logits.
 *
 * Built here with tf.layers so the benchmarks do not wait for `dl.models.mlp` (src/models);
 * once that lands, `buildArticleMlp` can simply return it.
 */
import * as tf from "@tensorflow/tfjs";

/** The compiled article MLP on the current backend; `metrics` adds accuracy (off for step timing). */
export function buildArticleMlp(options: { metrics?: boolean } = {}): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [784], units: 256, activation: "relu" }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 128, activation: "relu" }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 10 }),
    ],
  });
  model.compile({
    optimizer: tf.train.adam(0.001),
    loss: (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, logits),
    metrics: options.metrics ? ["accuracy"] : [],
  });
  return model;
}

/** The article's batch size and the MNIST training set size. */
export const BATCH = 64;
export const TRAIN_EXAMPLES = 60_000;
export const STEPS_PER_EPOCH = Math.ceil(TRAIN_EXAMPLES / BATCH);
