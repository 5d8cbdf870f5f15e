/**
 * Classification metrics (§3.2, step 5): accuracy, the confusion matrix (a heatmap with the count
 * in each cell), per-class precision and recall (a table), and a grid of the misclassified images
 * captioned "true → predicted".
 */
import * as tf from "@tensorflow/tfjs";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display";
import type { Figure } from "../plot/figure";
import { heatmap } from "../plot/builders";
import { imageGrid, type ImageGrid } from "../plot/images";
import { Table } from "../plot/table";

/** Labels as integers: an array, a typed array, or a 1-D tensor (one-hot 2-D tensors are reduced by argmax). */
export type Labels = ArrayLike<number> | tf.Tensor;

function toInts(labels: Labels, what: string): Int32Array {
  if (labels instanceof tf.Tensor) {
    if (labels.rank === 2) return tf.tidy(() => tf.argMax(labels, 1).dataSync() as Int32Array);
    if (labels.rank !== 1) throw new Error(`${what}: expected labels of shape [n] or one-hot [n, k], found [${labels.shape.join(", ")}]`);
    return Int32Array.from(labels.dataSync());
  }
  if (labels === null || typeof labels !== "object" || typeof labels.length !== "number") {
    throw new Error(`${what}: expected an array of labels or a tensor, found ${labels === null ? "null" : typeof labels}`);
  }
  const out = Int32Array.from(labels);
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i]) || labels[i] < 0) throw new Error(`${what}: label ${labels[i]} at index ${i} is not a class index (an integer ≥ 0)`);
  }
  return out;
}

function pair(yTrue: Labels, yPred: Labels, what: string): [Int32Array, Int32Array] {
  const t = toInts(yTrue, what);
  const p = toInts(yPred, what);
  if (t.length !== p.length) throw new Error(`${what}: ${t.length} true labels and ${p.length} predictions; expected one prediction per example`);
  return [t, p];
}

/** The share of predictions equal to the true labels. Introduced in notebook 05. */
export function accuracy(yTrue: Labels, yPred: Labels): number {
  const [t, p] = pair(yTrue, yPred, "accuracy");
  if (t.length === 0) throw new Error("accuracy: no examples");
  let c = 0;
  for (let i = 0; i < t.length; i++) if (t[i] === p[i]) c++;
  return c / t.length;
}

/** Options of `confusionMatrix`. */
export interface ConfusionOptions {
  /** Names of the classes (default "0".."k−1"); their count is the number of classes. */
  classNames?: readonly string[];
  /** The number of classes when no names are given (default: the largest label + 1). */
  numClasses?: number;
}

/** Precision, recall and support of one class. */
export interface ClassScores {
  className: string;
  /** Of the examples predicted as this class, the share that are (NaN when none were predicted). */
  precision: number;
  /** Of the examples of this class, the share predicted as it (NaN when the class has none). */
  recall: number;
  f1: number;
  /** Examples of this class. */
  support: number;
}

/**
 * Counts of (true class, predicted class): rows are true classes, columns predictions. Renders as
 * a heatmap with the count in each cell, row 0 at the top. Introduced in notebook 05.
 */
export class ConfusionMatrix implements Displayable {
  constructor(
    /** counts[t][p]: examples of class t predicted as p. */
    readonly counts: number[][],
    readonly classNames: readonly string[],
  ) {}

  /** Examples counted. */
  get total(): number {
    return this.counts.reduce((s, r) => s + r.reduce((a, b) => a + b, 0), 0);
  }

  /** The diagonal's share of all examples. */
  get accuracy(): number {
    return this.counts.reduce((s, r, i) => s + r[i], 0) / this.total;
  }

  /** Precision, recall, F1 and support per class. */
  scores(): ClassScores[] {
    const k = this.counts.length;
    return this.classNames.map((className, c) => {
      const tp = this.counts[c][c];
      let predicted = 0;
      for (let t = 0; t < k; t++) predicted += this.counts[t][c];
      const support = this.counts[c].reduce((a, b) => a + b, 0);
      const precision = predicted ? tp / predicted : NaN;
      const recall = support ? tp / support : NaN;
      const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : NaN;
      return { className, precision, recall, f1, support };
    });
  }

  /** Per-class precision, recall and F1 as a table, with macro averages. */
  report(): Table {
    const s = this.scores();
    const mean = (xs: number[]) => {
      const f = xs.filter(Number.isFinite);
      return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
    };
    const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : "—");
    return new Table(
      [{ title: "class" }, { title: "precision", format: f3 }, { title: "recall", format: f3 }, { title: "f1", format: f3 }, { title: "support" }],
      [
        ...s.map((c): (string | number)[] => [c.className, c.precision, c.recall, c.f1, c.support]),
        ["macro avg", mean(s.map((c) => c.precision)), mean(s.map((c) => c.recall)), mean(s.map((c) => c.f1)), this.total],
      ],
      { title: "Per-class precision and recall", footer: [`accuracy ${(this.accuracy * 100).toFixed(2)}% of ${this.total} examples`] },
    );
  }

  /** The heatmap: rows true class (top to bottom), columns predicted class, counts in the cells. */
  figure(options: { title?: string; width?: number; height?: number } = {}): Figure {
    const names = [...this.classNames];
    const fig = heatmap(this.counts, {
      // Light for few, dark for many, as explicit stops: plotly's built-in "Blues" runs the other
      // way (dark blue at zero), which made every empty cell the darkest one, unlike the SVG fallback.
      x: names, y: names, showValues: true, matrixOrder: true, colorscale: [[0, "#f7fbff"], [0.5, "#6baed6"], [1, "#08306b"]],
      xLabel: "predicted", yLabel: "true", title: options.title ?? "Confusion matrix",
      width: options.width ?? 520, height: options.height ?? 480,
    });
    // Class names like "0".."9" would be read as numbers by plotly; keep them as categories.
    (fig.layout.xaxis as Record<string, unknown>).type = "category";
    (fig.layout.yaxis as Record<string, unknown>).type = "category";
    return fig;
  }

  /** The matrix as aligned text (rows true, columns predicted). */
  toText(): string {
    const names = this.classNames;
    const w = Math.max(4, ...names.map((n) => n.length), ...this.counts.flat().map((v) => String(v).length));
    const head = `${"true\\pred".padEnd(w + 1)} ${names.map((n) => n.padStart(w)).join(" ")}`;
    const rows = this.counts.map((r, i) => `${names[i].padEnd(w + 1)} ${r.map((v) => String(v).padStart(w)).join(" ")}`);
    return [`Confusion matrix (${this.total} examples, accuracy ${(this.accuracy * 100).toFixed(2)}%)`, head, ...rows].join("\n");
  }

  toString(): string {
    return this.toText();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { ...this.figure()[JUPYTER_DISPLAY](), "text/plain": this.toText() };
  }
}

