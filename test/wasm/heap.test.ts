/**
 * Out-of-memory on the wasm backend (issue 9): tfjs-backend-wasm does not check `_malloc`, so a
 * failed allocation registered the tensor at address 0 and wrote over the heap's start. With
 * `guardWasmHeap` (installed by initBackend) a tensor that cannot fit fails with a clear error
 * before anything is written, and the backend keeps computing. In process, on the real backend;
 * the allocation failure itself is injected (a real one needs the heap grown to 4 GiB).
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { guardWasmHeap, WasmOutOfMemoryError } from "../../src/wasm";

interface WasmInternals {
  wasm: { _malloc(n: number): number; HEAPU8: Uint8Array };
}

before(async () => {
  const info = await initBackend({ env: { ...process.env, TSDL_BACKEND: "wasm" }, force: true });
  assert.equal(info.tfBackend, "wasm");
});

test("a tensor larger than the wasm heap can ever hold fails with its shape and size; nothing leaks; the backend still computes", () => {
  assert.equal(guardWasmHeap(tf.backend()), true, "installed once, and idempotent");
  const a = tf.tensor2d([[1, 2], [3, 4]]);
  const before = tf.memory();
  assert.throws(
    () => tf.tidy(() => tf.tile(tf.ones([1000]), [1_200_000])),
    (err: unknown) =>
      err instanceof WasmOutOfMemoryError &&
      err.bytes === 4_800_000_000 &&
      /^out of memory on the wasm backend: a float32 tensor of shape \[1200000000\] needs 4\.80 GB, more than the WebAssembly heap can ever hold \(4\.29 GB\); nothing was allocated/.test(err.message),
  );
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.equal(tf.memory().numBytes, before.numBytes);
  assert.deepEqual(Array.from(tf.matMul(a, a).dataSync()), [7, 10, 15, 22]);
  a.dispose();
});

test("an allocation the heap cannot grow for (malloc returns 0) fails cleanly, and address 0 is never written", () => {
  const wasm = (tf.backend() as unknown as WasmInternals).wasm;
  const keep = tf.tensor1d([5, 6, 7]);
  const before = tf.memory();
  const start = wasm.HEAPU8.slice(0, 64);
  const realMalloc = wasm._malloc;
  // Inject the failure the way the real heap reports it: malloc returns 0 for a large request.
  const failing = (n: number) => (n >= 4_000_000 ? 0 : realMalloc(n));
  wasm._malloc = failing;
  try {
    assert.throws(
      () => tf.tensor1d(new Float32Array(1_000_000).fill(9)),
      (err: unknown) =>
        err instanceof WasmOutOfMemoryError &&
        /a float32 tensor of shape \[1000000\] needs 4\.0 MB, but the WebAssembly heap \(at most 4\.29 GB; [\d.]+ [MG]B now, for \d+ tensors\) cannot grow that far/.test(err.message),
    );
    assert.throws(() => tf.tidy(() => tf.tile(keep, [400_000])), WasmOutOfMemoryError, "an op's output too");
  } finally {
    wasm._malloc = realMalloc;
  }
  assert.equal(wasm._malloc, realMalloc, "the guard restores malloc after each allocation");
  assert.deepEqual(wasm.HEAPU8.slice(0, 64), start, "nothing was copied to address 0");
  assert.equal(tf.memory().numTensors, before.numTensors);
  assert.deepEqual(Array.from(keep.mul(2).dataSync()), [10, 12, 14]);
  // The same allocation succeeds once memory is there again.
  const big = tf.tensor1d(new Float32Array(1_000_000).fill(9));
  assert.equal(big.sum().dataSync()[0], 9_000_000);
  tf.dispose([big, keep]);
});
