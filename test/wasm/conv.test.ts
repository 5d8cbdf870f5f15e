/**
 * tsdl's wasm convolutions and max-pooling gradient (src/wasm/conv.ts) against the `cpu` backend:
 * outputs and the gradients for input and filter, on odd shapes (stride 2, `same` and explicit
 * padding, batch 1, channels that are not a multiple of 4, 1×1 filters, non-square ones), and
 * max-pooling with overlapping windows, padding and ties.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  CONV_BIAS_KERNEL,
  convolutionConfigs,
  CONV_KERNELS,
  ensureTrainingKernels,
  installFusedConv,
  registerTsdlKernels,
  RELU_BIAS_GRAD_KERNEL,
  setDirectConvolutions,
  installFusedDense,
  uninstallFusedConv,
  uninstallFusedDense,
  unregisterTsdlKernels,
} from "../../src/wasm";
import { assertBits, assertClose, randn, runOn, type Values } from "../helpers/compare-backends";

const rand = randn(20261201);
const values = (...shape: number[]): Values => ({ shape, data: rand(shape.reduce((p, d) => p * d, 1)) });

before(async () => {
  require("@tensorflow/tfjs-backend-wasm");
  registerTsdlKernels("wasm");
  await tf.setBackend("wasm");
});

test("tsdl's convolution kernels are the ones registered on wasm", () => {
  const mine = convolutionConfigs("wasm", () => undefined);
  assert.deepEqual([...CONV_KERNELS].sort(), [tf.Conv2D, tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput, tf.MaxPool, tf.MaxPoolGrad, tf.Sum].sort());
  for (const name of CONV_KERNELS) {
    const registered = tf.getKernel(name, "wasm");
    assert.ok(registered, `${name} registered`);
    // Each config wraps its own closure; the registered one is tsdl's if its source is.
    assert.equal(registered.kernelFunc.toString(), mine.find((c) => c.kernelName === name)!.kernelFunc.toString(), name);
  }
});

type Pad = "valid" | "same" | number;
interface ConvCase {
  x: [number, number, number, number];
  f: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const convCases: ConvCase[] = [
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 1, pad: "valid" },
  { x: [2, 8, 8, 2], f: [3, 3, 2, 5], strides: 2, pad: "same" },
  { x: [1, 9, 7, 5], f: [2, 3, 5, 3], strides: [2, 1], pad: "valid" },
  { x: [2, 6, 6, 1], f: [5, 5, 1, 2], strides: 1, pad: "same" },
  { x: [1, 7, 7, 2], f: [3, 3, 2, 7], strides: 2, pad: 1 },
  { x: [3, 10, 10, 2], f: [3, 3, 2, 2], strides: 3, pad: "valid" },
  { x: [1, 5, 5, 6], f: [1, 1, 6, 9], strides: 1, pad: "valid" },
  { x: [2, 5, 6, 3], f: [1, 1, 3, 4], strides: 2, pad: "same" },
  { x: [1, 4, 4, 3], f: [4, 4, 3, 2], strides: 1, pad: "valid" },
  // dl.models.cnn's two layers at batch 4 (the parallel GEMM's sizes at batch 64).
  { x: [4, 28, 28, 1], f: [3, 3, 1, 16], strides: 1, pad: "valid" },
  // One input channel: the direct kernels (conv-direct.ts), every channel block (16, 4, single).
  { x: [1, 9, 8, 1], f: [3, 3, 1, 21], strides: 2, pad: "same" },
  { x: [2, 7, 9, 1], f: [2, 5, 1, 3], strides: [1, 2], pad: 1 },
  { x: [1, 6, 6, 1], f: [4, 4, 1, 32], strides: 3, pad: "same" },
  { x: [3, 5, 5, 1], f: [1, 1, 1, 5], strides: 1, pad: "valid" },
  { x: [1, 8, 7, 1], f: [3, 2, 1, 7], strides: 1, pad: "valid" },
  { x: [4, 13, 13, 16], f: [3, 3, 16, 32], strides: 1, pad: "valid" },
];

/** A case's x, filter and output weights w (random values), and a run giving conv2d's output and the gradients of Σ conv2d·w: [y, dx, dfilter]. */
function convProblem(c: ConvCase) {
  const outShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad).shape);
  const run = (xt: tf.Tensor, ft: tf.Tensor, wt: tf.Tensor) => {
    const y = tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, c.strides, c.pad);
    const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), wt)))([xt, ft]);
    return [y, dx, df];
  };
  return { inputs: [values(...c.x), values(...c.f), values(...outShape)], run };
}

