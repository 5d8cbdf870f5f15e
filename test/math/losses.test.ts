import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { losses, activations, rng } from "../../src/math";
import { near, scalarOf, useCpu } from "../helpers/numeric";

// Tolerances: the from-scratch losses are float64 and are compared with arithmetic written out
// here to 1e-12. tfjs computes in float32 (about 7 significant digits); every loss below is of
// order 1, so float32 rounding stays under 1e-6 absolute, the bar the issue sets.

before(useCpu);

test("mse matches the hand computation, its tfjs twin and tf.losses.meanSquaredError", () => {
  const y = [1, 2, 3];
  const yHat = [1.5, 2, 2];
  // ((1 − 1.5)² + (2 − 2)² + (3 − 2)²) / 3 = (0.25 + 0 + 1) / 3
  const hand = (0.25 + 0 + 1) / 3;
  near(losses.mse(y, yHat), hand, 1e-12, "scratch");
  near(scalarOf(losses.tf.mse(y, yHat)), hand, 1e-6, "losses.tf.mse");
  near(scalarOf(tf.losses.meanSquaredError(y, yHat)), hand, 1e-6, "tf.losses");
});

test("mse on a random batch agrees with tf.losses.meanSquaredError", () => {
  const r = rng(1);
  const y = Array.from({ length: 6 }, () => Array.from({ length: 4 }, () => r.normal()));
  const yHat = Array.from({ length: 6 }, () => Array.from({ length: 4 }, () => r.normal()));
  const ref = scalarOf(tf.losses.meanSquaredError(y, yHat));
  near(losses.mse(y, yHat), ref, 1e-6, "scratch");
  near(scalarOf(losses.tf.mse(y, yHat)), ref, 1e-6, "losses.tf.mse");
});

test("cross-entropy on probabilities is −Σ y log ŷ, as the article writes it", () => {
  // One distribution: only the true class counts, −log 0.7.
  near(losses.crossEntropy([0, 1, 0], [0.2, 0.7, 0.1]), -Math.log(0.7), 1e-12, "one row");
  near(-Math.log(0.7), 0.35667494393873245, 1e-15, "−log 0.7");
  // A batch is averaged over rows: (−log 0.7 − log 0.5) / 2.
  const Y = [[0, 1, 0], [1, 0, 0]];
  const P = [[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]];
  const hand = (-Math.log(0.7) - Math.log(0.5)) / 2;
  near(losses.crossEntropy(Y, P), hand, 1e-12, "batch");
  near(scalarOf(losses.tf.crossEntropy(Y, P)), hand, 1e-6, "losses.tf.crossEntropy");
  // tf.losses only takes logits; softmax(log p) = p when each row of p sums to 1.
  near(scalarOf(tf.losses.softmaxCrossEntropy(Y, tf.log(P))), hand, 1e-6, "tf.losses.softmaxCrossEntropy(log p)");
  // Soft labels count every class: −(0.25 log 0.2 + 0.75 log 0.7).
  near(losses.crossEntropy([0.25, 0.75, 0], [0.2, 0.7, 0.1]), -(0.25 * Math.log(0.2) + 0.75 * Math.log(0.7)), 1e-12, "soft labels");
});

test("cross-entropy on logits uses log-softmax and agrees with tf.losses.softmaxCrossEntropy", () => {
  // z = [2, 1, 0], class 0: −log(e² / (e² + e + 1)) = log(1 + e⁻¹ + e⁻²).
  const hand = Math.log(1 + Math.exp(-1) + Math.exp(-2));
  near(losses.crossEntropy([1, 0, 0], [2, 1, 0], { fromLogits: true }), hand, 1e-12, "scratch");
  near(scalarOf(losses.tf.crossEntropy([1, 0, 0], [2, 1, 0], { fromLogits: true })), hand, 1e-6, "tf twin");
  near(scalarOf(tf.losses.softmaxCrossEntropy([[1, 0, 0]], [[2, 1, 0]])), hand, 1e-6, "tf.losses");

  const r = rng(2);
  const Z = Array.from({ length: 8 }, () => Array.from({ length: 5 }, () => r.normal(0, 3)));
  const Y = Z.map(() => {
    const row = new Array(5).fill(0);
    row[r.int(5)] = 1;
    return row;
  });
  const ref = scalarOf(tf.losses.softmaxCrossEntropy(Y, Z));
  near(losses.crossEntropy(Y, Z, { fromLogits: true }), ref, 1e-6, "scratch, random batch");
  near(scalarOf(losses.tf.crossEntropy(Y, Z, { fromLogits: true })), ref, 1e-6, "tf twin, random batch");
  // Same numbers through probabilities: the two paths must meet.
  const P = Z.map((z) => activations.softmax.f(z));
  near(losses.crossEntropy(Y, P), losses.crossEntropy(Y, Z, { fromLogits: true }), 1e-12, "probabilities vs logits");
});

