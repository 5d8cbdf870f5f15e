/**
 * Random expression trees for the autograd tests: a seeded generator builds a DAG of the Value
 * operations over a few variables, evaluated three ways (Value in float64, tfjs in float32, and
 * plain float64 numbers for finite differences).
 *
 * Inputs keep every operation well defined and well conditioned, so a disagreement means a
 * wrong derivative, not float32 rounding: log, fractional powers and divisions only see
 * arguments away from 0, exp sees arguments below 3, relu never sees |x| < 0.05 (its kink), and
 * every intermediate value stays within ±30.
 */
import * as tf from "@tensorflow/tfjs";
import { Value, type Rng } from "../../src/math";

export type Expr =
  | { kind: "var"; index: number }
  | { kind: "const"; value: number }
  | { kind: "unary"; op: "neg" | "exp" | "log" | "tanh" | "sigmoid" | "relu"; arg: Expr }
  | { kind: "pow"; arg: Expr; k: number }
  | { kind: "binary"; op: "add" | "sub" | "mul" | "div"; left: Expr; right: Expr };

/** Evaluate in plain float64. */
export function evalNumber(e: Expr, xs: number[]): number {
  switch (e.kind) {
    case "var":
      return xs[e.index];
    case "const":
      return e.value;
    case "pow":
      return evalNumber(e.arg, xs) ** e.k;
    case "unary": {
      const a = evalNumber(e.arg, xs);
      const unary: Record<typeof e.op, (x: number) => number> = {
        neg: (x) => -x,
        exp: Math.exp,
        log: Math.log,
        tanh: Math.tanh,
        sigmoid: (x) => 1 / (1 + Math.exp(-x)),
        relu: (x) => Math.max(0, x),
      };
      return unary[e.op](a);
    }
    case "binary": {
      const a = evalNumber(e.left, xs);
      const b = evalNumber(e.right, xs);
      return e.op === "add" ? a + b : e.op === "sub" ? a - b : e.op === "mul" ? a * b : a / b;
    }
  }
}

/**
 * Build as Values; a subtree used twice becomes ONE Value used twice (memo). With `noise`, every
 * operation's result passes through a `rounded` node: a float64 model of the rounding float32
 * arithmetic adds at each step, forward and backward.
 */
export function toValue(e: Expr, vars: Value[], memo = new Map<Expr, Value>(), noise?: () => number): Value {
  const hit = memo.get(e);
  if (hit) return hit;
  const v = toValueRaw(e, vars, memo, noise);
  const out = noise && e.kind !== "var" && e.kind !== "const" ? rounded(v, noise) : v;
  memo.set(e, out);
  return out;
}

/**
 * v with a rounding error: forward, v·(1 + ε₁); backward, the gradient passed on is scaled by an
 * independent (1 + ε₂), since float32 also rounds each product of the backward pass.
 */
function rounded(v: Value, noise: () => number): Value {
  const out = new Value(v.data * (1 + noise()), "", [v], "round");
  const e2 = noise();
  out.backwardStep = () => {
    v.grad += out.grad * (1 + e2);
  };
  return out;
}

function toValueRaw(e: Expr, vars: Value[], memo: Map<Expr, Value>, noise?: () => number): Value {
  let v: Value;
  switch (e.kind) {
    case "var":
      v = vars[e.index];
      break;
    case "const":
      v = new Value(e.value);
      break;
    case "pow":
      v = toValue(e.arg, vars, memo, noise).pow(e.k);
      break;
    case "unary":
      v = toValue(e.arg, vars, memo, noise)[e.op]();
      break;
    case "binary":
      v = toValue(e.left, vars, memo, noise)[e.op](toValue(e.right, vars, memo, noise));
      break;
  }
  return v;
}

/** Build with tfjs ops. */
export function toTensor(e: Expr, vars: tf.Tensor[], memo = new Map<Expr, tf.Tensor>()): tf.Tensor {
  const hit = memo.get(e);
  if (hit) return hit;
  let t: tf.Tensor;
  switch (e.kind) {
    case "var":
      t = vars[e.index];
      break;
    case "const":
      t = tf.scalar(e.value);
      break;
    case "pow":
      t = tf.pow(toTensor(e.arg, vars, memo), tf.scalar(e.k));
      break;
    case "unary": {
      const a = toTensor(e.arg, vars, memo);
      t = { neg: tf.neg, exp: tf.exp, log: tf.log, tanh: tf.tanh, sigmoid: tf.sigmoid, relu: tf.relu }[e.op](a);
      break;
    }
    case "binary": {
      const a = toTensor(e.left, vars, memo);
      const b = toTensor(e.right, vars, memo);
      t = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div }[e.op](a, b);
      break;
    }
  }
  memo.set(e, t);
  return t;
}

