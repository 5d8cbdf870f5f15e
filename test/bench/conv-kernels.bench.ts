/**
 * The kernels tsdl replaced for the CNN (src/wasm/conv.ts), one by one at the shapes of a
 * `dl.models.cnn` training step (batch 64): tfjs-wasm as shipped (its Conv2D, Conv2DBackpropInput,
 * MaxPoolGrad, Sum; for Conv2DBackpropFilter, which it lacks, tsdl's former one assembled from
 * transposes, a pad and a convolution) against tsdl's wasm (im2col products on tsdl's GEMM, the
 * generated max-pool gradient and sum), on the same thread count, in interleaved rounds. Prints
 * ms per call (best of the rounds) and GFLOP/s for the convolutions. Each call gets new filter
 * weights, as every training step does.
 *
 * Run: `npm run bench -- conv-kernels` (TSDL_BENCH_ROUNDS=N rounds, default 5).
 */
import * as tf from "@tensorflow/tfjs";
import { defaultWasmThreads, ensureTrainingKernels, registerWasmVariant } from "../../src/wasm";
import { loadLine, Rounds, table } from "../helpers/bench-util";

interface Case {
  label: string;
  kernel: string;
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
];

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
      const out = tf.engine().runKernel(c.kernel, args as never, c.attrs as never) as tf.Tensor;
      ms += performance.now() - t;
      out.dispose();
    }
    for (const f of filters) f.dispose();
    return ms / reps;
  };
  for (let r = 0; r <= rounds; r++) {
    for (const c of CASES) {
      for (const b of backends) {
        await tf.setBackend(b);
        const ms = run(b, c, 5);
        if (r > 0) results.add(`${b} ${c.label}`, ms); // round 0 warms up
      }
    }
  }
  const gflops = (c: Case, ms: number) => (c.flops ? (c.flops / ms / 1e6).toFixed(1) : "");
  console.log(
    table(
      ["kernel", "MFLOP", "shipped ms", "tsdl ms", "shipped GFLOP/s", "tsdl GFLOP/s", "speed-up"],
      CASES.map((c) => {
        const [s, t] = backends.map((b) => results.best(`${b} ${c.label}`));
        return [c.label, c.flops ? (c.flops / 1e6).toFixed(1) : "", s.toFixed(2), t.toFixed(2), gflops(c, s), gflops(c, t), (s / t).toFixed(1) + "×"];
      }),
    ),
  );
  console.log(`${loadLine()} at end`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
