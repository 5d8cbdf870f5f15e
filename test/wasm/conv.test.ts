/**
 * tsdl's wasm convolutions and max-pooling gradient (src/wasm/conv.ts) against the `cpu` backend:
 * outputs and the gradients for input and filter, on odd shapes (stride 2, `same` and explicit
 * padding, batch 1, channels that are not a multiple of 4, 1×1 filters, non-square ones), and
 * max-pooling with overlapping windows, padding and ties.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { convolutionConfigs, CONV_KERNELS, ensureTrainingKernels, registerTsdlKernels, setDirectConvolutions, unregisterTsdlKernels } from "../../src/wasm";
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
  assert.deepEqual([...CONV_KERNELS].sort(), [tf.Conv2D, tf.Conv2DBackpropFilter, tf.Conv2DBackpropInput, tf.MaxPoolGrad, tf.Sum].sort());
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

for (const c of convCases) {
  test(`conv2d x [${c.x}] filter [${c.f}] strides ${c.strides} pad ${c.pad}: output, dx and dfilter match cpu`, async () => {
    const x = values(...c.x);
    const f = values(...c.f);
    const outShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad).shape);
    const w = values(...outShape);
    const run = (xt: tf.Tensor, ft: tf.Tensor, wt: tf.Tensor) => {
      const y = tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, c.strides, c.pad);
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), wt)))([xt, ft]);
      return [y, dx, df];
    };
    await tf.setBackend("wasm");
    const ids = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const got = await runOn("wasm", [x, f, w], run);
    assert.equal((tf.backend() as unknown as { numDataIds(): number }).numDataIds(), ids, "every temporary buffer freed");
    assertClose(got, await runOn("cpu", [x, f, w], run), JSON.stringify(c), 5e-5);
  });
}

// The direct single-channel kernels sum the same products in the same order as the im2col
// product on tsdl's GEMM: the same bits, so seeded CNN runs repeat exactly.
const directCases: ConvCase[] = [
  { x: [64, 28, 28, 1], f: [3, 3, 1, 16], strides: 1, pad: "valid" },
  { x: [2, 9, 8, 1], f: [3, 3, 1, 5], strides: 2, pad: "same" },
  { x: [1, 7, 7, 1], f: [5, 2, 1, 7], strides: [1, 2], pad: 1 },
  { x: [2, 10, 10, 1], f: [4, 4, 1, 21], strides: 3, pad: "same" },
];
for (const c of directCases) {
  test(`single-channel conv2d x [${c.x}] filter [${c.f}] strides ${c.strides} pad ${c.pad}: the direct kernels give the im2col product's bits`, async () => {
    const x = values(...c.x);
    const f = values(...c.f);
    const outShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.f) as tf.Tensor4D, c.strides, c.pad).shape);
    const w = values(...outShape);
    const run = (xt: tf.Tensor, ft: tf.Tensor, wt: tf.Tensor) => {
      const y = tf.conv2d(xt as tf.Tensor4D, ft as tf.Tensor4D, c.strides, c.pad);
      const df = tf.grad((b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xt as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), wt)))(ft);
      return [y, df];
    };
    let viaIm2col: Values[];
    setDirectConvolutions(false);
    try {
      viaIm2col = await runOn("wasm", [x, f, w], run);
    } finally {
      setDirectConvolutions(true);
    }
    const viaDirect = await runOn("wasm", [x, f, w], run);
    assertBits(viaDirect[0].data, viaIm2col[0].data, "output");
    assertBits(viaDirect[1].data, viaIm2col[1].data, "filter gradient");
  });
}

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
