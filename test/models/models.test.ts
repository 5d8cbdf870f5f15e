import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import * as dl from "../../src";
import { toBundle } from "../../src/display";

test("the article's MLP has 235,146 parameters, and the summary says so as text and HTML", async () => {
  await initBackend();
  const model = dl.models.mlp({ inputs: 784, hidden: [256, 128], outputs: 10, activation: "relu", dropout: 0.5 });
  const s = dl.summary(model);
  assert.equal(s.totalParams, 235146);
  assert.equal(s.trainableParams, 235146);
  assert.deepEqual(s.layers.map((l) => [l.name, l.type, l.params]), [
    ["hidden1", "Dense", 784 * 256 + 256],
    ["dropout1", "Dropout", 0],
    ["hidden2", "Dense", 256 * 128 + 128],
    ["dropout2", "Dropout", 0],
    ["output", "Dense", 128 * 10 + 10],
  ]);
  assert.deepEqual(s.layers[4].outputShape, [null, 10]);
  const bundle = toBundle(s);
  assert.match(bundle["text/plain"] as string, /Total params: 235,146/);
  assert.match(bundle["text/plain"] as string, /hidden1\s+Dense\s+\[null, 256\]\s+200,960/);
  assert.match(bundle["text/html"] as string, /<td[^>]*>200,960<\/td>/);
  assert.match(bundle["text/html"] as string, /Total params: 235,146/);
  // The top-level export is the same function.
  assert.equal(dl.summary, dl.models.summary);
  model.dispose();
});

test("mlp: logits out (no softmax), a fresh model each call, seeded weights repeat", async () => {
  await initBackend();
  const a = dl.models.mlp({ seed: 5 });
  const b = dl.models.mlp({ seed: 5 });
  const c = dl.models.mlp({ seed: 6 });
  const d = dl.models.mlp();
  assert.notEqual(a, b);
  assert.notEqual(a.getWeights()[0], b.getWeights()[0]);
  const w = (m: tf.LayersModel) => m.getWeights().map((t) => Array.from(t.dataSync()));
  assert.deepEqual(w(a), w(b), "same seed, same weights");
  assert.notDeepEqual(w(a)[0], w(c)[0], "another seed, other weights");
  assert.notDeepEqual(w(a)[0], w(d)[0], "no seed, random weights");
  // Logits: rows do not sum to 1 and can be negative.
  const out = tf.tidy(() => (a.predict(tf.randomNormal([4, 784], 0, 1, "float32", 1)) as tf.Tensor).arraySync() as number[][]);
  assert.ok(out.flat().some((v) => v < 0), "logits include negative values");
  assert.ok(out.some((r) => Math.abs(r.reduce((s, v) => s + v, 0) - 1) > 1e-3), "rows are not probabilities");
  const last = a.layers[a.layers.length - 1].getConfig() as { activation: string };
  assert.equal(last.activation, "linear");
  [a, b, c, d].forEach((m) => m.dispose());
});

test("mlp: dropout on and off, activations, L2 penalties equal λ·Σw²", async () => {
  await initBackend();
  const on = dl.models.mlp({ inputs: 8, hidden: [6, 4], outputs: 3, dropout: 0.3 });
  const rates = on.layers.filter((l) => l.getClassName() === "Dropout").map((l) => (l.getConfig() as { rate: number }).rate);
  assert.deepEqual(rates, [0.3, 0.3]);
  const off = dl.models.mlp({ inputs: 8, hidden: [6, 4], outputs: 3, dropout: 0, activation: "tanh" });
  assert.equal(off.layers.filter((l) => l.getClassName() === "Dropout").length, 0);
  assert.equal((off.layers[0].getConfig() as { activation: string }).activation, "tanh");
  const reg = dl.models.mlp({ inputs: 8, hidden: [6], outputs: 3, dropout: 0, l2: 0.01, seed: 2 });
  const penalties = reg.layers.flatMap((l) => l.calculateLosses()).map((t) => t.dataSync()[0]);
  const ws = reg.getWeights();
  const sq = (t: tf.Tensor) => Array.from(t.dataSync()).reduce((s, v) => s + v * v, 0);
  assert.equal(penalties.length, 2, "one penalty per kernel, none on biases");
  assert.ok(Math.abs(penalties[0] - 0.01 * sq(ws[0])) < 1e-6);
  assert.ok(Math.abs(penalties[1] - 0.01 * sq(ws[2])) < 1e-6);
  assert.equal(dl.models.mlp({ inputs: [28, 28, 1], hidden: [5] }).layers[0].getClassName(), "Flatten");
  [on, off, reg].forEach((m) => m.dispose());
});

