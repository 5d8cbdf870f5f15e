/**
 * `evaluate` and `predictClasses` run each of their batches through the model in as few forward
 * passes as keep the bits (tfjs-layers' `predict` alone would cut it into batches of 32), and give
 * the same numbers, to the bit, as scoring through tfjs-layers' own batches of 32: for the
 * article's MLP and the CNN with non-zero biases (as after training: XNNPACK adds the bias before
 * the sum, tsdl's GEMM after it, so a zero bias would hide a pass that went to XNNPACK), on the
 * default backend, on a data set that is not a multiple of either batch size.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import * as dl from "../../src";
import { taskFor } from "../../src/train/task";
import { setDenseForward } from "../../src/wasm/dense-forward";

const N = 1037; // 1000 + 37, and 32 × 32 + 13

/** Records the batch height of every forward pass through the model's first Dense or Conv2D layer. */
function watchBatches(model: tf.LayersModel): number[] {
  const seen: number[] = [];
  const layer = model.layers.find((l) => ["Dense", "Conv2D"].includes(l.getClassName()))!;
  const call = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    seen.push(x.shape[0]);
    return call(inputs, kwargs);
  };
  return seen;
}

/** Loss and accuracy over batches of 1000, from outputs that tfjs-layers computed 32 rows at a time. */
function reference(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): { loss: number; correct: number; classes: number[] } {
  const task = taskFor(model);
  return tf.tidy(() => {
    const out = model.predict(x) as tf.Tensor; // tfjs-layers' default: batches of 32, concatenated
    let lossSum = 0;
    let correct = 0;
    for (let start = 0; start < N; start += 1000) {
      const size = Math.min(1000, N - start);
      const o = out.slice(start, size);
      const yb = y.slice(start, size);
      lossSum += task.loss(yb, o).mul(size).dataSync()[0];
      correct += task.correct(yb, o).dataSync()[0];
    }
    return { loss: lossSum / N, correct, classes: Array.from(task.classes(out).dataSync()) };
  });
}

for (const kind of ["mlp", "cnn"] as const) {
  test(`${kind}: evaluate and predictClasses score ${N} images in the fewest forward passes that keep the bits of tfjs-layers' batches of 32`, async () => {
    await initBackend();
    const model = kind === "mlp" ? dl.models.mlp({ inputs: 784, hidden: [256, 128], outputs: 10, dropout: 0.5, seed: 3 }) : dl.models.cnn({ seed: 3 });
    model.setWeights(model.getWeights().map((w, i) => (w.rank === 1 ? tf.randomUniform(w.shape, -0.2, 0.2, "float32", i) : w)));
    const x = tf.randomUniform([N, 784], -1, 1, "float32", 5);
    const y = tf.tidy(() => tf.randomUniform([N], 0, 10, "float32", 6).floor().toInt());
    const ref = reference(model, x, y);
    // The MLP scores on the direct dense pass (test/train/dense-forward.test.ts), which calls no
    // layer: its bits here, then the general path's passes with it switched off.
    if (kind === "mlp") {
      const direct = dl.train.evaluate(model, { x, y });
      assert.equal(direct.loss, ref.loss, "the direct pass: the same loss to the bit");
      assert.equal(direct.correct, ref.correct);
      assert.deepEqual(Array.from(dl.train.predictClasses(model, x)), ref.classes);
    }
    const wasDirect = setDenseForward(false);
    const seen = watchBatches(model);
    // The MLP's 784×256 product leaves tsdl's GEMM above 668 rows: two passes of 500 per 1000.
    const passes = kind === "mlp" ? [500, 500, 37] : [1000, 37];
    const ev = dl.train.evaluate(model, { x, y });
    assert.equal(ev.count, N);
    assert.equal(ev.correct, ref.correct);
    assert.equal(ev.loss, ref.loss, "the same loss to the bit");
    assert.deepEqual(seen, passes, "evaluate: the fewest forward passes that keep the bits");
    seen.length = 0;
    const classes = dl.train.predictClasses(model, x);
    assert.deepEqual(seen, passes, "predictClasses: the same passes");
    assert.deepEqual(Array.from(classes), ref.classes);
    seen.length = 0;
    const small = dl.train.evaluate(model, { x, y }, { batchSize: 100 });
    assert.deepEqual(seen, [...new Array(10).fill(100), 37]);
    assert.equal(small.correct, ref.correct);
    setDenseForward(wasDirect);
    tf.dispose([x, y]);
    model.dispose();
  });
}
