/**
 * One training step (batch 64 of real MNIST images, cycling through the first 100 batches:
 * forward, backward, Adam update, loss read back) of the article MLP and of `dl.models.cnn`, on
 * tfjs `cpu` (MLP only: a CNN step there takes seconds), on `wasm` as tfjs ships it (for the CNN
 * with tsdl's assembled Conv2DBackpropFilter, which it lacks), on tsdl's wasm (tsdl's kernels,
 * one thread per core; what `initBackend()` picks where tfjs-node is absent), through
 * `dl.train.fit` on that backend (what the notebooks run: its own step, `fitCandidate`), on tsdl's
 * wasm with one thread, and on tsdl's wasm with tfjs's own dropout, ReLU gradient and dense layers
 * (tsdl before its fused MLP kernels, a before/after in the same run), and on tsdl's wasm with
 * tfjs's own loss, tape saving and fresh-buffer Adam (before loss.ts, tape.ts and the in-place
 * update: the step's work outside its big kernels, a before/after too); and on PyTorch (Debian's python3-torch) in the same run when it imports, with
 * 1 thread and with 2 threads under OMP_WAIT_POLICY=PASSIVE, its settings printed (BLAS library
 * mapped, malloc thresholds). All candidates of a model run in interleaved rounds, so a busy
 * moment on the shared machine hits all of them; the table shows the best and the median round,
 * and the ratios use the best.
 *
 * Run: `npm run bench -- train-step` (TSDL_QUICK=1 for fewer rounds, TSDL_BENCH_ROUNDS=N to set;
 * TSDL_BENCH_MODELS=cnn for one model).
 */
import * as tf from "@tensorflow/tfjs";
import {
  defaultWasmThreads, ensureTrainingKernels, installFastDropout, installFusedConv, installFusedDense, installFusedLoss, installLeanTape, registerWasmVariant,
  setAdamInPlace, setDirectConvolutions, setDirectOnHelpers, setFilterGradientOnHelpers, setPoolArgmax, uninstallFastDropout, uninstallFusedConv, uninstallFusedDense, uninstallFusedLoss, uninstallLeanTape,
} from "../../src/wasm";
import { cnn, mlp } from "../../src/models";
import { fit } from "../../src/train";
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

type Model = "mlp" | "cnn";

function build(kind: Model): tf.LayersModel {
  if (kind === "mlp") return buildArticleMlp();
  const model = cnn({ seed: 1 });
  model.compile({ optimizer: tf.train.adam(0.001), loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits) });
  return model;
}

/** Runs `f` with tfjs's own dropout, ReLU gradient and dense layers (tsdl before its MLP kernels). */
async function withoutMlpKernels<T>(f: () => Promise<T>): Promise<T> {
  uninstallFastDropout();
  uninstallFusedDense();
  try {
    return await f();
  } finally {
    installFastDropout();
    installFusedDense();
  }
}

/** Runs `f` with tfjs's own loss, tape saving and Adam buffers (tsdl before loss.ts, tape.ts and the in-place update). */
async function withoutStepSavings<T>(f: () => Promise<T>): Promise<T> {
  uninstallFusedLoss();
  uninstallLeanTape();
  setAdamInPlace(false);
  try {
    return await f();
  } finally {
    installFusedLoss();
    installLeanTape();
    setAdamInPlace(true);
  }
}

/** Runs `f` without issue 14's CNN kernels (direct first layer, fused conv + bias + ReLU, MaxPool's argmax): tsdl before them. */
async function withoutCnnKernels<T>(f: () => Promise<T>): Promise<T> {
  const switchTo = (on: boolean) => {
    setDirectConvolutions(on);
    setPoolArgmax(on);
    if (on) installFusedConv();
    else uninstallFusedConv();
  };
  switchTo(false);
  try {
    return await f();
  } finally {
    switchTo(true);
  }
}

async function tfjsCandidate(kind: Model, label: string, backend: string, steps: number, mlpKernels = true, stepSavings = true, cnnKernels = true): Promise<Candidate> {
  if (!cnnKernels) {
    const c = await withoutCnnKernels(() => tfjsCandidate(kind, label, backend, steps, mlpKernels, stepSavings));
    return { ...c, run: (n) => withoutCnnKernels(() => c.run(n)) };
  }
  if (!mlpKernels) {
    const c = await withoutMlpKernels(() => tfjsCandidate(kind, label, backend, steps));
    return { ...c, run: (n) => withoutMlpKernels(() => c.run(n)) };
  }
  if (!stepSavings) {
    const c = await withoutStepSavings(() => tfjsCandidate(kind, label, backend, steps));
    return { ...c, run: (n) => withoutStepSavings(() => c.run(n)) };
  }
  await tf.setBackend(backend);
  const model = build(kind);
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
  const warmup = backend === "cpu" ? 2 : kind === "cnn" ? 10 : 100;
  for (let i = 0; i < warmup; i++) await step();
  return timed(label, steps, backend, async (n) => {
    for (let i = 0; i < n; i++) await step();
  });
}