test("mlp and cnn: bad options are clear errors", () => {
  assert.throws(() => dl.models.mlp({ hidden: [0] }), /models\.mlp: hidden\[0\] must be a positive integer, found 0/);
  assert.throws(() => dl.models.mlp({ dropout: 1 }), /models\.mlp: dropout must be in \[0, 1\), found 1/);
  assert.throws(() => dl.models.mlp({ outputs: 2.5 }), /outputs must be a positive integer, found 2\.5/);
  assert.throws(() => dl.models.mlp({ l2: -1 }), /l2 must be a number ≥ 0, found -1/);
  assert.throws(() => dl.models.cnn({ inputs: 780 }), /780 values is not a square image/);
  assert.throws(() => dl.models.perceptron({ inputs: 2, weights: { w: [1, 2, 3], b: 0 } }), /weights\.w has 3 values, expected 2/);
  assert.throws(() => dl.summary({} as tf.LayersModel), /summary: expected a tfjs LayersModel/);
});

test("perceptron: ŷ = sigmoid(w·x + b), the worked example's model", async () => {
  await initBackend();
  const p = dl.models.perceptron({ inputs: 2, weights: { w: [0.5, -0.25], b: 0.1 } });
  assert.equal(dl.summary(p).totalParams, 3);
  const x = [[1, 2], [-3, 0.5]];
  const got = tf.tidy(() => (p.predict(tf.tensor2d(x)) as tf.Tensor).dataSync());
  x.forEach(([x1, x2], i) => {
    const z = 0.5 * x1 - 0.25 * x2 + 0.1;
    assert.ok(Math.abs(got[i] - 1 / (1 + Math.exp(-z))) < 1e-6, `row ${i}`);
  });
  p.dispose();
});

test("cnn: takes the MLP's flat 784 inputs or images, outputs 10 logits", async () => {
  await initBackend();
  const flat = dl.models.cnn({ seed: 1 });
  assert.deepEqual(flat.inputs[0].shape, [null, 784]);
  assert.deepEqual(flat.outputs[0].shape, [null, 10]);
  assert.equal(dl.summary(flat).totalParams, (9 * 16 + 16) + (9 * 16 * 32 + 32) + (5 * 5 * 32 * 128 + 128) + (128 * 10 + 10));
  const img = dl.models.cnn({ inputs: [28, 28, 1], filters: [4, 8], dense: 16 });
  assert.deepEqual(img.inputs[0].shape, [null, 28, 28, 1]);
  const out = tf.tidy(() => (img.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor).shape);
  assert.deepEqual(out, [2, 10]);
  flat.dispose();
  img.dispose();
});

test("mlp init: glorot (default), pytorch's U(±1/√fan_in) for weights and biases, or zeros", async () => {
  await initBackend();
  const range = (t: tf.Tensor) => {
    const v = Float32Array.from(t.dataSync());
    return [v.reduce((a: number, b: number) => Math.min(a, b), Infinity), v.reduce((a: number, b: number) => Math.max(a, b), -Infinity)];
  };
  const pt = dl.models.mlp({ init: "pytorch", seed: 1 }).getWeights();
  const gl = dl.models.mlp({ seed: 1 }).getWeights();
  const z = dl.models.mlp({ init: "zeros", seed: 1 }).getWeights();
  // hidden1: fan_in 784 → ±1/28; glorot: ±√(6/(784+256)) ≈ ±0.0760.
  const [lo, hi] = range(pt[0]);
  assert.ok(lo >= -1 / 28 && hi <= 1 / 28 && hi > 0.9 / 28 && lo < -0.9 / 28, `pytorch kernel range ${lo}..${hi}`);
  const [blo, bhi] = range(pt[1]);
  assert.ok(blo >= -1 / 28 && bhi <= 1 / 28 && bhi - blo > 1 / 28, `pytorch bias range ${blo}..${bhi}`);
  const [olo, ohi] = range(pt[4]);
  assert.ok(olo >= -1 / Math.sqrt(128) && ohi <= 1 / Math.sqrt(128) && ohi > 0.08, `output kernel range ${olo}..${ohi}`);
  const [glo, ghi] = range(gl[0]);
  assert.ok(ghi > 0.07 && ghi <= Math.sqrt(6 / 1040) && glo < -0.07, `glorot range ${glo}..${ghi}`);
  assert.deepEqual(range(gl[1]), [0, 0], "glorot biases start at zero");
  assert.ok(z.every((w) => range(w).every((v) => v === 0)));
  assert.throws(() => dl.models.mlp({ init: "he" as never }), /init must be "glorot", "pytorch" or "zeros", found "he"/);
});
