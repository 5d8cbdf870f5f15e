/**
 * tsdl's blocked GEMM (k and rows in blocks, b packed into panels: src/wasm/parallel.ts) against
 * the unblocked kernels reading b in place (as before blocking), in the same process: training
 * steps of the article MLP and of `dl.models.cnn` (batch 64 of real MNIST images, Adam), in
 * interleaved rounds that alternate which one goes first, on tsdl's wasm with one thread per
 * core and with one thread; and the caller's waits for helper threads per step (spin-then-sleep,
 * the default, against spinning until done). Best and median rounds; ratios of the medians.
 *
 * Run: `npm run bench -- gemm-step` (TSDL_QUICK=1 for fewer rounds, TSDL_BENCH_ROUNDS=N,
 * TSDL_BENCH_MODELS=cnn for one model).
 */
import * as tf from "@tensorflow/tfjs";
import { defaultWasmThreads, registerWasmVariant } from "../../src/wasm";
import { parallelGemmFor, setGemmBlocking } from "../../src/wasm/parallel";
import { cnn } from "../../src/models";
import { buildArticleMlp, BATCH } from "../helpers/article-mlp";
import { loadLine, Rounds, table } from "../helpers/bench-util";
import { loadMnist } from "../helpers/mnist-idx";

type Model = "mlp" | "cnn";
const BATCHES = 50;

function build(kind: Model): tf.LayersModel {
  if (kind === "mlp") return buildArticleMlp();
  const model = cnn({ seed: 1 });
  model.compile({ optimizer: tf.train.adam(0.001), loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits) });
  return model;
}

async function main(): Promise<void> {
  const quick = process.env.TSDL_QUICK === "1";
  const rounds = Number(process.env.TSDL_BENCH_ROUNDS ?? (quick ? 2 : 8));
  const models = (process.env.TSDL_BENCH_MODELS ?? "mlp,cnn").split(",") as Model[];
  const threads = defaultWasmThreads();
  require("@tensorflow/tfjs-backend-wasm");
  registerWasmVariant("tsdl-wasm", { threads });
  const backends: [string, string][] = [[`${threads} threads`, "tsdl-wasm"]];
  if (threads > 1) {
    registerWasmVariant("tsdl-wasm-1", { threads: 1 });
    backends.push(["1 thread", "tsdl-wasm-1"]);
  }
  for (const kind of models) {
    console.log(`\n${kind === "mlp" ? "Article MLP" : "dl.models.cnn"} training step, batch 64; ${rounds} interleaved rounds; ${loadLine()} at start`);
    const steps = kind === "mlp" ? (quick ? 20 : 60) : quick ? 4 : 12;
    const results = new Rounds();
    const waits = new Rounds();
    const setups = [];
    for (const [label, name] of backends) {
      await tf.setBackend(name);
      const model = build(kind);
      const data = loadMnist("train", BATCHES * BATCH);
      const xs = tf.split(data.x, BATCHES);
      const ys = tf.split(data.y, BATCHES);
      tf.dispose([data.x, data.y]);
      let next = 0;
      const step = () => model.trainOnBatch(xs[next % BATCHES], ys[next++ % BATCHES]);
      for (let i = 0; i < 5; i++) await step();
      setups.push({ label, name, step, runner: parallelGemmFor(tf.backend() as never) });
    }
    const variants = [
      { label: "blocked", blocking: true, sleep: true },
      { label: "unblocked (before)", blocking: false, sleep: true },
      { label: "blocked, caller spins for helpers (before)", blocking: true, sleep: false },
    ];
    for (let r = 0; r < rounds; r++) {
      for (const s of setups) {
        await tf.setBackend(s.name);
        const order = r % 2 ? [...variants].reverse() : variants;
        for (const v of order) {
          if (!v.sleep && s.runner.threads === 1) continue;
          setGemmBlocking({ enabled: v.blocking });
          s.runner.sleepAfterSpin = v.sleep;
          await s.step();
          const waited = s.runner.waitMs;
          const t = performance.now();
          for (let i = 0; i < steps; i++) await s.step();
          results.add(`${s.label}|${v.label}`, (performance.now() - t) / steps);
          waits.add(`${s.label}|${v.label}`, (s.runner.waitMs - waited) / steps);
        }
      }
    }
    setGemmBlocking();
    for (const s of setups) s.runner.sleepAfterSpin = true;
    const rows = setups.flatMap((s) =>
      variants
        .filter((v) => v.sleep || s.runner.threads > 1)
        .map((v) => {
          const key = `${s.label}|${v.label}`;
          const ratio = results.median(key) / results.median(`${s.label}|blocked`);
          return [`${s.label}, ${v.label}`, results.best(key).toFixed(2), results.median(key).toFixed(2), waits.median(key).toFixed(2), ratio.toFixed(2)];
        }),
    );
    console.log(table(["tsdl wasm", "best ms/step", "median ms/step", "helper wait ms/step (median)", "× blocked (medians)"], rows));
    console.log(`${loadLine()} at end`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
