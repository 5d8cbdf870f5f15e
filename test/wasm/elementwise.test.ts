/**
 * tsdl's other wasm kernels: the SIMD `Sqrt` against the `cpu` backend, and the sharing
 * `Identity` (clones share the buffer, survive the original, and carry gradients).
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { registerTsdlKernels, sqrtConfig, sharedIdentityConfig } from "../../src/wasm";
import { assertClose, randn, runOn } from "../helpers/compare-backends";

before(async () => {
  require("@tensorflow/tfjs-backend-wasm");
  registerTsdlKernels("wasm");
  await tf.setBackend("wasm");
});

test("the wasm backend runs tsdl's Sqrt and Identity", () => {
  assert.equal(tf.getKernel(tf.Sqrt, "wasm")?.kernelFunc, sqrtConfig("wasm").kernelFunc);
  assert.equal(tf.getKernel(tf.Identity, "wasm")?.kernelFunc, sharedIdentityConfig("wasm").kernelFunc);
});

test("Sqrt matches cpu on every length around the SIMD width, and on 0, negatives, infinity", async () => {
  const rand = randn(7);
  for (const n of [0, 1, 3, 4, 5, 8, 13, 1027]) {
    const data = rand(n).map((v) => v * v * 100);
    const x = { shape: [n], data };
    assertClose(await runOn("wasm", [x], (t) => [tf.sqrt(t)]), await runOn("cpu", [x], (t) => [tf.sqrt(t)]), `sqrt of ${n}`, 1e-7);
  }
  const special = { shape: [2, 3], data: new Float32Array([0, -1, Infinity, 2, 1e-30, 9]) };
  const got = (await runOn("wasm", [special], (t) => [tf.sqrt(t)]))[0].data;
  const expected = (await runOn("cpu", [special], (t) => [tf.sqrt(t)]))[0].data;
  assert.deepEqual([...got].map(String), [...expected].map(String));
});

test("Identity shares the buffer: a clone costs no copy and outlives its original", async () => {
  await tf.setBackend("wasm");
  const backend = tf.backend();
  const x = tf.tensor([1, 2, 3, 4], [2, 2]);
  const before = backend.numDataIds();
  const y = tf.clone(x);
  assert.equal(backend.numDataIds(), before, "the clone allocated a new buffer");
  x.dispose();
  assert.deepEqual([...y.dataSync()], [1, 2, 3, 4]);
  y.dispose();
  assert.equal(backend.numDataIds(), before - 1, "the shared buffer was not freed with its last tensor");
});

test("gradients through clones and saved tensors match cpu", async () => {
  const rand = randn(11);
  const a = { shape: [5, 6], data: rand(30) };
  const b = { shape: [6, 4], data: rand(24) };
  const f = (p: tf.Tensor, q: tf.Tensor) => tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.clone(u), tf.relu(v)))))([p, q]);
  assertClose(await runOn("wasm", [a, b], f), await runOn("cpu", [a, b], f), "grads");
});

test("Cast to the same dtype shares the buffer; real conversions still convert", async () => {
  await tf.setBackend("wasm");
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const x = tf.tensor1d([1.5, -2, 0, 3]);
  const ids = backend.numDataIds();
  const same = tf.cast(x, "float32");
  assert.equal(backend.numDataIds(), ids, "no new buffer for a float32 → float32 cast");
  x.dispose();
  assert.deepEqual(Array.from(same.dataSync()), [1.5, -2, 0, 3], "the cast outlives its original");
  same.dispose();
  assert.deepEqual(Array.from(tf.cast(tf.tensor1d([1.7, -2.2, 3.9]), "int32").dataSync()), [1, -2, 3]);
  assert.deepEqual(Array.from(tf.cast(tf.tensor1d([true, false, true], "bool"), "float32").dataSync()), [1, 0, 1]);
});
