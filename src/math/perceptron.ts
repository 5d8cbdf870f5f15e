/**
 * The article's worked example (§4.3): a single-layer perceptron with a sigmoid output and the
 * loss L = ½(y − ŷ)², stepped through by hand, then trained on a small 2-D dataset with a
 * decision boundary that redraws itself in place.
 *
 *   z = w·x + b;  ŷ = σ(z);  L = ½(y − ŷ)²;  δ = (ŷ − y)·σ′(z);  ∂L/∂w = δ·x;  ∂L/∂b = δ;
 *   w ← w − lr·∂L/∂w;  b ← b − lr·δ.
 *
 * `trace` computes this from scratch in float64; `traceTf` computes the same steps with
 * TensorFlow.js, taking ∂L/∂w and ∂L/∂b from `tf.grads`, and the tests check they agree.
 *
 * Introduced in notebook 03-perceptron.
 */
import * as tf from "@tensorflow/tfjs";
import { JUPYTER_DISPLAY, display, type Displayable, type MimeBundle } from "../display";
import * as plot from "../plot";
import type { Figure } from "../plot";
import { sigmoid } from "./activations";
import { rng } from "./random";
import { Table, fmtNum } from "./table";

/** The inputs of the worked example. */
export interface TraceOptions {
  /** One example's features, e.g. [x₁, x₂]. */
  x: number[];
  /** Its label (0 or 1 in the article; any number in [0, 1] works). */
  y: number;
  /** Initial weights, one per feature. */
  w: number[];
  /** Initial bias. */
  b: number;
  /** Learning rate. */
  lr: number;
  /** Number of updates. */
  steps: number;
}

/** Every quantity of one step, computed from the weights before that step's update. */
export interface TraceStep {
  step: number;
  w: number[];
  b: number;
  z: number;
  yHat: number;
  loss: number;
  /** σ′(z) = ŷ(1 − ŷ). */
  sigmaPrime: number;
  delta: number;
  /** ∂L/∂w = δ·x. */
  dw: number[];
  /** ∂L/∂b = δ. */
  db: number;
}

/** The worked example's table: every quantity at every step; renders itself as text and HTML. Introduced in notebook 03-perceptron. */
export class PerceptronTrace implements Displayable {
  constructor(
    readonly options: TraceOptions,
    readonly steps: TraceStep[],
    /** Weights, bias and loss after the last update. */
    readonly final: { w: number[]; b: number; loss: number },
    /** Where the gradients came from, in words. */
    readonly source: string,
  ) {}

  /** The table behind the text and HTML. */
  table(): Table {
    const n = this.options.x.length;
    const sub = (i: number): string => String(i + 1).replace(/\d/g, (d) => "₀₁₂₃₄₅₆₇₈₉"[Number(d)]);
    const columns = [
      "step",
      ...Array.from({ length: n }, (_, i) => `w${sub(i)}`),
      "b",
      "z",
      "ŷ",
      "L",
      "σ′(z)",
      "δ",
      ...Array.from({ length: n }, (_, i) => `∂L/∂w${sub(i)}`),
      "∂L/∂b",
    ];
    const rows = this.steps.map((s) => [s.step, ...s.w, s.b, s.z, s.yHat, s.loss, s.sigmaPrime, s.delta, ...s.dw, s.db]);
    const o = this.options;
    return new Table(columns, rows, {
      title: `Perceptron, x = [${o.x.map((v) => fmtNum(v)).join(", ")}], y = ${fmtNum(o.y)}, lr = ${fmtNum(o.lr)} (${this.source})`,
      note: `after step ${this.steps.length}: w = [${this.final.w.map((v) => fmtNum(v)).join(", ")}], b = ${fmtNum(this.final.b)}, L = ${fmtNum(this.final.loss)}`,
    });
  }

  toText(): string {
    return this.table().toText();
  }

  toHtml(): string {
    return this.table().toHtml();
  }

  /** The same text as its `text/plain` (so `String(x)` and a template literal print it). */
  toString(): string {
    return this.toText();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": this.toHtml(), "text/plain": this.toText() };
  }
}

