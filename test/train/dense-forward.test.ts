/**
 * Scoring's direct inference pass for dense networks (src/wasm/dense-forward.ts) against the
 * general path (`model.predict` through tfjs-layers), switched off and on in one process, on wasm
 * with tsdl's kernels: the same outputs, losses, accuracies, counts and classes to the bit, on
 * 1, 999 and 2,001 rows (not multiples of a pass), int labels and one-hot rows, several batch
 * sizes (so passes start mid-tensor), with nothing left behind; and models and inputs it must
 * leave to `model.predict`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import * as dl from "../../src";
import { predictBatch } from "../../src/train/evaluate";
import { denseForwardsRun, setDenseForward } from "../../src/wasm/dense-forward";
import { randn } from "../helpers/compare-backends";

const rand = randn(20261203);

const wasmBuffers = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();

function bits(a: Float32Array | Int32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("hex");
}

/** Non-zero biases, as after training (a zero bias hides where the bias is added). */
function withBiases(model: tf.LayersModel): tf.LayersModel {
  model.setWeights(model.getWeights().map((w, i) => (w.rank === 1 ? tf.randomUniform(w.shape, -0.3, 0.3, "float32", 40 + i) : w)));
  return model;
}

interface Scores {
  evals: dl.train.Evaluation[];
  classes: Int32Array;
  outputs: Float32Array;
  passes: number;
}

/** Everything scoring gives for (x, y), the direct pass on or off; checks nothing is left behind. */
function score(on: boolean, model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, what: string): Scores {
  const was = setDenseForward(on);
  const before = denseForwardsRun();
  const tensors = tf.memory().numTensors;
  const buffers = wasmBuffers();
  try {
    const evals = [undefined, 300, 1000].map((batchSize) => dl.train.evaluate(model, { x, y }, { batchSize }));
    const classes = dl.train.predictClasses(model, x);
    const outputs = tf.tidy(() => predictBatch(model, x).dataSync() as Float32Array);
    assert.equal(tf.memory().numTensors, tensors, `${what}: tensors left (direct ${on})`);
    assert.equal(wasmBuffers(), buffers, `${what}: wasm buffers left (direct ${on})`);
    return { evals, classes, outputs, passes: denseForwardsRun() - before };
  } finally {
    setDenseForward(was);
  }
}

test("scoring's direct dense pass gives model.predict's outputs, losses, counts and classes to the bit, with nothing left behind", async () => {
  await initBackend();
  await tf.setBackend("wasm");
  const models: { what: string; model: () => tf.LayersModel; inputs: number; units: number }[] = [
    { what: "the article's MLP, dropout 0.5", model: () => dl.models.mlp({ inputs: 784, hidden: [256, 128], outputs: 10, dropout: 0.5, seed: 7 }), inputs: 784, units: 10 },
    { what: "the article's MLP, dropout 0", model: () => dl.models.mlp({ inputs: 784, hidden: [256, 128], outputs: 10, dropout: 0, seed: 8 }), inputs: 784, units: 10 },
    // L2 enters the training loss only; inference and scoring are the same with or without it.
    { what: "odd widths, L2 regularizers", model: () => dl.models.mlp({ inputs: 13, hidden: [7], outputs: 3, dropout: 0, l2: 0.01, seed: 10 }), inputs: 13, units: 3 },
    { what: "odd widths, linear hidden layers", model: () => dl.models.mlp({ inputs: 13, hidden: [7, 5], outputs: 3, activation: "linear", dropout: 0.2, seed: 9 }), inputs: 13, units: 3 },
  ];
  for (const m of models) {
    const model = withBiases(m.model());
    for (const rows of [1, 999, 2001]) {
      const x = tf.tensor2d(rand(rows * m.inputs), [rows, m.inputs]);
      const labels = tf.tensor1d(Int32Array.from({ length: rows }, (_, i) => (i * 7 + (i >> 3)) % m.units), "int32");
      for (const [kind, y] of [["int labels", labels], ["one-hot rows", tf.tidy(() => tf.oneHot(labels, m.units).toFloat())]] as const) {
        const what = `${m.what}, ${rows} rows, ${kind}`;
        const general = score(false, model, x, y, what);
        const direct = score(true, model, x, y, what);
        assert.equal(general.passes, 0, `${what}: the general path ran the direct pass`);
        assert.ok(direct.passes >= 5, `${what}: expected at least five direct passes (3 evaluates, predictClasses, predictBatch), found ${direct.passes}`);
        assert.equal(bits(direct.outputs), bits(general.outputs), `${what}: outputs`);
        assert.deepEqual(direct.evals, general.evals, `${what}: losses, accuracies and counts`);
        for (const e of direct.evals) assert.equal(e.count, rows);
        assert.equal(bits(direct.classes), bits(general.classes), `${what}: classes`);
        if (y !== labels) y.dispose();
      }
      tf.dispose([x, labels]);
    }
    model.dispose();
  }
});

