/**
 * Where a training step of `dl.models.cnn` (batch 64 of MNIST, Adam) spends its time on tsdl's
 * wasm backend: every kernel of one step, timed by `tf.profile` (wall time per kernel call, the
 * wasm backend is synchronous), per kernel name and shapes, the median over the profiled steps
 * (the machine is shared: a median resists the busy moments). Prints the kernels by time with
 * their share of the step, and for the convolutions their FLOP and GFLOP/s.
 *
 * Run: `npm run bench -- cnn-profile` (TSDL_BENCH_ROUNDS=N steps profiled, default 9;
 * TSDL_PROFILE_MODEL=mlp profiles the article MLP, `dl.models.mlp` with dropout 0.5, instead;
 * TSDL_PROFILE_ROWS=N prints N rows, default 30; TSDL_DIRECT_ALONE=1 runs the direct convolutions on the
 * calling thread only, as before they were split with the helper threads).
 */
import * as tf from "@tensorflow/tfjs";
import { cnn, mlp } from "../../src/models";
import { setDirectOnHelpers, setupFastWasm } from "../../src/wasm";
import { loadLine, median, table } from "../helpers/bench-util";
import { loadMnist } from "../helpers/mnist-idx";

async function main(): Promise<void> {
  const steps = Number(process.env.TSDL_BENCH_ROUNDS ?? 9);
  setupFastWasm();
  if (process.env.TSDL_DIRECT_ALONE === "1") setDirectOnHelpers(false);
  await tf.setBackend("wasm");
  const kind = process.env.TSDL_PROFILE_MODEL === "mlp" ? "mlp" : "cnn";
  const model = kind === "mlp" ? mlp({ inputs: 784, hidden: [256, 128], outputs: 10, activation: "relu", dropout: 0.5, seed: 1 }) : cnn({ seed: 1 });
  model.compile({ optimizer: tf.train.adam(0.001), loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits) });
  const data = loadMnist("train", 64 * 10);
  const xs = tf.split(data.x, 10);
  const ys = tf.split(data.y, 10);
  for (let i = 0; i < 5; i++) await model.trainOnBatch(xs[i % 10], ys[i % 10]);
  let t = performance.now();
  for (let i = 0; i < 10; i++) await model.trainOnBatch(xs[i % 10], ys[i % 10]);
  const stepMs = (performance.now() - t) / 10;
  const totals = new Map<string, { ms: number[]; calls: number; flops: number }>();
  let profiled = 0;
  for (let s = 0; s < steps; s++) {
    t = performance.now();
    const info = await tf.profile(async () => {
      const loss = await model.trainOnBatch(xs[s % 10], ys[s % 10]);
      return loss as number;
    });
    profiled += performance.now() - t;
    const thisStep = new Map<string, number>();
    for (const k of info.kernels) {
      const key = `${k.name} ${k.inputShapes.map((sh) => `[${sh}]`).join(" ")}`;
      thisStep.set(key, (thisStep.get(key) ?? 0) + (k.kernelTimeMs as number));
      if (s === 0) {
        const e = totals.get(key) ?? { ms: [], calls: 0, flops: convFlops(k.name, k.inputShapes, k.outputShapes) };
        e.calls++;
        totals.set(key, e);
      }
    }
    for (const [key, ms] of thisStep) totals.get(key)?.ms.push(ms);
  }
  const med = (xs: number[]) => median(xs.length ? xs : [0]);
  const rows = [...totals].sort((a, b) => med(b[1].ms) - med(a[1].ms));
  const sum = rows.reduce((p, [, e]) => p + med(e.ms), 0);
  console.log(`dl.models.${kind} training step, batch 64, Adam: ${stepMs.toFixed(1)} ms/step unprofiled; kernels' medians sum to ${sum.toFixed(1)} ms/step (${(profiled / steps).toFixed(1)} ms/step profiled); ${loadLine()}`);
  console.log(`outside the kernels (tfjs's engine and tape, tfjs-layers, tsdl's JavaScript, waits): ${(stepMs - sum).toFixed(1)} ms/step, ${((100 * (stepMs - sum)) / stepMs).toFixed(0)}% of the unprofiled step; ${rows.reduce((p, [, e]) => p + e.calls, 0)} kernel calls per step`);
  console.log(
    table(
      ["kernel and input shapes", "ms/step (median)", "calls/step", "% of kernels", "MFLOP", "GFLOP/s"],
      rows.slice(0, Number(process.env.TSDL_PROFILE_ROWS ?? 30)).map(([k, e]) => [
        k, med(e.ms).toFixed(2), String(e.calls), ((100 * med(e.ms)) / sum).toFixed(1),
        e.flops ? (e.flops / 1e6).toFixed(1) : "", e.flops ? (e.flops / med(e.ms) / 1e6).toFixed(1) : "",
      ]),
    ),
  );
  console.log(`${rows.length} distinct kernels; ${rows.reduce((p, [, e]) => p + e.calls, 0)} calls per step`);
}

/** 2·(output size)·(filter size ÷ output channels) for the convolutions and their gradients; 0 for others. */
function convFlops(name: string, inputs: number[][], outputs: number[][]): number {
  const size = (s: number[] | undefined) => (s ?? []).reduce((p, d) => p * d, 1);
  if (name === "Conv2D" || name === "TsdlConv2DBias") return (2 * size(outputs[0]) * size(inputs[1])) / inputs[1][3];
  if (name === "Conv2DBackpropInput") return (2 * size(inputs[0]) * size(inputs[1])) / inputs[1][3];
  if (name === "Conv2DBackpropFilter") return (2 * size(inputs[1]) * size(outputs[0])) / inputs[1][3];
  if (name === "BatchMatMul" || name === "_FusedMatMul" || name === "TsdlDense") {
    const [a, b] = inputs;
    return 2 * size(outputs[0]) * (a[a.length - 1] === b[b.length - 2] || a[a.length - 1] === b[b.length - 1] ? a[a.length - 1] : a[a.length - 2]);
  }
  return 0;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