function check(o: TraceOptions, where: string): void {
  if (!Array.isArray(o.x) || o.x.length === 0) throw new Error(`${where}: expected x to be a non-empty number[], found ${JSON.stringify(o.x)}`);
  if (!Array.isArray(o.w) || o.w.length !== o.x.length) {
    throw new Error(`${where}: x has ${o.x.length} features but w has ${Array.isArray(o.w) ? o.w.length : typeof o.w} weights; expected one weight per feature`);
  }
  for (const [name, v] of [["y", o.y], ["b", o.b], ["lr", o.lr], ...o.x.map((v, i) => [`x[${i}]`, v]), ...o.w.map((v, i) => [`w[${i}]`, v])] as [string, number][]) {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${where}: expected ${name} to be a finite number, found ${v}`);
  }
  if (!(Number.isInteger(o.steps) && o.steps >= 1)) throw new Error(`${where}: expected steps to be a positive integer, found ${o.steps}`);
}

/** One forward and backward pass of the article's perceptron, in float64. */
function stepScratch(x: number[], y: number, w: number[], b: number): Omit<TraceStep, "step"> {
  const z = w.reduce((s, wi, i) => s + wi * x[i], b);
  const yHat = sigmoid.f(z);
  const loss = 0.5 * (y - yHat) ** 2;
  const sigmaPrime = sigmoid.df(z);
  const delta = (yHat - y) * sigmaPrime;
  return { w: [...w], b, z, yHat, loss, sigmaPrime, delta, dw: x.map((xi) => delta * xi), db: delta };
}

/**
 * Run the article's perceptron updates from scratch and tabulate every quantity at every step.
 * Introduced in notebook 03-perceptron.
 */
export function trace(options: TraceOptions): PerceptronTrace {
  check(options, "perceptron.trace");
  const { x, y, lr } = options;
  let w = [...options.w];
  let b = options.b;
  const steps: TraceStep[] = [];
  for (let t = 1; t <= options.steps; t++) {
    const s = stepScratch(x, y, w, b);
    steps.push({ step: t, ...s });
    w = w.map((wi, i) => wi - lr * s.dw[i]);
    b = b - lr * s.db;
  }
  const last = stepScratch(x, y, w, b);
  return new PerceptronTrace(options, steps, { w, b, loss: last.loss }, "from scratch, float64");
}

/**
 * The same steps with TensorFlow.js: ŷ and L from tensors, ∂L/∂w and ∂L/∂b from `tf.grads`
 * (float32). Introduced in notebook 03-perceptron.
 */
export function traceTf(options: TraceOptions): PerceptronTrace {
  check(options, "perceptron.traceTf");
  const { y, lr } = options;
  let w = [...options.w];
  let b = options.b;
  const steps: TraceStep[] = [];
  const xT = tf.tensor1d(options.x);
  const forward = (wT: tf.Tensor, bT: tf.Tensor): { z: tf.Scalar; yHat: tf.Scalar; loss: tf.Scalar } => {
    const z = tf.add(tf.sum(tf.mul(wT, xT)), bT) as tf.Scalar;
    const yHat = tf.sigmoid(z);
    const loss = tf.mul(0.5, tf.square(tf.sub(y, yHat))) as tf.Scalar;
    return { z, yHat, loss };
  };
  const grads = tf.grads((wT: tf.Tensor, bT: tf.Tensor) => forward(wT, bT).loss);
  try {
    for (let t = 0; t <= options.steps; t++) {
      const row = tf.tidy(() => {
        const wT = tf.tensor1d(w);
        const bT = tf.scalar(b);
        const { z, yHat, loss } = forward(wT, bT);
        const [dw, db] = grads([wT, bT]);
        const yh = yHat.dataSync()[0];
        return {
          w: [...w],
          b,
          z: z.dataSync()[0],
          yHat: yh,
          loss: loss.dataSync()[0],
          sigmaPrime: yh * (1 - yh),
          // δ = ∂L/∂z = ∂L/∂b, read off tf's gradient of the bias.
          delta: db.dataSync()[0],
          dw: Array.from(dw.dataSync()),
          db: db.dataSync()[0],
        };
      });
      if (t === options.steps) {
        return new PerceptronTrace(options, steps, { w, b, loss: row.loss }, "TensorFlow.js, tf.grads, float32");
      }
      steps.push({ step: t + 1, ...row });
      w = w.map((wi, i) => wi - lr * row.dw[i]);
      b = b - lr * row.db;
    }
  } finally {
    xT.dispose();
  }
  throw new Error("unreachable");
}

/** A labelled 2-D dataset: points [x₁, x₂] with labels 0 or 1. */
export interface ToyData {
  points: number[][];
  labels: number[];
  kind: DatasetKind;
}

/** "separable": two blobs with a gap; "overlapping": two blobs that mix; "xor": four blobs no line separates. */
export type DatasetKind = "separable" | "overlapping" | "xor";

/**
 * A seeded 2-D dataset for the perceptron: two Gaussian blobs (separable or overlapping) or XOR.
 * Introduced in notebook 03-perceptron.
 */
export function dataset(options: { kind?: DatasetKind; n?: number; seed?: number } = {}): ToyData {
  const kind = options.kind ?? "separable";
  const n = options.n ?? 100;
  if (!(Number.isInteger(n) && n >= 2)) throw new Error(`perceptron.dataset: expected n to be an integer ≥ 2, found ${n}`);
  const r = rng(options.seed ?? 0);
  const points: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    let p: number[];
    if (kind === "xor") {
      // Quadrants (+,+) and (−,−) are class 0, (+,−) and (−,+) class 1.
      const sx = r.uniform() < 0.5 ? -1 : 1;
      const sy = label === 0 ? sx : -sx;
      p = [r.normal(sx, 0.35), r.normal(sy, 0.35)];
    } else if (kind === "overlapping") {
      const c = label === 1 ? 0.5 : -0.5;
      p = [r.normal(c, 0.8), r.normal(c, 0.8)];
    } else if (kind === "separable") {
      // Blobs around (±1, ±1), resampled until each point lies at least 0.25 on its side of
      // the line x₁ + x₂ = 0, so a perceptron can classify all of them.
      const c = label === 1 ? 1 : -1;
      do p = [r.normal(c, 0.5), r.normal(c, 0.5)];
      while ((label === 1 ? 1 : -1) * (p[0] + p[1]) < 0.25);
    } else {
      throw new Error(`perceptron.dataset: unknown kind ${JSON.stringify(kind)}; expected "separable", "overlapping" or "xor"`);
    }
    points.push(p);
    labels.push(label);
  }
  return { points, labels, kind };
}

/** One epoch of training history. */
export interface EpochRecord {
  epoch: number;
  /** Mean of ½(y − ŷ)² over the dataset, before this epoch's update. */
  loss: number;
  /** Fraction classified correctly (ŷ ≥ 0.5 means class 1), before the update. */
  accuracy: number;
}

/** A trained perceptron: weights, bias, history, predictions and its decision boundary. Introduced in notebook 03-perceptron. */
export class PerceptronModel implements Displayable {
  constructor(
    public w: number[],
    public b: number,
    readonly history: EpochRecord[] = [],
  ) {}

  /** P(class 1) = σ(w·x + b) for each point. */
  predict(points: number[][]): number[] {
    return points.map((p) => {
      if (p.length !== this.w.length) throw new Error(`perceptron: expected points with ${this.w.length} features, found ${p.length}`);
      return sigmoid.f(p.reduce((s, v, i) => s + v * this.w[i], this.b));
    });
  }

  /** Mean loss ½(y − ŷ)² and accuracy on a dataset. */
  evaluate(data: ToyData): { loss: number; accuracy: number } {
    const p = this.predict(data.points);
    const loss = p.reduce((s, yh, i) => s + 0.5 * (data.labels[i] - yh) ** 2, 0) / p.length;
    const accuracy = p.filter((yh, i) => (yh >= 0.5 ? 1 : 0) === data.labels[i]).length / p.length;
    return { loss, accuracy };
  }

  /** The decision boundary over the data (a heatmap of P(class 1) under the points). */
  boundary(data: ToyData, options: { title?: string; resolution?: number } = {}): Figure {
    const last = this.history[this.history.length - 1];
    const title = options.title ?? (last ? `epoch ${last.epoch}, loss ${fmtNum(last.loss, 4)}, accuracy ${fmtNum(last.accuracy, 3)}` : "perceptron");
    return plot.decisionBoundary({ predict: (pts) => this.predict(pts), points: data.points, labels: data.labels, title, resolution: options.resolution });
  }

  toString(): string {
    return `Perceptron(w = [${this.w.map((v) => fmtNum(v, 4)).join(", ")}], b = ${fmtNum(this.b, 4)})`;
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/plain": this.toString() };
  }
}

/** Options for training a perceptron on a dataset. */
export interface TrainOptions {
  data: ToyData;
  /** Learning rate (default 1). */
  lr?: number;
  /** Full-batch gradient steps (default 100). */
  epochs?: number;
  /** Initial weights (default zeros, as the article allows) and bias (default 0). */
  w?: number[];
  b?: number;
  /** Called after each epoch's record is made, before the update. */
  onEpoch?: (record: EpochRecord, model: PerceptronModel) => void;
}

function checkData(data: ToyData, where: string): void {
  if (!data || !Array.isArray(data.points) || !Array.isArray(data.labels)) {
    throw new Error(`${where}: expected data = { points, labels } (see perceptron.dataset), found ${typeof data}`);
  }
  if (data.points.length !== data.labels.length || data.points.length === 0) {
    throw new Error(`${where}: ${data.points.length} points and ${data.labels.length} labels; expected equal, non-zero counts`);
  }
}

/** One full-batch gradient-descent epoch with the article's δ, averaged over the examples. */
function epochStep(model: PerceptronModel, data: ToyData, lr: number): { loss: number; accuracy: number } {
  const m = data.points.length;
  const dw = model.w.map(() => 0);
  let db = 0;
  let loss = 0;
  let correct = 0;
  data.points.forEach((x, i) => {
    const s = stepScratch(x, data.labels[i], model.w, model.b);
    loss += s.loss;
    if ((s.yHat >= 0.5 ? 1 : 0) === data.labels[i]) correct++;
    s.dw.forEach((g, j) => (dw[j] += g / m));
    db += s.db / m;
  });
  model.w = model.w.map((wi, j) => wi - lr * dw[j]);
  model.b -= lr * db;
  return { loss: loss / m, accuracy: correct / m };
}

function initialModel(options: TrainOptions): PerceptronModel {
  const dims = options.data.points[0].length;
  if (options.w && options.w.length !== dims) {
    throw new Error(`perceptron: the points have ${dims} features but w has ${options.w.length} weights`);
  }
  return new PerceptronModel(options.w ? [...options.w] : new Array(dims).fill(0), options.b ?? 0);
}

/** Run `epochs` more epochs on `model`, numbering them after its history. */
function fit(model: PerceptronModel, options: TrainOptions, epochs: number): void {
  const lr = options.lr ?? 1;
  for (let k = 0; k < epochs; k++) {
    const before = new PerceptronModel([...model.w], model.b);
    const r = epochStep(model, options.data, lr);
    const record = { epoch: model.history.length + 1, loss: r.loss, accuracy: r.accuracy };
    model.history.push(record);
    options.onEpoch?.(record, before);
  }
}

/**
 * Train the article's perceptron by full-batch gradient descent on the mean of ½(y − ŷ)².
 * Introduced in notebook 03-perceptron.
 */
export function train(options: TrainOptions): PerceptronModel {
  checkData(options.data, "perceptron.train");
  const model = initialModel(options);
  fit(model, options, options.epochs ?? 100);
  return model;
}

/**
 * Train like `train`, showing the decision boundary in one display that redraws itself every
 * `every` epochs (in a notebook, in place; in a script, its text summary is printed each time).
 * Introduced in notebook 03-perceptron.
 */
export async function trainLive(options: TrainOptions & { every?: number; id?: string }): Promise<PerceptronModel> {
  checkData(options.data, "perceptron.trainLive");
  const epochs = options.epochs ?? 100;
  const every = options.every ?? Math.max(1, Math.round(epochs / 10));
  if (!(Number.isInteger(every) && every >= 1)) throw new Error(`perceptron.trainLive: expected every to be a positive integer, found ${every}`);
  const model = initialModel(options);
  const handle = display(model.boundary(options.data, { title: "epoch 0" }), { id: options.id ?? true });
  while (model.history.length < epochs) {
    fit(model, options, Math.min(every, epochs - model.history.length));
    handle.update(model.boundary(options.data));
    // Let the kernel send the update before the next chunk of (synchronous) work.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return model;
}