test("scoring's direct pass takes the passes predictBatch chooses: two of 500 per 1,000 rows of the article's MLP", async () => {
  await initBackend();
  await tf.setBackend("wasm");
  const model = dl.models.mlp({ inputs: 784, hidden: [256, 128], outputs: 10, seed: 3 });
  const x = tf.tensor2d(rand(2001 * 784), [2001, 784]);
  const y = tf.tensor1d(new Int32Array(2001), "int32");
  const before = denseForwardsRun();
  dl.train.evaluate(model, { x, y });
  // Batches of 1,000, 1,000 and 1: 2 + 2 + 1 passes (the 784×256 product leaves tsdl's GEMM above 668 rows).
  assert.equal(denseForwardsRun() - before, 5);
  tf.dispose([x, y]);
  model.dispose();
});

test("scoring leaves other layers, activations, models, inputs and backends to model.predict", async () => {
  await initBackend();
  await tf.setBackend("wasm");
  const dense = (units: number, activation: string, extra: object = {}) => tf.layers.dense({ units, activation: activation as "relu", ...extra });
  const sequential = (layers: tf.layers.Layer[]) => {
    const m = tf.sequential();
    for (const l of layers) m.add(l);
    return withBiases(m);
  };
  const cases: { what: string; model: () => tf.LayersModel; x: () => tf.Tensor }[] = [
    { what: "a convolutional network", model: () => withBiases(dl.models.cnn({ seed: 2 })), x: () => tf.tensor2d(rand(40 * 784), [40, 784]) },
    { what: "a softmax output layer", model: () => sequential([dense(6, "relu", { inputShape: [5] }), dense(4, "softmax")]), x: () => tf.tensor2d(rand(30 * 5), [30, 5]) },
    { what: "a sigmoid hidden layer", model: () => sequential([dense(6, "sigmoid", { inputShape: [5] }), dense(4, "linear")]), x: () => tf.tensor2d(rand(30 * 5), [30, 5]) },
    { what: "a dense layer without a bias", model: () => sequential([dense(6, "relu", { inputShape: [5], useBias: false }), dense(4, "linear")]), x: () => tf.tensor2d(rand(30 * 5), [30, 5]) },
    { what: "a flatten layer (image inputs)", model: () => withBiases(dl.models.mlp({ inputs: [4, 4, 1], hidden: [6], outputs: 4, seed: 5 })), x: () => tf.tensor4d(rand(30 * 16), [30, 4, 4, 1]) },
    {
      what: "a functional model",
      model: () => {
        const input = tf.input({ shape: [5] });
        const out = dense(4, "linear").apply(dense(6, "relu").apply(input)) as tf.SymbolicTensor;
        return withBiases(tf.model({ inputs: input, outputs: out }));
      },
      x: () => tf.tensor2d(rand(30 * 5), [30, 5]),
    },
  ];
  for (const c of cases) {
    const model = c.model();
    const x = c.x();
    const units = model.outputs[0].shape[1] as number;
    const y = tf.tensor1d(Int32Array.from({ length: x.shape[0] }, (_, i) => i % units), "int32");
    const before = denseForwardsRun();
    const e = dl.train.evaluate(model, { x, y });
    const classes = dl.train.predictClasses(model, x);
    assert.equal(denseForwardsRun() - before, 0, `${c.what}: took the direct pass`);
    // And the general path scored it, as model.predict does.
    const expected = tf.tidy(() => Array.from(tf.argMax(model.predict(x) as tf.Tensor, 1).dataSync()));
    assert.deepEqual(Array.from(classes), expected, `${c.what}: classes`);
    assert.equal(e.count, x.shape[0]);
    assert.ok(Number.isFinite(e.loss), `${c.what}: loss ${e.loss}`);
    tf.dispose([x, y]);
    model.dispose();
  }

  // Switched off; and on the cpu backend, where there is no wasm memory to read.
  const model = withBiases(dl.models.mlp({ inputs: 5, hidden: [6], outputs: 4, seed: 6 }));
  const x = tf.tensor2d(rand(30 * 5), [30, 5]);
  const y = tf.tensor1d(Int32Array.from({ length: 30 }, (_, i) => i % 4), "int32");
  const onWasm = dl.train.evaluate(model, { x, y });
  let before = denseForwardsRun();
  const was = setDenseForward(false);
  try {
    assert.deepEqual(dl.train.evaluate(model, { x, y }), onWasm);
  } finally {
    setDenseForward(was);
  }
  assert.equal(denseForwardsRun() - before, 0, "switched off: took the direct pass");
  await tf.setBackend("cpu");
  let madeOnCpu: tf.LayersModel;
  try {
    before = denseForwardsRun();
    const onCpu = dl.train.evaluate(model, { x, y });
    assert.equal(denseForwardsRun() - before, 0, "cpu backend: took the direct pass");
    assert.equal(onCpu.correct, onWasm.correct);
    madeOnCpu = withBiases(dl.models.mlp({ inputs: 5, hidden: [6], outputs: 4, seed: 6 }));
  } finally {
    await tf.setBackend("wasm");
  }
  // Weights still on the cpu backend: the wasm backend's data storage moves them when the direct
  // pass looks them up, as it does for runKernel, and the numbers are the same.
  before = denseForwardsRun();
  assert.deepEqual(dl.train.evaluate(madeOnCpu, { x, y }), onWasm, "the same model made on cpu scores the same on wasm");
  assert.equal(denseForwardsRun() - before, 1, "weights made on cpu: the direct pass, after the move");
  tf.dispose([x, y]);
  model.dispose();
  madeOnCpu.dispose();
});
