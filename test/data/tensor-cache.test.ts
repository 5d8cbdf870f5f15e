/**
 * `ImageDataset.toTensors` reuses its float conversion while the pixels are unchanged: a cache
 * that went stale would train on pixels the data set no longer has, so every way of changing the
 * pixels in place must show in the next call.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { ImageDataset, articleNormalize, loadMnist } from "../../src/data";

/** Five 2×3 images with pixel p = (p * 37) % 256 and labels 0, 1, 0, 1, 0. */
function tiny(): ImageDataset {
  const images = new Uint8Array(5 * 6).map((_, p) => (p * 37) % 256);
  return new ImageDataset({ name: "tiny", images, labels: new Uint8Array([0, 1, 0, 1, 0]), height: 2, width: 3, classNames: ["a", "b"] });
}

/** The float values `toTensors` gives, read and disposed. */
function values(ds: ImageDataset, normalize: "article" | "unit" | "none" = "article"): { x: number[]; y: number[] } {
  const t = ds.toTensors({ normalize });
  const out = { x: Array.from(t.x.dataSync()), y: Array.from(t.y.dataSync()) };
  tf.dispose([t.x, t.y]);
  return out;
}

const expected = (ds: ImageDataset, f: (v: number) => number) => Array.from(ds.images, (v) => Math.fround(f(v)));

test("toTensors after an in-place edit of the pixels (one byte, .set, .fill) gives the edited pixels", async () => {
  await initBackend();
  const ds = tiny();
  assert.deepEqual(values(ds).x, expected(ds, articleNormalize));
  ds.images[7] = 200; // one pixel
  const one = values(ds).x;
  assert.equal(one[7], Math.fround(articleNormalize(200)));
  assert.deepEqual(one, expected(ds, articleNormalize));
  ds.images.set([1, 2, 3], 27); // the last image's last row
  assert.deepEqual(values(ds).x.slice(27), [1, 2, 3].map((v) => Math.fround(articleNormalize(v))));
  ds.images.fill(255);
  assert.deepEqual(values(ds).x, new Array(30).fill(1));
  ds.labels[0] = 1; // labels are read afresh every call
  assert.deepEqual(values(ds).y, [1, 1, 0, 1, 0]);
});

test("toTensors switches between normalizations and back, and reuses one conversion while nothing changes", async () => {
  await initBackend();
  const ds = tiny();
  assert.deepEqual(values(ds, "unit").x, expected(ds, (v) => v / 255));
  assert.deepEqual(values(ds, "none").x, Array.from(ds.images));
  assert.deepEqual(values(ds, "article").x, expected(ds, articleNormalize));
  const cache = () => (ds as unknown as { floatCache?: { values: Float32Array } }).floatCache?.values;
  const first = cache();
  assert.ok(first instanceof Float32Array);
  values(ds, "article");
  assert.equal(cache(), first, "the same pixels and normalization reuse the conversion");
  ds.images[0] ^= 1;
  values(ds, "article");
  assert.notEqual(cache(), first, "changed pixels make a new conversion");
});

test("the tensors toTensors returns are the caller's: disposing them, or writing into a cpu tensor's data, leaves the next call intact", async () => {
  await initBackend();
  const ds = loadMnist({ split: "test", limit: 20 });
  const want = expected(ds, articleNormalize);
  const a = ds.toTensors();
  a.x.dispose();
  a.y.dispose();
  assert.deepEqual(values(ds).x, want);
  const before = tf.getBackend();
  try {
    // The cpu backend keeps the array it is given and dataSync hands it out: a learner's write
    // into it must not reach the cache.
    assert.ok(await tf.setBackend("cpu"));
    const b = ds.toTensors();
    (b.x.dataSync() as Float32Array).fill(42);
    assert.deepEqual(values(ds).x, want);
    tf.dispose([b.x, b.y]);
  } finally {
    await tf.setBackend(before);
  }
});
