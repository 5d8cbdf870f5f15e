/**
 * The binary element-wise kernels without `ccall` (src/wasm/binary.ts): every one gives the bits
 * the shipped kernel gives (the same C++ function), with broadcasting, scalars, int32 and bool
 * inputs, and the values `cpu` gives where both round alike (not Pow, Atan2, Mod, FloorDiv, SquaredDifference: cpu computes those in float64).
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { registerTsdlKernels, unregisterTsdlKernels } from "../../src/wasm";
import { randn } from "../helpers/compare-backends";

const rand = randn(20261205);

before(async () => {
  require("@tensorflow/tfjs-backend-wasm");
  registerTsdlKernels("wasm");
  await tf.setBackend("wasm");
});

const ARITHMETIC = ["Add", "Sub", "Multiply", "RealDiv", "Maximum", "Minimum", "SquaredDifference", "FloorDiv", "Mod", "Pow", "Atan2"];
const COMPARISONS = ["Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual"];
const LOGICAL = ["LogicalAnd", "LogicalOr", "LogicalXor"];
const SHAPES: [number[], number[]][] = [[[3, 5], [3, 5]], [[4, 1, 3], [5, 1]], [[], [7]], [[2, 3], [1]], [[64, 256], [64, 256]], [[2, 1, 3, 1, 2], [4, 1, 1, 1]]];

interface Run { kernel: string; shapes: [number[], number[]]; dtype: "float32" | "int32" | "bool" }

function values(r: Run, which: 0 | 1): number[] {
  const size = r.shapes[which].reduce((p, d) => p * d, 1);
  const v = Array.from(rand(size));
  if (r.dtype === "bool") return v.map((x) => (x > 0 ? 1 : 0));
  if (r.dtype === "int32") return v.map((x) => Math.round(x * 5) + (which === 1 ? 7 : 0));
  // Positive bases for Pow; some equal pairs for the comparisons.
  return v.map((x, i) => (r.kernel === "Pow" && which === 0 ? Math.abs(x) + 0.5 : i % 4 === 0 ? 0.5 : x));
}

function runAll(runs: Run[], inputs: [number[], number[]][]): ({ data: Uint8Array; dtype: string; shape: number[] } | null)[] {
  // (cpu has no LogicalXor.)
  return runs.map((r, i) => !tf.getKernel(r.kernel, tf.getBackend()) ? null : tf.tidy(() => {
    const a = tf.tensor(inputs[i][0], r.shapes[0], r.dtype);
    const b = tf.tensor(inputs[i][1], r.shapes[1], r.dtype);
    const out = tf.engine().runKernel(r.kernel, { a, b }) as tf.Tensor;
    const data = out.dataSync() as Float32Array | Int32Array | Uint8Array;
    return { data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)), dtype: out.dtype, shape: out.shape };
  }));
}

test("every binary kernel: the shipped kernel's bits, and cpu's values where both are exact", async () => {
  const runs: Run[] = [];
  for (const shapes of SHAPES) {
    for (const kernel of [...ARITHMETIC, ...COMPARISONS]) runs.push({ kernel, shapes, dtype: "float32" });
    for (const kernel of ["Add", "Sub", "Multiply", "Maximum", "Minimum", "FloorDiv", ...COMPARISONS]) runs.push({ kernel, shapes, dtype: "int32" });
    for (const kernel of LOGICAL) runs.push({ kernel, shapes, dtype: "bool" });
  }
  const inputs = runs.map((r) => [values(r, 0), values(r, 1)] as [number[], number[]]);
  await tf.setBackend("wasm");
  const profile = await tf.profile(() => { runAll(runs.slice(0, 3), inputs.slice(0, 3)); });
  assert.deepEqual(profile.kernels.map((k) => k.name), ["Add", "Sub", "Multiply"]);
  const tsdl = runAll(runs, inputs);
  unregisterTsdlKernels("wasm");
  let shipped: ReturnType<typeof runAll>;
  try {
    // The shipped kernels bind to the backend's module in their setup, which ran for tsdl's instead.
    for (const k of new Set(runs.map((r) => r.kernel))) tf.getKernel(k, "wasm")!.setupFunc?.(tf.backend());
    shipped = runAll(runs, inputs);
  } finally {
    registerTsdlKernels("wasm");
  }
  await tf.setBackend("cpu");
  const cpu = runAll(runs, inputs);
  await tf.setBackend("wasm");
  runs.forEach((r, i) => {
    const what = `${r.kernel} ${r.dtype} [${r.shapes[0]}] [${r.shapes[1]}]`;
    const [t, s, c] = [tsdl[i]!, shipped[i]!, cpu[i]];
    assert.deepEqual(t.shape, s.shape, what);
    assert.equal(t.dtype, s.dtype, what);
    assert.deepEqual(t.data, s.data, `${what}: bits`);
    if (c && !["Pow", "Atan2", "Mod", "FloorDiv", "SquaredDifference"].includes(r.kernel)) {
      assert.deepEqual(t.shape, c.shape, what);
      assert.deepEqual(t.data, c.data, `${what}: against cpu`);
    }
  });
});

test("a shape mismatch is still tfjs's clear error, and the backend goes on", async () => {
  await tf.setBackend("wasm");
  assert.throws(() => tf.tidy(() => tf.engine().runKernel("Multiply", { a: tf.ones([2, 3]), b: tf.ones([4]) })), /broadcast|shapes/i);
  const y = tf.tidy(() => tf.mul(tf.tensor([1, 2, 3]), tf.scalar(2)).dataSync());
  assert.deepEqual([...y], [2, 4, 6]);
});
