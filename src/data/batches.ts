/**
 * Splits and mini-batches: a train/validation split (optionally stratified), a batch iterator that
 * visits each example exactly once per epoch, batches of tensors, and one-hot labels.
 */
import * as tf from "@tensorflow/tfjs";
import { DataError, check } from "./errors";
import { mulberry32, permutation, shuffle } from "./rng";

/** Options of `batchIndices`. */
export interface BatchOptions {
  /** Shuffle the order (default true). */
  shuffle?: boolean;
  /** The seed of the order; without one a random seed is drawn once per iterator. */
  seed?: number;
  /** Mixed into the seed so each epoch gets a fresh order from one seed (default 0). */
  epoch?: number;
  /** Skip the last, smaller batch (default false: it is kept). */
  dropLast?: boolean;
}

/** The seed of epoch `epoch` derived from a base seed (golden-ratio step, so nearby epochs differ). */
function epochSeed(seed: number, epoch: number): number {
  return (seed + Math.imul(epoch, 0x9e3779b9)) >>> 0;
}

/**
 * One epoch of mini-batch indices. Iterating it twice gives the same batches; `length` is the
 * number of batches. Introduced in notebook 05.
 */
export class BatchIndices implements Iterable<Int32Array> {
  readonly length: number;
  /** The seed actually used (drawn at random when none was given). */
  readonly seed: number | undefined;
  private readonly order: Int32Array;

  constructor(readonly n: number, readonly batchSize: number, readonly options: BatchOptions = {}) {
    check(Number.isInteger(n) && n >= 0, `batchIndices: n must be a non-negative integer, found ${n}`);
    check(Number.isInteger(batchSize) && batchSize > 0, `batchIndices: batchSize must be a positive integer, found ${batchSize}`);
    const doShuffle = options.shuffle ?? true;
    this.seed = doShuffle ? (options.seed ?? Math.floor(Math.random() * 2 ** 32)) : undefined;
    this.order = doShuffle ? permutation(n, epochSeed(this.seed!, options.epoch ?? 0)) : Int32Array.from({ length: n }, (_, i) => i);
    this.length = options.dropLast ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);
  }

  *[Symbol.iterator](): Iterator<Int32Array> {
    for (let b = 0; b < this.length; b++) {
      yield this.order.slice(b * this.batchSize, Math.min((b + 1) * this.batchSize, this.n));
    }
  }
}

/**
 * Mini-batches of indices 0..n−1 that visit each example exactly once per epoch; the last batch
 * may be smaller. Introduced in notebook 05.
 */
export function batchIndices(n: number, batchSize: number, options: BatchOptions = {}): BatchIndices {
  return new BatchIndices(n, batchSize, options);
}

/** One batch of tensors from `batches`; the caller disposes it. */
export interface Batch {
  x: tf.Tensor;
  y?: tf.Tensor;
  indices: Int32Array;
  /** Dispose `x` and `y`. */
  dispose(): void;
}

/** Options of `batches`: those of `batchIndices` plus an augmenter applied to each x batch. */
export interface TensorBatchOptions extends BatchOptions {
  augment?: (x: tf.Tensor) => tf.Tensor;
}

/**
 * Batches of tensors gathered from `data.x` (and `data.y`), augmented on the fly if asked. Each
 * yielded batch is new: dispose it (or work inside tf.tidy). Introduced in notebook 05.
 */
export function* batches(data: { x: tf.Tensor; y?: tf.Tensor }, batchSize: number, options: TensorBatchOptions = {}): Generator<Batch> {
  const n = data.x.shape[0];
  if (data.y && data.y.shape[0] !== n) {
    throw new DataError("BAD_SHAPE", `batches: x has ${n} examples (shape [${data.x.shape.join(", ")}]) but y has ${data.y.shape[0]} (shape [${data.y.shape.join(", ")}])`);
  }
  for (const indices of batchIndices(n, batchSize, options)) {
    const batch = tf.tidy(() => {
      const idx = tf.tensor1d(indices, "int32");
      const xb = tf.gather(data.x, idx);
      return { x: options.augment ? options.augment(xb) : xb, y: data.y ? tf.gather(data.y, idx) : undefined };
    });
    yield { ...batch, indices, dispose: () => tf.dispose([batch.x, ...(batch.y ? [batch.y] : [])]) };
  }
}

