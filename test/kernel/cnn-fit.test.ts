/**
 * A convolutional network trained with plain TensorFlow.js (`model.fit`, `trainOnBatch`; no
 * `dl.train`) in the real kernel, over ZeroMQ, on the kernel's default backend: tsdl's wasm
 * needs every kernel a CNN's training uses registered when the backend is set up (tfjs-wasm
 * 4.22 has no Conv2DBackpropFilter; issue 12 §3).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestKernel, type TestKernel } from "../helpers/kernel";

let t: TestKernel;
before(async () => {
  // TSDL_BACKEND empty: the kernel's own choice, as a user gets it (wasm where tfjs-node is absent).
  t = await startTestKernel({ env: { TSDL_BACKEND: "" } });
});
after(async () => {
  await t?.stop();
});

/** Runs a cell and returns its text/plain result; fails with the cell's traceback. */
async function value(code: string): Promise<string> {
  const run = await t.kernel.execute(code);
  assert.equal(run.status, "ok", run.error ? `${run.error.ename}: ${run.error.evalue}\n${run.error.traceback.join("\n")}` : run.stderr);
  return String(run.result?.data["text/plain"] ?? "");
}

test("plain tfjs model.fit and trainOnBatch train a small CNN on the kernel's default backend", { timeout: 180_000 }, async () => {
  const backend = await value("tf.getBackend()");
  // On a machine with tfjs-node installed the default is `node`, which has every kernel anyway.
  assert.match(backend, /wasm|node/);
  await value(`
// Images 10×10 with one bright 3×3 square; the class is the quadrant it is in.
const n = 64;
const xs = new Float32Array(n * 100);
const labels: number[] = [];
for (let i = 0; i < n; i++) {
  const q = i % 4;
  const r = (q >> 1) * 5 + (i % 3);
  const c = (q & 1) * 5 + ((i >> 2) % 3);
  for (let dr = 0; dr < 3; dr++) for (let dc = 0; dc < 3; dc++) xs[i * 100 + (r + dr) * 10 + c + dc] = 1;
  labels.push(q);
}
const x = tf.tensor4d(xs, [n, 10, 10, 1]);
const y = tf.oneHot(tf.tensor1d(labels, "int32"), 4);
const model = tf.sequential();
model.add(tf.layers.conv2d({ inputShape: [10, 10, 1], filters: 6, kernelSize: 3, padding: "same", activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
model.add(tf.layers.conv2d({ filters: 5, kernelSize: 3, strides: 2, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
model.add(tf.layers.flatten());
model.add(tf.layers.dense({ units: 4, activation: "softmax", kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
model.compile({ optimizer: tf.train.adam(0.01), loss: "categoricalCrossentropy" });
0`);
  const fitLosses = JSON.parse(await value(`
const history = await model.fit(x, y, { epochs: 8, batchSize: 16, shuffle: false, verbose: 0 });
JSON.stringify(history.history.loss)`)) as number[];
  assert.equal(fitLosses.length, 8);
  assert.ok(fitLosses.every(Number.isFinite), `finite losses: ${fitLosses}`);
  assert.ok(fitLosses[7] < 0.8 * fitLosses[0], `model.fit: loss falls from ${fitLosses[0]} to ${fitLosses[7]}`);

  const batchLosses = JSON.parse(await value(`
const batchLosses: number[] = [];
for (let i = 0; i < 4; i++) batchLosses.push(await model.trainOnBatch(x, y) as number);
JSON.stringify(batchLosses)`)) as number[];
  assert.ok(batchLosses.every(Number.isFinite), `finite losses: ${batchLosses}`);
  assert.ok(batchLosses[3] < batchLosses[0], `trainOnBatch: loss falls: ${batchLosses}`);
  assert.equal(await value("tf.getBackend()"), backend, "still on the same backend");
});
