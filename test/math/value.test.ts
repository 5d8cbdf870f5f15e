import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { Value, MLP, Neuron, rng } from "../../src/math";
import { near, relNear, useCpu } from "../helpers/numeric";
import { evalNumber, float32Sensitivity, gradientsOf, opsUsed, randomExpr, toTensor, type Expr } from "../helpers/random-expr";

before(useCpu);

test("micrograd's README example gives micrograd's numbers", () => {
  // From github.com/karpathy/micrograd, whose test checks these against PyTorch in float64.
  const a = new Value(-4.0, "a");
  const b = new Value(2.0, "b");
  let c = a.add(b);
  let d = a.mul(b).add(b.pow(3));
  c = c.add(c.add(1));
  c = c.add(new Value(1).add(c).sub(a));
  d = d.add(d.mul(2).add(b.add(a).relu()));
  d = d.add(new Value(3).mul(d).add(b.sub(a).relu()));
  const e = c.sub(d);
  const f = e.pow(2);
  let g = f.div(2.0);
  g = g.add(new Value(10.0).div(f));
  assert.equal(g.data.toFixed(4), "24.7041");
  g.backward();
  assert.equal(a.grad.toFixed(4), "138.8338");
  assert.equal(b.grad.toFixed(4), "645.5773");
});

test("a value used twice receives gradient along both paths (grads add)", () => {
  // f = x·x + x  ⇒  df/dx = 2x + 1 = 7 at x = 3. Overwriting instead of adding would give 3 or 1.
  const x = new Value(3, "x");
  const f = x.mul(x).add(x);
  f.backward();
  assert.equal(f.data, 12);
  assert.equal(x.grad, 7);
  // A second backward() without zeroGrad adds onto stale gradients (micrograd semantics)...
  f.backward();
  assert.ok(x.grad > 7, `stale gradients accumulate: ${x.grad}`);
  // ...and zeroGrad resets every value the output depends on.
  f.zeroGrad();
  assert.equal(x.grad, 0);
  f.backward();
  assert.equal(x.grad, 7);
});

test("each operation's value and derivative against tf.grad", () => {
  const cases: { name: string; v: (x: Value) => Value; t: (x: tf.Tensor) => tf.Tensor; xs: number[] }[] = [
    { name: "add", v: (x) => x.add(1.5), t: (x) => tf.add(x, 1.5), xs: [-1, 0.5] },
    { name: "sub", v: (x) => new Value(2).sub(x), t: (x) => tf.sub(2, x), xs: [-1, 0.5] },
    { name: "mul", v: (x) => x.mul(x).mul(-3), t: (x) => tf.mul(tf.mul(x, x), -3), xs: [-1, 0.5] },
    { name: "div", v: (x) => new Value(2).div(x), t: (x) => tf.div(2, x), xs: [-1.5, 0.5] },
    { name: "pow", v: (x) => x.pow(3), t: (x) => tf.pow(x, 3), xs: [-1.5, 0.5] },
    { name: "pow ½", v: (x) => x.pow(0.5), t: (x) => tf.sqrt(x), xs: [0.25, 2] },
    { name: "neg", v: (x) => x.neg(), t: (x) => tf.neg(x), xs: [-1, 2] },
    { name: "exp", v: (x) => x.exp(), t: (x) => tf.exp(x), xs: [-1, 1.5] },
    { name: "log", v: (x) => x.log(), t: (x) => tf.log(x), xs: [0.25, 3] },
    { name: "tanh", v: (x) => x.tanh(), t: (x) => tf.tanh(x), xs: [-1, 0.5] },
    { name: "sigmoid", v: (x) => x.sigmoid(), t: (x) => tf.sigmoid(x), xs: [-2, 0.5] },
    { name: "relu", v: (x) => x.relu(), t: (x) => tf.relu(x), xs: [-1, 0.5] },
  ];
  for (const c of cases) {
    for (const x0 of c.xs) {
      const x = new Value(x0);
      const out = c.v(x);
      out.backward();
      const value = tf.tidy(() => c.t(tf.scalar(x0)).dataSync()[0]);
      const grad = tf.tidy(() => tf.grad(c.t)(tf.scalar(x0)).dataSync()[0]);
      relNear(out.data, value, 1e-6, `${c.name}(${x0})`);
      relNear(x.grad, grad, 1e-6, `${c.name}′(${x0})`);
    }
  }
  // A Value exponent goes through exp(k·log x): d/dx x^k = k x^(k−1), d/dk x^k = x^k log x.
  const x = new Value(2);
  const k = new Value(3);
  const p = x.pow(k);
  p.backward();
  near(p.data, 8, 1e-12, "2^3");
  near(x.grad, 3 * 4, 1e-12, "∂/∂x");
  near(k.grad, 8 * Math.log(2), 1e-12, "∂/∂k");
});

