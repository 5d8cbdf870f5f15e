/**
 * The fused dense layer in training (src/wasm/dense.ts): under gradient recording
 * `tf.fused.matMul` with relu or linear runs one `TsdlDense` forward (and backward for relu one
 * TsdlReluBiasGrad: the ReLU mask and the bias gradient together), and its output and its
 * gradients for a, b and the bias are bit for bit those of tfjs's own ops on wasm and within float32 rounding of `cpu`'s, on odd shapes (batch 1, sizes
 * not a multiple of 4); only the gradients asked for are computed; what it does not cover
 * (transposes, no bias, products on XNNPACK, no gradient recording, other activations) runs
 * tfjs's own code.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { installFusedDense, registerTsdlKernels, setXnnpackMinFlops, uninstallFusedDense } from "../../src/wasm";
import { assertBits, assertClose, randn, type Values } from "../helpers/compare-backends";

const rand = randn(20261202);

before(async () => {
  require("@tensorflow/tfjs-backend-wasm");
  registerTsdlKernels("wasm");
  await tf.setBackend("wasm");
});

interface Case {
  m: number;
  k: number;
  n: number;
  activation?: "relu" | "linear" | "elu";
  bias?: boolean;
  transposeB?: boolean;
}

/** y = fused.matMul(a, b, bias, activation) and the gradients of Σ y·dy for a, b, bias. */
function run(c: Case, data: { a: Float32Array; b: Float32Array; bias: Float32Array; dy: Float32Array }): Values[] {
  return tf.tidy(() => {
    const a = tf.tensor(data.a, [c.m, c.k]);
    const b = tf.tensor(data.b, c.transposeB ? [c.n, c.k] : [c.k, c.n]);
    const bias = tf.tensor(data.bias, [c.n]);
    const dy = tf.tensor(data.dy, [c.m, c.n]);
    const f = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
      tf.fused.matMul({ a, b, bias: c.bias === false ? undefined : bias, activation: c.activation ?? "relu", transposeB: c.transposeB });
    // Without a bias, bias·0 keeps every input on the path (the gradients need one).
    const loss = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
      c.bias === false ? tf.add(tf.sum(tf.mul(f(a, b, bias), dy)), tf.mul(tf.sum(bias), 0)) : tf.sum(tf.mul(f(a, b, bias), dy));
    const { value, grads } = tf.valueAndGrads(loss)([a, b, bias]);
    const y = f(a, b, bias);
    return [y, value, ...grads].map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
  });
}

const cases: Case[] = [
  { m: 64, k: 784, n: 256 },
  { m: 1, k: 5, n: 3 },
  { m: 7, k: 13, n: 9 },
  { m: 64, k: 256, n: 128 },
  { m: 3, k: 1, n: 10 },
  { m: 64, k: 128, n: 10, activation: "linear" },
  { m: 1, k: 7, n: 5, activation: "linear" },
];

for (const c of cases) {
  const act = c.activation ?? "relu";
  test(`fused dense ${act} [${c.m}, ${c.k}]·[${c.k}, ${c.n}] + bias in training: one kernel forward, tfjs's bits on wasm, cpu's values`, async () => {
    // Biases of both signs, so that some outputs are cut by the ReLU and some not.
    const data = { a: rand(c.m * c.k), b: rand(c.k * c.n), bias: rand(c.n), dy: rand(c.m * c.n) };
    await tf.setBackend("wasm");
    const profile = await tf.profile(() => { run(c, data); });
    const kernels = `kernels: ${profile.kernelNames.join(", ")}`;
    assert.ok(profile.kernelNames.includes("TsdlDense"), `TsdlDense ran (${kernels})`);
    assert.ok(!profile.kernelNames.includes("Relu") && !profile.kernelNames.includes("Add"), `no separate Add or Relu (${kernels})`);
    assert.equal(profile.kernelNames.includes("TsdlReluBiasGrad"), act === "relu", `TsdlReluBiasGrad for relu only (${kernels})`);
    // relu: the bias gradient comes out of TsdlReluBiasGrad, so the only Sum is the loss's Σ y·dy.
    const sums = profile.kernels.filter((k) => k.name === "Sum").length;
    assert.equal(sums, act === "relu" ? 1 : 2, `Sum kernels: the loss's${act === "relu" ? " only" : " and the bias gradient's"} (${kernels})`);
    assert.ok(!profile.kernelNames.includes("TsdlReluGrad"), `no separate ReLU gradient (${kernels})`);
    const fused = run(c, data);
    uninstallFusedDense();
    let own: Values[];
    try {
      own = run(c, data);
    } finally {
      installFusedDense();
    }
    const names = ["y", "Σ y·dy", "da", "db", "dbias"];
    // tfjs's own path: unfused for relu, its customGrad _FusedMatMul for linear.
    fused.forEach((v, i) => {
      assert.deepEqual(v.shape, own[i].shape, names[i]);
      assertBits(v.data, own[i].data, `${names[i]} vs tfjs's unfused ops on wasm`);
    });
    const y = fused[0].data;
    if (act === "relu") assert.ok(y.some((v) => v === 0) && y.some((v) => v > 0), "the ReLU cut some outputs and kept others");
    else assert.ok(y.some((v) => v < 0), "linear outputs keep their sign");
    await tf.setBackend("cpu");
    const cpu = run(c, data);
    await tf.setBackend("wasm");
    assertClose(fused, cpu, "fused dense vs cpu", 1e-4);
  });
}

