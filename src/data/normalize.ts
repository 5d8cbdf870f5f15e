/**
 * Normalization (§3.2 step 1: "scale to a standard range to speed up training"), three ways, each
 * invertible: min-max to a range, z-score, and the article's `(x/255 − 0.5)/0.5`.
 *
 * Every scaler follows the same life cycle: `fit` on the training split only, then `transform`
 * the training and the test split with the SAME statistics (fitting on test data leaks it into
 * the model), and `inverse` to get back to the original units. Each takes rows of numbers
 * (`number[][]`, computed in plain JavaScript) or a tf.Tensor (computed with tf ops); both paths
 * apply the same formula and the tests check that they agree.
 */
import * as tf from "@tensorflow/tfjs";
import { DataError } from "./errors";

/** What a scaler accepts: rows × features as plain numbers, or a tensor whose last axis is the features. */
export type ScalerInput = number[][] | tf.Tensor;

/** The common interface of the three scalers. */
export interface Scaler {
  readonly name: string;
  /** True once `fit` has run (always true for the article's fixed formula). */
  readonly fitted: boolean;
  /** Learn the statistics from the training split. */
  fit(x: ScalerInput): this;
  /** Apply the fitted formula; a tensor in gives a new tensor out (the caller disposes it). */
  transform(x: number[][]): number[][];
  transform(x: tf.Tensor): tf.Tensor;
  /** Undo `transform`. */
  inverse(x: number[][]): number[][];
  inverse(x: tf.Tensor): tf.Tensor;
  /** `fit(x)` then `transform(x)`. */
  fitTransform(x: number[][]): number[][];
  fitTransform(x: tf.Tensor): tf.Tensor;
  /** The fitted statistics, one entry per feature (or one in all when `perFeature` is false). */
  readonly stats: Record<string, number[]>;
}

/** Options shared by min-max and z-score. */
export interface FitOptions {
  /**
   * One statistic per feature (column, or last tensor axis) when true, the default for tables;
   * one for all values when false (what images want: every pixel shares one scale).
   */
  perFeature?: boolean;
}

type Params = number[][]; // params[k][j]: statistic k for feature j

/**
 * The shared machinery: shape checks, the rows/tensor dispatch and per-feature broadcasting.
 * A subclass supplies its statistics (from numbers and from a tensor) and its formula both ways.
 */
abstract class FeatureScaler implements Scaler {
  abstract readonly name: string;
  protected abstract readonly statNames: string[];
  protected params: Params | null = null;
  protected features = 0;
  readonly perFeature: boolean;

  constructor(options: FitOptions = {}) {
    this.perFeature = options.perFeature ?? true;
  }

  /** The statistics of one feature's values (plain numbers). */
  protected abstract statsOf(values: number[]): number[];
  /** The statistics over `axes` of a tensor, one tensor per statistic. */
  protected abstract statsOfTensor(x: tf.Tensor, axes: number[]): tf.Tensor[];
  /** The formula, on one number with feature `j`'s statistics `p`. */
  protected abstract forward(v: number, p: number[]): number;
  protected abstract backward(v: number, p: number[]): number;
  /** The same formula with tf ops; `p` broadcast over the features axis. */
  protected abstract forwardTensor(x: tf.Tensor, p: tf.Tensor[]): tf.Tensor;
  protected abstract backwardTensor(x: tf.Tensor, p: tf.Tensor[]): tf.Tensor;

  get fitted(): boolean {
    return this.params !== null;
  }

  get stats(): Record<string, number[]> {
    const p = this.requireFitted("stats");
    return Object.fromEntries(this.statNames.map((n, k) => [n, p[k].slice()]));
  }