/** A candidate whose round of n steps is `body(n)` on `backend`, timed as a whole. */
function timed(label: string, steps: number, backend: string, body: (n: number) => Promise<void>): Candidate {
  return {
    label,
    steps,
    async run(n) {
      await tf.setBackend(backend);
      const t = performance.now();
      await body(n);
      return performance.now() - t;
    },
  };
}

/**
 * `dl.train.fit`'s own step, what the notebooks run (for the MLP the direct step of
 * src/wasm/dense-step.ts, for the CNN tfjs-layers and the tape), on the same batches: a round of
 * n steps is one epoch over the first n batches, in order, with one Adam optimizer kept across
 * rounds like the compiled models'. It includes what fit adds per step (the gather of each batch
 * from the epoch's tensor, the accuracy count, a turn of the event loop) and, once per round, the
 * fit's own set-up (a few ms).
 */
async function fitCandidate(kind: Model, label: string, backend: string, steps: number): Promise<Candidate> {
  await tf.setBackend(backend);
  const model = kind === "mlp" ? mlp({ seed: 1 }) : cnn({ seed: 1 });
  const data = loadMnist("train", BATCHES * BATCH);
  const optimizer = tf.train.adam(0.001);
  const rows = new Map<number, { x: tf.Tensor; y: tf.Tensor }>();
  const epoch = async (n: number) => {
    let d = rows.get(n);
    if (!d) rows.set(n, (d = { x: data.x.slice(0, n * BATCH), y: data.y.slice(0, n * BATCH) }));
    await fit(model, d, { epochs: 1, batchSize: BATCH, optimizer, shuffle: false, seed: 1, reporter: "none" });
  };
  await epoch(kind === "cnn" ? 10 : BATCHES);
  return timed(label, steps, backend, epoch);
}

async function main(): Promise<void> {
  const quick = process.env.TSDL_QUICK === "1";
  const rounds = Number(process.env.TSDL_BENCH_ROUNDS ?? (quick ? 2 : 5));
  const models = (process.env.TSDL_BENCH_MODELS ?? "mlp,cnn").split(",") as Model[];
  const threads = defaultWasmThreads();
  require("@tensorflow/tfjs-backend-wasm");
  registerWasmVariant("tsdl-wasm", { threads });
  if (threads > 1) registerWasmVariant("tsdl-wasm-1", { threads: 1 });
  // Stock wasm has no Conv2DBackpropFilter; tsdl's assembled one lets it train the CNN at all.
  ensureTrainingKernels();

  const torchVersion = TorchWorker.available();
  const workers: TorchWorker[] = [];
  if (torchVersion) {
    workers.push(await TorchWorker.start(`PyTorch ${torchVersion} (1 thread)`, 1));
    workers.push(await TorchWorker.start(`PyTorch ${torchVersion} (2 threads, OMP_WAIT_POLICY=PASSIVE)`, 2, { OMP_WAIT_POLICY: "PASSIVE" }));
    for (const w of workers) {
      const c = await w.config();
      console.log(`${w.label}: torch.get_num_threads() ${c.threads}; BLAS mapped: ${c.blas.join(", ") || "none"}; malloc ${Object.entries(c.malloc).map(([k, v]) => `${k}=${v}`).join(" ")}; OMP_WAIT_POLICY=${c.omp_wait_policy ?? "(unset)"}`);
    }
  } else {
    console.log("PyTorch: /usr/bin/python3 cannot import torch (apt install python3-torch to compare)");
  }
  for (const kind of models) await benchModel(kind, rounds, quick, threads, workers);
  for (const w of workers) w.close();
}

