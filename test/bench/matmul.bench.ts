/**
 * Matrix-product throughput (GFLOP/s = 2·M·K·N / time) on tfjs `wasm` as shipped, on tsdl's wasm
 * (fast kernels; one thread per core, and one thread) and on PyTorch when it imports: the
 * products of the article MLP's first layer as a training step runs them (forward x·W with new
 * weights each call, backward dy·Wᵀ and xᵀ·dy), the forward with unchanged weights (inference),
 * and large square products, plain and transposed. Interleaved rounds; best round shown.
 *
 * Run: `npm run bench -- matmul` (TSDL_QUICK=1 for fewer rounds).
 */
import * as tf from "@tensorflow/tfjs";
import { defaultWasmThreads, registerWasmVariant } from "../../src/wasm";
import { loadLine, Rounds, table } from "../helpers/bench-util";
import { TorchWorker } from "../helpers/torch-worker";
import { parallelGemmFor, setGemmBlocking, type EpilogueName } from "../../src/wasm/parallel";

interface Shape {
  label: string;
  m: number;
  k: number;
  n: number;
  ta: boolean;
  tb: boolean;
  /** A new b for every product (packing included), as in training. */
  freshB?: boolean;
}

const SHAPES: Shape[] = [
  { label: "x·W 64×784·784×256, new W each call (training forward)", m: 64, k: 784, n: 256, ta: false, tb: false, freshB: true },
  { label: "x·W 64×784·784×256, same W (inference)", m: 64, k: 784, n: 256, ta: false, tb: false },
  { label: "dy·Wᵀ 64×256·(784×256)ᵀ (backward, dx)", m: 64, k: 256, n: 784, ta: false, tb: true },
  { label: "xᵀ·dy (64×784)ᵀ·64×256 (backward, dW)", m: 784, k: 64, n: 256, ta: true, tb: false },
  { label: "1024×1024·1024×1024", m: 1024, k: 1024, n: 1024, ta: false, tb: false },
  { label: "(512×512)ᵀ·512×512", m: 512, k: 512, n: 512, ta: true, tb: false },
  { label: "512×512·(512×512)ᵀ", m: 512, k: 512, n: 512, ta: false, tb: true },
];

/**
 * Milliseconds for `reps` products of `s` on the current tfjs backend. With `freshB`, each
 * product gets a new b (b0 + i, made in the loop); the time of making and freeing those alone
 * is measured the same way and subtracted.
 */
function timeTfjs(s: Shape, reps: number): number {
  const a = tf.randomNormal(s.ta ? [s.k, s.m] : [s.m, s.k]);
  const b0 = tf.randomNormal(s.tb ? [s.n, s.k] : [s.k, s.n]);
  const loop = (withProduct: boolean) => {
    const t = performance.now();
    for (let i = 0; i < reps; i++) {
      const b = s.freshB ? tf.add(b0, i) : b0;
      if (withProduct) tf.matMul(a, b, s.ta, s.tb).dispose();
      if (b !== b0) b.dispose();
    }
    return performance.now() - t;
  };
  loop(true); // warm up (first use binds kernels, grows memory)
  const ms = loop(true) - (s.freshB ? loop(false) : 0);
  a.dispose();
  b0.dispose();
  return ms;
}

/**
 * One call of tsdl's GEMM as a training step makes it (src/wasm/parallel.ts's `gemm`): which
 * layer, which kernel calls it, and the call's arguments. A transposed operand that the calling
 * kernel copies first (matmul.ts's transposed copies, conv.ts's Wᵀ and colsᵀ) is given here as
 * the copy; `tn` products read a transposed in place.
 */
interface StepProduct {
  label: string;
  ep: EpilogueName;
  m: number;
  k: number;
  n: number;
}

