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