/** Fourth-order central difference in float64: error O(h⁴), about 1e-12 here. */
function fd(e: Expr, xs: number[], i: number, h = 1e-3): number {
  const at = (d: number): number => evalNumber(e, xs.map((x, j) => (j === i ? x + d : x)));
  return (-at(2 * h) + 8 * at(h) - 8 * at(-h) + at(-2 * h)) / (12 * h);
}

test("random expressions: values and gradients agree with tf.grads and with float64 finite differences", () => {
  // How the tolerances were chosen.
  // tfjs computes in float32 (unit roundoff 2⁻²⁴ ≈ 6e-8); the Value engine in float64. Inputs
  // are rounded to float32 so both start from the same numbers. Some random expressions are so
  // ill-conditioned that float32 rounding alone moves their gradient by more than 1e-6 (a sum of
  // large terms cancelling, a tanh close to ±1); no float32 reference can check those to 1e-6.
  // `float32Sensitivity` measures that per expression by re-running it in float64 with every
  // intermediate result (forward and backward) perturbed by ±2⁻²⁴; expressions moved by more than
  // 2e-7 are compared only with the float64 finite differences, the rest also with tf at a
  // relative error of 1e-6 (relative to max(1, |value|)). Measured over 2,800 such expressions
  // the largest disagreement with tf was 4.4e-7.
  // The float64 check is tighter and covers every expression: a fourth-order central difference
  // has error ~1e-10 on these inputs, so gradients must match it to 1e-7.
  const r = rng(2024);
  const noise = rng(7);
  const used = new Set<string>();
  let compared = 0;
  let shared = 0;
  const trees = 200;
  for (let n = 0; n < trees; n++) {
    const xs = [0, 1, 2].map(() => Math.fround(r.between(-2, 2)));
    const e = randomExpr(r, xs, 4);
    const { value, grads } = gradientsOf(e, xs);
    relNear(value, evalNumber(e, xs), 1e-12, `tree ${n} value vs plain float64`);
    grads.forEach((g, i) => relNear(g, fd(e, xs, i), 1e-7, `tree ${n} ∂/∂x${i} vs finite differences`));

    if (float32Sensitivity(e, xs, noise) > 2e-7) continue;
    compared++;
    opsUsed(e, used);
    const size = countNodes(e);
    if (size.reused) shared++;
    const [tv, tg] = tf.tidy(() => {
      const ts = xs.map((x) => tf.scalar(x));
      // Adding 0·Σx makes every variable part of the graph, so tf.grads returns 0 for unused ones.
      const f = (...a: tf.Tensor[]): tf.Scalar => tf.add(toTensor(e, a), tf.mul(0, tf.addN(a))) as tf.Scalar;
      const g = tf.grads(f)(ts);
      return [f(...ts).dataSync()[0], g.map((t) => t.dataSync()[0])] as const;
    });
    relNear(value, tv, 1e-6, `tree ${n} value vs tf`);
    grads.forEach((g, i) => relNear(g, tg[i], 1e-6, `tree ${n} ∂/∂x${i} vs tf.grads`));
  }
  // The filter must leave a real test behind: most trees, every operation, shared subtrees.
  assert.ok(compared >= 0.8 * trees, `only ${compared} of ${trees} trees were compared with tf`);
  assert.deepEqual([...used].sort(), ["add", "div", "exp", "log", "mul", "neg", "pow", "relu", "sigmoid", "sub", "tanh"]);
  assert.ok(shared >= 20, `only ${shared} trees reuse a subtree`);
});