for (const c of convCases) {
  test(`conv2d x [${c.x}] filter [${c.f}] strides ${c.strides} pad ${c.pad}: output, dx and dfilter match cpu`, async () => {
    const { inputs: [x, f, w], run } = convProblem(c);
    await tf.setBackend("wasm");
    const ids = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const got = await runOn("wasm", [x, f, w], run);
    assert.equal((tf.backend() as unknown as { numDataIds(): number }).numDataIds(), ids, "every temporary buffer freed");
    assertClose(got, await runOn("cpu", [x, f, w], run), JSON.stringify(c), 5e-5);
  });
}

// The direct kernels (forward, filter gradient, stride-1 input gradient) sum the same products in the same order as the im2col
// product on tsdl's GEMM: the same bits, so seeded CNN runs repeat exactly.
const directCases: ConvCase[] = [
  { x: [64, 28, 28, 1], f: [3, 3, 1, 16], strides: 1, pad: "valid" },
  { x: [2, 9, 8, 1], f: [3, 3, 1, 5], strides: 2, pad: "same" },
  { x: [1, 7, 7, 1], f: [5, 2, 1, 7], strides: [1, 2], pad: 1 },
  { x: [2, 10, 10, 1], f: [4, 4, 1, 21], strides: 3, pad: "same" },
  // More channels, stride 1 for the direct input gradient too.
  { x: [4, 13, 13, 16], f: [3, 3, 16, 32], strides: 1, pad: "valid" },
  { x: [2, 7, 7, 3], f: [3, 3, 3, 5], strides: 2, pad: "same" },
  { x: [1, 9, 7, 5], f: [2, 3, 5, 3], strides: [2, 1], pad: 1 },
  { x: [2, 9, 8, 5], f: [3, 3, 5, 7], strides: 1, pad: "same" },
  { x: [1, 7, 7, 3], f: [2, 3, 3, 21], strides: 1, pad: [[0, 0], [1, 2], [2, 1], [0, 0]] as unknown as number },
];
for (const c of directCases) {
  test(`direct conv2d x [${c.x}] filter [${c.f}] strides ${c.strides} pad ${c.pad}: the direct kernels give the im2col products' bits (output, dW, dx)`, async () => {
    const { inputs: [x, f, w], run } = convProblem(c);
    let viaIm2col: Values[];
    setDirectConvolutions(false);
    try {
      viaIm2col = await runOn("wasm", [x, f, w], run);
    } finally {
      setDirectConvolutions(true);
    }
    const viaDirect = await runOn("wasm", [x, f, w], run);
    assertBits(viaDirect[0].data, viaIm2col[0].data, "output");
    assertBits(viaDirect[2].data, viaIm2col[2].data, "filter gradient");
    assertBits(viaDirect[1].data, viaIm2col[1].data, "input gradient");
  });
}

/** The names of the kernels `f` runs, in order. */
function kernelsRun(f: () => void): string[] {
  const engine = tf.engine() as unknown as { runKernel: (name: string, ...rest: unknown[]) => unknown };
  const original = engine.runKernel;
  const names: string[] = [];
  engine.runKernel = function (this: unknown, name: string, ...rest: unknown[]) {
    names.push(name);
    return original.call(this, name, ...rest);
  };
  try {
    f();
  } finally {
    engine.runKernel = original;
  }
  return names;
}

interface FusedCase extends ConvCase {
  activation: "relu" | "linear";
}

// tfjs-layers' Conv2D in training: tf.fused.conv2d with a bias and relu or linear.
const fusedCases: FusedCase[] = [
  { x: [2, 7, 7, 3], f: [3, 3, 3, 4], strides: 1, pad: "valid", activation: "relu" },
  { x: [1, 9, 8, 1], f: [3, 3, 1, 21], strides: 2, pad: "same", activation: "relu" },
  { x: [2, 8, 8, 5], f: [3, 3, 5, 6], strides: 2, pad: "same", activation: "linear" },
  { x: [1, 6, 5, 16], f: [2, 3, 16, 5], strides: [1, 2], pad: 1, activation: "relu" },
  { x: [3, 10, 10, 1], f: [3, 3, 1, 16], strides: 1, pad: "valid", activation: "relu" },
  { x: [2, 13, 13, 16], f: [3, 3, 16, 32], strides: 1, pad: "valid", activation: "relu" },
];

