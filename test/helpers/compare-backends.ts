/**
 * Runs the same computation on two tfjs backends from the same input values and compares the
 * results: for tests of kernels that must agree with the `cpu` backend.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";

/** A seeded source of normally distributed floats (mulberry32 + Box–Muller). */
export function randn(seed: number): (count: number) => Float32Array {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (count) => {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());
    }
    return out;
  };
}

/** Values with their shape, detached from any backend. */
export interface Values {
  shape: number[];
  data: Float32Array;
}

/** Runs `f` on `backend` with the inputs made there; returns every output tensor's values. */
export async function runOn(
  backend: string,
  inputs: Values[],
  f: (...xs: tf.Tensor[]) => tf.Tensor[],
): Promise<Values[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const xs = inputs.map((v) => tf.tensor(v.data, v.shape, "float32"));
    return f(...xs).map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
  });
}

/**
 * Asserts same shapes and values within float32 rounding: every element within
 * `rtol × max|expected|` (plus a tiny absolute floor). Products of K terms summed in a different
 * order differ by about √K·2⁻²⁴ of their magnitude; a wrong result differs by O(1) of it.
 */
export function assertClose(got: Values[], expected: Values[], what: string, rtol = 2e-5): void {
  assert.equal(got.length, expected.length, `${what}: number of outputs`);
  got.forEach((g, i) => {
    const e = expected[i];
    assert.deepEqual(g.shape, e.shape, `${what}: output ${i} shape`);
    let scale = 0;
    for (const v of e.data) scale = Math.max(scale, Math.abs(v));
    const tol = rtol * scale + 1e-6;
    for (let j = 0; j < e.data.length; j++) {
      const d = Math.abs(g.data[j] - e.data[j]);
      if (!(d <= tol)) {
        assert.fail(
          `${what}: output ${i} [${e.shape}] differs at flat index ${j}: got ${g.data[j]}, expected ${e.data[j]} ` +
            `(|diff| ${d.toExponential(2)} > tolerance ${tol.toExponential(2)})`,
        );
      }
    }
  });
}

/** Byte-for-byte equality of two float32 arrays (so -0 ≠ 0 and NaN = NaN), naming the first difference. */
export function assertBits(got: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(got.length, expected.length, `${what}: length`);
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let i = 0; i < e.length; i++) {
    if (g[i] !== e[i]) assert.fail(`${what}: differs at flat index ${i}: got ${got[i]}, expected ${expected[i]}`);
  }
}
