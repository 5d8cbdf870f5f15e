/**
 * Child process for test/wasm/threads.test.ts: picks the backend the way a script does, runs one
 * small and one large product, prints a JSON report and then simply ends: no `process.exit()`,
 * so the parent sees whether the threaded backend lets the process exit on its own.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { poolSwitch } from "../../src/wasm/threadpool";
import { BLOCKS, claim, parallelGemmFor, type EpilogueName } from "../../src/wasm/parallel";
import { gemmFor } from "../../src/wasm/gemm";
import { spawn } from "node:child_process";
import { cnn } from "../../src/models";
import { installFastDropout, installFusedDense, setDirectConvolutions, setFilterGradientOnHelpers, uninstallFastDropout, uninstallFusedDense } from "../../src/wasm";

async function main(): Promise<void> {
  const info = await initBackend();
  // Handlers left behind by Emscripten (they rethrow every error, which would end a kernel).
  const handlers = process.listeners("uncaughtException").length + process.listeners("unhandledRejection").length;
  const line = info.toString().split("\n").find((l) => l.startsWith("wasm"));
  // Emscripten's pthread workers: made at start, in use by XNNPACK's pool.
  const pthreads = (tf.backend() as unknown as { wasm: { PThread?: { unusedWorkers: unknown[]; runningWorkers: unknown[] } } }).wasm.PThread;
  const workers = pthreads ? { made: pthreads.unusedWorkers.length + pthreads.runningWorkers.length, running: pthreads.runningWorkers.length } : null;
  const pool = poolSwitch(tf.backend());
  let poolRuns = 0;
  if (pool) {
    const on = pool.on;
    pool.on = () => {
      poolRuns++;
      on();
    };
  }
  const product = (n: number) => {
    const a = tf.randomNormal([n, n], 0, 1, "float32", 1);
    const b = tf.randomNormal([n, n], 0, 1, "float32", 2);
    const got = tf.matMul(a, b, true, false).dataSync();
    const av = a.dataSync();
    const bv = b.dataSync();
    let maxDiff = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += av[k * n + i] * bv[k * n + j];
        maxDiff = Math.max(maxDiff, Math.abs(s - got[i * n + j]));
      }
    }
    return maxDiff;
  };
  const small = product(8);
  const poolRunsSmall = poolRuns;
  const large = product(520); // 2·520³ flops: above XNNPACK_MIN_FLOPS, so XNNPACK on the pool

  // tsdl's GEMM with helper threads: with the caller claiming no blocks, every block runs on a
  // helper, so a wrong block split or epilogue offset shows. Fused bias + relu, a transposed a.
  const runner = parallelGemmFor(tf.backend() as unknown as Parameters<typeof parallelGemmFor>[0]);
  runner.callerClaims = false;
  const [m, k, n] = [64, 200, 100];
  const a = tf.randomNormal([k, m], 0, 1, "float32", 3);
  const b = tf.randomNormal([k, n], 0, 1, "float32", 4);
  const bias = tf.randomNormal([n], 0, 1, "float32", 5);
  const got = tf.fused.matMul({ a, b, transposeA: true, bias, activation: "relu" }).dataSync();
  runner.callerClaims = true;
  const [av, bv, biasv] = [a.dataSync(), b.dataSync(), bias.dataSync()];
  let helped = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = biasv[j];
      for (let q = 0; q < k; q++) s += av[q * m + i] * bv[q * n + j];
      helped = Math.max(helped, Math.abs(Math.max(s, 0) - got[i * n + j]));
    }
  }
  // Convolutions and their gradients (conv.ts) as im2col products with every GEMM block on the
  // helper thread, and on the direct kernels (conv-direct.ts, the calling thread), against the
  // cpu backend: a 3×3×16 layer (im2col rows of 144) and a 3×3×1 one (rows of 9).
  const blocksBefore = runner.helperBlocks;
  const cases = [
    { x: [4, 28, 28, 16], f: [3, 3, 16, 32], seed: 6 },
    { x: [12, 28, 28, 1], f: [3, 3, 1, 16], seed: 9 },
  ].map((c) => ({
    ...c,
    xs: tf.randomNormal(c.x, 0, 1, "float32", c.seed).dataSync(),
    fs: tf.randomNormal(c.f, 0, 1, "float32", c.seed + 1).dataSync(),
  }));
  const convAll = () =>
    cases.flatMap((c) =>
      tf.tidy(() => {
        const x = tf.tensor4d(c.xs, c.x as [number, number, number, number]);
        const f = tf.tensor4d(c.fs, c.f as [number, number, number, number]);
        const y = tf.conv2d(x, f, 1, "same");
        const w = tf.randomNormal(y.shape, 0, 1, "float32", c.seed + 2);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same").mul(w).sum())([x, f]);
        return [y, dx, df].map((t) => t.dataSync());
      }),
    );
  // The products with the direct kernels off (at these sizes they would take the convolutions'
  // forward pass and gradients off the GEMM), then with them on.
  setDirectConvolutions(false);
  runner.callerClaims = false;
  const onWasm = convAll();
  runner.callerClaims = true;
  setDirectConvolutions(true);
  const convHelperBlocks = runner.helperBlocks - blocksBefore;
  const onWasmDirect = convAll();
  const direct = await directOnHelper(runner);
  const adam = await adamOnHelper(runner);
  const staleClaim = claimAfterProduct(runner);
  // The article MLP's first layer in training (dropout, fused dense ReLU and their gradients,
  // dropout.ts and dense.ts) with every GEMM block on the helper, against tfjs's own dropout and
  // unfused dense layer: the same bits expected.
  const mlpLayer = () =>
    tf.tidy(() => {
      const x = tf.randomNormal([64, 784], 0, 1, "float32", 11);
      const w = tf.variable(tf.randomNormal([784, 256], 0, 0.05, "float32", 12));
      const bias = tf.variable(tf.randomNormal([256], 0, 0.1, "float32", 13));
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.dropout(tf.fused.matMul({ a: x, b: w, bias, activation: "relu" }), 0.5, undefined, 14)), [w, bias]);
      const out = [value, grads[w.name], grads[bias.name]].map((t) => Array.from(new Uint32Array(t.dataSync().buffer)));
      w.dispose();
      bias.dispose();
      return out;
    });
  await tf.setBackend("wasm");
  const denseBefore = runner.helperBlocks;
  runner.callerClaims = false;
  const fusedLayer = mlpLayer();
  uninstallFastDropout();
  uninstallFusedDense();
  const ownLayer = mlpLayer();
  installFastDropout();
  installFusedDense();
  runner.callerClaims = true;
  const denseHelperBlocks = runner.helperBlocks - denseBefore;
  const denseDiffering = fusedLayer.reduce((p, o, i) => p + o.filter((v, j) => v !== ownLayer[i][j]).length, 0);
  const loaded = await underLoad(runner);
  await tf.setBackend("cpu");
  const onCpu = convAll();
  let convDiff = 0;
  onCpu.forEach((want, i) => {
    let scale = 0;
    for (const v of want) scale = Math.max(scale, Math.abs(v));
    for (let j = 0; j < want.length; j++) {
      convDiff = Math.max(convDiff, Math.abs(want[j] - onWasm[i][j]) / scale, Math.abs(want[j] - onWasmDirect[i][j]) / scale);
    }
  });
  console.log(JSON.stringify({
    line, threads: pool?.threads ?? null, workers, poolRunsSmall, poolRunsLarge: poolRuns - poolRunsSmall, small, large,
    gemmThreads: runner.threads, helperBlocks: runner.helperBlocks, helped, convHelperBlocks, convDiff, denseHelperBlocks, denseDiffering, handlers,
    ...loaded, ...direct, ...adam, staleClaim,
  }));
}

/** Bit patterns of float32 values. */
const bitsOf = (t: tf.Tensor) => Array.from(new Uint32Array(t.dataSync().buffer));

