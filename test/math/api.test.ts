import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import * as dl from "../../src";
import { useCpu } from "../helpers/numeric";

before(useCpu);

// Written as notebook cells would be: through the public `dl` namespace, no type annotations on
// the callbacks. It compiles only if the overloads infer the parameter types a learner expects.

test("notebook-style gradient checks infer their parameter types", () => {
  const X = [[1, 2, 0.5], [-1, 0.3, 2]];
  const Y = [[0.2, 0.9], [0.7, 0.1]];
  const W = [[0.1, -0.2, 0.3], [0.05, 0.4, -0.1]];
  const b = [0, 0.1];

  const good = dl.math.gradCheck((p) => dl.math.backprop.dense({ X, Y, W: p.W, b: p.b }).loss, { W, b }, {
    analytic: (p) => {
      const d = dl.math.backprop.dense({ X, Y, W: p.W, b: p.b });
      return { W: d.dW, b: d.db };
    },
  });
  assert.ok(good.maxRelError < 1e-6, good.toText());

  const viaValue = dl.math.gradCheck((p) => p.w[0].mul(p.w[1]).tanh().add(p.c.pow(2)), { w: [0.5, -1], c: 2 });
  assert.ok(viaValue.ok, viaValue.toText());

  const viaTf = dl.math.gradCheck((p) => tf.sum(tf.square(tf.mul(p.w, p.c))) as tf.Scalar, { w: [0.5, -1], c: 2 }, {
    analytic: "tf",
    reference: (p) => p.w.reduce((s, v) => s + (v * p.c) ** 2, 0),
  });
  assert.ok(viaTf.ok, viaTf.toText());
});

test("dl.math exposes the names the notebooks use", () => {
  const m = dl.math;
  for (const fn of [m.losses.mse, m.losses.crossEntropy, m.losses.binaryCrossEntropy, m.losses.logSoftmax, m.losses.tf.mse, m.losses.tf.crossEntropy, m.losses.tf.binaryCrossEntropy, m.graph, m.gradCheck, m.perceptron.trace, m.perceptron.traceTf, m.perceptron.dataset, m.perceptron.train, m.perceptron.trainLive, m.backprop.twoLayer, m.backprop.twoLayerLossTf, m.backprop.dense, m.bowl, m.descend, m.plotDescent, m.plotActivation, m.plotActivations, m.plotWithDerivative, m.rng]) {
    assert.equal(typeof fn, "function");
  }
  assert.deepEqual(Object.keys(m.activations.elementwise), ["sigmoid", "tanh", "relu", "leakyRelu"]);
  assert.equal(typeof m.activations.softmax.vjp, "function");
});