for (const c of fusedCases) {
  test(`fused conv2d + bias + ${c.activation} x [${c.x}] filter [${c.f}] strides ${c.strides} pad ${c.pad}: one fused kernel, output and every gradient match cpu (and for relu tfjs's unfused bits)`, async () => {
    const x = values(...c.x);
    const f = values(...c.f);
    const b = values(c.f[3]);
    const outShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad).shape);
    const w = values(...outShape);
    const layer = (xt: tf.Tensor, ft: tf.Tensor, bt: tf.Tensor) =>
      tf.fused.conv2d({ x: xt as tf.Tensor4D, filter: ft as tf.Tensor4D, bias: bt, strides: c.strides, pad: c.pad, activation: c.activation });
    const run = (xt: tf.Tensor, ft: tf.Tensor, bt: tf.Tensor, wt: tf.Tensor) => {
      // The layer's output as recorded in training (kept out of the gradient's scope), and all three gradients.
      let y: tf.Tensor | undefined;
      const { grads } = tf.valueAndGrads((a: tf.Tensor, g: tf.Tensor, h: tf.Tensor) => {
        y = tf.keep(layer(a, g, h));
        return tf.sum(tf.mul(y, wt));
      })([xt, ft, bt]);
      return [y!, ...grads];
    };
    await tf.setBackend("wasm");
    const names = kernelsRun(() => tf.tidy(() => {
      const [xt, ft, bt, wt] = [x, f, b, w].map((v) => tf.tensor(v.data, v.shape));
      tf.grads((a: tf.Tensor, g: tf.Tensor, h: tf.Tensor) => tf.sum(tf.mul(layer(a, g, h), wt)))([xt, ft, bt]);
    }));
    assert.ok(names.includes(CONV_BIAS_KERNEL), `${CONV_BIAS_KERNEL} ran: ${names.join(", ")}`);
    assert.ok(!names.includes(tf.Relu) && !names.includes(tf.Add) && !names.includes(tf.Conv2D), `no separate Conv2D, Add or Relu: ${names.join(", ")}`);
    if (c.activation === "relu") assert.ok(names.includes(RELU_BIAS_GRAD_KERNEL), `${RELU_BIAS_GRAD_KERNEL} ran`);
    const got = await runOn("wasm", [x, f, b, w], run);
    assertClose(got, await runOn("cpu", [x, f, b, w], run), JSON.stringify(c), 5e-5);
    // tfjs's own path for relu is Conv2D, Add and Relu (on tsdl's kernels): the fused kernel
    // keeps its bits. For linear tfjs fused by itself, on XNNPACK's FusedConv2D (its own order).
    if (c.activation !== "relu") return;
    uninstallFusedConv();
    let unfused: Values[];
    try {
      unfused = await runOn("wasm", [x, f, b, w], run);
    } finally {
      installFusedConv();
    }
    got.forEach((g, i) => assertBits(g.data, unfused[i].data, `${JSON.stringify(c)}: output ${i} against tfjs's unfused ops on wasm`));
  });
}

test("fused conv2d outside gradient recording, and cases the fused kernel leaves out, run tfjs's own path", async () => {
  await tf.setBackend("wasm");
  const x = tf.randomNormal([1, 6, 6, 2]) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, 2, 3]) as tf.Tensor4D;
  const bias = tf.randomNormal([3]);
  const inference = kernelsRun(() => tf.tidy(() => tf.fused.conv2d({ x, filter: f, bias, strides: 1, pad: "valid", activation: "relu" })));
  assert.ok(!inference.includes(CONV_BIAS_KERNEL), `inference: ${inference.join(", ")}`);
  const elu = kernelsRun(() => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f, bias, strides: 1, pad: "valid", activation: "elu" })))(x)));
  assert.ok(!elu.includes(CONV_BIAS_KERNEL) && elu.includes(tf.Elu), `elu: ${elu.join(", ")}`);
  const noBias = kernelsRun(() => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f, strides: 1, pad: "same", activation: "relu" })))(x)));
  assert.ok(!noBias.includes(CONV_BIAS_KERNEL), `no bias: ${noBias.join(", ")}`);
  tf.dispose([x, f, bias]);
});

test("the fused conv2d stays installed when the fused dense layer (which replaces tfjs's whole `fused` namespace) is removed and put back", async () => {
  await tf.setBackend("wasm");
  const x = tf.randomNormal([1, 6, 6, 2]) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, 2, 3]) as tf.Tensor4D;
  const bias = tf.randomNormal([3]);
  const training = () => kernelsRun(() => tf.tidy(() => tf.grad((a: tf.Tensor) => tf.sum(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: f, bias, strides: 1, pad: "valid", activation: "relu" })))(x)));
  try {
    uninstallFusedDense();
    assert.ok(training().includes(CONV_BIAS_KERNEL), "with tfjs's dense");
    installFusedDense();
    assert.ok(training().includes(CONV_BIAS_KERNEL), "with tsdl's dense again");
    uninstallFusedConv();
    assert.ok(!training().includes(CONV_BIAS_KERNEL), "uninstalled");
    assert.equal(typeof tf.fused.matMul, "function");
  } finally {
    installFusedDense();
    installFusedConv();
    tf.dispose([x, f, bias]);
  }
});

