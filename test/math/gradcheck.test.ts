import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { gradCheck, backprop, losses, rng, Value } from "../../src/math";
import { toBundle } from "../../src/display";
import { useCpu } from "../helpers/numeric";

before(useCpu);

const r = rng(11);
const X = Array.from({ length: 5 }, () => Array.from({ length: 3 }, () => r.normal()));
const Y = Array.from({ length: 5 }, () => Array.from({ length: 2 }, () => r.uniform()));
const params = {
  W: Array.from({ length: 2 }, () => Array.from({ length: 3 }, () => r.normal(0, 0.5))),
  b: [0.1, -0.2],
};

/** The dense layer's loss in float64: MSE of σ(W x + b) against Y. */
const loss = (p: { W: number[][]; b: number[] }): number => backprop.dense({ X, Y, W: p.W, b: p.b }).loss;

test("a correct dense-layer gradient passes the check far below 1e-6", () => {
  const result = gradCheck(loss, params, {
    analytic: (p) => {
      const d = backprop.dense({ X, Y, W: p.W, b: p.b });
      return { W: d.dW, b: d.db };
    },
  });
  assert.ok(result.ok, result.toText());
  assert.ok(result.maxRelError < 1e-6, `max relative error ${result.maxRelError}`);
  // Not vacuous: the gradients are of order 0.01–0.1, and the two columns are different numbers.
  const g = result.gradients.W;
  assert.ok(g.analytic.some((v) => Math.abs(v) > 1e-3), "non-trivial gradients");
  assert.deepEqual(result.rows.map((row) => [row.name, row.shape]), [["W", [2, 3]], ["b", [2]]]);
});

test("a sabotaged gradient (σ′ forgotten) is caught", () => {
  const result = gradCheck(loss, params, {
    analytic: (p) => {
      // The classic mistake: δ = ∂L/∂a instead of σ′(z) ⊙ ∂L/∂a.
      const m = X.length;
      const A = backprop.dense({ X, Y, W: p.W, b: p.b }).A;
      const delta = A.map((row, i) => row.map((a, j) => (2 * (a - Y[j][i])) / (m * 2)));
      const dW = delta.map((row) => X[0].map((_, k) => row.reduce((s, d, j) => s + d * X[j][k], 0)));
      return { W: dW, b: delta.map((row) => row.reduce((s, d) => s + d, 0)) };
    },
  });
  assert.equal(result.ok, false);
  assert.ok(result.maxRelError > 0.5, `max relative error ${result.maxRelError}`);
  assert.ok(result.rows.every((row) => !row.ok), "both W and b are wrong");
  const text = result.toText();
  assert.match(text, /Gradient check: FAILED/);
  assert.match(text, /WRONG/);
  assert.match(text, /your gradient function/);
});

test("a gradient that is off by a little is caught too (b averaged instead of summed)", () => {
  const result = gradCheck(loss, params, {
    analytic: (p) => {
      const d = backprop.dense({ X, Y, W: p.W, b: p.b });
      return { W: d.dW, b: d.db.map((v) => v / X.length) };
    },
  });
  assert.deepEqual(result.rows.map((row) => row.ok), [true, false]);
});

test("Value mode: f builds a Value expression and backward() is checked", () => {
  const f = (p: { w: Value[]; c: Value }): Value =>
    p.w[0].mul(p.w[1]).tanh().add(p.w[2].pow(2).mul(p.c)).add(p.c.exp().log().sigmoid());
  const good = gradCheck(f, { w: [0.3, -1.2, 0.7], c: 0.4 });
  assert.ok(good.ok && good.maxRelError < 1e-6, good.toText());
  // A home-made op with a wrong derivative: square whose backward forgot the factor 2.
  const badSquare = (v: Value): Value => {
    const out = new Value(v.data * v.data, "", [v], "sq");
    out.backwardStep = () => {
      v.grad += v.data * out.grad;
    };
    return out;
  };
  const bad = gradCheck((p: { w: Value[]; c: Value }) => badSquare(p.w[0]).add(p.c), { w: [0.3, -1.2, 0.7], c: 0.4 });
  assert.equal(bad.ok, false);
  assert.deepEqual(bad.rows.map((row) => row.ok), [false, true]);
  assert.equal(bad.rows[0].worstIndex, 0);
  assert.ok(Math.abs(bad.rows[0].maxRelError - 0.5) < 1e-6, "analytic x vs numeric 2x: relative error ½");
});