async function benchModel(kind: Model, rounds: number, quick: boolean, threads: number, workers: TorchWorker[]): Promise<void> {
  const name = kind === "mlp" ? "Article MLP" : "dl.models.cnn";
  console.log(`\n${name} training step, batch ${BATCH}; ${rounds} interleaved rounds; ${loadLine()} at start`);
  const tsdl = `tsdl wasm (${threads} thread${threads > 1 ? "s" : ""})`;
  const scale = kind === "cnn" ? 0.1 : 1;
  const steps = (n: number) => Math.max(1, Math.round(n * scale));
  const candidates: Candidate[] = [];
  if (kind === "mlp") candidates.push(await tfjsCandidate(kind, "tfjs cpu", "cpu", quick ? 1 : 3));
  candidates.push(await tfjsCandidate(kind, kind === "cnn" ? "tfjs wasm as shipped (+ assembled filter gradient)" : "tfjs wasm as shipped", "wasm", steps(quick ? 5 : 15)));
  candidates.push(await tfjsCandidate(kind, tsdl, "tsdl-wasm", steps(quick ? 30 : 100)));
  candidates.push(await fitCandidate(kind, `${tsdl}, dl.train.fit (what the notebooks run)`, "tsdl-wasm", steps(quick ? 30 : 100)));
  if (threads > 1) candidates.push(await tfjsCandidate(kind, "tsdl wasm (1 thread)", "tsdl-wasm-1", steps(quick ? 30 : 100)));
  // The same backend with tfjs's own dropout, ReLU gradient and dense layers: tsdl before its
  // fused MLP kernels (src/wasm/dropout.ts, dense.ts), for a before/after in one run.
  candidates.push(await tfjsCandidate(kind, `${tsdl}, tfjs's dropout and dense (before)`, "tsdl-wasm", steps(quick ? 30 : 100), false));
  // The same backend with tfjs's own loss, tape saving and Adam buffers (src/wasm/loss.ts, tape.ts, adam.ts's in-place update).
  candidates.push(await tfjsCandidate(kind, `${tsdl}, tfjs's loss, tape and Adam buffers (before)`, "tsdl-wasm", steps(quick ? 30 : 100), true, false));
  // The direct convolutions on the calling thread only (before they were split with the helpers, parallel.ts).
  if (kind === "cnn" && threads > 1) {
    /** A candidate whose rounds run with a parallel.ts switch off. */
    const switchedOff = async (label: string, set: (on: boolean) => void): Promise<Candidate> => {
      const c = await tfjsCandidate(kind, label, "tsdl-wasm", steps(quick ? 30 : 100));
      const run = async (n: number) => {
        set(false);
        try {
          return await c.run(n);
        } finally {
          set(true);
        }
      };
      return { ...c, run };
    };
    candidates.push(await switchedOff(`${tsdl}, direct convolutions on the calling thread only (before)`, setDirectOnHelpers));
    // Only the filter gradient on the calling thread (before its split by filter rows, parallel.ts).
    candidates.push(await switchedOff(`${tsdl}, filter gradient on the calling thread only (before)`, setFilterGradientOnHelpers));
  }
  // tsdl before issue 14's CNN kernels (conv-direct.ts, conv-fused.ts, pool.ts), same backend.
  if (kind === "cnn") candidates.push(await tfjsCandidate(kind, `${tsdl}, before the direct, fused and pooling CNN kernels`, "tsdl-wasm", steps(quick ? 30 : 100), true, true, false));
  const command = kind === "mlp" ? "step" : "cnn";
  for (const w of workers) {
    await w.ms(`${command} ${kind === "cnn" ? 10 : 100}`);
    candidates.push({ label: w.label, steps: steps(quick ? 30 : 100), run: (n) => w.ms(`${command} ${n}`) });
  }

  const results = new Rounds();
  for (let r = 0; r < rounds; r++) {
    for (const c of candidates) results.add(c.label, (await c.run(c.steps)) / c.steps);
  }

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
  const ratio = (a: string, b: string) => (results.best(a) / results.best(b)).toFixed(2);
  const shipped = candidates[kind === "mlp" ? 1 : 0].label;
  console.log(`${name}: tsdl wasm is ${ratio(shipped, tsdl)}× faster than wasm as shipped${kind === "mlp" ? ` and ${ratio("tfjs cpu", tsdl)}× faster than cpu` : ""}.`);
  if (torchBest) {
    console.log(`${name}: tsdl wasm takes ${ratio(tsdl, torchBest)}× the time of PyTorch's faster setting (${torchBest}); must be ≤ 2, goal ≤ 1.`);
    console.log(`${name}: in dl.train.fit, ${ratio(`${tsdl}, dl.train.fit (what the notebooks run)`, torchBest)}× (best rounds), ${(results.median(`${tsdl}, dl.train.fit (what the notebooks run)`) / results.median(torchBest)).toFixed(2)}× by the medians.`);
  }
  console.log(`${loadLine()} at end`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