test("conv2d with dilations (not tsdl's case) still runs, on the shipped kernel, and matches cpu", async () => {
  const x = values(1, 9, 9, 3);
  const f = values(3, 3, 3, 2);
  const run = (a: tf.Tensor, b: tf.Tensor) => [tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "valid", "NHWC", 2)];
  assertClose(await runOn("wasm", [x, f], run), await runOn("cpu", [x, f], run), "dilation 2");
});

interface PoolCase {
  x: [number, number, number, number];
  size: number | [number, number];
  strides: number | [number, number];
  pad: Pad;
  /** Round inputs to a few values so that windows hold ties. */
  ties?: boolean;
}

const poolCases: PoolCase[] = [
  { x: [2, 26, 26, 16], size: 2, strides: 2, pad: "valid" },
  { x: [1, 11, 11, 5], size: 2, strides: 2, pad: "valid" },
  { x: [2, 7, 9, 3], size: 3, strides: 1, pad: "same" },
  { x: [1, 8, 8, 6], size: 3, strides: 2, pad: "same", ties: true },
  { x: [3, 6, 5, 2], size: [2, 3], strides: [1, 2], pad: "valid", ties: true },
  { x: [1, 5, 5, 1], size: 2, strides: 1, pad: 1 },
  { x: [2, 11, 11, 32], size: 2, strides: 2, pad: "valid", ties: true },
  { x: [1, 7, 6, 8], size: 2, strides: 2, pad: "valid" },
  { x: [1, 8, 8, 4], size: 2, strides: 2, pad: "same", ties: true },
  { x: [1, 6, 6, 8], size: 3, strides: 2, pad: "same" },
];

for (const c of poolCases) {
  test(`maxPool x [${c.x}] size ${c.size} strides ${c.strides} pad ${c.pad}${c.ties ? " with ties" : ""}: output and gradient match cpu`, async () => {
    const x = values(...c.x);
    if (c.ties) x.data = x.data.map((v) => Math.max(0, Math.round(v)));
    const outShape = tf.tidy(() => tf.maxPool(tf.zeros(c.x) as tf.Tensor4D, c.size, c.strides, c.pad).shape);
    const w = values(...outShape);
    const run = (xt: tf.Tensor, wt: tf.Tensor) => {
      const y = tf.maxPool(xt as tf.Tensor4D, c.size, c.strides, c.pad);
      const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.size, c.strides, c.pad), wt)))(xt);
      return [y, dx];
    };
    assertClose(await runOn("wasm", [x, w], run), await runOn("cpu", [x, w], run), JSON.stringify(c));
  });
}

const dataIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();

test("maxPool's gradient through the forward pass's argmax gives the bits of finding each maximum again, and the argmax is freed with the output", async () => {
  await tf.setBackend("wasm");
  const x = values(4, 26, 26, 16);
  x.data = x.data.map((v) => Math.round(v * 2) / 2); // ties in most windows
  const dy = values(4, 13, 13, 16);
  const before = dataIds();
  let viaArgmax: Float32Array = new Float32Array(0);
  let again: Float32Array = new Float32Array(0);
  tf.tidy(() => {
    const xt = tf.tensor4d(x.data, x.shape as [number, number, number, number]);
    const dyt = tf.tensor(dy.data, dy.shape);
    const names = kernelsRun(() => tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, "valid"), dyt)))(xt));
    assert.ok(names.includes(tf.MaxPool) && names.includes(tf.MaxPoolGrad), names.join(", "));
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, "valid"), dyt)))(xt);
    // The kernel called on its own, with an output no forward pass recorded: the recomputing path.
    const y = tf.maxPool(xt, 2, 2, "valid");
    const attrs = { filterSize: 2, strides: 2, pad: "valid", dimRoundingMode: undefined };
    const r = tf.engine().runKernel(tf.MaxPoolGrad, { dy: dyt, input: xt, output: y }, attrs as never) as tf.Tensor;
    viaArgmax = g.dataSync() as Float32Array;
    again = r.dataSync() as Float32Array;
  });
  assertBits(viaArgmax, again, "dx");
  assert.equal(dataIds(), before, "the argmax buffers were freed with their outputs");
});