/** Values at which two lists of bit patterns differ (and lists of different lengths count fully). */
function differing(a: number[][], b: number[][]): number {
  let count = 0;
  a.forEach((x, i) => {
    if (x.length !== b[i]?.length) count += x.length;
    else for (let j = 0; j < x.length; j++) if (x[j] !== b[i][j]) count++;
  });
  return count;
}

/**
 * The direct convolutions (conv-direct.ts) split with the helper thread (parallel.ts): forward,
 * input and filter gradients of odd shapes (batch 1 and 3, 1, 5 and 13 input channels, 5, 6, 13 and 20
 * output channels, stride 2, `same` padding, a 5×2 filter; the filter gradient in blocks of a filter row) and 2×2 max-pooling with its gradient (odd sizes) on the calling thread alone, then with every block
 * on the helper (the caller claims none), then shared: the same bits expected each time. Then
 * five seeded training steps of dl.models.cnn with and without the helper: the same weights.
 */
async function directOnHelper(runner: ReturnType<typeof parallelGemmFor>) {
  setFilterGradientOnHelpers(true); // the default (parallel.ts), set in case it was switched off
  const cases: { x: [number, number, number, number]; f: [number, number, number, number]; stride: number; pad: "same" | "valid" }[] = [
    { x: [1, 100, 100, 1], f: [3, 3, 1, 13], stride: 1, pad: "same" },
    { x: [3, 40, 40, 5], f: [3, 3, 5, 16], stride: 1, pad: "valid" },
    { x: [3, 81, 81, 5], f: [3, 3, 5, 6], stride: 2, pad: "same" },
    { x: [3, 30, 30, 5], f: [3, 3, 5, 5], stride: 1, pad: "same" },
    { x: [2, 30, 30, 16], f: [3, 3, 16, 32], stride: 1, pad: "same" },
    // 5 filter rows of 2 × 13 = 26 taps, 20 output channels (blocks of 16 and 4): 10 filter-gradient blocks.
    { x: [2, 40, 41, 13], f: [5, 2, 13, 20], stride: 1, pad: "same" },
  ];
  const pools: [number, number, number, number][] = [[3, 64, 64, 44], [5, 97, 95, 12]];
  const convs = () =>
    cases.flatMap((c, i) =>
      tf.tidy(() => {
        const x = tf.randomNormal(c.x, 0, 1, "float32", 40 + i);
        const f = tf.randomNormal(c.f, 0, 1, "float32", 50 + i);
        const conv = (a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad);
        const y = conv(x, f);
        const w = tf.randomNormal(y.shape, 0, 1, "float32", 60 + i);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a, b).mul(w).sum())([x, f]);
        return [y, dx, df].map(bitsOf);
      }),
    ).concat(pools.flatMap((shape, i) =>
      tf.tidy(() => {
        // 2×2 max-pooling at stride 2 and its gradient through the argmax (pool.ts), odd sizes too.
        const x = tf.randomNormal(shape, 0, 1, "float32", 80 + i);
        const y = tf.maxPool(x as tf.Tensor4D, 2, 2, "valid");
        const w = tf.randomNormal(y.shape, 0, 1, "float32", 90 + i);
        const dx = tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, 2, 2, "valid").mul(w).sum())(x);
        return [y, dx].map(bitsOf);
      }),
    ));
  const { alone, differ: directDiffering, helperBlocks: directHelperBlocks } = await threeWays(runner, convs);

  // Five steps of a seeded CNN (no dropout: its masks would differ between the two fits).
  const xs = tf.randomUniform([80, 784], 0, 1, "float32", 70);
  const ys = tf.oneHot(tf.randomUniform([80], 0, 10, "int32", 71), 10).toFloat();
  const fit = async () => {
    const model = cnn({ seed: 3, dropout: 0 });
    model.compile({ optimizer: tf.train.adam(0.001), loss: (y: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(y, logits) });
    await model.fit(xs, ys, { batchSize: 16, epochs: 1, shuffle: false, verbose: 0 });
    const weights = model.getWeights().map(bitsOf);
    model.dispose();
    return weights;
  };
  runner.useHelpers = false;
  const fitAlone = await fit();
  runner.useHelpers = true;
  const fitBlocks0 = runner.helperBlocks;
  const fitHelped = await fit();
  const fitHelperBlocks = runner.helperBlocks - fitBlocks0;
  tf.dispose([xs, ys]);
  return { directHelperBlocks, directDiffering, directValues: alone.reduce((p, v) => p + v.length, 0), fitDiffering: differing(fitAlone, fitHelped), fitHelperBlocks, fitWeights: fitAlone.length };
}

