/**
 * The threaded wasm backend in Node: the thread count asked for, correct products, the pool
 * used for large products only, the wasm line of backendInfo(), and a process that still exits
 * by itself (each case runs in a child process that never calls process.exit()).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { findGlobalPointer } from "../../src/wasm/threadpool";

const child = path.join(__dirname, "..", "helpers", "wasm-threads-child.js");

interface Report {
  line: string;
  threads: number | null;
  poolRunsSmall: number;
  poolRunsLarge: number;
  small: number;
  large: number;
  gemmThreads: number;
  helperBlocks: number;
  helped: number;
  convHelperBlocks: number;
  convDiff: number;
  denseHelperBlocks: number;
  denseDiffering: number;
  handlers: number;
  workers: { made: number; running: number } | null;
  adamArrays: number;
  adamDiffering: number;
  adamHelperBlocks: number;
  staleClaim: number;
  loadedDiffering: number;
  loadedProducts: number;
  loadedHelperBlocks: number;
  directHelperBlocks: number;
  directDiffering: number;
  directValues: number;
  fitDiffering: number;
  fitHelperBlocks: number;
  fitWeights: number;
}

const reports = new Map<string, Report>();

/** The child's report with TSDL_WASM_THREADS=threads (each setting runs once). */
function runChild(threads: string): Report {
  if (!reports.has(threads)) reports.set(threads, spawnChild(threads));
  return reports.get(threads)!;
}

