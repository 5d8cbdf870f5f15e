/**
 * Number comparisons for the math tests, with messages that show both values and the error.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";

/** Force the plain-JavaScript cpu backend: the reference for every numeric comparison. */
export async function useCpu(): Promise<void> {
  await initBackend({ env: { TSDL_BACKEND: "cpu" }, force: true });
  assert.equal(tf.getBackend(), "cpu");
}

/** |actual − expected| ≤ tol. */
export function near(actual: number, expected: number, tol: number, what = "value"): void {
  const err = Math.abs(actual - expected);
  assert.ok(err <= tol, `${what}: ${actual} vs expected ${expected}, |error| ${err.toExponential(2)} > ${tol}`);
}

/** |actual − expected| / max(|expected|, floor) ≤ tol. */
export function relNear(actual: number, expected: number, tol: number, what = "value", floor = 1): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), floor);
  assert.ok(err <= tol, `${what}: ${actual} vs expected ${expected}, relative error ${err.toExponential(2)} > ${tol}`);
}

/** Element-wise `near` over nested arrays of the same shape. */
export function allNear(actual: unknown, expected: unknown, tol: number, what = "array"): void {
  const a = flatten(actual);
  const e = flatten(expected);
  assert.equal(a.length, e.length, `${what}: ${a.length} values vs ${e.length} expected`);
  a.forEach((v, i) => near(v, e[i], tol, `${what}[${i}]`));
}

/** Element-wise `relNear`. */
export function allRelNear(actual: unknown, expected: unknown, tol: number, what = "array", floor = 1): void {
  const a = flatten(actual);
  const e = flatten(expected);
  assert.equal(a.length, e.length, `${what}: ${a.length} values vs ${e.length} expected`);
  a.forEach((v, i) => relNear(v, e[i], tol, `${what}[${i}]`, floor));
}

export function flatten(x: unknown): number[] {
  if (typeof x === "number") return [x];
  if (x instanceof tf.Tensor) return Array.from(x.dataSync());
  if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>);
  if (Array.isArray(x)) return x.flatMap(flatten);
  throw new Error(`flatten: expected numbers, found ${typeof x}`);
}

/** The number in a scalar tensor (and dispose it). */
export function scalarOf(t: tf.Tensor): number {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}
