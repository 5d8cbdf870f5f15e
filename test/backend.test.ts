import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend, backendInfo, type BackendLoader, type BackendName } from "../src/backend";

/** A loader where only the listed backends exist. */
function only(...available: BackendName[]): BackendLoader {
  return {
    async load(name) {
      if (!available.includes(name)) {
        const pkg = name === "node-gpu" ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
        throw Object.assign(new Error(`Cannot find module '${pkg}'`), { code: "MODULE_NOT_FOUND" });
      }
      if (name === "wasm") require("@tensorflow/tfjs-backend-wasm");
      return name === "wasm" ? "wasm" : "cpu";
    },
  };
}

test("picks the fastest backend that loads and says why faster ones were skipped", async () => {
  const info = await initBackend({ env: {}, loader: only("wasm", "cpu"), force: true });
  assert.equal(info.active, "wasm");
  assert.equal(tf.getBackend(), "wasm");
  const lines = info.toString().split("\n");
  assert.equal(lines.length, 4);
  assert.match(lines[0], /^node-gpu\s+skipped: @tensorflow\/tfjs-node-gpu is not installed/);
  assert.match(lines[1], /^node\s+skipped: @tensorflow\/tfjs-node is not installed/);
  assert.match(lines[2], /^wasm\s+active: WebAssembly/);
  assert.match(lines[3], /^cpu\s+unused: not tried, wasm loaded first/);
  assert.equal(backendInfo(), info);
});

test("TSDL_BACKEND forces a backend", async () => {
  const info = await initBackend({ env: { TSDL_BACKEND: "cpu" }, loader: only("wasm", "cpu"), force: true });
  assert.equal(info.active, "cpu");
  assert.equal(tf.getBackend(), "cpu");
  assert.match(info.toString(), /wasm\s+skipped: TSDL_BACKEND=cpu forces cpu/);
  assert.equal(tf.tensor([1, 2]).sum().dataSync()[0], 3);
});

test("an unknown TSDL_BACKEND is an error naming the valid ones", async () => {
  await assert.rejects(
    initBackend({ env: { TSDL_BACKEND: "gpu" }, loader: only("cpu"), force: true }),
    /TSDL_BACKEND="gpu" is not a backend; expected one of node-gpu, node, wasm, cpu/,
  );
});

test("a forced backend that fails to load is an error, not a silent fallback", async () => {
  await assert.rejects(
    initBackend({ env: { TSDL_BACKEND: "node" }, loader: only("cpu"), force: true }),
    /TSDL_BACKEND=node: @tensorflow\/tfjs-node is not installed/,
  );
});

test("the default loader on this machine falls back past the optional native backends", async () => {
  const info = await initBackend({ env: {}, force: true });
  const native = info.attempts.filter((a) => a.name === "node" || a.name === "node-gpu");
  for (const a of native) {
    // Either it loaded (a machine with libtensorflow) or it says why not.
    if (a.status === "skipped") assert.match(a.reason, /not installed|failed to load/);
  }
  assert.ok(["node-gpu", "node", "wasm"].includes(info.active), info.toString());
});

test("a bad TSDL_WASM_THREADS is an error naming the valid range", async () => {
  for (const bad of ["0", "two", "1.5", "9"]) {
    await assert.rejects(
      initBackend({ env: { TSDL_WASM_THREADS: bad }, loader: only("wasm", "cpu"), force: true }),
      new RegExp(`TSDL_WASM_THREADS="${bad.replace(".", "\\.")}" is not a thread count; expected an integer from 1 to 8`),
    );
  }
});