  fit(x: ScalerInput): this {
    if (x instanceof tf.Tensor) {
      const x2 = this.asMatrixTensor(x, "fit");
      this.features = x2.shape[1];
      const axes = this.perFeature ? [0] : [0, 1];
      const stats = tf.tidy(() => this.statsOfTensor(x2.toFloat(), axes));
      this.params = stats.map((t) => Array.from(t.dataSync()));
      tf.dispose(stats);
      if (x2 !== x) x2.dispose();
      const bad = this.params.flat().find((v) => !Number.isFinite(v));
      if (bad !== undefined) {
        this.params = null;
        throw new DataError("BAD_ARGUMENT", `${this.name}.fit: the tensor holds NaN or Infinity (statistic ${bad}); clean the data first`);
      }
    } else {
      const features = this.checkRows(x, "fit");
      this.features = features;
      const columns: number[][] = this.perFeature ? Array.from({ length: features }, () => []) : [[]];
      x.forEach((row, i) =>
        row.forEach((v, j) => {
          if (!Number.isFinite(v)) {
            throw new DataError("BAD_ARGUMENT", `${this.name}.fit: row ${i} column ${j} is ${v}; drop non-finite rows first (dl.data.dropNonFinite)`);
          }
          columns[this.perFeature ? j : 0].push(v);
        }),
      );
      if (x.length === 0) throw new DataError("BAD_ARGUMENT", `${this.name}.fit: expected at least one row, found none`);
      const perColumn = columns.map((c) => this.statsOf(c));
      this.params = this.statNames.map((_, k) => perColumn.map((s) => s[k]));
    }
    return this;
  }

  transform(x: number[][]): number[][];
  transform(x: tf.Tensor): tf.Tensor;
  transform(x: ScalerInput): ScalerInput {
    return this.apply(x, "transform");
  }

  inverse(x: number[][]): number[][];
  inverse(x: tf.Tensor): tf.Tensor;
  inverse(x: ScalerInput): ScalerInput {
    return this.apply(x, "inverse");
  }

  fitTransform(x: number[][]): number[][];
  fitTransform(x: tf.Tensor): tf.Tensor;
  fitTransform(x: ScalerInput): ScalerInput {
    this.fit(x);
    return this.apply(x, "transform");
  }

  toString(): string {
    if (!this.params) return `${this.name} (not fitted)`;
    const fmt = (a: number[]) => (a.length > 6 ? `[${a.slice(0, 6).map((v) => +v.toPrecision(4)).join(", ")}, … ${a.length} in all]` : `[${a.map((v) => +v.toPrecision(4)).join(", ")}]`);
    return `${this.name}: ${this.statNames.map((n, k) => `${n} ${fmt(this.params![k])}`).join(", ")}`;
  }

  private apply(x: ScalerInput, how: "transform" | "inverse"): ScalerInput {
    const p = this.requireFitted(how);
    const f = how === "transform" ? this.forward.bind(this) : this.backward.bind(this);
    if (x instanceof tf.Tensor) {
      const features = x.rank === 1 ? 1 : x.shape[x.rank - 1];
      this.checkFeatures(features, `shape [${x.shape.join(", ")}]`, how);
      return tf.tidy(() => {
        const pt = p.map((vals) => tf.tensor1d(vals, "float32"));
        const xf = x.toFloat();
        return how === "transform" ? this.forwardTensor(xf, pt) : this.backwardTensor(xf, pt);
      });
    }
    this.checkRows(x, how);
    const pick = (j: number) => p.map((col) => col[this.perFeature ? j : 0]);
    const perCol = Array.from({ length: this.features }, (_, j) => pick(j));
    return x.map((row) => row.map((v, j) => f(v, perCol[j])));
  }

  private requireFitted(what: string): Params {
    if (!this.params) {
      throw new DataError("BAD_ARGUMENT", `${this.name}.${what}: not fitted yet; call fit(trainingData) first, then transform the training and the test split`);
    }
    return this.params;
  }

  private checkFeatures(found: number, what: string, how: string): void {
    if (this.perFeature && this.params && found !== this.features) {
      throw new DataError("BAD_ARGUMENT", `${this.name}.${how}: fitted on ${this.features} features, found ${found} (${what})`);
    }
  }

  private checkRows(x: number[][], how: string): number {
    if (!Array.isArray(x)) throw new DataError("BAD_ARGUMENT", `${this.name}.${how}: expected rows (number[][]) or a tf.Tensor, found ${typeof x}`);
    const width = x.length ? x[0].length : this.features;
    x.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== width) {
        throw new DataError("BAD_ARGUMENT", `${this.name}.${how}: row ${i} has ${Array.isArray(row) ? row.length : "no"} values, expected ${width} like row 0`);
      }
    });
    if (how !== "fit") this.checkFeatures(width, `${x.length} rows of ${width}`, how);
    return width;
  }

  /** Rank 1 is n samples of one feature; rank ≥ 2 puts the features on the last axis. */
  private asMatrixTensor(x: tf.Tensor, how: string): tf.Tensor2D {
    if (x.rank === 0) throw new DataError("BAD_ARGUMENT", `${this.name}.${how}: expected a tensor of rank ≥ 1, found a scalar`);
    const f = x.rank === 1 ? 1 : x.shape[x.rank - 1];
    return x.rank === 2 ? (x as tf.Tensor2D) : x.reshape([-1, f]);
  }
}

