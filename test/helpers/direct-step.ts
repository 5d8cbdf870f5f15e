/**
 * Training a model with `fit`'s direct step on or off (src/wasm/dense-step.ts), for the tests
 * that compare the two paths bit for bit (test/train/dense-step.test.ts, conv-step.test.ts).
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import * as dl from "../../src";
import { denseStepsRun, setDenseStep } from "../../src/wasm/dense-step";

/** What one training run gave: per-epoch loss and accuracy, the final weights, and the steps that went the direct way. */
export interface Run {
  loss: number[];
  accuracy: number[];
  weights: Float32Array[];
  direct: number;
}

/** Trains a fresh `makeModel()` on `d` with the direct step on or off (batches of 16, no reporter, then `options`); the model is disposed. */
export async function trainWith(direct: boolean, makeModel: () => tf.LayersModel, d: { x: tf.Tensor; y: tf.Tensor }, options: dl.train.FitOptions): Promise<Run> {
  const was = setDenseStep(direct);
  const model = makeModel();
  const before = denseStepsRun();
  try {
    const h = await dl.train.fit(model, d, { batchSize: 16, reporter: "none", ...options });
    return { loss: h.loss, accuracy: h.accuracy, weights: model.getWeights().map((w) => w.dataSync() as Float32Array), direct: denseStepsRun() - before };
  } finally {
    model.dispose();
    setDenseStep(was);
  }
}

/** A float array's bytes as hex, to compare bit for bit. */
export function bits(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");
}

/** Buffers the wasm backend holds (tensors made outside the engine count too). */
export const wasmBuffers = (): number => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();

/**
 * `train(true)` then `train(false)`: the direct run must leave no tensor and no wasm buffer,
 * the general run take no direct step, and both give the same losses, accuracies and weights to
 * the bit. Returns the direct run.
 */
export async function bothWays(what: string, train: (direct: boolean) => Promise<Run>): Promise<Run> {
  const tensors = tf.memory().numTensors;
  const buffers = wasmBuffers();
  const fast = await train(true);
  assert.equal(tf.memory().numTensors, tensors, `${what}: tensors left by the direct step`);
  assert.equal(wasmBuffers(), buffers, `${what}: wasm buffers left by the direct step`);
  const general = await train(false);
  assert.equal(general.direct, 0, `${what}: the general path took the direct step`);
  assert.deepEqual(fast.loss, general.loss, `${what}: losses`);
  assert.deepEqual(fast.accuracy, general.accuracy, `${what}: accuracies`);
  fast.weights.forEach((w, i) => assert.equal(bits(w), bits(general.weights[i]), `${what}: weight ${i}`));
  return fast;
}
