/**
 * The kernels tsdl replaced for the CNN (src/wasm/conv.ts), one by one at the shapes of a
 * `dl.models.cnn` training step (batch 64): tfjs-wasm as shipped (its Conv2D, Conv2DBackpropInput,
 * MaxPoolGrad, Sum; for Conv2DBackpropFilter, which it lacks, tsdl's former one assembled from
 * transposes, a pad and a convolution) against tsdl's wasm (im2col products on tsdl's GEMM, the
 * generated max-pool gradient and sum), on the same thread count, in interleaved rounds. Prints
 * ms per call (best of the rounds) and GFLOP/s for the convolutions. Each call gets new filter
 * weights, as every training step does.
 *
 * A third candidate, "tsdl before", is the same tsdl backend with this session's CNN kernels
 * switched off (issue 14: single-channel convolutions as im2col products, conv + bias + ReLU as
 * three kernels, MaxPool on XNNPACK, MaxPoolGrad finding each maximum again), so the before and
 * after are measured in the same rounds. The last rows time whole layers as a training step runs
 * them (forward and backward under `tf.grads`, several kernels each), where the fused kernels and
 * the argmax kept from the forward pass show.
 *
 * A fourth, "tsdl now, caller only", is tsdl now with the direct kernels on the calling thread
 * alone (`setDirectOnHelpers(false)`: as before they were split with the helper threads), so the
 * split's gain shows per kernel in the same rounds.
 *
 * Run: `npm run bench -- conv-kernels` (TSDL_BENCH_ROUNDS=N rounds, default 5).
 */
import * as tf from "@tensorflow/tfjs";
import { defaultWasmThreads, ensureTrainingKernels, installFusedConv, registerWasmVariant, setDirectConvolutions, setDirectOnHelpers, setPoolArgmax, uninstallFusedConv } from "../../src/wasm";
import { loadLine, Rounds, table } from "../helpers/bench-util";

interface Case {
  label: string;
  /** A kernel name, or a layer run forward and backward as in training. */
  kernel: string | ((inputs: Record<string, tf.Tensor>) => tf.Tensor[]);
  /** Input shapes, by input name. */
  inputs: Record<string, number[]>;
  attrs: Record<string, unknown>;
  flops: number;
}

const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
const conv = (x: number[], f: number[]) => 2 * size([x[0], x[1] - f[0] + 1, x[2] - f[1] + 1, f[3]]) * f[0] * f[1] * f[2];
const convAttrs = { strides: 1, pad: "valid", dataFormat: "NHWC", dilations: 1, dimRoundingMode: undefined };
const pool = { filterSize: 2, strides: 2, pad: "valid", dimRoundingMode: undefined };

