/**
 * Optimizers on a 2-D quadratic bowl, written from scratch so a notebook can draw each path over
 * the bowl: plain gradient descent, momentum and Adam (§3.1, §9). The tests check each path
 * against tf.train.sgd / momentum / adam started from the same point.
 *
 * Introduced in notebook 01-neural-networks.
 */
import * as plot from "../plot";
import { Figure, type Trace } from "../plot";
import { linspace } from "./activations";

export type Point = [number, number];

/** A differentiable function of two variables. */
export interface Surface {
  name: string;
  f(p: Point): number;
  grad(p: Point): Point;
}

/** A quadratic bowl f(p) = ½ pᵀ A p with its matrix A. */
export interface Bowl extends Surface {
  A: [[number, number], [number, number]];
}

/**
 * The bowl f(p) = ½ pᵀ A p with curvatures `a` and `b` along axes turned by `angle` degrees.
 * Unequal curvatures make plain gradient descent zig-zag. Introduced in notebook 01-neural-networks.
 */
export function bowl(options: { a?: number; b?: number; angle?: number } = {}): Bowl {
  const a = options.a ?? 1;
  const b = options.b ?? 10;
  if (!(a > 0 && b > 0)) throw new Error(`bowl: expected positive curvatures a and b, found a = ${a}, b = ${b}`);
  const t = ((options.angle ?? 0) * Math.PI) / 180;
  const c = Math.cos(t);
  const s = Math.sin(t);
  // A = Rᵀ diag(a, b) R with R the rotation by t.
  const A: [[number, number], [number, number]] = [
    [a * c * c + b * s * s, (a - b) * c * s],
    [(a - b) * c * s, a * s * s + b * c * c],
  ];
  return {
    name: `bowl(a=${a}, b=${b}${options.angle ? `, angle=${options.angle}°` : ""})`,
    A,
    f: ([x, y]) => 0.5 * (A[0][0] * x * x + 2 * A[0][1] * x * y + A[1][1] * y * y),
    grad: ([x, y]) => [A[0][0] * x + A[0][1] * y, A[1][0] * x + A[1][1] * y],
  };
}

export type OptimizerName = "gd" | "momentum" | "adam";

/** Settings for `descend`. */
export interface DescendOptions {
  method?: OptimizerName;
  /** Learning rate (default 0.05). */
  lr?: number;
  /** Number of updates (default 50). */
  steps?: number;
  /** Starting point (default [-4, 2]). */
  start?: Point;
  /** Momentum coefficient β (default 0.9): v ← βv + g; p ← p − lr·v (as tf.train.momentum). */
  momentum?: number;
  /** Adam's β₁, β₂ and ε (defaults 0.9, 0.999, 1e-8, as in the paper). */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** The path an optimizer took. */
export interface DescentPath {
  method: OptimizerName;
  lr: number;
  /** steps + 1 points, the start first. */
  path: Point[];
  /** f at each point of the path. */
  losses: number[];
}

/**
 * Run gradient descent, momentum or Adam on a 2-D surface and return the path.
 * Introduced in notebook 01-neural-networks.
 */
export function descend(surface: Surface, options: DescendOptions = {}): DescentPath {
  const method = options.method ?? "gd";
  const lr = options.lr ?? 0.05;
  const steps = options.steps ?? 50;
  if (!(lr > 0)) throw new Error(`descend: expected a positive learning rate, found ${lr}`);
  if (!(Number.isInteger(steps) && steps >= 0)) throw new Error(`descend: expected steps to be a non-negative integer, found ${steps}`);
  let p: Point = [...(options.start ?? [-4, 2])] as Point;
  const path: Point[] = [[...p] as Point];
  const beta = options.momentum ?? 0.9;
  const b1 = options.beta1 ?? 0.9;
  const b2 = options.beta2 ?? 0.999;
  const eps = options.epsilon ?? 1e-8;
  let v: Point = [0, 0];
  let m: Point = [0, 0];
  let s: Point = [0, 0];
  for (let t = 1; t <= steps; t++) {
    const g = surface.grad(p);
    if (method === "gd") {
      p = [p[0] - lr * g[0], p[1] - lr * g[1]];
    } else if (method === "momentum") {
      v = [beta * v[0] + g[0], beta * v[1] + g[1]];
      p = [p[0] - lr * v[0], p[1] - lr * v[1]];
    } else if (method === "adam") {
      m = [b1 * m[0] + (1 - b1) * g[0], b1 * m[1] + (1 - b1) * g[1]];
      s = [b2 * s[0] + (1 - b2) * g[0] ** 2, b2 * s[1] + (1 - b2) * g[1] ** 2];
      const mHat = m.map((x) => x / (1 - b1 ** t));
      const sHat = s.map((x) => x / (1 - b2 ** t));
      p = [p[0] - (lr * mHat[0]) / (Math.sqrt(sHat[0]) + eps), p[1] - (lr * mHat[1]) / (Math.sqrt(sHat[1]) + eps)];
    } else {
      throw new Error(`descend: unknown method ${JSON.stringify(method)}; expected "gd", "momentum" or "adam"`);
    }
    path.push([...p] as Point);
  }
  return { method, lr, path, losses: path.map((q) => surface.f(q)) };
}

/**
 * The surface as a heatmap (log scale, so the valley floor shows) with each optimizer's path drawn
 * over it. Introduced in notebook 01-neural-networks.
 */
export function plotDescent(
  surface: Surface,
  paths: DescentPath | DescentPath[],
  options: { title?: string; xRange?: [number, number]; yRange?: [number, number]; resolution?: number; width?: number; height?: number } = {},
): Figure {
  const list = Array.isArray(paths) ? paths : [paths];
  const all = list.flatMap((d) => d.path);
  const span = (k: 0 | 1): [number, number] => {
    const vals = all.map((q) => q[k]).concat([0]);
    const lo = Math.min(...vals);
    const hi = Math.max(...vals);
    const pad = (hi - lo) * 0.1 || 1;
    return [lo - pad, hi + pad];
  };
  const xr = options.xRange ?? span(0);
  const yr = options.yRange ?? span(1);
  const n = options.resolution ?? 60;
  const xs = linspace(xr[0], xr[1], n);
  const ys = linspace(yr[0], yr[1], n);
  const z = ys.map((y) => xs.map((x) => Math.log10(surface.f([x, y]) + 1e-3)));
  const field = plot.heatmap(z, { x: xs, y: ys, colorscale: "Viridis" });
  const lines = plot.line(
    list.map((d) => ({ name: `${d.method} (lr ${d.lr})`, x: d.path.map((q) => q[0]), y: d.path.map((q) => q[1]), mode: "lines+markers" as const })),
  );
  const traces: Trace[] = [{ ...field.data[0], name: "log₁₀ f", showscale: false }, ...lines.data.map((t) => ({ ...t, marker: { size: 4 } }))];
  const layout = {
    ...lines.layout,
    title: { text: options.title ?? `Descent on ${surface.name}` },
    xaxis: { title: { text: "x" }, range: xr },
    yaxis: { title: { text: "y" }, range: yr },
    width: options.width ?? 640,
    height: options.height ?? 480,
  };
  const summary = list
    .map((d) => {
      const last = d.path[d.path.length - 1];
      return `${d.method} (lr ${d.lr}): ${d.path.length - 1} steps, f ${fmt(d.losses[0])} → ${fmt(d.losses[d.losses.length - 1])}, ends at (${fmt(last[0])}, ${fmt(last[1])})`;
    })
    .join("\n");
  return new Figure(traces, layout, summary);
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);
}
