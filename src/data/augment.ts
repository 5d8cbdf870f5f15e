/**
 * Augmentation of 28×28 images (§3.2 step 1: rotation, scaling, cropping), per batch, on the fly,
 * seeded.
 *
 * Each example gets its own affine transform (rotation and scaling about the centre, then a shift
 * for translation and for the random crop). The random numbers come from mulberry32 in JavaScript,
 * so a seed reproduces the same transforms on every backend.
 *
 * The resampling is our own bilinear sampler in plain JavaScript over the batch's values (one read
 * back, one upload per batch), not `tf.image.transform`, for two measured reasons: in tfjs 4.22 the
 * cpu backend's Transform kernel returns inside its batch loop, so only the first image of a batch
 * is transformed and the rest come back as the fill value; and a tf-ops sampler (tf.gather of the
 * four neighbours) took ~10 ms per 64-image batch on wasm against ~1 ms here. Our sampler follows
 * tf.image.transform's conventions (the 8-number matrix maps output pixels to input pixels;
 * bilinear; constant fill) and the tests check that the two agree image by image.
 */
import * as tf from "@tensorflow/tfjs";
import { imageGrid, type ImageGrid } from "../plot";
import { DataError, check } from "./errors";
import { ImageDataset } from "./mnist";
import { createRng, type Rng } from "./rng";

/** One example's transform: rotation in degrees (positive turns clockwise on screen), scale, shift in pixels. */
export interface AffineParams {
  angle: number;
  scale: number;
  tx: number;
  ty: number;
}

/**
 * The 8-number projective matrix [a0, a1, a2, b0, b1, b2, 0, 0] of `tf.image.transform` for
 * `params` on an h×w image: output pixel (x, y) samples input (a0·x + a1·y + a2, b0·x + b1·y + b2).
 * Introduced in notebook 04.
 */
export function affineMatrix(params: AffineParams, height = 28, width = 28): number[] {
  // Forward: out = s·R(θ)·(in − c) + c + t. We need the inverse: in = R(−θ)·(out − c − t)/s + c.
  const th = (params.angle * Math.PI) / 180;
  const cos = Math.cos(th) / params.scale;
  const sin = Math.sin(th) / params.scale;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const ox = cx + params.tx;
  const oy = cy + params.ty;
  return [cos, sin, cx - cos * ox - sin * oy, -sin, cos, cy + sin * ox - cos * oy, 0, 0];
}

/**
 * Resample pixel values laid out b×h×w×c with one affine matrix per image (or one for all),
 * bilinear, pixels from outside the image set to `fill`. Plain JavaScript on arrays.
 * Introduced in notebook 04.
 */