test("tf mode: tf.grads against a float64 reference and against float32 finite differences", () => {
  const r2 = rng(3);
  const net = {
    W1: Array.from({ length: 4 }, () => Array.from({ length: 3 }, () => r2.normal(0, 0.7))),
    b1: [0.1, 0, -0.1, 0.2],
    W2: Array.from({ length: 2 }, () => Array.from({ length: 4 }, () => r2.normal(0, 0.7))),
    b2: [0, 0.05],
  };
  const tfLoss = (p: { W1: tf.Tensor; b1: tf.Tensor; W2: tf.Tensor; b2: tf.Tensor }): tf.Scalar =>
    backprop.twoLayerLossTf(p, X, Y, { hidden: "tanh" });
  const withRef = gradCheck(tfLoss, net, {
    analytic: "tf",
    reference: (p) => backprop.twoLayerLoss({ X, Y, params: p, hidden: "tanh" }),
  });
  assert.ok(withRef.ok, withRef.toText());
  assert.equal(withRef.tolerance, 1e-4);
  assert.match(withRef.method, /tf\.grads in float32; numeric: central differences of the float64 reference/);
  const noRef = gradCheck(tfLoss, net, { analytic: "tf" });
  assert.ok(noRef.ok, noRef.toText());
  assert.equal(noRef.tolerance, 1e-2);
  // tf mode catches a wrong gradient as well: a custom op whose gradient is doubled.
  const doubled = tf.customGrad(((x: tf.Tensor) => ({
    value: tf.square(x),
    gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.mul(4, x)),
  })) as Parameters<typeof tf.customGrad>[0]);
  const bad = gradCheck((p: { v: tf.Tensor }) => tf.sum(doubled(p.v) as tf.Tensor) as tf.Scalar, { v: [0.5, -1, 2] }, {
    analytic: "tf",
    reference: (p) => p.v.reduce((s, x) => s + x * x, 0),
  });
  assert.equal(bad.ok, false);
  assert.ok(Math.abs(bad.maxRelError - 0.5) < 1e-6, bad.toText());
});

test("the result renders itself as a table", () => {
  const result = gradCheck((p: { a: Value }) => p.a.mul(p.a), { a: 3 });
  const bundle = toBundle(result);
  assert.match(bundle["text/html"] as string, /<table[\s\S]*<th[^>]*>parameter<\/th>[\s\S]*<td[^>]*>a<\/td>/);
  assert.match(bundle["text/plain"] as string, /Gradient check: passed/);
  assert.match(bundle["text/plain"] as string, /a\s+\[\]\s+[\d.e-]+\s+6\s+6\s+ok/);
});

test("mismatched gradients and bad parameters are clear errors", () => {
  assert.throws(
    () => gradCheck(loss, params, { analytic: () => ({ W: [[0, 0, 0]], b: [0, 0] }) }),
    /the analytic gradient of W has shape \[1,3\], expected \[2,3\] like the parameter/,
  );
  assert.throws(() => gradCheck(loss, params, { analytic: () => ({ W: params.W }) as never }), /no entry for parameter b/);
  assert.throws(() => gradCheck((p: { a: Value }) => p.a, {} as { a: number }), /at least one parameter/);
  assert.throws(() => gradCheck(() => NaN, { a: 1 }, { analytic: () => ({ a: 0 }) }), /f returned NaN/);
  assert.equal(losses.mse([1], [1]), 0);
});