/**
 * The confusion matrix of predictions against true labels: `confusionMatrix(test.labels, pred)`.
 * Introduced in notebook 05.
 */
export function confusionMatrix(yTrue: Labels, yPred: Labels, options: ConfusionOptions = {}): ConfusionMatrix {
  const [t, p] = pair(yTrue, yPred, "confusionMatrix");
  let k = options.classNames?.length ?? options.numClasses;
  let maxLabel = -1;
  for (let i = 0; i < t.length; i++) maxLabel = Math.max(maxLabel, t[i], p[i]);
  if (k === undefined) k = maxLabel + 1;
  if (!Number.isInteger(k) || k <= 0) throw new Error(`confusionMatrix: numClasses must be a positive integer, found ${k}`);
  if (maxLabel >= k) throw new Error(`confusionMatrix: label ${maxLabel} is outside 0..${k - 1} (${k} classes)`);
  const counts = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < t.length; i++) counts[t[i]][p[i]]++;
  const names = options.classNames ? [...options.classNames] : Array.from({ length: k }, (_, i) => String(i));
  return new ConfusionMatrix(counts, names);
}

/** Per-class precision, recall and F1 as a table. Introduced in notebook 05. */
export function classificationReport(yTrue: Labels, yPred: Labels, options: ConfusionOptions = {}): Table {
  return confusionMatrix(yTrue, yPred, options).report();
}

/** Images for `misclassified`: a data set from dl.data, or a tensor of images [n, h·w] or [n, h, w(, 1)]. */
export type ImageSource =
  | { images: Uint8Array; labels?: ArrayLike<number>; height: number; width: number; classNames?: readonly string[] }
  | tf.Tensor;

/** Options of `misclassified`. */
export interface MisclassifiedOptions {
  /** Labels (default: the data set's own). */
  labels?: Labels;
  /** Class names for the captions (default: the data set's, or the indices). */
  classNames?: readonly string[];
  /** At most this many images; default 20. */
  limit?: number;
  cols?: number;
  title?: string;
}

/**
 * A grid of the examples the model got wrong, each captioned "true → predicted", in data order.
 * Introduced in notebook 05.
 */
export function misclassified(images: ImageSource, predictions: Labels, options: MisclassifiedOptions = {}): ImageGrid {
  const isTensor = images instanceof tf.Tensor;
  const labelsIn = options.labels ?? (!isTensor ? images.labels : undefined);
  if (labelsIn === undefined) throw new Error("misclassified: no true labels; pass { labels } or a data set with labels");
  const [t, p] = pair(labelsIn, predictions, "misclassified");
  let height: number;
  let width: number;
  let n: number;
  if (isTensor) {
    const s = images.shape;
    n = s[0];
    if (s.length === 2) {
      height = width = Math.round(Math.sqrt(s[1]));
      if (height * width !== s[1]) throw new Error(`misclassified: flat images of ${s[1]} values are not square; pass images shaped [n, h, w]`);
    } else if (s.length === 3 || (s.length === 4 && s[3] === 1)) {
      [height, width] = [s[1], s[2]];
    } else throw new Error(`misclassified: expected images [n, h·w], [n, h, w] or [n, h, w, 1], found [${s.join(", ")}]`);
  } else {
    ({ height, width } = images);
    n = images.images.length / (height * width);
  }
  if (n !== t.length) throw new Error(`misclassified: ${n} images but ${t.length} labels and predictions; expected one each`);
  const names = options.classNames ?? (!isTensor ? images.classNames : undefined);
  const name = (c: number) => names?.[c] ?? String(c);
  const limit = options.limit ?? 20;
  const wrong: number[] = [];
  for (let i = 0; i < t.length && wrong.length < limit; i++) if (t[i] !== p[i]) wrong.push(i);
  let total = 0;
  for (let i = 0; i < t.length; i++) if (t[i] !== p[i]) total++;
  if (wrong.length === 0) throw new Error(`misclassified: all ${t.length} predictions are correct; nothing to show`);
  const size = height * width;
  const pics: ArrayLike<number>[] = isTensor
    ? (tf.tidy(() => tf.gather(images.reshape([n, size]), tf.tensor1d(wrong, "int32")).arraySync()) as number[][])
    : wrong.map((i) => images.images.subarray(i * size, (i + 1) * size));
  return imageGrid(pics, {
    height, width, cols: options.cols ?? 10,
    captions: wrong.map((i) => `${name(t[i])} → ${name(p[i])}`),
    title: options.title ?? `Misclassified: ${wrong.length} of ${total} errors (true → predicted)`,
  });
}