export function warpAffineValues(
  values: ArrayLike<number>,
  shape: readonly [number, number, number, number],
  matrices: readonly (readonly number[])[],
  fill = 0,
): Float32Array {
  const [b, h, w, c] = shape;
  if (values.length !== b * h * w * c) {
    throw new DataError("BAD_SHAPE", `warpAffine: ${values.length} values for shape [${shape.join(", ")}] (${b * h * w * c} expected)`);
  }
  if (matrices.length !== b && matrices.length !== 1) {
    throw new DataError("BAD_SHAPE", `warpAffine: ${matrices.length} matrices for a batch of ${b}; expected ${b} (one per image) or 1`);
  }
  const out = new Float32Array(values.length);
  const at = (k: number, px: number, py: number, ch: number) =>
    px >= 0 && px < w && py >= 0 && py < h ? values[((k * h + py) * w + px) * c + ch] : fill;
  for (let k = 0; k < b; k++) {
    const m = matrices.length === 1 ? matrices[0] : matrices[k];
    if (m.length < 6 || (m.length > 6 && (m[6] !== 0 || m[7] !== 0))) {
      throw new DataError("BAD_SHAPE", `warpAffine: matrix ${k} must be affine ([a0, a1, a2, b0, b1, b2] or with two trailing zeros), found [${m.join(", ")}]`);
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        // The output pixel (x, y) samples the input at (sx, sy), between four neighbours.
        const sx = m[0] * x + m[1] * y + m[2];
        const sy = m[3] * x + m[4] * y + m[5];
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const fy = sy - y0;
        const o = ((k * h + y) * w + x) * c;
        if (x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h) {
          // All four neighbours inside (most pixels): index directly.
          const i00 = ((k * h + y0) * w + x0) * c;
          const i01 = i00 + w * c;
          for (let ch = 0; ch < c; ch++) {
            const top = (1 - fx) * values[i00 + ch] + fx * values[i00 + c + ch];
            const bottom = (1 - fx) * values[i01 + ch] + fx * values[i01 + c + ch];
            out[o + ch] = (1 - fy) * top + fy * bottom;
          }
        } else {
          for (let ch = 0; ch < c; ch++) {
            const top = (1 - fx) * at(k, x0, y0, ch) + fx * at(k, x0 + 1, y0, ch);
            const bottom = (1 - fx) * at(k, x0, y0 + 1, ch) + fx * at(k, x0 + 1, y0 + 1, ch);
            out[o + ch] = (1 - fy) * top + fy * bottom;
          }
        }
      }
    }
  }
  return out;
}

/**
 * `warpAffineValues` on a b×h×w×c tensor: one read back, one new float32 tensor (the caller
 * disposes it). Same result as tf.image.transform (bilinear, constant fill) on a correct backend.
 * Introduced in notebook 04.
 */
export function warpAffine(images: tf.Tensor4D, matrices: readonly (readonly number[])[], fill = 0): tf.Tensor4D {
  const out = warpAffineValues(images.dataSync(), images.shape, matrices, fill);
  return tf.tensor4d(out, images.shape, "float32");
}

/** Options of `createAugmenter`. Every range is symmetric and drawn uniformly per example. */
export interface AugmentOptions {
  /** Maximum rotation in degrees: θ in [−rotation, rotation]. */
  rotation?: number;
  /** Scale s in [1 − scale, 1 + scale], or [min, max]. */
  scale?: number | [number, number];
  /** Maximum shift in pixels (x and y alike, or [x, y]), continuous. */
  translate?: number | [number, number];
  /**
   * Random crop after zero-padding by `padding` pixels on each side: the same as an integer shift
   * in [−padding, padding] on each axis with the background filling in, which is how it is done.
   */
  crop?: { padding: number };
  /** The seed: the same seed and the same sequence of batch sizes give the same augmentations. */
  seed: number;
  /**
   * The value of pixels that come from outside the image: a number, or "min" (default) for the
   * batch's smallest value, the background of MNIST whatever the normalization (0, or −1 for the article's).
   */
  fill?: number | "min";
  /** Image size for flat b×(h·w) batches; default 28×28. */
  height?: number;
  width?: number;
}

/** A batch augmenter: a function from a batch tensor to a new augmented tensor of the same shape. */
export interface Augmenter {
  (batch: tf.Tensor): tf.Tensor;
  readonly options: Readonly<AugmentOptions>;
  /** The transforms used in the last call, one per example. */
  readonly lastParams: readonly AffineParams[];
  /** Back to the state right after creation: the next calls repeat the first ones. */
  reset(): void;
}

function range(v: number | [number, number] | undefined, what: string): [number, number] {
  if (v === undefined) return [0, 0];
  const [a, b] = typeof v === "number" ? [v, v] : v;
  check(Number.isFinite(a) && Number.isFinite(b) && a >= 0 && b >= 0, `createAugmenter: ${what} must be ≥ 0, found ${JSON.stringify(v)}`);
  return [a, b];
}

/**
 * A seeded, per-batch augmenter (rotation, scaling, translation, random crop with padding) for
 * b×28×28×1, b×28×28 or b×784 batches; each call returns a new tensor. Introduced in notebook 04.
 */