/**
 * Adam's fused update (adam.ts) split with the helper thread (parallel.ts): three steps on an odd
 * number of weights, on the calling thread alone, with every block on the helper, and shared.
 * The weights and both moments must keep their bits.
 */
async function adamOnHelper(runner: ReturnType<typeof parallelGemmFor>) {
  const n = 100_003;
  const run = async () => {
    const w = tf.variable(tf.randomNormal([n], 0, 1, "float32", 30));
    const opt = tf.train.adam(0.01);
    for (let step = 0; step < 3; step++) {
      const g = tf.randomNormal([n], 0, 1, "float32", 31 + step);
      opt.applyGradients([{ name: w.name, tensor: g }]);
      g.dispose();
    }
    const state = (await opt.getWeights()).slice(1).map((s) => bitsOf(s.tensor)); // m and v (the first is the step count)
    const out = [bitsOf(w), ...state];
    opt.dispose();
    w.dispose();
    return out;
  };
  const { alone, differ, helperBlocks } = await threeWays(runner, run);
  return { adamArrays: alone.length, adamDiffering: differ, adamHelperBlocks: helperBlocks };
}

/**
 * What a helper still claiming for the product just finished gets once the caller has written
 * the next product's larger block count (before posting it): -1 expected. A block claimed then
 * ran with the next product's arguments, and again in that product (Adam's update twice).
 */