test("log-softmax keeps cross-entropy finite where softmax rounds to zero", () => {
  const z = [1000, 0, -1000];
  const y = [0, 1, 0];
  // log softmax(z)₁ = 0 − (1000 + log(1 + e⁻¹⁰⁰⁰ + e⁻²⁰⁰⁰)) = −1000 in float64.
  assert.equal(losses.crossEntropy(y, z, { fromLogits: true }), 1000);
  assert.deepEqual(losses.logSoftmax(z), [0, -1000, -2000]);
  // Going through probabilities first loses it: softmax(z)₁ underflows to 0 and −log 0 = ∞.
  assert.equal(activations.softmax.f(z)[1], 0);
  assert.equal(losses.crossEntropy(y, activations.softmax.f(z)), Infinity);
  near(scalarOf(losses.tf.crossEntropy(y, z, { fromLogits: true })), 1000, 1e-3, "tf twin, float32");
});

test("binary cross-entropy agrees with tf.losses.logLoss and tf.losses.sigmoidCrossEntropy", () => {
  // y = [1, 0], ŷ = [0.9, 0.2]: (−log 0.9 − log 0.8) / 2.
  const hand = (-Math.log(0.9) - Math.log(0.8)) / 2;
  near(losses.binaryCrossEntropy([1, 0], [0.9, 0.2]), hand, 1e-12, "scratch");
  near(scalarOf(losses.tf.binaryCrossEntropy([1, 0], [0.9, 0.2])), hand, 1e-6, "tf twin");
  near(scalarOf(tf.losses.logLoss([1, 0], [0.9, 0.2], undefined, 0)), hand, 1e-6, "tf.losses.logLoss, epsilon 0");

  // Logits z = [2, −1], y = [1, 0], element by element:
  // y = 1: −log σ(2) = log(1 + e⁻²);  y = 0: −log(1 − σ(−1)) = log(1 + e⁻¹).
  const handLogits = (Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(-1))) / 2;
  near(losses.binaryCrossEntropy([1, 0], [2, -1], { fromLogits: true }), handLogits, 1e-12, "scratch logits");
  near(scalarOf(losses.tf.binaryCrossEntropy([1, 0], [2, -1], { fromLogits: true })), handLogits, 1e-6, "tf twin logits");
  near(scalarOf(tf.losses.sigmoidCrossEntropy([1, 0], [2, -1])), handLogits, 1e-6, "tf.losses.sigmoidCrossEntropy");

  const r = rng(3);
  const z = Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => r.normal(0, 2)));
  const y = z.map((row) => row.map(() => (r.uniform() < 0.5 ? 0 : 1)));
  const p = z.map((row) => row.map(activations.sigmoid.f));
  const ref = scalarOf(tf.losses.sigmoidCrossEntropy(y, z));
  near(losses.binaryCrossEntropy(y, z, { fromLogits: true }), ref, 1e-6, "scratch logits, random");
  near(losses.binaryCrossEntropy(y, p), ref, 1e-6, "scratch probabilities, random");
  near(scalarOf(losses.tf.binaryCrossEntropy(y, p)), ref, 1e-6, "tf twin probabilities, random");
  // Stable for large logits: y = 0, z = 800 costs 800 (σ(800) rounds to 1, log(1 − 1) = −∞).
  assert.equal(losses.binaryCrossEntropy([0], [800], { fromLogits: true }), 800);
});

test("the tfjs losses are differentiable: ∂MSE/∂ŷ = 2(ŷ − y)/m", () => {
  const y = tf.tensor1d([1, 2, 3]);
  const g = tf.grad((p: tf.Tensor) => losses.tf.mse(y, p))(tf.tensor1d([1.5, 2, 2]));
  const got = Array.from(g.dataSync());
  [2 * 0.5 / 3, 0, (2 * -1) / 3].forEach((v, i) => near(got[i], v, 1e-6, `grad[${i}]`));
});

test("bad inputs are clear errors naming what was expected and found", () => {
  assert.throws(() => losses.mse([1, 2], [1, 2, 3]), /mse: y has shape \[2\] and ŷ has shape \[3\]; expected equal shapes/);
  assert.throws(() => losses.crossEntropy([0, 1], [0.5, 1.5]), /expected probabilities in \[0, 1\], found 1\.5 at \[1\]; pass \{ fromLogits: true \} for logits/);
  assert.throws(() => losses.binaryCrossEntropy([[1, 0]], [[0.5, -0.1]]), /found -0\.1 at \[0\]\[1\]/);
  assert.throws(() => losses.mse([[1, 2], [3]], [[1, 2], [3]]), /row 1 has 1 values, expected 2/);
  assert.throws(() => losses.tf.mse([1, 2], [[1, 2]]), /y has shape \[2\] and the prediction has shape \[1,2\]/);
});
