/**
 * The lean tape (src/wasm/tape.ts): on wasm with tsdl's kernels, a first-order gradient keeps
 * the tensors its backward pass needs without an `Identity` kernel and a tape entry each, and
 * every gradient is bit for bit what tfjs's own saving gives (dense layers, dropout's Multiply,
 * convolution, max-pooling, the loss); second-order gradients take tfjs's path and agree too;
 * nothing is left behind.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { installLeanTape, registerTsdlKernels, uninstallLeanTape } from "../../src/wasm";
import { assertBits, randn } from "../helpers/compare-backends";

const rand = randn(20261204);

before(async () => {
  require("@tensorflow/tfjs-backend-wasm");
  registerTsdlKernels("wasm");
  await tf.setBackend("wasm");
});

/** A small CNN-and-dense forward pass with a loss, as a function of its weights. */
function model(x: tf.Tensor4D, labels: tf.Tensor2D) {
  return (filter: tf.Tensor, w: tf.Tensor, bias: tf.Tensor): tf.Scalar => {
    const conv = tf.relu(tf.conv2d(x, filter as tf.Tensor4D, 1, "same"));
    const pooled = tf.maxPool(conv, 2, 2, "valid");
    const flat = tf.reshape(pooled, [x.shape[0], -1]);
    const dense = tf.fused.matMul({ a: flat, b: w as tf.Tensor2D, bias, activation: "relu" });
    const dropped = tf.mul(dense, tf.scalar(2));
    return tf.losses.softmaxCrossEntropy(labels, dropped.slice([0, 0], [-1, 5])) as tf.Scalar;
  };
}

const data = { x: rand(3 * 6 * 6 * 2), filter: rand(3 * 3 * 2 * 3), w: rand(27 * 7), bias: rand(7) };

function inputs() {
  const x = tf.tensor(data.x, [3, 6, 6, 2]) as tf.Tensor4D;
  const labels = tf.oneHot(tf.tensor1d([1, 4, 0], "int32"), 5).toFloat() as tf.Tensor2D;
  const filter = tf.tensor(data.filter, [3, 3, 2, 3]);
  const w = tf.tensor(data.w, [27, 7]);
  const bias = tf.tensor(data.bias, [7]);
  return { x, labels, filter, w, bias };
}

async function gradientsAndKernels(): Promise<{ grads: Float32Array[]; kernels: string[]; left: number }> {
  const numTensors = tf.memory().numTensors;
  const { x, labels, filter, w, bias } = inputs();
  let grads: Float32Array[] = [];
  const profile = await tf.profile(() => {
    grads = tf.tidy(() => tf.grads(model(x, labels))([filter, w, bias]).map((g) => g.dataSync() as Float32Array));
  });
  tf.dispose([x, labels, filter, w, bias]);
  return { grads, kernels: profile.kernels.map((k) => k.name), left: tf.memory().numTensors - numTensors };
}

test("first-order gradients: no Identity clone per saved tensor, the same bits as tfjs's saving", async () => {
  const lean = await gradientsAndKernels();
  uninstallLeanTape();
  let own: Awaited<ReturnType<typeof gradientsAndKernels>>;
  try {
    own = await gradientsAndKernels();
  } finally {
    installLeanTape();
  }
  // (tf.profile itself keeps a couple of tensors; the same number either way.)
  assert.equal(lean.left, own.left, "no more tensors left behind than tfjs's saving leaves");
  const identities = (k: string[]) => k.filter((n) => n === "Identity").length;
  assert.ok(identities(own.kernels) >= 8, `tfjs clones the saved tensors: ${identities(own.kernels)} Identity kernels`);
  assert.ok(identities(lean.kernels) < identities(own.kernels) - 6, `lean: ${identities(lean.kernels)} against ${identities(own.kernels)}`);
  assert.equal(lean.grads.length, 3);
  lean.grads.forEach((g, i) => assertBits(g, own.grads[i], `gradient ${i}`));
  assert.ok(lean.grads.every((g) => g.some((v) => v !== 0)), "nonzero gradients");
});

test("second-order gradients take tfjs's path and agree with it", async () => {
  const x = tf.tensor(rand(7), [7]);
  const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.mul(t, t), tf.sin(t)));
  const second = () => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(tf.grad(f)(t)))(x).dataSync() as Float32Array);
  const lean = second();
  uninstallLeanTape();
  let own: Float32Array;
  try {
    own = second();
  } finally {
    installLeanTape();
  }
  assertBits(lean, own, "second derivative");
  // d²/dt² of t²·sin t = 2 sin t + 4t cos t − t² sin t.
  const xs = x.dataSync();
  xs.forEach((t, i) => assert.ok(Math.abs(lean[i] - (2 * Math.sin(t) + 4 * t * Math.cos(t) - t * t * Math.sin(t))) < 1e-4, `at ${t}`));
  x.dispose();
});