/** Every product of one `dl.models.mlp` step (784-256-128-10) and one `dl.models.cnn` step, batch 64. */
export const STEP_PRODUCTS: StepProduct[] = [
  { label: "mlp h1 x·W (TsdlDense)", ep: "bias_relu", m: 64, k: 784, n: 256 },
  { label: "mlp h1 dW xᵀ·dy (BatchMatMul, xᵀ copied)", ep: "none", m: 784, k: 64, n: 256 },
  { label: "mlp h2 x·W (TsdlDense)", ep: "bias_relu", m: 64, k: 256, n: 128 },
  { label: "mlp h2 dx dy·Wᵀ (BatchMatMul, Wᵀ copied)", ep: "none", m: 64, k: 128, n: 256 },
  { label: "mlp h2 dW xᵀ·dy (BatchMatMul)", ep: "none", m: 256, k: 64, n: 128 },
  { label: "mlp/cnn out x·W (TsdlDense)", ep: "bias", m: 64, k: 128, n: 10 },
  { label: "mlp/cnn out dx dy·Wᵀ (BatchMatMul)", ep: "none", m: 64, k: 10, n: 128 },
  { label: "mlp/cnn out dW xᵀ·dy (BatchMatMul)", ep: "none", m: 128, k: 64, n: 10 },
  { label: "cnn conv1 cols·W (Conv2D, im2col)", ep: "none", m: 43264, k: 9, n: 16 },
  { label: "cnn conv1 dW colsᵀ·dy (BackpropFilter, tn)", ep: "tn_none", m: 9, k: 43264, n: 16 },
  { label: "cnn conv2 cols·W (Conv2D, im2col)", ep: "none", m: 7744, k: 144, n: 32 },
  { label: "cnn conv2 dcols dy·Wᵀ (BackpropInput)", ep: "none", m: 7744, k: 32, n: 144 },
  { label: "cnn conv2 dW colsᵀ·dy (BackpropFilter, colsᵀ copied)", ep: "none", m: 144, k: 7744, n: 32 },
  { label: "cnn dense x·W (TsdlDense)", ep: "bias_relu", m: 64, k: 800, n: 128 },
  { label: "cnn dense dx dy·Wᵀ (BatchMatMul)", ep: "none", m: 64, k: 128, n: 800 },
  { label: "cnn dense dW xᵀ·dy (BatchMatMul)", ep: "none", m: 800, k: 64, n: 128 },
];

/**
 * Milliseconds per call of `p` on the current (tsdl wasm) backend's GEMM runner. With one thread,
 * the process's CPU time per call over `reps` calls: on a shared machine that leaves out the time
 * the thread waited for a core. With helpers (whose CPU time would add up), the fastest of `reps`
 * calls timed one by one, a call that had its cores.
 */
function timeStepProduct(p: StepProduct, reps: number, oneThread: boolean): number {
  const backend = tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } };
  const at = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;
  const a = tf.randomNormal([p.m * p.k]);
  const b = tf.randomNormal([p.k * p.n]);
  const bias = tf.randomNormal([p.n]);
  const c = tf.zeros([p.m * p.n]);
  const runner = parallelGemmFor(backend as never);
  const lda = p.ep === "tn_none" ? p.m : p.k;
  const call = () => runner.gemm(p.ep, at(a), at(b), at(c), p.m, p.k, p.n, lda, p.n, p.n, p.ep.startsWith("bias") ? at(bias) : 0);
  call();
  let ms = Infinity;
  if (oneThread) {
    const t = process.cpuUsage();
    for (let i = 0; i < reps; i++) call();
    const used = process.cpuUsage(t);
    ms = (used.user + used.system) / 1000 / reps;
  } else {
    for (let i = 0; i < reps; i++) {
      const t = performance.now();
      call();
      ms = Math.min(ms, performance.now() - t);
    }
  }
  tf.dispose([a, b, bias, c]);
  return ms;
}

/** GFLOP/s of every product of one MLP and one CNN training step, on `backends` ([label, name]). */
async function stepProducts(backends: [string, string][], rounds: number, quick: boolean): Promise<void> {
  const results = new Rounds();
  // TSDL_BENCH_UNBLOCKED=1: each product also as it ran before blocking (the in-place kernel).
  const variants = process.env.TSDL_BENCH_UNBLOCKED === "1" ? [true, false] : [true];
  for (let r = 0; r < rounds; r++) {
    for (const p of STEP_PRODUCTS) {
      const flop = 2 * p.m * p.k * p.n;
      for (const [label, backend] of backends) {
        await tf.setBackend(backend);
        const reps = Math.max(3, Math.round(5e8 / flop / (quick ? 4 : 1)));
        for (const blocked of variants) {
          setGemmBlocking({ enabled: blocked });
          results.add(`${p.label}|${label}${blocked ? "" : " unblocked"}`, timeStepProduct(p, reps, backend.endsWith("-1")));
        }
        setGemmBlocking();
      }
    }
  }
  const columns = backends.flatMap(([label]) => variants.map((blocked) => `${label}${blocked ? "" : " unblocked"}`));
  const rows = STEP_PRODUCTS.map((p) => {
    const flop = 2 * p.m * p.k * p.n;
    const cells = columns.flatMap((c) => {
      const ms = results.best(`${p.label}|${c}`);
      return [ms.toFixed(3), (flop / (ms * 1e6)).toFixed(1)];
    });
    return [`${p.label} ${p.m}×${p.k}·${p.k}×${p.n}`, (flop / 1e6).toFixed(1), ...cells];
  });
  const total = (c: string) => STEP_PRODUCTS.reduce((s, p) => s + results.best(`${p.label}|${c}`), 0);
  console.log(`\nThe GEMM calls of one training step (tsdl's runner called directly; 1 thread: CPU time per call; 2 threads: the fastest call; ms and GFLOP/s, best of ${rounds} rounds)`);
  console.log(table(["product (m×k·k×n)", "MFLOP", ...columns.flatMap((c) => [`${c} ms`, "GFLOP/s"])], rows));
  console.log(columns.map((c) => `${c}: ${total(c).toFixed(2)} ms for all of them`).join("; "));
}