test("what the fused dense leaves out runs tfjs's own fused.matMul, with tfjs's results", async () => {
  await tf.setBackend("wasm");
  const others: Case[] = [
    { m: 5, k: 6, n: 7, activation: "elu" },
    { m: 5, k: 6, n: 7, bias: false },
    { m: 5, k: 6, n: 7, transposeB: true },
  ];
  for (const c of others) {
    const data = { a: rand(c.m * c.k), b: rand(c.k * c.n), bias: rand(c.n), dy: rand(c.m * c.n) };
    const profile = await tf.profile(() => { run(c, data); });
    // tfjs's path: the activation after the product runs as its own kernel.
    const activationKernel = c.activation === "elu" ? "Elu" : "Relu";
    assert.ok(profile.kernelNames.includes(activationKernel) && !profile.kernelNames.includes("TsdlDense"), `${JSON.stringify(c)}: tfjs's unfused path (kernels: ${profile.kernelNames.join(", ")})`);
    const fused = run(c, data);
    uninstallFusedDense();
    try {
      run(c, data).forEach((v, i) => assertBits(fused[i].data, v.data, `${JSON.stringify(c)} output ${i}`));
    } finally {
      installFusedDense();
    }
  }
  // A product XNNPACK runs starts its sums from the bias: not fused, so still tfjs's numbers.
  setXnnpackMinFlops(0);
  try {
    const c: Case = { m: 4, k: 8, n: 6 };
    const data = { a: rand(32), b: rand(48), bias: rand(6), dy: rand(24) };
    const profile = await tf.profile(() => { run(c, data); });
    assert.ok(profile.kernelNames.includes("Relu"), "on XNNPACK the ReLU runs separately under gradient recording");
  } finally {
    setXnnpackMinFlops();
  }
});

test("a layer's input that needs no gradient gets none: one product backward, not two", async () => {
  await tf.setBackend("wasm");
  const x = tf.tensor(rand(64 * 30), [64, 30]);
  const w = tf.variable(tf.tensor(rand(30 * 20), [30, 20]));
  const bias = tf.variable(tf.tensor(rand(20), [20]));
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.fused.matMul({ a: x, b: w, bias, activation: "relu" })), [w, bias]);
    tf.dispose([value, grads]);
  });
  const products = profile.kernels.filter((k) => k.name === "BatchMatMul" || k.name === "_FusedMatMul").length;
  assert.equal(products, 1, `backward products (kernels: ${profile.kernelNames.join(", ")})`);
  assert.ok(profile.kernelNames.includes("TsdlDense"));
  tf.dispose([x, w, bias]);
});

test("a tfjs Dense ReLU layer trains to the same weights fused and unfused", async () => {
  await tf.setBackend("wasm");
  const x = tf.tensor(rand(33 * 17), [33, 17]);
  const y = tf.tensor(rand(33 * 3), [33, 3]);
  const train = async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [17], units: 11, activation: "relu", kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: tf.initializers.constant({ value: 0.1 }) }),
        tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: "meanSquaredError" });
    for (let i = 0; i < 5; i++) await model.trainOnBatch(x, y);
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    model.dispose();
    return weights;
  };
  const fused = await train();
  uninstallFusedDense();
  let own: Float32Array[];
  try {
    own = await train();
  } finally {
    installFusedDense();
  }
  fused.forEach((w, i) => assertBits(w, own[i], `weight ${i}`));
  tf.dispose([x, y]);
});
