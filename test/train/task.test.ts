/**
 * `task.countCorrect` (what `fit` and `evaluate` count each batch with, in JavaScript from the
 * outputs' values) gives the count of `task.correct` (tfjs's ArgMax, Equal and Sum) on wasm with
 * tsdl's kernels and on `cpu`: for integer labels and one-hot rows, several classes, a sigmoid
 * output and a single logit, batch 1, ties between classes, NaN outputs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { taskFor } from "../../src/train/task";
import { randn } from "../helpers/compare-backends";

const rand = randn(20261201);

function model(units: number, activation?: string): tf.LayersModel {
  return tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units, activation: activation as never })] });
}

/** Integer labels 0..units-1 for `rows` rows, from `rand`. */
function labels(rows: number, units: number): Int32Array {
  return Int32Array.from(rand(rows), (v) => Math.min(units - 1, Math.floor(Math.abs(v) * units) % units));
}

interface Case {
  what: string;
  units: number;
  activation?: string;
  out: Float32Array;
  y: tf.Tensor;
}

function cases(): Case[] {
  const rows = 64;
  const list: Case[] = [];
  for (const units of [10, 3, 2]) {
    const out = rand(rows * units);
    const y = labels(rows, units);
    // Make about half the rows right, so that a count that ignores the outputs would be off.
    for (let r = 0; r < rows; r += 2) out[r * units + y[r]] = 10;
    list.push({ what: `${units} classes, int labels`, units, out, y: tf.tensor1d(y, "int32") });
    list.push({ what: `${units} classes, one-hot rows`, units, out, y: tf.oneHot(tf.tensor1d(y, "int32"), units).toFloat() });
  }
  // Ties: the first of the largest wins; NaN: first value NaN (index 0 stays), NaN later (never picked).
  const tie = Float32Array.from([1, 1, 0, /**/ 0, 2, 2, /**/ NaN, 5, 1, /**/ 1, NaN, 3, /**/ 3, NaN, 1, /**/ -1, -1, -1]);
  list.push({ what: "ties and NaN", units: 3, out: tie, y: tf.tensor1d([0, 2, 0, 2, 0, 1], "int32") });
  list.push({ what: "ties and NaN, one-hot rows with ties", units: 3, out: tie, y: tf.tensor2d([1, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0], [6, 3]) });
  list.push({ what: "batch 1", units: 10, out: rand(10), y: tf.tensor1d([4], "int32") });
  list.push({ what: "float labels", units: 3, out: tie, y: tf.tensor1d([0, 2, 0, 2, 0, 1], "float32") });
  // Binary: around each threshold, and NaN.
  const logits = Float32Array.from([-1, 0, 1e-8, -1e-8, 2, NaN, 0.5, 0.49]);
  const y01 = [0, 1, 1, 0, 0, 1, 1, 0];
  list.push({ what: "sigmoid probabilities, [n] targets", units: 1, activation: "sigmoid", out: logits, y: tf.tensor1d(y01) });
  list.push({ what: "sigmoid probabilities, [n, 1] targets", units: 1, activation: "sigmoid", out: logits, y: tf.tensor2d(y01, [8, 1]) });
  list.push({ what: "a single logit", units: 1, out: logits, y: tf.tensor1d(y01, "int32") });
  return list;
}

for (const backend of ["wasm", "cpu"]) {
  test(`countCorrect counts as correct does on ${backend}: int labels, one-hot, binary, batch 1, ties, NaN`, async () => {
    await initBackend();
    await tf.setBackend(backend);
    for (const c of cases()) {
      const task = taskFor(model(c.units, c.activation));
      const out = tf.tensor2d(c.out, [c.out.length / c.units, c.units]);
      const expected = task.correct(c.y, out).dataSync()[0];
      const got = task.countCorrect(c.y, out);
      assert.equal(got, expected, `${c.what}: countCorrect ${got}, correct ${expected}`);
      // Not a constant: the count moves with the outputs.
      if (c.units > 1 && c.out.length >= 64) {
        const shifted = tf.tidy(() => tf.reverse(out, 1));
        assert.equal(task.countCorrect(c.y, shifted), task.correct(c.y, shifted).dataSync()[0], `${c.what}, reversed outputs`);
        assert.notEqual(task.countCorrect(c.y, shifted), got, `${c.what}: another output gives another count`);
        shifted.dispose();
      }
      tf.dispose([out, c.y]);
    }
  });
}
