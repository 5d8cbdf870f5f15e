import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { backprop, gradCheck, rng } from "../../src/math";
import type { TwoLayerParams } from "../../src/math/backprop";
import { allNear, allRelNear, near, useCpu } from "../helpers/numeric";

before(useCpu);

const r = rng(21);
const m = 6;
const X = Array.from({ length: m }, () => Array.from({ length: 3 }, () => r.normal()));
const params: TwoLayerParams = {
  W1: Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => r.normal(0, 0.8))),
  b1: [0.1, -0.1, 0.05, 0],
  W2: Array.from({ length: 2 }, () => Array.from({ length: 4 }, () => r.normal(0, 0.8))),
  b2: [0.2, -0.3],
};
const Ysoft = Array.from({ length: m }, (_, i) => (i % 2 === 0 ? [1, 0] : [0, 1]));
const Yreg = Array.from({ length: m }, () => [r.uniform(), r.uniform()]);

/** tf.grads of the tfjs version of the same network, in the article's parameter layout. */
function tfGrads(Y: number[][], hidden: "sigmoid" | "tanh" | "relu", output: backprop.OutputKind): { loss: number; grads: number[][] } {
  return tf.tidy(() => {
    const ts = [tf.tensor2d(params.W1), tf.tensor1d(params.b1), tf.tensor2d(params.W2), tf.tensor1d(params.b2)];
    const f = (W1: tf.Tensor, b1: tf.Tensor, W2: tf.Tensor, b2: tf.Tensor): tf.Scalar =>
      backprop.twoLayerLossTf({ W1, b1, W2, b2 }, X, Y, { hidden, output });
    const grads = tf.grads((...p: tf.Tensor[]) => f(p[0], p[1], p[2], p[3]))(ts);
    return { loss: f(ts[0], ts[1], ts[2], ts[3]).dataSync()[0], grads: grads.map((g) => Array.from(g.dataSync())) };
  });
}

// The matrix formulas run in float64; tf.grads in float32. Gradients here are of order 0.01–0.5,
// so the comparison is relative to max(|g|, 0.01) at 1e-5: float32 rounding over a dozen
// operations stays near 1e-7, while any mistake in a δ formula is off by orders more.
for (const [hidden, output, Y] of [
  ["sigmoid", "sigmoid-mse", Yreg],
  ["tanh", "sigmoid-mse", Yreg],
  ["relu", "softmax-cross-entropy", Ysoft],
  ["sigmoid", "softmax-cross-entropy", Ysoft],
] as const) {
  test(`two-layer back-propagation (${hidden}, ${output}) matches tf.grads on the same weights`, () => {
    const pass = backprop.twoLayer({ X, Y, params, hidden, output });
    const ref = tfGrads(Y, hidden, output);
    near(pass.loss, ref.loss, 1e-6, "loss");
    allRelNear(pass.grads.W1, ref.grads[0], 1e-5, "∂L/∂W1", 1e-2);
    allRelNear(pass.grads.b1, ref.grads[1], 1e-5, "∂L/∂b1", 1e-2);
    allRelNear(pass.grads.W2, ref.grads[2], 1e-5, "∂L/∂W2", 1e-2);
    allRelNear(pass.grads.b2, ref.grads[3], 1e-5, "∂L/∂b2", 1e-2);
    // And against float64 finite differences, far tighter.
    const check = gradCheck((p) => backprop.twoLayerLoss({ X, Y, params: p, hidden, output }), params, {
      analytic: (p) => backprop.twoLayer({ X, Y, params: p, hidden, output }).grads,
    });
    assert.ok(check.maxRelError < 1e-6, check.toText());
  });
}

test("the intermediate matrices follow the article's layout and formulas", () => {
  const pass = backprop.twoLayer({ X, Y: Ysoft, params, output: "softmax-cross-entropy" });
  // Columns are examples: A0 = Xᵀ, Z1 is hidden × m, A2 is outputs × m.
  assert.deepEqual([pass.A0.length, pass.A0[0].length], [3, m]);
  assert.deepEqual([pass.Z1.length, pass.Z1[0].length], [4, m]);
  assert.deepEqual([pass.A2.length, pass.A2[0].length], [2, m]);
  // Softmax outputs: each column sums to 1.
  for (let j = 0; j < m; j++) near(pass.A2[0][j] + pass.A2[1][j], 1, 1e-15, `column ${j}`);
  // Softmax + cross-entropy: the vector–Jacobian product reduces to δ⁽²⁾ = (A⁽²⁾ − Y)/m.
  allNear(pass.delta2, pass.A2.map((row, i) => row.map((a, j) => (a - Ysoft[j][i]) / m)), 1e-15, "δ2");
  // ∂L/∂b = δ summed over the batch's columns.
  allNear(pass.grads.b1, pass.delta1.map((row) => row.reduce((s, v) => s + v, 0)), 0, "∂L/∂b1");
  // δ⁽¹⁾ = σ′(z⁽¹⁾) ⊙ W⁽²⁾ᵀ δ⁽²⁾, one entry written out.
  const z = pass.Z1[2][1];
  const s = 1 / (1 + Math.exp(-z));
  const back = params.W2[0][2] * pass.delta2[0][1] + params.W2[1][2] * pass.delta2[1][1];
  near(pass.delta1[2][1], s * (1 - s) * back, 1e-15, "δ1[2][1]");
  // ∂L/∂W⁽¹⁾ = δ⁽¹⁾ a⁽⁰⁾ᵀ, one entry: Σⱼ δ1[1][j]·X[j][2].
  near(pass.grads.W1[1][2], pass.delta1[1].reduce((acc, d, j) => acc + d * X[j][2], 0), 1e-15, "∂L/∂W1[1][2]");
});

test("a dense layer's gradients match tf.grads", () => {
  const W = params.W2.map((row) => row.slice(0, 3));
  const d = backprop.dense({ X, Y: Yreg, W, b: params.b2 });
  const ref = tf.tidy(() => {
    const f = (w: tf.Tensor, b: tf.Tensor): tf.Scalar =>
      tf.losses.meanSquaredError(Yreg, tf.sigmoid(tf.add(tf.matMul(tf.tensor2d(X), w, false, true), b))) as tf.Scalar;
    return tf.grads((w: tf.Tensor, b: tf.Tensor) => f(w, b))([tf.tensor2d(W), tf.tensor1d(params.b2)]).map((g) => Array.from(g.dataSync()));
  });
  allRelNear(d.dW, ref[0], 1e-5, "∂L/∂W", 1e-2);
  allRelNear(d.db, ref[1], 1e-5, "∂L/∂b", 1e-2);
});

test("shape mistakes are reported with every shape involved", () => {
  assert.throws(
    () => backprop.twoLayer({ X, Y: Ysoft, params: { ...params, W1: params.W1.map((row) => row.slice(0, 2)) } }),
    /W1 must be hidden × 3 to take X's 3 features \(X \[6,3\], Y \[6,2\], W1 \[4,2\], b1 \[4\], W2 \[2,4\], b2 \[2\]; W is out × in\)/,
  );
  assert.throws(() => backprop.twoLayer({ X, Y: Ysoft.slice(1), params }), /Y must be 6 × 2, one row per example/);
  assert.throws(() => backprop.dense({ X, Y: Yreg, W: params.W2, b: params.b2 }), /W is \[2,4\] but X has 3 features/);
  assert.throws(() => backprop.twoLayer({ X, Y: Ysoft, params, output: "linear" as never }), /unknown output "linear"/);
});
