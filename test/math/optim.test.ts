import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { bowl, descend, plotDescent, type Bowl, type Point } from "../../src/math";
import { PLOTLY_MIME, type Trace } from "../../src/plot";
import { toBundle } from "../../src/display";
import { allRelNear, near, useCpu } from "../helpers/numeric";

before(useCpu);

test("the bowl is ½ pᵀAp with the curvatures asked for", () => {
  const b = bowl({ a: 1, b: 10 });
  // f(1, 1) = ½(1·1² + 10·1²) = 5.5; ∇f = (1, 10).
  assert.equal(b.f([1, 1]), 5.5);
  assert.deepEqual(b.grad([1, 1]), [1, 10]);
  // Turned by 90°, the axes swap: f(1, 0) = ½·10.
  near(bowl({ a: 1, b: 10, angle: 90 }).f([1, 0]), 5, 1e-12, "rotated");
  // The gradient is A p, checked by central differences on a rotated bowl.
  const r = bowl({ a: 2, b: 7, angle: 30 });
  const p: Point = [0.7, -1.3];
  const h = 1e-6;
  const fd: Point = [(r.f([p[0] + h, p[1]]) - r.f([p[0] - h, p[1]])) / (2 * h), (r.f([p[0], p[1] + h]) - r.f([p[0], p[1] - h])) / (2 * h)];
  r.grad(p).forEach((g, i) => near(g, fd[i], 1e-8, `∂f/∂p${i}`));
  assert.throws(() => bowl({ a: 0 }), /positive curvatures a and b, found a = 0, b = 10/);
});

test("gradient descent on an axis-aligned bowl follows x_t = (1 − lr·a)^t x_0 exactly", () => {
  const b = bowl({ a: 1, b: 10 });
  const run = descend(b, { method: "gd", lr: 0.05, steps: 10, start: [-4, 2] });
  assert.equal(run.path.length, 11);
  run.path.forEach(([x, y], t) => {
    near(x, -4 * (1 - 0.05 * 1) ** t, 1e-12, `x_${t}`);
    near(y, 2 * (1 - 0.05 * 10) ** t, 1e-12, `y_${t}`);
  });
  // Past lr = 2/b the steep direction overshoots more each step and the loss grows.
  const diverging = descend(b, { method: "gd", lr: 0.21, steps: 20 });
  assert.ok(diverging.losses[20] > diverging.losses[0], "lr 0.21 > 2/10 diverges");
});

/** The same descent with a tf.train optimizer on a tf.variable, in float32. */
function tfPath(b: Bowl, optimizer: tf.Optimizer, start: Point, steps: number): Point[] {
  const A = tf.tensor2d(b.A);
  const p = tf.variable(tf.tensor2d([start], [1, 2]));
  const path: Point[] = [[...start] as Point];
  for (let t = 0; t < steps; t++) {
    optimizer.minimize(() => tf.mul(0.5, tf.sum(tf.mul(tf.matMul(p, A), p))) as tf.Scalar, false, [p]);
    const v = p.dataSync();
    path.push([v[0], v[1]]);
  }
  p.dispose();
  A.dispose();
  optimizer.dispose();
  return path;
}

test("gradient descent, momentum and Adam trace the same paths as tf.train.sgd, momentum and adam", () => {
  // float32 paths drift from float64 ones by rounding only (measured: at most ~4e-6 over these
  // 30 steps, the coordinates being of order 1); 1e-4 relative to max(|p|, 0.1) leaves room for
  // that, also where a path crosses 0, while any wrong update rule misses by far more.
  // Adam's β's are chosen exactly representable in float32 (0.875 = 1 − 2⁻³, 1 − 2⁻¹⁰): with
  // β₂ = 0.999, float32 stores 0.99900001, so tf's bias correction 1 − β₂ is off by 1.3e-5
  // relative and its path drifts ~1e-5 from the exact one at every step, a float32 artefact.
  const b = bowl({ a: 1, b: 10, angle: 30 });
  const start: Point = [-4, 2];
  const steps = 30;
  const cases: [Parameters<typeof descend>[1], tf.Optimizer][] = [
    [{ method: "gd", lr: 0.05 }, tf.train.sgd(0.05)],
    [{ method: "momentum", lr: 0.02, momentum: 0.9 }, tf.train.momentum(0.02, 0.9)],
    [{ method: "adam", lr: 0.3, beta1: 0.875, beta2: 1 - 2 ** -10, epsilon: 1e-7 }, tf.train.adam(0.3, 0.875, 1 - 2 ** -10, 1e-7)],
  ];
  for (const [options, optimizer] of cases) {
    const ours = descend(b, { ...options, start, steps });
    const theirs = tfPath(b, optimizer, start, steps);
    allRelNear(ours.path, theirs, 1e-4, `${options?.method} path`, 0.1);
  }
});

test("momentum beats plain descent at the same learning rate; Adam's first step is lr in each coordinate", () => {
  // Ill-conditioned: curvature 1 along one axis, 20 along the other. At lr 0.02 plain descent
  // crawls along the shallow axis; momentum accumulates speed there (about lr/(1 − β)).
  const b = bowl({ a: 1, b: 20, angle: 20 });
  const gd = descend(b, { method: "gd", lr: 0.02, steps: 40 });
  const mom = descend(b, { method: "momentum", lr: 0.02, momentum: 0.9, steps: 40 });
  const end = (d: { losses: number[] }): number => d.losses[d.losses.length - 1];
  assert.ok(end(mom) < end(gd) / 10, `momentum ${end(mom)} vs gd ${end(gd)}`);
  // Adam divides by √v̂: its first update is lr·g/(|g| + ε), so each coordinate moves by lr
  // whatever the size of its gradient (here 1 and 20 times apart).
  const adam = descend(bowl({ a: 1, b: 20 }), { method: "adam", lr: 0.1, steps: 1, start: [-4, 2] });
  near(adam.path[1][0] - adam.path[0][0], 0.1, 1e-8, "x moves by lr");
  near(adam.path[1][1] - adam.path[0][1], -0.1, 1e-8, "y moves by lr");
});

test("plotDescent draws the bowl with every path over it", () => {
  const b = bowl();
  const runs = [descend(b, { method: "gd", steps: 5 }), descend(b, { method: "adam", lr: 0.5, steps: 5 })];
  const fig = plotDescent(b, runs);
  const bundle = toBundle(fig);
  const spec = bundle[PLOTLY_MIME] as { data: Trace[] };
  assert.deepEqual(spec.data.map((t) => t.type), ["heatmap", "scatter", "scatter"]);
  assert.deepEqual(spec.data[1].x, runs[0].path.map((p) => p[0]));
  assert.deepEqual(spec.data[2].y, runs[1].path.map((p) => p[1]));
  // The heatmap is log₁₀ f on a grid that contains every point of the paths.
  const heat = spec.data[0];
  const xs = heat.x as number[];
  const ys = heat.y as number[];
  for (const p of runs.flatMap((r) => r.path)) {
    assert.ok(p[0] >= xs[0] && p[0] <= xs[xs.length - 1] && p[1] >= ys[0] && p[1] <= ys[ys.length - 1], `point ${p} on the map`);
  }
  near((heat.z as number[][])[3][5], Math.log10(b.f([xs[5], ys[3]]) + 1e-3), 1e-12, "z[3][5]");
  assert.match(bundle["text/plain"] as string, /gd \(lr 0\.05\): 5 steps, f 28 → /);
  assert.throws(() => descend(b, { method: "rmsprop" as never }), /unknown method "rmsprop"/);
  assert.throws(() => descend(b, { lr: -1 }), /positive learning rate, found -1/);
});
