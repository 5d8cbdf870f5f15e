/**
 * Gradient checking: compare an analytic gradient with central finite differences,
 *   ∂f/∂θᵢ ≈ (f(θ + h·eᵢ) − f(θ − h·eᵢ)) / 2h,
 * and report, for each parameter, the largest relative error |a − n| / max(|a|, |n|, floor).
 *
 * Three sources of the analytic gradient:
 * - "value" (default): `f` builds a `Value` expression; `backward()` gives the gradient. Both the
 *   gradient and the finite differences are float64, so a correct gradient agrees to ~1e-9.
 * - a function you wrote (e.g. a dense layer's backward pass): `f` is float64 on plain numbers.
 *   Same precision; this is how a hand-derived gradient is caught out.
 * - "tf": `f` builds tensors and `tf.grads` differentiates it. TensorFlow.js computes in float32
 *   (about 7 significant digits), so agreement is bounded by float32 rounding, not by the method.
 *   Give `reference`, a float64 version of f on plain numbers, to take the finite differences in
 *   float64 (then only tf's own rounding remains: default tolerance 1e-4). Without it the finite
 *   differences run f itself in float32, where the step must be large (h = 1e-2) to rise above
 *   rounding, and the default tolerance is 1e-2.
 *
 * Why h = 1e-5 in float64: the truncation error of a central difference is about h²·f‴/6 and the
 * rounding error about ε·|f|/h (ε = 2.2e-16); h = 1e-5 keeps both near 1e-10 for f of order 1, so
 * a correct gradient shows relative errors near 1e-9 and "below 1e-6" is a meaningful bar while a
 * wrong gradient shows errors near 1.
 *
 * Introduced in notebook 02-loss-and-backprop.
 */
import * as tf from "@tensorflow/tfjs";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display";
import { flat, fmtShape, shapeOf, unflat, type Shaped } from "./arrays";
import { Table } from "./table";
import { Value } from "./value";

/** Named parameters: scalars, vectors or matrices of plain numbers. */
export type Params = Record<string, Shaped>;

/** The same structure as `P` with every number replaced by a `T`. */
export type Mirror<P extends Params, T> = {
  [K in keyof P]: P[K] extends number ? T : P[K] extends number[] ? T[] : T[][];
};

/** Options shared by every kind of gradient check. */
export interface GradCheckOptions {
  /** Finite-difference step h (default 1e-5 in float64, 1e-2 for tf without a reference). */
  eps?: number;
  /** The largest acceptable relative error (default 1e-6 in float64, 1e-4 for tf with reference, 1e-2 without). */
  tolerance?: number;
  /** Gradients smaller than this in magnitude are compared absolutely: the denominator is max(|a|, |n|, floor). Default 1e-8 (1e-6 for tf). */
  floor?: number;
}

/** One parameter's line in the report. */
export interface GradCheckRow {
  name: string;
  shape: number[];
  /** The largest relative error over the parameter's elements. */
  maxRelError: number;
  /** Flat index (row-major) of the element with that error. */
  worstIndex: number;
  /** Analytic and numeric derivative at that element. */
  analytic: number;
  numeric: number;
  ok: boolean;
}

/** The result of `gradCheck`: a table that renders itself, and the numbers behind it. Introduced in notebook 02-loss-and-backprop. */
export class GradCheckResult implements Displayable {
  constructor(
    readonly rows: GradCheckRow[],
    readonly tolerance: number,
    readonly eps: number,
    /** How the two gradients were computed, in words. */
    readonly method: string,
    /** Every element's analytic and numeric gradient, by parameter name. */
    readonly gradients: Record<string, { analytic: number[]; numeric: number[] }>,
  ) {}

  /** The largest relative error over all parameters. */
  get maxRelError(): number {
    return Math.max(...this.rows.map((r) => r.maxRelError));
  }

  /** True when every parameter is within the tolerance. */
  get ok(): boolean {
    return this.rows.every((r) => r.ok);
  }

  /** The report as a Table. */
  table(): Table {
    return new Table(
      ["parameter", "shape", "max rel. error", "at", "analytic", "numeric", "check"],
      this.rows.map((r) => [
        r.name,
        fmtShape(r.shape),
        r.maxRelError,
        r.shape.length === 2 ? `[${Math.floor(r.worstIndex / r.shape[1])}][${r.worstIndex % r.shape[1]}]` : r.shape.length === 1 ? `[${r.worstIndex}]` : "",
        r.analytic,
        r.numeric,
        r.ok ? "ok" : "WRONG",
      ]),
      {
        title: `Gradient check: ${this.ok ? "passed" : "FAILED"} (max relative error ${this.maxRelError.toExponential(2)}, tolerance ${this.tolerance.toExponential(0)})`,
        note: this.method,
        digits: 6,
      },
    );
  }

