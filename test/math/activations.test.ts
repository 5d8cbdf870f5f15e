import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { activations, plotActivation, plotActivations, linspace } from "../../src/math";
import { PLOTLY_MIME, type Trace } from "../../src/plot";
import { toBundle } from "../../src/display";
import { allNear, near, useCpu } from "../helpers/numeric";

// The from-scratch functions are float64; tf.grad runs in float32 on the cpu backend. Every
// value and derivative here is of order 1, so 1e-6 absolute is above float32 rounding (~1e-7)
// and far below any mistake in a formula.

before(useCpu);

test("activations and derivatives at points worked out by hand", () => {
  const { sigmoid, tanh, relu, leakyRelu } = activations;
  near(sigmoid.f(0), 0.5, 0, "σ(0)");
  near(sigmoid.df(0), 0.25, 0, "σ′(0) = ½·½");
  // σ(2) = 1 / (1 + e⁻²); σ′(2) = σ(2)(1 − σ(2)).
  const s2 = 1 / (1 + Math.exp(-2));
  near(sigmoid.f(2), s2, 1e-15, "σ(2)");
  near(sigmoid.df(2), s2 * (1 - s2), 1e-15, "σ′(2)");
  near(tanh.df(0), 1, 0, "tanh′(0)");
  near(tanh.df(1), 1 - Math.tanh(1) ** 2, 1e-15, "tanh′(1)");
  assert.deepEqual([relu.f(-2), relu.f(3), relu.df(-2), relu.df(3), relu.df(0)], [0, 3, 0, 1, 0]);
  assert.deepEqual([leakyRelu.f(-2), leakyRelu.f(3), leakyRelu.df(-2), leakyRelu.df(3)], [-0.02, 3, 0.01, 1]);
  const leaky2 = activations.makeLeakyRelu(0.2);
  assert.deepEqual([leaky2.f(-2), leaky2.df(-1)], [-0.4, 0.2]);
  // softmax([1, 2, 3]) = e^(i) / (e + e² + e³)
  const den = Math.exp(1) + Math.exp(2) + Math.exp(3);
  allNear(activations.softmax.f([1, 2, 3]), [Math.exp(1) / den, Math.exp(2) / den, Math.exp(3) / den], 1e-15, "softmax");
});

test("sigmoid does not overflow for large |x|", () => {
  assert.equal(activations.sigmoid.f(-800), 0);
  assert.equal(activations.sigmoid.f(800), 1);
  assert.equal(activations.sigmoid.df(-800), 0);
  assert.ok(activations.sigmoid.f(-30) > 0, "σ(−30) ≈ 9.4e-14 is representable and kept");
});

test("every derivative agrees with tf.grad of the tfjs twin", () => {
  // Avoid x = 0 where ReLU has a kink; it is checked separately below.
  const xs = linspace(-4, 4, 41).filter((x) => Math.abs(x) > 1e-9);
  for (const [name, act] of Object.entries({ ...activations.elementwise, leaky02: activations.makeLeakyRelu(0.2) })) {
    const xT = tf.tensor1d(xs);
    const values = Array.from(act.tf(xT).dataSync());
    const grads = Array.from(tf.grad((x: tf.Tensor) => act.tf(x))(xT).dataSync());
    allNear(xs.map(act.f), values, 1e-6, `${name} value`);
    allNear(xs.map(act.df), grads, 1e-6, `${name} derivative`);
  }
  // At 0, tfjs takes ReLU′(0) = 0, as we do.
  near(tf.grad((x: tf.Tensor) => tf.relu(x))(tf.scalar(0)).dataSync()[0], activations.relu.df(0), 0, "ReLU′(0)");
});

test("softmax Jacobian and vector–Jacobian product agree with tf.grad", () => {
  const z = [0.3, -1.2, 2.0, 0.5];
  const J = activations.softmax.jacobian(z);
  // Row i of J is the gradient of the i-th output.
  z.forEach((_, i) => {
    const row = tf.grad((t: tf.Tensor) => tf.softmax(t).gather([i]).sum())(tf.tensor1d(z));
    allNear(J[i], Array.from(row.dataSync()), 1e-6, `J row ${i}`);
  });
  // Each row of J sums to 0 (the outputs always sum to 1).
  J.forEach((row, i) => near(row.reduce((s, v) => s + v, 0), 0, 1e-15, `row ${i} sum`));
  const g = [1, -2, 0.5, 3];
  const vjp = activations.softmax.vjp(z, g);
  const tfVjp = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.softmax(t), g)))(tf.tensor1d(z));
  allNear(vjp, Array.from(tfVjp.dataSync()), 1e-6, "vjp vs tf");
  // And gᵀJ computed by multiplying out the Jacobian gives the same numbers.
  allNear(vjp, z.map((_, j) => g.reduce((s, gi, i) => s + gi * J[i][j], 0)), 1e-15, "vjp vs gᵀJ");
  assert.throws(() => activations.softmax.vjp(z, [1]), /z has 4 values and g has 1/);
});

test("plotActivation draws the function beside its derivative", () => {
  const fig = plotActivation("tanh", { range: [-2, 2], points: 5 });
  const bundle = toBundle(fig);
  const spec = bundle[PLOTLY_MIME] as { data: Trace[]; layout: Record<string, unknown> };
  assert.equal(spec.data.length, 2);
  const [f, df] = spec.data;
  assert.deepEqual(f.x, [-2, -1, 0, 1, 2]);
  assert.deepEqual(f.y, [-2, -1, 0, 1, 2].map(Math.tanh));
  assert.deepEqual(df.y, [-2, -1, 0, 1, 2].map((x) => 1 - Math.tanh(x) ** 2));
  assert.notEqual(f.xaxis, df.xaxis, "two panels");
  assert.ok("xaxis2" in spec.layout);
  assert.match(bundle["text/plain"] as string, /tanh′: 5 points/);
  assert.match(bundle["text/html"] as string, /<svg/);

  const all = plotActivations(["sigmoid", "relu"], { points: 3 });
  assert.deepEqual(all.data.map((t) => t.name), ["sigmoid", "relu", "sigmoid", "relu"]);
  assert.throws(() => plotActivation("swish" as never), /unknown activation "swish"; expected one of sigmoid, tanh, relu, leakyRelu/);
  assert.throws(() => activations.makeLeakyRelu(-1), /slope alpha in \[0, 1\), found -1/);
});