const CASES: Case[] = [
  { label: "Conv2D conv1 [64,28,28,1]·[3,3,1,16]", kernel: "Conv2D", inputs: { x: [64, 28, 28, 1], filter: [3, 3, 1, 16] }, attrs: convAttrs, flops: conv([64, 28, 28, 1], [3, 3, 1, 16]) },
  { label: "Conv2D conv2 [64,13,13,16]·[3,3,16,32]", kernel: "Conv2D", inputs: { x: [64, 13, 13, 16], filter: [3, 3, 16, 32] }, attrs: convAttrs, flops: conv([64, 13, 13, 16], [3, 3, 16, 32]) },
  {
    label: "Conv2DBackpropInput conv2 dy [64,11,11,32]", kernel: "Conv2DBackpropInput", inputs: { dy: [64, 11, 11, 32], filter: [3, 3, 16, 32] },
    attrs: { ...convAttrs, inputShape: [64, 13, 13, 16] }, flops: conv([64, 13, 13, 16], [3, 3, 16, 32]),
  },
  {
    label: "Conv2DBackpropFilter conv1 x [64,28,28,1]", kernel: "Conv2DBackpropFilter", inputs: { x: [64, 28, 28, 1], dy: [64, 26, 26, 16] },
    attrs: { ...convAttrs, filterShape: [3, 3, 1, 16] }, flops: conv([64, 28, 28, 1], [3, 3, 1, 16]),
  },
  {
    label: "Conv2DBackpropFilter conv2 x [64,13,13,16]", kernel: "Conv2DBackpropFilter", inputs: { x: [64, 13, 13, 16], dy: [64, 11, 11, 32] },
    attrs: { ...convAttrs, filterShape: [3, 3, 16, 32] }, flops: conv([64, 13, 13, 16], [3, 3, 16, 32]),
  },
  { label: "MaxPoolGrad pool1 [64,26,26,16]", kernel: "MaxPoolGrad", inputs: { dy: [64, 13, 13, 16], input: [64, 26, 26, 16], output: [64, 13, 13, 16] }, attrs: pool, flops: 0 },
  { label: "MaxPoolGrad pool2 [64,11,11,32]", kernel: "MaxPoolGrad", inputs: { dy: [64, 5, 5, 32], input: [64, 11, 11, 32], output: [64, 5, 5, 32] }, attrs: pool, flops: 0 },
  { label: "Sum bias gradient [64,26,26,16] → [16]", kernel: "Sum", inputs: { x: [64, 26, 26, 16] }, attrs: { axis: [0, 1, 2], keepDims: false }, flops: 0 },
  { label: "MaxPool pool1 [64,26,26,16]", kernel: "MaxPool", inputs: { x: [64, 26, 26, 16] }, attrs: pool, flops: 0 },
  { label: "MaxPool pool2 [64,11,11,32]", kernel: "MaxPool", inputs: { x: [64, 11, 11, 32] }, attrs: pool, flops: 0 },
  // Whole layers as a training step runs them: forward and backward.
  { label: "layer conv1 + bias + ReLU, fwd + bwd (dW, db)", kernel: layer(false), inputs: { x: [64, 28, 28, 1], filter: [3, 3, 1, 16], bias: [16], dy: [64, 26, 26, 16] }, attrs: {}, flops: 2 * conv([64, 28, 28, 1], [3, 3, 1, 16]) },
  { label: "layer conv2 + bias + ReLU, fwd + bwd (dx, dW, db)", kernel: layer(true), inputs: { x: [64, 13, 13, 16], filter: [3, 3, 16, 32], bias: [32], dy: [64, 11, 11, 32] }, attrs: {}, flops: 3 * conv([64, 13, 13, 16], [3, 3, 16, 32]) },
  { label: "layer pool1, fwd + bwd", kernel: pooling, inputs: { x: [64, 26, 26, 16], dy: [64, 13, 13, 16] }, attrs: {}, flops: 0 },
  { label: "layer pool2, fwd + bwd", kernel: pooling, inputs: { x: [64, 11, 11, 32], dy: [64, 5, 5, 32] }, attrs: {}, flops: 0 },
];

/** tfjs-layers' Conv2D with a bias and ReLU (`tf.fused.conv2d`), forward and backward; dx only for a layer that is not the first. */
function layer(withDx: boolean): (t: Record<string, tf.Tensor>) => tf.Tensor[] {
  return ({ x, filter, bias, dy }) => {
    const f = (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.fused.conv2d({ x: a as tf.Tensor4D, filter: w as tf.Tensor4D, bias: b, strides: 1, pad: "valid", activation: "relu" }), dy));
    if (withDx) return tf.grads(f)([x, filter, bias]);
    return tf.grads((w: tf.Tensor, b: tf.Tensor) => f(x, w, b))([filter, bias]);
  };
}

/** 2×2 max-pooling, forward and backward. */
function pooling({ x, dy }: Record<string, tf.Tensor>): tf.Tensor[] {
  return [tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, 2, 2, "valid"), dy)))(x)];
}

/** Candidates: a backend, and whether this session's CNN kernels are on. */
const CANDIDATES = [
  { name: "shipped", backend: "wasm-shipped", now: true, helpers: true },
  { name: "tsdl before", backend: "tsdl-wasm", now: false, helpers: true },
  { name: "tsdl now", backend: "tsdl-wasm", now: true, helpers: true },
  { name: "tsdl now, caller only", backend: "tsdl-wasm", now: true, helpers: false },
];