  toText(): string {
    return this.table().toText();
  }

  /** The same text as its `text/plain` (so `String(x)` and a template literal print it). */
  toString(): string {
    return this.toText();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return this.table()[JUPYTER_DISPLAY]();
  }
}

type Entry = { name: string; shape: number[]; values: number[] };

function entries(params: Params): Entry[] {
  const list = Object.entries(params).map(([name, v]) => {
    const shape = shapeOf(v, `gradCheck: parameter ${name}`);
    if (shape.length > 2) throw new Error(`gradCheck: parameter ${name} has rank ${shape.length}; expected a number, vector or matrix`);
    return { name, shape, values: flat(v) };
  });
  if (list.length === 0) throw new Error("gradCheck: expected at least one parameter, found none");
  return list;
}

function rebuild<T>(list: Entry[], make: (x: number, name: string, k: number) => T): Record<string, T | T[] | T[][]> {
  const out: Record<string, T | T[] | T[][]> = {};
  for (const e of list) {
    const items = e.values.map((x, k) => make(x, e.name, k));
    out[e.name] = e.shape.length === 0 ? items[0] : e.shape.length === 1 ? items : Array.from({ length: e.shape[0] }, (_, i) => items.slice(i * e.shape[1], (i + 1) * e.shape[1]));
  }
  return out;
}

function asNumbers(list: Entry[]): Params {
  return Object.fromEntries(list.map((e) => [e.name, unflat(e.values, e.shape)]));
}

function checkFinite(x: number, what: string): number {
  if (typeof x !== "number" || Number.isNaN(x)) throw new Error(`gradCheck: ${what} returned ${typeof x === "number" ? x : typeof x}; expected a number`);
  return x;
}

/** Central differences of `evaluate` around the parameters, element by element. */
function numericGrad(list: Entry[], evaluate: (p: Params) => number, eps: number, float32 = false): number[][] {
  return list.map((e) =>
    e.values.map((_, k) => {
      const saved = e.values[k];
      // In float32 the perturbed values round; divide by the step actually taken.
      const plus = float32 ? Math.fround(saved + eps) : saved + eps;
      const minus = float32 ? Math.fround(saved - eps) : saved - eps;
      e.values[k] = plus;
      const fp = evaluate(asNumbers(list));
      e.values[k] = minus;
      const fm = evaluate(asNumbers(list));
      e.values[k] = saved;
      return (fp - fm) / (plus - minus);
    }),
  );
}

function analyticFromValue(list: Entry[], f: (p: Record<string, unknown>) => Value): number[][] {
  const leaves: Value[][] = list.map(() => []);
  const index = new Map(list.map((e, i) => [e.name, i]));
  const p = rebuild(list, (x, name, k) => {
    const v = new Value(x, `${name}${list[index.get(name)!].shape.length ? `[${k}]` : ""}`);
    leaves[index.get(name)!].push(v);
    return v;
  });
  const out = f(p);
  if (!(out instanceof Value)) throw new Error(`gradCheck: f returned ${typeof out}; with analytic "value" it must return a Value`);
  out.backward();
  return leaves.map((l) => l.map((v) => v.grad));
}

function analyticFromTf(list: Entry[], f: (p: Record<string, tf.Tensor>) => tf.Scalar): number[][] {
  return tf.tidy(() => {
    const tensors = list.map((e) => tf.tensor(e.values, e.shape, "float32"));
    const g = tf.grads((...xs: tf.Tensor[]) => {
      const out = f(Object.fromEntries(list.map((e, i) => [e.name, xs[i]])));
      if (!(out instanceof tf.Tensor) || out.rank !== 0) {
        throw new Error(`gradCheck: f returned ${out instanceof tf.Tensor ? `a tensor of shape [${out.shape}]` : typeof out}; with analytic "tf" it must return a scalar tensor`);
      }
      return out;
    })(tensors);
    return g.map((t) => Array.from(t.dataSync()));
  });
}

function tfValue(list: Entry[], f: (p: Record<string, tf.Tensor>) => tf.Scalar): (p: Params) => number {
  return (p) =>
    tf.tidy(() => {
      const ts = Object.fromEntries(list.map((e) => [e.name, tf.tensor(flat(p[e.name]), e.shape, "float32")]));
      return f(ts).dataSync()[0];
    });
}

/**
 * Compare analytic gradients with central finite differences and report the largest relative
 * error per parameter (a result that renders itself as a table).
 *
 * - `gradCheck((p) => valueExpr, params)`: `f` builds a `Value`; analytic gradient by backward().
 * - `gradCheck((p) => tensorExpr, params, { analytic: "tf", reference? })`: analytic by `tf.grads`.
 * - `gradCheck((p) => number, params, { analytic: (p) => grads })`: your own gradient function.
 *
 * Introduced in notebook 02-loss-and-backprop.
 */
