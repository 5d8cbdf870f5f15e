/**
 * Where a training step of `dl.models.cnn` (batch 64 of MNIST, Adam) spends its time on tsdl's
 * wasm backend: every kernel of one step, timed by `tf.profile` (wall time per kernel call, the
 * wasm backend is synchronous), summed per kernel name and shapes, over a few steps. Prints the
 * kernels by total time with their share of the step.
 *
 * Run: `npm run bench -- cnn-profile` (TSDL_BENCH_ROUNDS=N steps profiled, default 5).
 */
import * as tf from "@tensorflow/tfjs";
import { cnn } from "../../src/models";
import { setupFastWasm } from "../../src/wasm";
import { loadLine, table } from "../helpers/bench-util";
import { loadMnist } from "../helpers/mnist-idx";

async function main(): Promise<void> {
  const steps = Number(process.env.TSDL_BENCH_ROUNDS ?? 5);
  setupFastWasm();
  await tf.setBackend("wasm");
  const model = cnn({ seed: 1 });
  model.compile({ optimizer: tf.train.adam(0.001), loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits) });
  const data = loadMnist("train", 64 * 10);
  const xs = tf.split(data.x, 10);
  const ys = tf.split(data.y, 10);
  for (let i = 0; i < 5; i++) await model.trainOnBatch(xs[i % 10], ys[i % 10]);
  let t = performance.now();
  for (let i = 0; i < 10; i++) await model.trainOnBatch(xs[i % 10], ys[i % 10]);
  const stepMs = (performance.now() - t) / 10;
  const totals = new Map<string, { ms: number; calls: number }>();
  let profiled = 0;
  for (let s = 0; s < steps; s++) {
    t = performance.now();
    const info = await tf.profile(async () => {
      const loss = await model.trainOnBatch(xs[s % 10], ys[s % 10]);
      return loss as number;
    });
    profiled += performance.now() - t;
    for (const k of info.kernels) {
      const key = `${k.name} ${k.inputShapes.map((sh) => `[${sh}]`).join(" ")}`;
      const e = totals.get(key) ?? { ms: 0, calls: 0 };
      e.ms += k.kernelTimeMs as number;
      e.calls++;
      totals.set(key, e);
    }
  }
  const rows = [...totals].sort((a, b) => b[1].ms - a[1].ms);
  const sum = rows.reduce((p, [, e]) => p + e.ms, 0) / steps;
  console.log(`dl.models.cnn training step, batch 64, Adam: ${stepMs.toFixed(1)} ms/step unprofiled; kernels sum to ${sum.toFixed(1)} ms/step (${(profiled / steps).toFixed(1)} ms profiled); ${loadLine()}`);
  console.log(table(["kernel and input shapes", "ms/step", "calls/step", "% of kernels"], rows.slice(0, 30).map(([k, e]) => [k, (e.ms / steps).toFixed(2), String(e.calls / steps), ((100 * e.ms) / steps / sum).toFixed(1)])));
  console.log(`${rows.length} distinct kernels; ${rows.reduce((p, [, e]) => p + e.calls, 0) / steps} calls per step`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