function countNodes(e: Expr, seen = new Set<Expr>()): { reused: boolean } {
  let reused = false;
  const walk = (x: Expr): void => {
    if (x.kind === "var" || x.kind === "const") return;
    if (seen.has(x)) {
      reused = true;
      return;
    }
    seen.add(x);
    if (x.kind === "binary") {
      walk(x.left);
      walk(x.right);
    } else walk(x.arg);
  };
  walk(e);
  return { reused };
}

test("backward() handles long chains without deep recursion", () => {
  const x = new Value(1, "x");
  let s = new Value(0);
  for (let i = 0; i < 50_000; i++) s = s.add(x);
  s.backward();
  assert.equal(s.data, 50_000);
  assert.equal(x.grad, 50_000);
});

test("an MLP on Values matches the same network in tfjs, loss and every gradient", () => {
  const mlp = new MLP(3, [4, 4, 1], { seed: 5 });
  assert.equal(mlp.parameters().length, 4 * 4 + 4 * 5 + 1 * 5);
  assert.equal(String(mlp), "MLP(3 → 4 → 4 → 1, 41 parameters)");
  const xs = [[2, 3, -1], [3, -1, 0.5], [0.5, 1, 1], [1, 1, -1]];
  const ys = [1, -1, -1, 1];
  const loss = Value.sum(xs.map((x, i) => mlp.forward(x)[0].sub(ys[i]).pow(2)));
  mlp.zeroGrad();
  loss.backward();

  // The same weights as tensors: W is out × in, one row per neuron.
  const weights = mlp.layers.flatMap((l) => [
    tf.tensor2d(l.neurons.map((n) => n.w.map((w) => w.data))),
    tf.tensor1d(l.neurons.map((n) => n.b.data)),
  ]);
  const f = (...p: tf.Tensor[]): tf.Scalar => {
    let a: tf.Tensor = tf.tensor2d(xs);
    for (let l = 0; l < 3; l++) {
      const z = tf.add(tf.matMul(a, p[2 * l], false, true), p[2 * l + 1]);
      a = l < 2 ? tf.tanh(z) : z;
    }
    return tf.sum(tf.square(tf.sub(a.reshape([4]), ys)));
  };
  const { value, grads } = tf.tidy(() => ({ value: f(...weights).dataSync()[0], grads: tf.grads(f)(weights).map((g) => Array.from(g.dataSync())) }));
  relNear(loss.data, value, 1e-6, "loss");
  mlp.layers.forEach((l, li) => {
    l.neurons.forEach((n, j) => {
      n.w.forEach((w, k) => relNear(w.grad, grads[2 * li][j * n.w.length + k], 1e-5, `layer ${li} neuron ${j} w${k}`));
      relNear(n.b.grad, grads[2 * li + 1][j], 1e-5, `layer ${li} neuron ${j} b`);
    });
  });
});

test("an MLP on Values learns a tiny dataset by gradient descent", () => {
  const mlp = new MLP(3, [4, 4, 1], { seed: 1 });
  const xs = [[2, 3, -1], [3, -1, 0.5], [0.5, 1, 1], [1, 1, -1]];
  const ys = [1, -1, -1, 1];
  const lossOf = (): Value => Value.sum(xs.map((x, i) => mlp.forward(x)[0].sub(ys[i]).pow(2)));
  const first = lossOf().data;
  for (let step = 0; step < 60; step++) {
    const loss = lossOf();
    mlp.zeroGrad();
    loss.backward();
    mlp.step(0.05);
  }
  const last = lossOf().data;
  assert.ok(first > 1, `initial loss ${first}`);
  assert.ok(last < 0.05, `loss went from ${first} to ${last}, expected below 0.05`);
});

test("Neuron checks its inputs and activations", () => {
  const n = new Neuron(2, { activation: "relu", rng: rng(3) });
  assert.throws(() => n.forward([1]), /Neuron: expected 2 inputs, found 1/);
  assert.throws(() => new Neuron(0), /expected a positive number of inputs, found 0/);
  assert.throws(() => new MLP(2, []), /at least one layer size/);
  assert.throws(() => new Value(1).pow(NaN), /finite exponent/);
  const lin = new Neuron(2, { activation: "linear", rng: rng(3) });
  const out = lin.forward([1, 2]);
  near(out.data, lin.w[0].data + 2 * lin.w[1].data, 1e-15, "linear neuron");
  assert.match(String(new Value(2.5, "w")), /Value\(w: data=2\.5, grad=0\)/);
});
