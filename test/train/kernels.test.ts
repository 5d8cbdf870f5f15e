import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { initBackend } from "../../src/backend";
import { ensureTrainingKernels } from "../../src/train/kernels";

type Case = { x: [number, number, number, number]; f: [number, number, number, number]; strides: number | [number, number]; pad: "valid" | "same" | number };

const cases: Case[] = [
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 1, pad: "valid" },
  { x: [2, 8, 8, 2], f: [3, 3, 2, 5], strides: 2, pad: "same" },
  { x: [1, 9, 7, 2], f: [2, 3, 2, 3], strides: [2, 1], pad: "valid" },
  { x: [2, 6, 6, 1], f: [5, 5, 1, 2], strides: 1, pad: "same" },
  { x: [1, 7, 7, 2], f: [3, 3, 2, 2], strides: 2, pad: 1 },
  { x: [3, 10, 10, 2], f: [3, 3, 2, 2], strides: 3, pad: "valid" },
];

/** The filter gradient of Σ(conv2d(x, f) · dy) on the current backend. */
function filterGrad(c: Case, seed: number): number[] {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x, 0, 1, "float32", seed) as tf.Tensor4D;
    const f = tf.randomNormal(c.f, 0, 1, "float32", seed + 1) as tf.Tensor4D;
    const outShape = tf.conv2d(x, f, c.strides, c.pad).shape;
    const dy = tf.randomNormal(outShape, 0, 1, "float32", seed + 2);
    return Array.from(tf.grad((g: tf.Tensor) => tf.conv2d(x, g as tf.Tensor4D, c.strides, c.pad).mul(dy).sum())(f).dataSync());
  });
}

test("wasm's missing Conv2DBackpropFilter (registered by tsdl) agrees with the cpu backend's", async () => {
  await initBackend();
  const before = tf.getBackend();
  ensureTrainingKernels();
  assert.ok(tf.getKernel("Conv2DBackpropFilter", "wasm"), "registered for wasm");
  try {
    for (const [i, c] of cases.entries()) {
      await tf.setBackend("cpu");
      const want = filterGrad(c, 10 * i + 1); // (seed 0 means "random" to tfjs)
      await tf.setBackend("wasm");
      const ids = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
      const got = filterGrad(c, 10 * i + 1);
      assert.equal((tf.backend() as unknown as { numDataIds(): number }).numDataIds(), ids, `case ${i}: every intermediate buffer freed`);
      assert.equal(got.length, want.length);
      const scale = Math.max(...want.map(Math.abs));
      const err = Math.max(...got.map((v, k) => Math.abs(v - want[k])));
      assert.ok(err <= 1e-4 * scale, `case ${i} ${JSON.stringify(c)}: max error ${err} (scale ${scale})`);
    }
  } finally {
    await tf.setBackend(before);
  }
});
