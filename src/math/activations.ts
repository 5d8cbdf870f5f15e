/**
 * Activation functions (§3.1, §4.1) and their derivatives, each written from scratch on numbers
 * with its TensorFlow.js twin beside it (`.tf`). The tests check every derivative against
 * `tf.grad` of the twin.
 */
import * as tf from "@tensorflow/tfjs";
import * as plot from "../plot";
import type { Figure } from "../plot";
import type { Matrix, Vector } from "./arrays";

/** An elementwise activation: the function, its derivative, both formulas, and the tfjs version. */
export interface Activation {
  readonly name: string;
  /** The function as a formula, e.g. "σ(x) = 1 / (1 + e⁻ˣ)". */
  readonly formula: string;
  /** Its derivative as a formula. */
  readonly derivative: string;
  /** The function on one number (float64). */
  f(x: number): number;
  /** Its derivative on one number (float64). */
  df(x: number): number;
  /** The same function with tfjs, elementwise. */
  tf(x: tf.Tensor): tf.Tensor;
}

/** σ(x) = 1 / (1 + e⁻ˣ), computed without overflow for large |x|. */
function sigmoidF(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** The logistic sigmoid and σ′(x) = σ(x)(1 − σ(x)). Introduced in notebook 01-neural-networks. */
export const sigmoid: Activation = {
  name: "sigmoid",
  formula: "σ(x) = 1 / (1 + e⁻ˣ)",
  derivative: "σ′(x) = σ(x)·(1 − σ(x))",
  f: sigmoidF,
  df: (x) => {
    const s = sigmoidF(x);
    return s * (1 - s);
  },
  tf: (x) => tf.sigmoid(x),
};

/** tanh and tanh′(x) = 1 − tanh²(x). Introduced in notebook 01-neural-networks. */
export const tanh: Activation = {
  name: "tanh",
  formula: "tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)",
  derivative: "tanh′(x) = 1 − tanh²(x)",
  f: Math.tanh,
  df: (x) => 1 - Math.tanh(x) ** 2,
  tf: (x) => tf.tanh(x),
};

/** ReLU(x) = max(0, x); its derivative is 1 for x > 0 and 0 otherwise (0 at x = 0, as tfjs). Introduced in notebook 01-neural-networks. */
export const relu: Activation = {
  name: "relu",
  formula: "ReLU(x) = max(0, x)",
  derivative: "ReLU′(x) = 1 if x > 0, else 0",
  f: (x) => (x > 0 ? x : 0),
  df: (x) => (x > 0 ? 1 : 0),
  tf: (x) => tf.relu(x),
};

/** Leaky ReLU with slope `alpha` for x ≤ 0 (PyTorch's default 0.01). Introduced in notebook 01-neural-networks. */
export function makeLeakyRelu(alpha = 0.01): Activation {
  if (!(Number.isFinite(alpha) && alpha >= 0 && alpha < 1)) {
    throw new Error(`leakyRelu: expected a slope alpha in [0, 1), found ${alpha}`);
  }
  return {
    name: alpha === 0.01 ? "leakyRelu" : `leakyRelu(${alpha})`,
    formula: `LeakyReLU(x) = x if x > 0, else ${alpha}·x`,
    derivative: `LeakyReLU′(x) = 1 if x > 0, else ${alpha}`,
    f: (x) => (x > 0 ? x : alpha * x),
    df: (x) => (x > 0 ? 1 : alpha),
    tf: (x) => tf.leakyRelu(x, alpha),
  };
}

/** Leaky ReLU with alpha = 0.01. Introduced in notebook 01-neural-networks. */
export const leakyRelu: Activation = makeLeakyRelu(0.01);

/** The elementwise activations by name. Introduced in notebook 01-neural-networks. */
export const elementwise: Readonly<Record<"sigmoid" | "tanh" | "relu" | "leakyRelu", Activation>> = {
  sigmoid,
  tanh,
  relu,
  leakyRelu,
};

/** Names accepted wherever an activation is asked for. */
export type ActivationName = keyof typeof elementwise;

/** Look an activation up by name, with a clear error for unknown names. Introduced in notebook 01-neural-networks. */
export function activation(a: ActivationName | Activation): Activation {
  if (typeof a !== "string") return a;
  const found = (elementwise as Record<string, Activation>)[a];
  if (!found) {
    throw new Error(`unknown activation ${JSON.stringify(a)}; expected one of ${Object.keys(elementwise).join(", ")}`);
  }
  return found;
}

/**
 * softmax(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ) on one vector, with its derivative given two ways: the full
 * Jacobian J (Jᵢⱼ = ∂sᵢ/∂zⱼ = sᵢ(δᵢⱼ − sⱼ)) and the vector–Jacobian product gᵀJ = s ⊙ (g − g·s),
 * which is what back-propagation uses (it never builds J).
 * Introduced in notebook 01-neural-networks.
 */
export const softmax = {
  name: "softmax",
  formula: "softmax(z)ᵢ = e^(zᵢ) / Σⱼ e^(zⱼ)",
  derivative: "∂sᵢ/∂zⱼ = sᵢ·(δᵢⱼ − sⱼ)",
  /** softmax of one vector, shifted by max(z) so e^z never overflows. */
  f(z: Vector): Vector {
    if (z.length === 0) throw new Error("softmax: expected at least one value, found none");
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((s, v) => s + v, 0);
    return e.map((v) => v / sum);
  },
  /** The Jacobian matrix J[i][j] = ∂softmax(z)ᵢ / ∂zⱼ. */
  jacobian(z: Vector): Matrix {
    const s = softmax.f(z);
    return s.map((si, i) => s.map((sj, j) => si * ((i === j ? 1 : 0) - sj)));
  },
  /** The vector–Jacobian product gᵀJ: the gradient w.r.t. z when `g` is the gradient w.r.t. softmax(z). */
  vjp(z: Vector, g: Vector): Vector {
    if (g.length !== z.length) {
      throw new Error(`softmax.vjp: z has ${z.length} values and g has ${g.length}; expected equal lengths`);
    }
    const s = softmax.f(z);
    const dot = s.reduce((acc, si, i) => acc + si * g[i], 0);
    return s.map((si, i) => si * (g[i] - dot));
  },
  /** softmax along the last axis with tfjs. */
  tf: (z: tf.Tensor): tf.Tensor => tf.softmax(z),
} as const;

/** Evenly spaced numbers from lo to hi inclusive. Introduced in notebook 01-neural-networks. */
export function linspace(lo: number, hi: number, n: number): number[] {
  if (!(Number.isInteger(n) && n >= 2)) throw new Error(`linspace: expected at least 2 points, found ${n}`);
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

/** Options for the function-beside-derivative plots. */
export interface DerivativePlotOptions {
  /** x range, default [-5, 5]. */
  range?: [number, number];
  /** Number of sample points, default 201. */
  points?: number;
  width?: number;
  height?: number;
}

/**
 * Draw a function beside its derivative (two panels). Introduced in notebook 01-neural-networks.
 */
export function plotWithDerivative(
  fn: { name: string; f: (x: number) => number; df: (x: number) => number; formula?: string; derivative?: string },
  options: DerivativePlotOptions = {},
): Figure {
  const [lo, hi] = options.range ?? [-5, 5];
  if (!(hi > lo)) throw new Error(`plotWithDerivative: expected range [lo, hi] with hi > lo, found [${lo}, ${hi}]`);
  const xs = linspace(lo, hi, options.points ?? 201);
  const left = plot.line([{ name: fn.name, x: xs, y: xs.map(fn.f) }], { title: fn.formula ?? fn.name, xLabel: "x" });
  const right = plot.line([{ name: `${fn.name}′`, x: xs, y: xs.map(fn.df), dash: "dash" }], {
    title: fn.derivative ?? `${fn.name}′`,
    xLabel: "x",
  });
  return plot.subplots([left, right], { cols: 2, width: options.width, height: options.height });
}

/** Draw an activation (by name or object) beside its derivative. Introduced in notebook 01-neural-networks. */
export function plotActivation(a: ActivationName | Activation, options: DerivativePlotOptions = {}): Figure {
  return plotWithDerivative(activation(a), options);
}

/** All elementwise activations in one panel and their derivatives in another. Introduced in notebook 01-neural-networks. */
export function plotActivations(
  list: (ActivationName | Activation)[] = ["sigmoid", "tanh", "relu", "leakyRelu"],
  options: DerivativePlotOptions = {},
): Figure {
  const acts = list.map(activation);
  const [lo, hi] = options.range ?? [-5, 5];
  const xs = linspace(lo, hi, options.points ?? 201);
  const left = plot.line(acts.map((a) => ({ name: a.name, x: xs, y: xs.map(a.f) })), { title: "activation", xLabel: "x" });
  const right = plot.line(acts.map((a) => ({ name: a.name, x: xs, y: xs.map(a.df) })), { title: "derivative", xLabel: "x" });
  return plot.subplots([left, right], { cols: 2, width: options.width, height: options.height });
}