test("an argmax is only used for the input it was found in: another input of the same shape gets its own maxima", async () => {
  await tf.setBackend("wasm");
  const a = values(2, 6, 6, 4);
  const b = values(2, 6, 6, 4);
  const dy = values(2, 3, 3, 4);
  const attrs = { filterSize: 2, strides: 2, pad: "valid", dimRoundingMode: undefined };
  const run = (at: tf.Tensor, bt: tf.Tensor, dyt: tf.Tensor) => {
    let dx: tf.Tensor | undefined;
    tf.grad((v: tf.Tensor) => {
      const y = tf.maxPool(v as tf.Tensor4D, 2, 2, "valid"); // recorded for a
      // MaxPoolGrad with a's output but b as the input: must not scatter through a's argmax.
      dx = tf.keep(tf.engine().runKernel(tf.MaxPoolGrad, { dy: dyt, input: bt, output: y }, attrs as never) as tf.Tensor);
      return tf.sum(y);
    })(at);
    return [dx!];
  };
  const expected = await runOn("cpu", [b, dy], (bt, dyt) => [tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(v as tf.Tensor4D, 2, 2, "valid"), dyt)))(bt)]);
  assertClose(await runOn("wasm", [a, b, dy], run), expected, "dx for b");
});

test("maxPool keeps an argmax (one more buffer) while gradients are recorded, and none outside", async () => {
  await tf.setBackend("wasm");
  const x = tf.randomNormal([2, 8, 8, 4]) as tf.Tensor4D;
  const before = dataIds();
  const y = tf.maxPool(x, 2, 2, "valid");
  assert.equal(dataIds(), before + 1, "inference: only the output");
  tf.dispose(y);
  let added = 0;
  tf.tidy(() => {
    tf.grad((a: tf.Tensor) => {
      const start = dataIds();
      const pooled = tf.maxPool(a as tf.Tensor4D, 2, 2, "valid");
      added = dataIds() - start;
      return tf.sum(pooled);
    })(x);
  });
  assert.equal(added, 2, "training: the output and its argmax");
  assert.equal(dataIds(), before, "both freed with the gradient's scope");
  tf.dispose(x);
});

const sumCases: { shape: number[]; axis: number | number[]; keepDims?: boolean }[] = [
  { shape: [16, 26, 26, 16], axis: [0, 1, 2] },
  { shape: [64, 11, 11, 32], axis: [2, 0, 1] },
  { shape: [7, 5], axis: 0 },
  { shape: [7, 6], axis: 0, keepDims: true },
  { shape: [3, 4, 5], axis: [0, 1], keepDims: true },
  { shape: [3, 4, 5], axis: 1 },
  { shape: [3, 4, 5], axis: -1 },
  { shape: [3, 4, 5], axis: [0, 1, 2] },
  { shape: [0, 3], axis: 0 },
];

for (const c of sumCases) {
  test(`sum [${c.shape}] axis ${JSON.stringify(c.axis)}${c.keepDims ? " keepDims" : ""} matches cpu`, async () => {
    const x = values(...c.shape);
    const run = (t: tf.Tensor) => [tf.sum(t, c.axis, c.keepDims)];
    assertClose(await runOn("wasm", [x], run), await runOn("cpu", [x], run), JSON.stringify(c));
  });
}

test("an int32 sum over leading axes still runs (on the shipped kernel) and is exact", async () => {
  await tf.setBackend("wasm");
  const got = tf.tidy(() => tf.sum(tf.tensor2d([[1, 2], [3, 4], [5, 6]], [3, 2], "int32"), 0).arraySync());
  assert.deepEqual(got, [9, 12]);
});

test("without tsdl's kernels the wasm backend still has a Conv2DBackpropFilter (the assembled one) and it matches cpu", async () => {
  unregisterTsdlKernels("wasm");
  try {
    ensureTrainingKernels();
    assert.ok(tf.getKernel(tf.Conv2DBackpropFilter, "wasm"), "ensureTrainingKernels registered one");
    const c = convCases[1];
    const x = values(...c.x);
    const f = values(...c.f);
    const run = (a: tf.Tensor, b: tf.Tensor) => [tf.grad((g: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, g as tf.Tensor4D, c.strides, c.pad)))(b)];
    assertClose(await runOn("wasm", [x, f], run), await runOn("cpu", [x, f], run), "assembled filter gradient");
  } finally {
    tf.unregisterKernel(tf.Conv2DBackpropFilter, "wasm");
    registerTsdlKernels("wasm");
  }
});