async function main(): Promise<void> {
  const quick = process.env.TSDL_QUICK === "1";
  const rounds = Number(process.env.TSDL_BENCH_ROUNDS ?? (quick ? 1 : 3));
  const threads = defaultWasmThreads();
  console.log(`Matrix products, GFLOP/s (best of ${rounds} interleaved rounds); ${loadLine()} at start`);
  require("@tensorflow/tfjs-backend-wasm");
  registerWasmVariant("tsdl-wasm", { threads });
  if (threads > 1) registerWasmVariant("tsdl-wasm-1", { threads: 1 });
  const backends: [string, string][] = [
    ["wasm as shipped", "wasm"],
    [`tsdl wasm (${threads} threads)`, "tsdl-wasm"],
  ];
  if (threads > 1) backends.push(["tsdl wasm (1 thread)", "tsdl-wasm-1"]);
  for (const [, b] of backends) await tf.setBackend(b);
  // TSDL_BENCH_STEP_ONLY=1: only the table of one training step's products.
  // TSDL_BENCH_ONE_THREAD=1: that table on one thread only.
  await stepProducts(backends.slice(process.env.TSDL_BENCH_ONE_THREAD === "1" ? -1 : 1), rounds, quick);
  if (process.env.TSDL_BENCH_STEP_ONLY === "1") return;

  const torchVersion = TorchWorker.available();
  const workers: TorchWorker[] = [];
  if (torchVersion) {
    workers.push(await TorchWorker.start(`PyTorch (1 thread)`, 1));
    workers.push(await TorchWorker.start(`PyTorch (2 threads, PASSIVE)`, 2, { OMP_WAIT_POLICY: "PASSIVE" }));
  }
  const columns = [...backends.map(([label]) => label), ...workers.map((w) => w.label)];

  const results = new Rounds();
  for (let r = 0; r < rounds; r++) {
    for (const s of SHAPES) {
      const flop = 2 * s.m * s.k * s.n;
      // About 0.1 s per measurement at 20 GFLOP/s; the shipped slow path gets fewer repetitions.
      const reps = (slow: boolean) => Math.max(1, Math.round((slow && (s.ta || s.tb) ? 1e8 : 2e9) / flop / (quick ? 4 : 1)));
      for (const [label, backend] of backends) {
        await tf.setBackend(backend);
        const n = reps(backend === "wasm");
        results.add(`${s.label}|${label}`, flop / ((timeTfjs(s, n) / n) * 1e6));
      }
      for (const w of workers) {
        const n = reps(false);
        const ms = await w.ms(`mm ${s.m} ${s.k} ${s.n} ${+s.ta} ${+s.tb} ${n}`);
        results.add(`${s.label}|${w.label}`, flop / ((ms / n) * 1e6));
      }
    }
  }
  for (const w of workers) w.close();
  // Higher is better here, so the best round is the largest figure.
  const best = (key: string) => Math.max(...(results.samples.get(key) ?? [NaN]));
  console.log(table(["GFLOP/s", ...columns], SHAPES.map((s) => [s.label, ...columns.map((c) => best(`${s.label}|${c}`).toFixed(1))])));
  if (!torchVersion) console.log("PyTorch: /usr/bin/python3 cannot import torch (apt install python3-torch to compare)");
  console.log(`${loadLine()} at end`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