export function createAugmenter(options: AugmentOptions): Augmenter {
  check(options !== null && typeof options === "object" && Number.isFinite(options.seed), `createAugmenter: a numeric seed is required, found ${JSON.stringify(options?.seed)}`);
  const rotation = options.rotation ?? 0;
  check(Number.isFinite(rotation) && rotation >= 0, `createAugmenter: rotation must be ≥ 0 degrees, found ${rotation}`);
  let scaleRange: [number, number] = [1, 1];
  if (typeof options.scale === "number") {
    check(options.scale >= 0 && options.scale < 1, `createAugmenter: scale must be in [0, 1) (s in [1 − scale, 1 + scale]), found ${options.scale}`);
    scaleRange = [1 - options.scale, 1 + options.scale];
  } else if (options.scale) {
    const [lo, hi] = options.scale;
    check(lo > 0 && hi >= lo, `createAugmenter: scale [min, max] needs 0 < min ≤ max, found [${lo}, ${hi}]`);
    scaleRange = [lo, hi];
  }
  const [maxTx, maxTy] = range(options.translate, "translate");
  const padding = options.crop?.padding ?? 0;
  check(Number.isInteger(padding) && padding >= 0, `createAugmenter: crop.padding must be a non-negative integer, found ${padding}`);
  const H = options.height ?? 28;
  const W = options.width ?? 28;
  const fill = options.fill ?? "min";
  let rng: Rng = createRng(options.seed);
  let last: AffineParams[] = [];

  const draw = (): AffineParams => {
    // Always four draws (+2 for the crop) per example, in this order, so the stream is stable.
    const angle = rng.uniform(-rotation, rotation);
    const scale = rng.uniform(scaleRange[0], scaleRange[1]);
    let tx = rng.uniform(-maxTx, maxTx);
    let ty = rng.uniform(-maxTy, maxTy);
    if (padding > 0) {
      tx += rng.intBetween(-padding, padding);
      ty += rng.intBetween(-padding, padding);
    }
    return { angle, scale, tx, ty };
  };

  const augment = (batch: tf.Tensor): tf.Tensor => {
    if (!(batch instanceof tf.Tensor)) throw new DataError("BAD_ARGUMENT", `augmenter: expected a tf.Tensor batch, found ${typeof batch}`);
    const shape = batch.shape as number[];
    let shape4: [number, number, number, number];
    if (batch.rank === 4) shape4 = shape as [number, number, number, number];
    else if (batch.rank === 3) shape4 = [shape[0], shape[1], shape[2], 1];
    else if (batch.rank === 2 && shape[1] === H * W) shape4 = [shape[0], H, W, 1];
    else {
      throw new DataError("BAD_SHAPE", `augmenter: expected a batch b×${H}×${W}×1, b×${H}×${W} or b×${H * W}, found shape [${shape.join(", ")}]`);
    }
    const [b, h, w] = shape4;
    last = Array.from({ length: b }, draw);
    const matrices = last.map((p) => affineMatrix(p, h, w));
    const values = batch.dataSync();
    let fillValue = 0;
    if (fill === "min") {
      fillValue = Infinity;
      for (let i = 0; i < values.length; i++) if (values[i] < fillValue) fillValue = values[i];
      if (fillValue === Infinity) fillValue = 0;
    } else fillValue = fill;
    return tf.tensor(warpAffineValues(values, shape4, matrices, fillValue), shape, "float32");
  };

  // defineProperty, not Object.assign: assign would copy the getter's value once, at creation.
  Object.defineProperties(augment, {
    options: { value: Object.freeze({ ...options }), enumerable: true },
    lastParams: { get: () => last, enumerable: true },
    reset: {
      value: () => {
        rng = createRng(options.seed);
        last = [];
      },
    },
  });
  return augment as Augmenter;
}

