/**
 * `fit`'s direct step for dense networks (src/wasm/dense-step.ts) against the general path
 * (`tf.variableGrads` over `model.apply`), on wasm with tsdl's kernels: the same losses,
 * accuracies and weights to the bit, for dropout and ReLU, linear hidden layers, integer labels
 * and one-hot rows, a short last batch and three optimizers; and no tensor or wasm buffer left
 * behind. Models and batches it must not take go the general way.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import * as dl from "../../src";
import { denseStepsRun, setDenseStep } from "../../src/wasm/dense-step";
import { randn } from "../helpers/compare-backends";
import { bits, bothWays, trainWith, wasmBuffers, type Run } from "../helpers/direct-step";

const rand = randn(20261202);

/** 100 examples of 20 features, labels 0..4 from a rule on the features, so training has something to learn. */
function data(oneHot: boolean): { x: tf.Tensor; y: tf.Tensor } {
  const x = rand(100 * 20);
  const labels = Int32Array.from({ length: 100 }, (_, i) => (x[i * 20] > 0 ? 1 : 0) + (x[i * 20 + 1] > 0 ? 2 : 0) + (x[i * 20 + 2] > 1 ? 1 : 0));
  const y = tf.tensor1d(labels, "int32");
  return { x: tf.tensor2d(x, [100, 20]), y: oneHot ? tf.tidy(() => tf.oneHot(y, 5).toFloat()) : y };
}

/** `trainWith` for 3 epochs, seed 5. */
const train = (direct: boolean, makeModel: () => tf.LayersModel, d: { x: tf.Tensor; y: tf.Tensor }, options: dl.train.FitOptions): Promise<Run> =>
  trainWith(direct, makeModel, d, { epochs: 3, seed: 5, ...options });

test("fit's direct dense step trains bit for bit as the general path, with nothing left behind", async () => {
  await initBackend();
  await tf.setBackend("wasm");
  const cases: { what: string; model: () => tf.LayersModel; oneHot: boolean; options: dl.train.FitOptions }[] = [
    { what: "ReLU and dropout 0.5, Adam, int labels", model: () => dl.models.mlp({ inputs: 20, hidden: [16, 8], outputs: 5, seed: 2 }), oneHot: false, options: { learningRate: 0.02 } },
    { what: "ReLU and dropout 0.2, RMSprop, one-hot rows", model: () => dl.models.mlp({ inputs: 20, hidden: [12], outputs: 5, dropout: 0.2, seed: 3 }), oneHot: true, options: { optimizer: "rmsprop", learningRate: 0.01 } },
    { what: "linear hidden layers, no dropout, momentum", model: () => dl.models.mlp({ inputs: 20, hidden: [9, 7], outputs: 5, activation: "linear", dropout: 0, seed: 4 }), oneHot: false, options: { optimizer: "momentum", learningRate: 0.05 } },
  ];
  for (const c of cases) {
    const d = data(c.oneHot);
    const fast = await bothWays(c.what, (direct) => train(direct, c.model, d, c.options));
    // 100 examples in batches of 16: 7 steps an epoch, the last of 4 rows.
    assert.equal(fast.direct, 21, `${c.what}: steps the direct way`);
    assert.ok(fast.loss[2] < fast.loss[0], `${c.what}: the loss should fall, found ${fast.loss.join(" → ")}`);
    tf.dispose([d.x, d.y]);
  }
});

test("fit leaves the direct step to the general path for other layers, regularizers, losses and tall batches", async () => {
  await initBackend();
  await tf.setBackend("wasm");
  const d = data(false);
  const declined: { what: string; model: () => tf.LayersModel; options?: dl.train.FitOptions }[] = [
    { what: "an L2 penalty", model: () => dl.models.mlp({ inputs: 20, hidden: [8], outputs: 5, l2: 0.01, seed: 1 }) },
    { what: "a sigmoid hidden layer", model: () => dl.models.mlp({ inputs: 20, hidden: [8], outputs: 5, activation: "sigmoid", seed: 1 }) },
    { what: "a softmax output", model: () => tf.sequential({ layers: [tf.layers.dense({ inputShape: [20], units: 5, activation: "softmax" })] }) },
    { what: "a custom loss", model: () => dl.models.mlp({ inputs: 20, hidden: [8], outputs: 5, seed: 1 }), options: { loss: (t, o) => tf.losses.softmaxCrossEntropy(t, o) as tf.Scalar } },
  ];
  for (const c of declined) {
    const run = await train(true, c.model, d, c.options ?? {});
    assert.equal(run.direct, 0, `${c.what}: took the direct step`);
    assert.ok(run.loss.every(Number.isFinite), `${c.what}: losses ${run.loss}`);
  }
  // 2,000 rows of 784 inputs by 256 units is past tsdl's GEMM (XNNPACK adds the bias first):
  // that batch goes the general way, the same model's batches of 64 the direct way.
  const big = { x: tf.randomNormal([2000, 784], 0, 1, "float32", 1), y: tf.tensor1d(Int32Array.from({ length: 2000 }, (_, i) => i % 10), "int32") };
  const mnistLike = () => dl.models.mlp({ seed: 1 });
  assert.equal((await train(true, mnistLike, big, { epochs: 1, batchSize: 2000 })).direct, 0, "a batch of 2,000 took the direct step");
  assert.equal((await train(true, mnistLike, big, { epochs: 1, batchSize: 1000, shuffle: false })).direct, 0, "a batch of 1,000 took the direct step");
  assert.equal((await train(true, mnistLike, big, { epochs: 1, batchSize: 64 })).direct, 32, "batches of 64");
  tf.dispose([d.x, d.y, big.x, big.y]);
});

test("a NaN batch stops the direct step's fit as it stops the general path's, with the weights kept", async () => {
  await initBackend();
  await tf.setBackend("wasm");
  const d = data(false);
  const poisoned = tf.tidy(() => d.x.mul(tf.scalar(NaN)));
  for (const direct of [true, false]) {
    const was = setDenseStep(direct);
    const model = dl.models.mlp({ inputs: 20, hidden: [8], outputs: 5, seed: 1 });
    const before = model.getWeights().map((w) => bits(w.dataSync() as Float32Array));
    const tensors = tf.memory().numTensors;
    const buffers = wasmBuffers();
    await assert.rejects(dl.train.fit(model, { x: poisoned, y: d.y }, { epochs: 1, batchSize: 16, reporter: "none", seed: 1 }), /the loss became NaN at epoch 1, batch 1/);
    assert.deepEqual(model.getWeights().map((w) => bits(w.dataSync() as Float32Array)), before, `direct ${direct}: weights changed by a NaN batch`);
    assert.equal(tf.memory().numTensors, tensors, `direct ${direct}: tensors left`);
    assert.equal(wasmBuffers(), buffers, `direct ${direct}: wasm buffers left`);
    model.dispose();
    setDenseStep(was);
  }
  tf.dispose([d.x, d.y, poisoned]);
});