function claimAfterProduct(runner: ReturnType<typeof parallelGemmFor>): number {
  const { ctrl, gen } = runner as unknown as { ctrl: Int32Array; gen: number };
  const blocks = ctrl[BLOCKS];
  ctrl[BLOCKS] = blocks + 8;
  try {
    return claim(ctrl, gen);
  } finally {
    ctrl[BLOCKS] = blocks;
  }
}

/**
 * `run` (bit patterns out) on the calling thread alone, then with every block on the helper (the
 * caller claims none), then shared: what it gave alone, the values that differed in the other two,
 * and the blocks the helper ran when it had them all.
 */
async function threeWays(runner: ReturnType<typeof parallelGemmFor>, run: () => number[][] | Promise<number[][]>) {
  runner.useHelpers = false;
  const alone = await run();
  runner.useHelpers = true;
  const blocks0 = runner.helperBlocks;
  runner.callerClaims = false;
  const onHelper = await run();
  runner.callerClaims = true;
  const helperBlocks = runner.helperBlocks - blocks0;
  const shared = await run();
  return { alone, differ: differing(alone, onHelper) + differing(alone, shared), helperBlocks };
}

/**
 * Products of a training step's shapes on tsdl's GEMM with the helper, while three busy-looping
 * processes (started and stopped here) take the cores from it: every result must have the bits
 * of the single-threaded unblocked kernel, and nothing may hang.
 */
async function underLoad(runner: ReturnType<typeof parallelGemmFor>) {
  const busy = [0, 1, 2].map(() => spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
  const backend = tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } };
  const at = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;
  const kernels = gemmFor(backend as never);
  const shapes: [EpilogueName, number, number, number, boolean][] = [
    ["bias_relu", 64, 784, 256, false],
    ["none", 7744, 144, 32, false],
    ["none", 64, 128, 800, true],
    ["tn_none", 144, 2000, 32, false],
  ];
  const products0 = runner.products;
  const blocks0 = runner.helperBlocks;
  let loadedDiffering = 0;
  try {
    await new Promise((r) => setTimeout(r, 200)); // let the busy loops start
    for (let round = 0; round < 8; round++) {
      for (const [ep, m, k, n, transB] of shapes) {
        const tn = ep === "tn_none";
        const a = tf.randomNormal([m * k], 0, 1, "float32", round);
        const b = tf.randomNormal([k * n], 0, 1, "float32", round + 100);
        const bias = tf.randomNormal([n], 0, 1, "float32", round + 200);
        const c = tf.zeros([m * n]);
        const want = tf.zeros([m * n]);
        const bt = tf.zeros([k * n]);
        const lda = tn ? m : k;
        runner.gemm(ep, at(a), at(b), at(c), m, k, n, lda, transB ? k : n, n, ep.startsWith("bias") ? at(bias) : 0, transB);
        // The reference: one unblocked call on this thread (b transposed into a copy first).
        if (transB) kernels.transpose(at(b), at(bt), n, k);
        kernels.gemm[ep](at(a), at(transB ? bt : b), at(want), m, k, n, lda, n, n, ep.startsWith("bias") ? at(bias) : 0);
        const got = new Uint32Array(c.dataSync().buffer);
        const expected = new Uint32Array(want.dataSync().buffer);
        for (let i = 0; i < got.length; i++) if (got[i] !== expected[i]) loadedDiffering++;
        tf.dispose([a, b, bias, c, want, bt]);
      }
    }
  } finally {
    for (const p of busy) p.kill();
  }
  return { loadedDiffering, loadedProducts: runner.products - products0, loadedHelperBlocks: runner.helperBlocks - blocks0 };
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
