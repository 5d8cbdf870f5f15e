/**
 * The fused softmax cross-entropy (src/wasm/loss.ts): `tf.losses.softmaxCrossEntropy` on wasm
 * runs `TsdlSoftmaxCrossEntropy` forward and `TsdlSoftmaxCrossEntropyGrad` backward, and its
 * loss and its gradients for the logits and the labels are bit for bit those of tfjs's own ops on
 * wasm and within float32 rounding of `cpu`'s, on odd shapes (batch 1, 3 and 10 classes, one
 * class), soft labels, label smoothing, large logits and a dy other than 1; what it does not
 * cover (weights, other reductions, rank 1) runs tfjs's own code; a seeded `fit` ends with the
 * same weights with and without it.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { installFusedLoss, registerTsdlKernels, SOFTMAX_CE_GRAD_KERNEL, SOFTMAX_CE_KERNEL, uninstallFusedLoss } from "../../src/wasm";
import { fit } from "../../src/train";
import { mlp } from "../../src/models";
import { assertBits, assertClose, randn, type Values } from "../helpers/compare-backends";

const rand = randn(20261203);

before(async () => {
  require("@tensorflow/tfjs-backend-wasm");
  registerTsdlKernels("wasm");
  await tf.setBackend("wasm");
});

interface Case {
  n: number;
  c: number;
  /** Logits scale (large values test the max subtraction). */
  scale?: number;
  /** Soft labels (rows of probabilities) instead of one-hot rows. */
  soft?: boolean;
  labelSmoothing?: number;
  dy?: number;
}

function inputs(k: Case): { labels: Float32Array; logits: Float32Array } {
  const logits = rand(k.n * k.c).map((v) => v * (k.scale ?? 3));
  const labels = new Float32Array(k.n * k.c);
  if (k.soft) {
    const u = rand(k.n * k.c);
    for (let r = 0; r < k.n; r++) {
      let s = 0;
      for (let j = 0; j < k.c; j++) s += (labels[r * k.c + j] = Math.exp(u[r * k.c + j]));
      for (let j = 0; j < k.c; j++) labels[r * k.c + j] /= s;
    }
  } else {
    for (let r = 0; r < k.n; r++) labels[r * k.c + ((r * 7 + 3) % k.c)] = 1;
  }
  return { labels, logits };
}

/** The loss and its gradients for the labels and the logits (times dy). */
function run(k: Case, data: { labels: Float32Array; logits: Float32Array }): Values[] {
  return tf.tidy(() => {
    const labels = tf.tensor(data.labels, [k.n, k.c]);
    const logits = tf.tensor(data.logits, [k.n, k.c]);
    const f = (l: tf.Tensor, x: tf.Tensor) => tf.losses.softmaxCrossEntropy(l, x, undefined, k.labelSmoothing) as tf.Scalar;
    const value = f(labels, logits);
    const grads = tf.grads(f)([labels, logits], tf.scalar(k.dy ?? 1));
    return [value, ...grads].map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
  });
}

async function kernelsOf(k: Case, data: { labels: Float32Array; logits: Float32Array }): Promise<string[]> {
  const info = await tf.profile(() => {
    run(k, data);
  });
  return info.kernels.map((e) => e.name);
}

const cases: Case[] = [
  { n: 64, c: 10 },
  { n: 1, c: 3 },
  { n: 7, c: 10, soft: true },
  { n: 5, c: 1 },
  { n: 3, c: 3, scale: 60 },
  { n: 64, c: 10, labelSmoothing: 0.1 },
  { n: 9, c: 5, dy: 0.37 },
];