/** Count the distinct operations an expression uses (for coverage checks). */
export function opsUsed(e: Expr, into = new Set<string>()): Set<string> {
  if (e.kind === "unary") {
    into.add(e.op);
    opsUsed(e.arg, into);
  } else if (e.kind === "pow") {
    into.add("pow");
    opsUsed(e.arg, into);
  } else if (e.kind === "binary") {
    into.add(e.op);
    opsUsed(e.left, into);
    opsUsed(e.right, into);
  }
  return into;
}

const UNARY = ["neg", "exp", "log", "tanh", "sigmoid", "relu"] as const;
const BINARY = ["add", "sub", "mul", "div"] as const;
const POWERS = [2, 3, 0.5, -1, 1.5];

/**
 * A random expression over `nVars` variables with inputs `xs` (values chosen by the caller), up
 * to `depth` levels, reusing earlier subtrees now and then so some nodes feed several others.
 */
export function randomExpr(r: Rng, xs: number[], depth: number): Expr {
  const pool: Expr[] = xs.map((_, index) => ({ kind: "var", index }));
  const ok = (e: Expr): boolean => {
    const v = evalNumber(e, xs);
    return Number.isFinite(v) && Math.abs(v) <= 30;
  };
  const build = (d: number): Expr => {
    if (d === 0 || r.uniform() < 0.15) {
      // A variable, a reused subtree, or (rarely) a constant.
      const u = r.uniform();
      if (u < 0.1) return { kind: "const", value: Math.fround(r.between(-2, 2)) };
      return r.pick(pool);
    }
    for (let attempt = 0; attempt < 20; attempt++) {
      const u = r.uniform();
      let e: Expr;
      if (u < 0.45) {
        const op = r.pick(UNARY);
        const arg = build(d - 1);
        const a = evalNumber(arg, xs);
        if (op === "log" && !(a > 0.2)) continue;
        if (op === "exp" && !(a < 3)) continue;
        if (op === "relu" && !(Math.abs(a) > 0.05)) continue;
        if ((op === "tanh" || op === "sigmoid") && !(Math.abs(a) < 3)) continue;
        e = { kind: "unary", op, arg };
      } else if (u < 0.6) {
        const k = r.pick(POWERS);
        const arg = build(d - 1);
        const a = evalNumber(arg, xs);
        if (!Number.isInteger(k) && !(a > 0.2)) continue;
        if (k < 0 && !(Math.abs(a) > 0.3)) continue;
        e = { kind: "pow", arg, k };
      } else {
        const op = r.pick(BINARY);
        const left = build(d - 1);
        const right = build(d - 1);
        if (op === "div" && !(Math.abs(evalNumber(right, xs)) > 0.3)) continue;
        e = { kind: "binary", op, left, right };
      }
      if (!ok(e)) continue;
      pool.push(e);
      return e;
    }
    return r.pick(pool);
  };
  return build(depth);
}

/** Float32's unit roundoff, 2⁻²⁴: the largest relative error of one rounding. */
export const FLOAT32_ROUNDOFF = 2 ** -24;

/**
 * How much float32-sized rounding could move this expression's value and gradients: the largest
 * change (relative to max(1, |x|)) over a few evaluations with every intermediate result
 * perturbed by up to ±2⁻²⁴. A comparison with float32 tfjs is only meaningful where this is small.
 */
export function float32Sensitivity(e: Expr, xs: number[], r: Rng, trials = 3): number {
  const exact = gradientsOf(e, xs);
  let worst = 0;
  for (let t = 0; t < trials; t++) {
    const noisy = gradientsOf(e, xs, () => r.between(-FLOAT32_ROUNDOFF, FLOAT32_ROUNDOFF));
    [exact.value, ...exact.grads].forEach((v, i) => {
      const n = i === 0 ? noisy.value : noisy.grads[i - 1];
      worst = Math.max(worst, Math.abs(n - v) / Math.max(1, Math.abs(v)));
    });
  }
  return worst;
}

/** Value and gradients with the Value engine (optionally with rounding noise). */
export function gradientsOf(e: Expr, xs: number[], noise?: () => number): { value: number; grads: number[] } {
  const vars = xs.map((x, i) => new Value(x, `x${i}`));
  const out = toValue(e, vars, new Map(), noise);
  out.backward();
  return { value: out.data, grads: vars.map((v) => v.grad) };
}