/** The per-feature statistics broadcast against a tensor whose features are on the last axis. */
function bcast(p: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return p.size === 1 ? p.reshape([]) : p.reshape([...Array(Math.max(x.rank - 1, 0)).fill(1), p.size]);
}

/** Options of `minMaxScaler`. */
export interface MinMaxOptions extends FitOptions {
  /** The target range; default [0, 1]. */
  range?: [number, number];
}

class MinMaxScaler extends FeatureScaler {
  readonly name = "minMaxScaler";
  protected readonly statNames = ["min", "max"];
  readonly range: [number, number];
  constructor(options: MinMaxOptions = {}) {
    super(options);
    this.range = options.range ?? [0, 1];
    const [lo, hi] = this.range;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) {
      throw new DataError("BAD_ARGUMENT", `minMaxScaler: range must be [lo, hi] with lo < hi, found [${lo}, ${hi}]`);
    }
  }
  protected statsOf(values: number[]): number[] {
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return [min, max];
  }
  protected statsOfTensor(x: tf.Tensor, axes: number[]): tf.Tensor[] {
    return [x.min(axes), x.max(axes)];
  }
  // A constant feature (max = min) maps to `lo` and back: its span counts as 1.
  protected forward(v: number, [min, max]: number[]): number {
    const [lo, hi] = this.range;
    return ((v - min) / (max - min || 1)) * (hi - lo) + lo;
  }
  protected backward(v: number, [min, max]: number[]): number {
    const [lo, hi] = this.range;
    return ((v - lo) / (hi - lo)) * (max - min || 1) + min;
  }
  protected forwardTensor(x: tf.Tensor, [min, max]: tf.Tensor[]): tf.Tensor {
    const [lo, hi] = this.range;
    const span = spanOf(min, max);
    return x.sub(bcast(min, x)).div(bcast(span, x)).mul(hi - lo).add(lo);
  }
  protected backwardTensor(x: tf.Tensor, [min, max]: tf.Tensor[]): tf.Tensor {
    const [lo, hi] = this.range;
    const span = spanOf(min, max);
    return x.sub(lo).div(hi - lo).mul(bcast(span, x)).add(bcast(min, x));
  }
}

function spanOf(min: tf.Tensor, max: tf.Tensor): tf.Tensor {
  const span = max.sub(min);
  return tf.where(span.equal(0), tf.onesLike(span), span);
}