function switchKernels(now: boolean, helpers = true): void {
  setDirectOnHelpers(helpers);
  setDirectConvolutions(now);
  setPoolArgmax(now);
  if (now) installFusedConv();
  else uninstallFusedConv();
}

async function main(): Promise<void> {
  const rounds = Number(process.env.TSDL_BENCH_ROUNDS ?? 5);
  const threads = defaultWasmThreads();
  require("@tensorflow/tfjs-backend-wasm");
  registerWasmVariant("wasm-shipped", { threads, kernels: false });
  registerWasmVariant("tsdl-wasm", { threads });
  // The shipped variant lacks Conv2DBackpropFilter: give it tsdl's former, assembled one.
  ensureTrainingKernels();
  const filter = tf.getKernel(tf.Conv2DBackpropFilter, "wasm");
  if (filter && !tf.getKernel(tf.Conv2DBackpropFilter, "wasm-shipped")) tf.registerKernel({ ...filter, backendName: "wasm-shipped" });
  console.log(`The CNN's kernels, tfjs-wasm as shipped vs tsdl, ${threads} thread${threads > 1 ? "s" : ""}; ${rounds} interleaved rounds; ${loadLine()} at start`);

  const backends = ["wasm-shipped", "tsdl-wasm"];
  const prepared = new Map<string, Record<string, tf.Tensor>>();
  for (const b of backends) {
    await tf.setBackend(b);
    for (const c of CASES) {
      const inputs: Record<string, tf.Tensor> = {};
      for (const [name, shape] of Object.entries(c.inputs)) inputs[name] = tf.randomNormal(shape, 0, 1, "float32", 7);
      prepared.set(`${b} ${c.label}`, inputs);
    }
  }
  const results = new Rounds();
  const run = (b: string, c: Case, reps: number) => {
    const inputs = prepared.get(`${b} ${c.label}`)!;
    // As in training, every call gets weights it has not seen: XNNPACK caches its packed filter
    // per tensor, which only inference (the same weights again) would enjoy.
    const filters = inputs.filter ? Array.from({ length: reps }, () => tf.tensor(inputs.filter.dataSync(), inputs.filter.shape)) : [];
    let ms = 0;
    for (let i = 0; i < reps; i++) {
      const args = filters.length ? { ...inputs, filter: filters[i] } : inputs;
      const t = performance.now();
      const kernel = c.kernel;
      const out = typeof kernel === "string" ? [tf.engine().runKernel(kernel, args as never, c.attrs as never) as tf.Tensor] : tf.tidy(() => kernel(args));
      ms += performance.now() - t;
      tf.dispose(out);
    }
    for (const f of filters) f.dispose();
    return ms / reps;
  };
  for (let r = 0; r <= rounds; r++) {
    for (const c of CASES) {
      for (const k of CANDIDATES) {
        await tf.setBackend(k.backend);
        switchKernels(k.now, k.helpers);
        const ms = run(k.backend, c, 5);
        if (r > 0) results.add(`${k.name} ${c.label}`, ms); // round 0 warms up
      }
    }
  }
  switchKernels(true);
  const gflops = (c: Case, ms: number) => (c.flops ? (c.flops / ms / 1e6).toFixed(1) : "");
  console.log(
    table(
      ["kernel", "MFLOP", "shipped ms", "tsdl before ms", "tsdl now ms", "caller only ms", "shipped GFLOP/s", "before GFLOP/s", "now GFLOP/s", "caller only GFLOP/s", "now vs before", "now vs shipped", "now vs caller only"],
      CASES.map((c) => {
        const [s, b, t, a] = CANDIDATES.map((k) => results.best(`${k.name} ${c.label}`));
        return [c.label, c.flops ? (c.flops / 1e6).toFixed(1) : "", s.toFixed(2), b.toFixed(2), t.toFixed(2), a.toFixed(2), gflops(c, s), gflops(c, b), gflops(c, t), gflops(c, a), (b / t).toFixed(1) + "×", (s / t).toFixed(1) + "×", (a / t).toFixed(2) + "×"];
      }),
    ),
  );
  console.log(`${loadLine()} at end`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