/** Options of `trainValSplit`. */
export interface SplitOptions {
  /** The share of examples held out for validation, in [0, 1); default 0.1. */
  valFraction?: number;
  /** Default 0: the same split every run. */
  seed?: number;
  /** Keep each class's share the same in both parts (needs labels). */
  stratify?: boolean;
}

/**
 * Split example indices into training and validation parts (each sorted ascending); with
 * `stratify`, every class keeps its share in both. Introduced in notebook 05.
 */
export function trainValSplit(nOrLabels: number | ArrayLike<number>, options: SplitOptions = {}): { train: Int32Array; val: Int32Array } {
  const valFraction = options.valFraction ?? 0.1;
  const seed = options.seed ?? 0;
  check(Number.isFinite(valFraction) && valFraction >= 0 && valFraction < 1, `trainValSplit: valFraction must be in [0, 1), found ${valFraction}`);
  const labels = typeof nOrLabels === "number" ? undefined : nOrLabels;
  const n = typeof nOrLabels === "number" ? nOrLabels : nOrLabels.length;
  check(Number.isInteger(n) && n >= 0, `trainValSplit: n must be a non-negative integer, found ${n}`);
  const inVal = new Uint8Array(n);
  const nVal = Math.round(n * valFraction);
  if (options.stratify) {
    if (!labels) throw new DataError("BAD_ARGUMENT", `trainValSplit: stratify needs the labels, found only a count (${n}); pass the labels array instead`);
    const byClass = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const c = labels[i];
      if (!byClass.has(c)) byClass.set(c, []);
      byClass.get(c)!.push(i);
    }
    const classes = [...byClass.keys()].sort((a, b) => a - b);
    // Largest remainder: each class gets floor(count × f), then the leftover slots go to the
    // classes with the largest fractional parts, so the total is exactly round(n × f).
    const exact = classes.map((c) => byClass.get(c)!.length * valFraction);
    const take = exact.map(Math.floor);
    let left = nVal - take.reduce((a, b) => a + b, 0);
    const order = classes.map((_, k) => k).sort((a, b) => exact[b] - take[b] - (exact[a] - take[a]) || a - b);
    for (const k of order) {
      if (left <= 0) break;
      if (take[k] < byClass.get(classes[k])!.length) {
        take[k]++;
        left--;
      }
    }
    const random = mulberry32(seed);
    classes.forEach((c, k) => {
      const ids = shuffle(byClass.get(c)!, random);
      for (let j = 0; j < take[k]; j++) inVal[ids[j]] = 1;
    });
  } else {
    const perm = permutation(n, seed);
    for (let j = 0; j < nVal; j++) inVal[perm[j]] = 1;
  }
  const val = new Int32Array(inVal.reduce((a, b) => a + b, 0));
  const train = new Int32Array(n - val.length);
  for (let i = 0, t = 0, v = 0; i < n; i++) {
    if (inVal[i]) val[v++] = i;
    else train[t++] = i;
  }
  return { train, val };
}

/**
 * One-hot rows for integer labels: an n×numClasses float32 tensor (the caller disposes it).
 * Introduced in notebook 05.
 */
export function oneHot(labels: ArrayLike<number> | tf.Tensor, numClasses: number): tf.Tensor2D {
  check(Number.isInteger(numClasses) && numClasses > 0, `oneHot: numClasses must be a positive integer, found ${numClasses}`);
  if (labels instanceof tf.Tensor && labels.rank !== 1) {
    throw new DataError("BAD_SHAPE", `oneHot: expected a 1-D tensor of labels, found shape [${labels.shape.join(", ")}]`);
  }
  const values = labels instanceof tf.Tensor ? labels.dataSync() : labels;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v >= numClasses) {
      throw new DataError("BAD_LABEL", `oneHot: label ${v} at index ${i} is outside 0..${numClasses - 1} (${numClasses} classes)`);
    }
  }
  return tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(values), "int32"), numClasses).toFloat() as tf.Tensor2D);
}