function spawnChild(threads: string): Report {
  const r = spawnSync(process.execPath, [child], {
    env: { ...process.env, TSDL_BACKEND: "wasm", TSDL_WASM_THREADS: threads },
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(r.signal, null, `the child did not exit by itself within 60 s (killed by ${r.signal}); stderr: ${r.stderr}`);
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  const last = r.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as Report;
}

test("two threads: threaded build, pool for large products only, exits on its own", () => {
  const report = runChild("2");
  assert.match(report.line, /^wasm\s+active: WebAssembly \(XNNPACK\): SIMD, threads: 2, tsdl fast matmul$/);
  assert.equal(report.threads, 2, "the pool switch was found and the pool has 2 threads");
  assert.equal(report.poolRunsSmall, 0, "an 8x8 product ran on the pool");
  assert.ok(report.poolRunsLarge >= 1, "a 520x520x520 product did not run on the pool");
  assert.ok(report.small < 1e-4 && report.large < 1e-3, `products differ from a JS reference: ${JSON.stringify(report)}`);
});

test("two threads: tsdl's GEMM splits products with a helper thread, and the helper's blocks are right", () => {
  const report = runChild("2");
  assert.equal(report.gemmThreads, 2);
  assert.ok(report.helperBlocks >= 2, `the helper ran ${report.helperBlocks} blocks`);
  assert.ok(report.helped < 1e-3, `a product computed by the helper differs from a JS reference by ${report.helped}`);
});

test("two threads: convolutions and their gradients run on tsdl's GEMM with the helper thread and match cpu", () => {
  const report = runChild("2");
  assert.ok(report.convHelperBlocks >= 6, `the helper ran ${report.convHelperBlocks} blocks of the convolutions' products`);
  assert.ok(report.convDiff < 1e-4, `a convolution or gradient differs from cpu by ${report.convDiff} of its largest value`);
});

test("two threads: a dense ReLU layer with dropout in training, fused, gives tfjs's own bits with the helper thread", () => {
  const report = runChild("2");
  assert.ok(report.denseHelperBlocks >= 4, `the helper ran ${report.denseHelperBlocks} blocks of the layer's products`);
  assert.equal(report.denseDiffering, 0, "values of the loss and gradients that differ from tfjs's unfused ops");
});

test("two threads on a machine made busy: blocked products with the helper keep the single-threaded bits, and nothing hangs", () => {
  const report = runChild("2");
  assert.ok(report.loadedProducts >= 1, `no product ran in parallel under load (${report.loadedProducts})`);
  assert.ok(report.loadedHelperBlocks >= 1, `the helper ran ${report.loadedHelperBlocks} blocks under load`);
  assert.equal(report.loadedDiffering, 0, "values of the products under load that differ from one unblocked single-threaded call");
});

test("two threads: the direct convolutions and 2×2 max-pooling split with the helper keep the single-threaded bits, forward and gradients, and a seeded CNN fit its weights", () => {
  const report = runChild("2");
  // 6 cases × (forward + dw + dx at stride 1) and 2 × (pool + its gradient), in ≥ 2 blocks each
  // but for batch 1, all on the helper: 84 blocks (the products of the stride-2 input gradient
  // included), the filter gradients in blocks of a filter row (3, 3, 3, 3, 6 and 10 of them);
  // about 67 with the former split of the filter gradient by output channels alone.
  assert.ok(report.directHelperBlocks >= 78, `the helper ran ${report.directHelperBlocks} blocks of the direct convolutions`);
  assert.ok(report.directValues > 100_000, `only ${report.directValues} values compared`);
  assert.equal(report.directDiffering, 0, "values of the direct convolutions that differ from the calling thread alone");
  assert.equal(report.fitWeights, 8, "the CNN's weight tensors");
  assert.ok(report.fitHelperBlocks >= 10, `the helper ran ${report.fitHelperBlocks} blocks of the CNN's fit`);
  assert.equal(report.fitDiffering, 0, "weights after 5 CNN steps that differ with the helper thread");
});

test("two threads: Adam's update split with the helper keeps the single-threaded bits of the weights and both moments", () => {
  const report = runChild("2");
  assert.equal(report.adamArrays, 3, "the weights, m and v");
  assert.ok(report.adamHelperBlocks >= 3 * 8, `the helper ran ${report.adamHelperBlocks} blocks of 3 updates (8 blocks each)`);
  assert.equal(report.adamDiffering, 0, "values of the weights or moments that differ from the calling thread alone");
  assert.equal(report.staleClaim, -1, "a helper still claiming for the finished update, once the next product's block count is written, got a block");
});

test("two threads: Emscripten makes one pthread worker, not the build's 8, and XNNPACK's pool runs on it", () => {
  assert.deepEqual(runChild("2").workers, { made: 1, running: 1 });
});

test("three threads: two pthread workers, both in XNNPACK's pool, and its products are right", () => {
  // The pool's creation waits for its threads, so a pool short of workers would hang here.
  const script = `
    const tf = require("@tensorflow/tfjs");
    require(${JSON.stringify(path.join(__dirname, "..", "..", "src", "backend.js"))}).initBackend().then(() => {
      const p = tf.backend().wasm.PThread;
      const a = tf.randomNormal([520, 520], 0, 1, "float32", 1);
      const [got, want] = [tf.matMul(a, a).dataSync(), (() => { const v = a.dataSync(); const w = new Float64Array(520); for (let j = 0; j < 520; j++) for (let k = 0; k < 520; k++) w[j] += v[k] * v[k * 520 + j]; return w; })()];
      let diff = 0;
      for (let j = 0; j < 520; j++) diff = Math.max(diff, Math.abs(got[j] - want[j]));
      console.log(JSON.stringify({ made: p.unusedWorkers.length + p.runningWorkers.length, running: p.runningWorkers.length, diff }));
    });`;
  const r = spawnSync(process.execPath, ["-e", script], { env: { ...process.env, TSDL_BACKEND: "wasm", TSDL_WASM_THREADS: "3" }, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.signal, null, `the 3-thread child did not finish within 60 s (killed by ${r.signal}); stderr: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split("\n").pop()!) as { made: number; running: number; diff: number };
  assert.deepEqual({ made: got.made, running: got.running }, { made: 2, running: 2 });
  assert.ok(got.diff < 1e-3, `the first row of a 520×520 product on 3 threads differs from a JS reference by ${got.diff}`);
});

test("two threads: a product posted before the helper thread has started is finished by it (the caller claiming no blocks)", () => {
  const dist = path.join(__dirname, "..", "..", "src");
  const script = `
    const tf = require("@tensorflow/tfjs");
    const { gemmFor, gemmModuleFor } = require(${JSON.stringify(path.join(dist, "wasm", "gemm.js"))});
    const { ParallelGemm } = require(${JSON.stringify(path.join(dist, "wasm", "parallel.js"))});
    require(${JSON.stringify(path.join(dist, "backend.js"))}).initBackend().then(() => {
      const b = tf.backend();
      const { module, memory } = gemmModuleFor(b);
      const runner = new ParallelGemm(gemmFor(b), memory, module, 1, { malloc: (n) => b.wasm._malloc(n) >>> 0, free: (p) => b.wasm._free(p) });
      runner.callerClaims = false; // every block waits for the helper, which is still booting
      const at = (t) => b.dataIdMap.get(t.dataId).memoryOffset;
      const [m, k, n] = [64, 256, 128];
      const a = tf.randomNormal([m, k], 0, 1, "float32", 1), w = tf.randomNormal([k, n], 0, 1, "float32", 2), c = tf.zeros([m, n]);
      runner.gemm("none", at(a), at(w), at(c), m, k, n, k, n, n, 0);
      const want = tf.matMul(a, w).dataSync(), got = c.dataSync();
      let diff = 0;
      for (let i = 0; i < got.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
      console.log(JSON.stringify({ helperBlocks: runner.helperBlocks, diff }));
    });`;
  const r = spawnSync(process.execPath, ["-e", script], { env: { ...process.env, TSDL_BACKEND: "wasm", TSDL_WASM_THREADS: "2" }, encoding: "utf8", timeout: 30_000 });
  assert.equal(r.signal, null, `the product never finished: a helper that started after it was posted waited for the next one (killed by ${r.signal}); stderr: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split("\n").pop()!) as { helperBlocks: number; diff: number };
  assert.ok(got.helperBlocks >= 2, `the helper ran ${got.helperBlocks} blocks`);
  assert.ok(got.diff < 1e-3, `the product differs from tfjs's by ${got.diff}`);
});

test("one thread: the single-threaded SIMD build", () => {
  const report = runChild("1");
  assert.match(report.line, /^wasm\s+active: WebAssembly \(XNNPACK\): SIMD, threads: 1, tsdl fast matmul$/);
  assert.equal(report.threads, null);
  assert.equal(report.gemmThreads, 1);
  assert.ok(report.small < 1e-4 && report.large < 1e-3, `products differ from a JS reference: ${JSON.stringify(report)}`);
});

test("the thread pool global is found in the threaded binary and nowhere else", () => {
  const dir = path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "wasm-out");
  const address = findGlobalPointer(fs.readFileSync(path.join(dir, "tfjs-backend-wasm-threaded-simd.wasm")), "get_threads_count");
  assert.ok(address !== null && address > 0 && address % 4 === 0, `address ${address}`);
  // A module with no such export, and a function that does not start with a global load.
  const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
  assert.equal(findGlobalPointer(empty, "get_threads_count"), null);
  assert.equal(findGlobalPointer(fs.readFileSync(path.join(dir, "tfjs-backend-wasm-threaded-simd.wasm")), "init"), null);
});

test("starting either build leaves no process-wide error handlers behind", () => {
  assert.equal(runChild("2").handlers, 0, "the threaded build left uncaughtException/unhandledRejection handlers");
  assert.equal(runChild("1").handlers, 0, "the single-threaded build left uncaughtException/unhandledRejection handlers");
});