export function gradCheck<P extends Params>(
  f: (p: Mirror<P, Value>) => Value,
  params: P,
  options?: GradCheckOptions & { analytic?: "value" },
): GradCheckResult;
/** Gradient check with `tf.grads` as the analytic gradient (float32). Introduced in notebook 02-loss-and-backprop. */
export function gradCheck<P extends Params>(
  f: (p: { [K in keyof P]: tf.Tensor }) => tf.Scalar,
  params: P,
  options: GradCheckOptions & { analytic: "tf"; reference?: (p: P) => number },
): GradCheckResult;
/** Gradient check of a hand-written gradient function against a float64 loss. Introduced in notebook 02-loss-and-backprop. */
export function gradCheck<P extends Params>(
  f: (p: P) => number,
  params: P,
  options: GradCheckOptions & { analytic: (p: P) => Mirror<P, number> },
): GradCheckResult;
export function gradCheck(
  f: (p: never) => unknown,
  params: Params,
  options: GradCheckOptions & {
    analytic?: "value" | "tf" | ((p: Params) => Record<string, Shaped>);
    reference?: (p: Params) => number;
  } = {},
): GradCheckResult {
  const list = entries(params);
  const mode = options.analytic ?? "value";
  const float32 = mode === "tf" && !options.reference;
  const eps = options.eps ?? (float32 ? 1e-2 : 1e-5);
  const tolerance = options.tolerance ?? (mode === "tf" ? (float32 ? 1e-2 : 1e-4) : 1e-6);
  const floor = options.floor ?? (mode === "tf" ? 1e-6 : 1e-8);
  if (!(eps > 0)) throw new Error(`gradCheck: eps must be positive, found ${eps}`);

  let analytic: number[][];
  let evaluate: (p: Params) => number;
  let method: string;
  const ff = f as (p: unknown) => unknown;
  if (mode === "value") {
    analytic = analyticFromValue(list, ff as (p: Record<string, unknown>) => Value);
    evaluate = (p) => {
      const out = ff(rebuild(entries(p), (x) => new Value(x)));
      return checkFinite((out as Value).data, "f");
    };
    method = `analytic: Value.backward() in float64; numeric: central differences in float64, h = ${eps}`;
  } else if (mode === "tf") {
    analytic = analyticFromTf(list, ff as (p: Record<string, tf.Tensor>) => tf.Scalar);
    if (options.reference) {
      const ref = options.reference;
      evaluate = (p) => checkFinite(ref(p), "reference");
      method = `analytic: tf.grads in float32; numeric: central differences of the float64 reference, h = ${eps}`;
    } else {
      evaluate = tfValue(list, ff as (p: Record<string, tf.Tensor>) => tf.Scalar);
      method = `analytic: tf.grads in float32; numeric: central differences of f in float32, h = ${eps} (pass a float64 reference for a tighter check)`;
    }
  } else {
    const g = mode(asNumbers(list));
    analytic = list.map((e) => {
      if (!(e.name in g)) throw new Error(`gradCheck: the analytic gradient has no entry for parameter ${e.name}`);
      const shape = shapeOf(g[e.name], `gradCheck: analytic gradient of ${e.name}`);
      if (fmtShape(shape) !== fmtShape(e.shape)) {
        throw new Error(`gradCheck: the analytic gradient of ${e.name} has shape ${fmtShape(shape)}, expected ${fmtShape(e.shape)} like the parameter`);
      }
      return flat(g[e.name]);
    });
    evaluate = (p) => checkFinite(ff(p) as number, "f");
    method = `analytic: your gradient function; numeric: central differences in float64, h = ${eps}`;
  }
  const numeric = numericGrad(list, evaluate, eps, float32);

  const gradients: Record<string, { analytic: number[]; numeric: number[] }> = {};
  const rows = list.map((e, i): GradCheckRow => {
    gradients[e.name] = { analytic: analytic[i], numeric: numeric[i] };
    let worst = 0;
    let worstIndex = 0;
    analytic[i].forEach((a, k) => {
      const n = numeric[i][k];
      const denom = Math.max(Math.abs(a), Math.abs(n), floor);
      const err = Number.isFinite(a) && Number.isFinite(n) ? Math.abs(a - n) / denom : Infinity;
      if (err > worst || (k === 0 && err === worst)) {
        worst = err;
        worstIndex = k;
      }
    });
    return {
      name: e.name,
      shape: e.shape,
      maxRelError: worst,
      worstIndex,
      analytic: analytic[i][worstIndex],
      numeric: numeric[i][worstIndex],
      ok: worst <= tolerance,
    };
  });
  return new GradCheckResult(rows, tolerance, eps, method, gradients);
}
