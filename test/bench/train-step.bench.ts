/**
 * One training step of the article MLP (batch 64 of real MNIST images, cycling through the first
 * 100 batches: forward, backward, Adam update, loss read back) on tfjs `cpu`, on `wasm` as tfjs ships it, on tsdl's wasm (fast matmul kernels, one thread per
 * core; what `initBackend()` picks where tfjs-node is absent) and on tsdl's wasm with one
 * thread; and on PyTorch (Debian's python3-torch) in the same run when it imports, with 1 thread
 * and with 2 threads under OMP_WAIT_POLICY=PASSIVE. All candidates run in interleaved rounds, so
 * a busy moment on the shared machine hits all of them; the table shows the best and the median
 * round, and the ratios use the best.
 *
 * Run: `npm run bench -- train-step` (TSDL_QUICK=1 for fewer rounds, TSDL_BENCH_ROUNDS=N to set).
 */
import * as tf from "@tensorflow/tfjs";
import { defaultWasmThreads, registerWasmVariant } from "../../src/wasm";
import { buildArticleMlp, BATCH, STEPS_PER_EPOCH } from "../helpers/article-mlp";
import { loadLine, Rounds, table } from "../helpers/bench-util";
import { loadMnist } from "../helpers/mnist-idx";
import { TorchWorker } from "../helpers/torch-worker";

interface Candidate {
  label: string;
  /** Steps per round. */
  steps: number;
  run(steps: number): Promise<number>;
}

/** Batches cycled through by every candidate: real MNIST images, like a training run. */
const BATCHES = 100;

async function tfjsCandidate(label: string, backend: string, steps: number): Promise<Candidate> {
  await tf.setBackend(backend);
  const model = buildArticleMlp();
  const data = loadMnist("train", BATCHES * BATCH);
  const xs = tf.split(data.x, BATCHES);
  const ys = tf.split(data.y, BATCHES);
  data.x.dispose();
  data.y.dispose();
  let next = 0;
  const step = () => {
    const i = next++ % BATCHES;
    return model.trainOnBatch(xs[i], ys[i]);
  };
  const warmup = backend === "cpu" ? 2 : 100;
  for (let i = 0; i < warmup; i++) await step();
  return {
    label,
    steps,
    async run(n) {
      await tf.setBackend(backend);
      const t = performance.now();
      for (let i = 0; i < n; i++) await step();
      return performance.now() - t;
    },
  };
}

async function main(): Promise<void> {
  const quick = process.env.TSDL_QUICK === "1";
  const rounds = Number(process.env.TSDL_BENCH_ROUNDS ?? (quick ? 2 : 5));
  const threads = defaultWasmThreads();
  console.log(`Article MLP training step, batch ${BATCH}; ${rounds} interleaved rounds; ${loadLine()} at start`);

  require("@tensorflow/tfjs-backend-wasm");
  registerWasmVariant("tsdl-wasm", { threads });
  if (threads > 1) registerWasmVariant("tsdl-wasm-1", { threads: 1 });
  const tsdl = `tsdl wasm (${threads} thread${threads > 1 ? "s" : ""})`;
  const candidates: Candidate[] = [
    await tfjsCandidate("tfjs cpu", "cpu", quick ? 1 : 3),
    await tfjsCandidate("tfjs wasm as shipped", "wasm", quick ? 5 : 15),
    await tfjsCandidate(tsdl, "tsdl-wasm", quick ? 30 : 100),
  ];
  if (threads > 1) candidates.push(await tfjsCandidate("tsdl wasm (1 thread)", "tsdl-wasm-1", quick ? 30 : 100));

  const torchVersion = TorchWorker.available();
  const workers: TorchWorker[] = [];
  if (torchVersion) {
    workers.push(await TorchWorker.start(`PyTorch ${torchVersion} (1 thread)`, 1));
    workers.push(await TorchWorker.start(`PyTorch ${torchVersion} (2 threads, OMP_WAIT_POLICY=PASSIVE)`, 2, { OMP_WAIT_POLICY: "PASSIVE" }));
    for (const w of workers) {
      await w.ms("step 100");
      candidates.push({ label: w.label, steps: quick ? 30 : 100, run: (n) => w.ms(`step ${n}`) });
    }
  } else {
    console.log("PyTorch: /usr/bin/python3 cannot import torch (apt install python3-torch to compare)");
  }

  const results = new Rounds();
  for (let r = 0; r < rounds; r++) {
    for (const c of candidates) results.add(c.label, (await c.run(c.steps)) / c.steps);
  }
  for (const w of workers) w.close();

  const torchLabels = workers.map((w) => w.label);
  const torchBest = torchLabels.length ? torchLabels.reduce((a, b) => (results.best(a) <= results.best(b) ? a : b)) : null;
  console.log(
    table(
      ["", "best ms/step", "median ms/step", "s/epoch (best)", torchBest ? "× PyTorch best" : "× tsdl wasm"],
      candidates.map((c) => [
        c.label,
        results.best(c.label).toFixed(2),
        results.median(c.label).toFixed(2),
        ((results.best(c.label) * STEPS_PER_EPOCH) / 1000).toFixed(1),
        (results.best(c.label) / results.best(torchBest ?? tsdl)).toFixed(2),
      ]),
    ),
  );
  console.log(`s/epoch: ${STEPS_PER_EPOCH} steps (60,000 examples / batch ${BATCH}) × the best ms/step.`);
  const ratio = (a: string, b: string) => (results.best(a) / results.best(b)).toFixed(1);
  console.log(`tsdl wasm is ${ratio("tfjs wasm as shipped", tsdl)}× faster than wasm as shipped and ${ratio("tfjs cpu", tsdl)}× faster than cpu.`);
  if (torchBest) {
    console.log(`tsdl wasm takes ${ratio(tsdl, torchBest)}× the time of PyTorch's faster setting (${torchBest}); target ≤ 2.`);
  }
  console.log(`${loadLine()} at end`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