/** Options of `augmentationGrid`. */
export interface AugmentationGridOptions {
  /** How many originals (rows); default 6. */
  count?: number;
  /** Augmented versions beside each original; default 5. */
  perImage?: number;
  /** Pixel magnification; default 2. */
  scale?: number;
}

/**
 * A grid with one original per row followed by its augmented versions, captioned with each
 * transform (uses, and advances, the augmenter). Introduced in notebook 04.
 */
export function augmentationGrid(images: tf.Tensor | ImageDataset, augmenter: Augmenter, options: AugmentationGridOptions = {}): ImageGrid {
  const count = options.count ?? 6;
  const perImage = options.perImage ?? 5;
  check(Number.isInteger(count) && count > 0, `augmentationGrid: count must be a positive integer, found ${count}`);
  check(Number.isInteger(perImage) && perImage > 0, `augmentationGrid: perImage must be a positive integer, found ${perImage}`);
  let h: number;
  let w: number;
  let batch: tf.Tensor4D;
  if (images instanceof ImageDataset) {
    const k = Math.min(count, images.count);
    check(k > 0, `augmentationGrid: the data set ${images.name} is empty`);
    [h, w] = [images.height, images.width];
    batch = tf.tensor4d(Float32Array.from(images.images.subarray(0, k * h * w)), [k, h, w, 1]);
  } else {
    const s = images.shape as number[];
    if (images.rank === 4) [h, w] = [s[1], s[2]];
    else if (images.rank === 3) [h, w] = [s[1], s[2]];
    else if (images.rank === 2) [h, w] = [augmenter.options.height ?? 28, augmenter.options.width ?? 28];
    else throw new DataError("BAD_SHAPE", `augmentationGrid: expected images b×h×w×1, b×h×w or b×${28 * 28}, found shape [${s.join(", ")}]`);
    if (images.rank === 2 && s[1] !== h * w) {
      throw new DataError("BAD_SHAPE", `augmentationGrid: flat images have ${s[1]} pixels, expected ${h}×${w} = ${h * w}`);
    }
    if (images.rank === 4 && s[3] !== 1) throw new DataError("BAD_SHAPE", `augmentationGrid: expected 1 channel (grayscale), found ${s[3]} (shape [${s.join(", ")}])`);
    const k = Math.min(count, s[0]);
    check(k > 0, "augmentationGrid: the batch is empty");
    batch = tf.tidy(() => images.slice(0, k).toFloat().reshape([k, h, w, 1]) as tf.Tensor4D);
  }
  const k = batch.shape[0];
  const originals = batch.dataSync();
  const versions: { data: Float32Array | Int32Array | Uint8Array; params: readonly AffineParams[] }[] = [];
  for (let v = 0; v < perImage; v++) {
    const out = augmenter(batch);
    versions.push({ data: out.dataSync(), params: augmenter.lastParams });
    out.dispose();
  }
  batch.dispose();
  // One brightness scale for the whole grid, from the originals' range (0..255, 0..1 or −1..1).
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of originals) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo || 1;
  const size = h * w;
  const toBytes = (src: ArrayLike<number>, i: number) => {
    const out = new Uint8Array(size);
    for (let p = 0; p < size; p++) out[p] = Math.round(Math.min(1, Math.max(0, (src[i * size + p] - lo) / span)) * 255);
    return out;
  };
  const cells: Uint8Array[] = [];
  const captions: string[] = [];
  for (let i = 0; i < k; i++) {
    cells.push(toBytes(originals, i));
    captions.push("original");
    for (const { data, params } of versions) {
      cells.push(toBytes(data, i));
      const p = params[i];
      captions.push(`${p.angle.toFixed(0)}° ×${p.scale.toFixed(2)} (${p.tx.toFixed(1)}, ${p.ty.toFixed(1)})`);
    }
  }
  return imageGrid(cells, { height: h, width: w, cols: perImage + 1, captions, scale: options.scale ?? 2, title: `Augmentation: ${k} originals, ${perImage} versions each` });
}