for (const k of cases) {
  const name = `[${k.n}, ${k.c}]${k.soft ? " soft labels" : ""}${k.scale ? ` logits ×${k.scale}` : ""}${k.labelSmoothing ? ` smoothing ${k.labelSmoothing}` : ""}${k.dy ? ` dy ${k.dy}` : ""}`;
  test(`softmax cross-entropy ${name}: loss and gradients bit for bit tfjs's on wasm, close to cpu's`, async () => {
    const data = inputs(k);
    await tf.setBackend("wasm");
    const ran = await kernelsOf(k, data);
    assert.ok(ran.includes(SOFTMAX_CE_KERNEL) && ran.includes(SOFTMAX_CE_GRAD_KERNEL), `fused kernels ran: ${ran.join(", ")}`);
    assert.ok(!ran.includes("Exp") && !ran.includes("Max") && !ran.includes("Log"), `no tfjs loss kernels: ${ran.join(", ")}`);
    const before = tf.memory().numTensors;
    const fused = run(k, data);
    assert.equal(tf.memory().numTensors, before, "no tensors left behind");
    uninstallFusedLoss();
    let own: Values[];
    try {
      own = run(k, data);
    } finally {
      installFusedLoss();
    }
    for (let i = 0; i < own.length; i++) {
      assert.deepEqual(fused[i].shape, own[i].shape);
      assertBits(fused[i].data, own[i].data, `${name}: ${["loss", "labels' gradient", "logits' gradient"][i]}`);
    }
    await tf.setBackend("cpu");
    const cpu = run(k, data);
    await tf.setBackend("wasm");
    assertClose(fused, cpu, name, 1e-5);
    // A wrong gradient (say without the ÷ n or dy) would be off by O(1) of it.
    assert.ok(Math.abs(fused[0].data[0]) > 0 || k.c === 1, "a nonzero loss");
  });
}

test("softmax cross-entropy: weights, other reductions and rank 1 run tfjs's own ops, with its values", async () => {
  await tf.setBackend("wasm");
  const data = inputs({ n: 6, c: 4 });
  const f = (reduction?: tf.Reduction, weights?: tf.Tensor, rank1 = false) =>
    tf.tidy(() => {
      const labels = tf.tensor(data.labels, rank1 ? [24] : [6, 4]);
      const logits = tf.tensor(data.logits, rank1 ? [24] : [6, 4]);
      return tf.losses.softmaxCrossEntropy(labels, logits, weights, 0, reduction).dataSync() as Float32Array;
    });
  const weights = tf.tensor1d([1, 0, 2, 1, 1, 0.5]);
  const variants: [string, () => Float32Array][] = [
    ["weights", () => f(undefined, weights)],
    ["reduction NONE", () => f(tf.Reduction.NONE)],
    ["reduction MEAN", () => f(tf.Reduction.MEAN)],
    ["rank 1", () => f(undefined, undefined, true)],
  ];
  for (const [what, g] of variants) {
    const profile = await tf.profile(() => {
      g();
    });
    assert.ok(!profile.kernels.some((k) => k.name === SOFTMAX_CE_KERNEL), `${what}: not fused`);
    const fused = g();
    uninstallFusedLoss();
    let own: Float32Array;
    try {
      own = g();
    } finally {
      installFusedLoss();
    }
    assertBits(fused, own, what);
  }
  weights.dispose();
});

test("a seeded fit ends with the same weights with the fused loss as with tfjs's", async () => {
  await tf.setBackend("wasm");
  const n = 96;
  const xs = rand(n * 12);
  const labels = Array.from({ length: n }, (_, i) => (i * 5 + Math.floor(xs[i] * 2 + 10)) % 4);
  const train = async (): Promise<Float32Array[]> => {
    const model = mlp({ inputs: 12, hidden: [9], outputs: 4, activation: "relu", dropout: 0.3, seed: 7 });
    const x = tf.tensor2d(xs, [n, 12]);
    const y = tf.tensor1d(labels, "int32");
    await fit(model, { x, y }, { epochs: 2, batchSize: 16, seed: 3, verbose: false });
    const w = model.getWeights().map((t) => t.dataSync().slice() as Float32Array);
    tf.dispose([x, y]);
    model.dispose();
    return w;
  };
  const fused = await train();
  const again = await train();
  uninstallFusedLoss();
  let own: Float32Array[];
  try {
    own = await train();
  } finally {
    installFusedLoss();
  }
  assert.equal(fused.length, own.length);
  fused.forEach((w, i) => {
    assertBits(w, again[i], `weights ${i}, repeated`);
    assertBits(w, own[i], `weights ${i} against tfjs's loss`);
  });
});