class ZScoreScaler extends FeatureScaler {
  readonly name = "zScoreScaler";
  protected readonly statNames = ["mean", "std"];
  // Population standard deviation (divide by n), as scikit-learn's StandardScaler.
  protected statsOf(values: number[]): number[] {
    let sum = 0;
    for (const v of values) sum += v;
    const mean = sum / values.length;
    let ss = 0;
    for (const v of values) ss += (v - mean) ** 2;
    return [mean, Math.sqrt(ss / values.length)];
  }
  /**
   * Mean and std of a rows × features tensor, in two passes (mean, then squared deviations) over
   * blocks of rows. Not `tf.moments`: the cpu and wasm backends sum in float32
   * one value after another, and past a few million values the running sum is so large that each
   * new value is mostly rounded away (the 60,000 MNIST training images gave a pixel std of 73.8
   * instead of 78.6). Here tf sums only short runs (a column of a block of rows, or one row), so
   * every float32 partial sum stays small, and float64 adds the partial sums up.
   */
  protected statsOfTensor(x: tf.Tensor, axes: number[]): tf.Tensor[] {
    const [n, f] = x.shape as [number, number];
    const perFeature = axes.length === 1;
    const width = perFeature ? f : 1;
    const rowsPerBlock = Math.max(1, Math.floor(65536 / Math.max(1, f)));
    const blockSums = (of: (block: tf.Tensor) => tf.Tensor): Float64Array => {
      const total = new Float64Array(width);
      for (let start = 0; start < n; start += rowsPerBlock) {
        const part = tf.tidy(() => {
          const block = of(x.slice([start, 0], [Math.min(rowsPerBlock, n - start), f]));
          // Per feature: each column of the block; one for all: each row (f values) of the block.
          return perFeature ? block.sum(0) : block.sum(1);
        });
        const values = part.dataSync();
        part.dispose();
        if (perFeature) for (let j = 0; j < width; j++) total[j] += values[j];
        else for (let r = 0; r < values.length; r++) total[0] += values[r];
      }
      return total;
    };
    const count = perFeature ? n : n * f;
    const mean = Array.from(blockSums((b) => b), (s) => s / count);
    const meanT = tf.tensor1d(mean, "float32");
    const centred = perFeature ? meanT : meanT.reshape([]);
    const squares = blockSums((b) => b.sub(centred).square());
    meanT.dispose();
    return [tf.tensor1d(mean, "float32"), tf.tensor1d(Array.from(squares, (s) => Math.sqrt(s / count)), "float32")];
  }
  // A constant feature (std = 0) is only centred: its std counts as 1.
  protected forward(v: number, [mean, std]: number[]): number {
    return (v - mean) / (std || 1);
  }
  protected backward(v: number, [mean, std]: number[]): number {
    return v * (std || 1) + mean;
  }
  protected forwardTensor(x: tf.Tensor, [mean, std]: tf.Tensor[]): tf.Tensor {
    return x.sub(bcast(mean, x)).div(bcast(nonZero(std), x));
  }
  protected backwardTensor(x: tf.Tensor, [mean, std]: tf.Tensor[]): tf.Tensor {
    return x.mul(bcast(nonZero(std), x)).add(bcast(mean, x));
  }
}

function nonZero(t: tf.Tensor): tf.Tensor {
  return tf.where(t.equal(0), tf.onesLike(t), t);
}

/** The article's pixel normalization of one value: 0..255 to −1..1. Introduced in notebook 04. */
export function articleNormalize(v: number): number {
  return (v / 255 - 0.5) / 0.5;
}

/** The inverse of `articleNormalize`: −1..1 back to 0..255. Introduced in notebook 04. */
export function articleDenormalize(v: number): number {
  return (v * 0.5 + 0.5) * 255;
}

class ArticleNormalizer implements Scaler {
  readonly name = "articleNormalizer";
  readonly fitted = true;
  readonly stats = {};
  /** Nothing to learn: the formula is fixed. */
  fit(_x: ScalerInput): this {
    return this;
  }
  transform(x: number[][]): number[][];
  transform(x: tf.Tensor): tf.Tensor;
  transform(x: ScalerInput): ScalerInput {
    if (x instanceof tf.Tensor) return tf.tidy(() => x.toFloat().div(255).sub(0.5).div(0.5));
    return x.map((row) => row.map(articleNormalize));
  }
  inverse(x: number[][]): number[][];
  inverse(x: tf.Tensor): tf.Tensor;
  inverse(x: ScalerInput): ScalerInput {
    if (x instanceof tf.Tensor) return tf.tidy(() => x.toFloat().mul(0.5).add(0.5).mul(255));
    return x.map((row) => row.map(articleDenormalize));
  }
  fitTransform(x: number[][]): number[][];
  fitTransform(x: tf.Tensor): tf.Tensor;
  fitTransform(x: ScalerInput): ScalerInput {
    return x instanceof tf.Tensor ? this.transform(x) : this.transform(x);
  }
  toString(): string {
    return "articleNormalizer: (x/255 − 0.5)/0.5, 0..255 → −1..1";
  }
}

/** Min-max scaling to `range` (default [0, 1]), fitted on the training split. Introduced in notebook 04. */
export function minMaxScaler(options: MinMaxOptions = {}): Scaler & { readonly range: [number, number] } {
  return new MinMaxScaler(options);
}

/** Z-score standardization (x − mean)/std with statistics from the training split only. Introduced in notebook 04. */
export function zScoreScaler(options: FitOptions = {}): Scaler {
  return new ZScoreScaler(options);
}

/** The article's fixed pixel normalization (x/255 − 0.5)/0.5, 0..255 → −1..1. Introduced in notebook 04. */
export function articleNormalizer(): Scaler {
  return new ArticleNormalizer();
}
