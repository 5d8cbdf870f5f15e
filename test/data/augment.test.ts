import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { toBundle } from "../../src/display";
import { DataError, affineMatrix, augmentationGrid, createAugmenter, loadMnist, warpAffine, warpAffineValues } from "../../src/data";

/** An asymmetric 28×28 test pattern: a bar, a dot and a gradient. */
function pattern(k = 0): Float32Array {
  const img = new Float32Array(784);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) img[y * 28 + x] = (x + 2 * y + k) % 17 === 0 ? 200 : 0;
  for (let x = 5; x < 20; x++) img[8 * 28 + x] = 255;
  img[20 * 28 + 22] = 128 + k;
  return img;
}

test("our sampler agrees with tf.image.transform image by image", async () => {
  await initBackend();
  const ds = loadMnist({ split: "test", limit: 6 });
  const x = ds.toTensors({ normalize: "none", flatten: false }).x as tf.Tensor4D;
  const cases = [
    { angle: 17, scale: 1.1, tx: 1.3, ty: -2.2 },
    { angle: -30, scale: 0.8, tx: 0, ty: 0 },
    { angle: 0, scale: 1, tx: 2.5, ty: 0.5 },
  ];
  for (const p of cases) {
    const m = affineMatrix(p);
    for (let i = 0; i < 6; i++) {
      const one = x.slice(i, 1);
      const ours = warpAffine(one, [m], 0).dataSync();
      const theirs = tf.image.transform(one, tf.tensor2d([m]), "bilinear", "constant", 0).dataSync();
      let maxDiff = 0;
      for (let k = 0; k < 784; k++) maxDiff = Math.max(maxDiff, Math.abs(ours[k] - theirs[k]));
      // tfjs stores the matrix as float32, we keep float64: a difference of a few 1e-4 on 0..255.
      assert.ok(maxDiff < 1e-2, `${JSON.stringify(p)} image ${i}: max diff ${maxDiff}`);
    }
  }
  x.dispose();
});

test("known transforms: identity, a 90° turn and an integer shift are exact", () => {
  const img = pattern();
  const id = warpAffineValues(img, [1, 28, 28, 1], [affineMatrix({ angle: 0, scale: 1, tx: 0, ty: 0 })]);
  assert.deepEqual(Array.from(id), Array.from(img));
  // Positive angles turn clockwise on screen: the pixel right of the centre goes below it.
  // out(x, y) = in(y, 27 − x) for a 90° turn about (13.5, 13.5).
  const rot = warpAffineValues(img, [1, 28, 28, 1], [affineMatrix({ angle: 90, scale: 1, tx: 0, ty: 0 })]);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) assert.ok(Math.abs(rot[y * 28 + x] - img[(27 - x) * 28 + y]) < 1e-3, `(${x}, ${y})`);
  // Shift by (+3, −2): out(x, y) = in(x − 3, y + 2), background 0 where that is outside.
  const sh = warpAffineValues(img, [1, 28, 28, 1], [affineMatrix({ angle: 0, scale: 1, tx: 3, ty: -2 })]);
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const sx = x - 3;
      const sy = y + 2;
      const want = sx >= 0 && sy < 28 ? img[sy * 28 + sx] : 0;
      assert.ok(Math.abs(sh[y * 28 + x] - want) < 1e-9, `(${x}, ${y}): ${sh[y * 28 + x]} vs ${want}`);
    }
  }
  // Scale 2 about the centre: output (x, y) samples input (x/2 + 6.75, y/2 + 6.75).
  const m = affineMatrix({ angle: 0, scale: 2, tx: 0, ty: 0 });
  assert.deepEqual(m.slice(0, 6).map((v) => v + 0), [0.5, 0, 6.75, 0, 0.5, 6.75]);
  // Scale 1/2: output (0, 0) samples (−13.5, −13.5), outside, so it gets the fill value.
  const small = warpAffineValues(img, [1, 28, 28, 1], [affineMatrix({ angle: 0, scale: 0.5, tx: 0, ty: 0 })], 7);
  assert.equal(small[0], 7);
  // ... and output (14, 8) samples input (14.5, 2.5): between pixels (14..15, 2..3).
  const want = 0.25 * (img[2 * 28 + 14] + img[2 * 28 + 15] + img[3 * 28 + 14] + img[3 * 28 + 15]);
  assert.ok(Math.abs(small[8 * 28 + 14] - want) < 1e-4, `${small[8 * 28 + 14]} vs ${want}`);
  assert.throws(() => warpAffineValues(img, [2, 28, 28, 1], [m]), /784 values for shape \[2, 28, 28, 1\] \(1568 expected\)/);
});

test("the augmenter is deterministic for a seed and a call sequence, and different across seeds", async () => {
  await initBackend();
  const opts = { rotation: 15, scale: 0.1, translate: 2, crop: { padding: 2 } };
  const x = tf.tensor2d([...pattern(0), ...pattern(1), ...pattern(2)], [3, 784]);
  const a = createAugmenter({ ...opts, seed: 11 });
  const b = createAugmenter({ ...opts, seed: 11 });
  const c = createAugmenter({ ...opts, seed: 12 });
  const run = (f: (t: tf.Tensor) => tf.Tensor) => {
    const out = f(x);
    const v = Array.from(out.dataSync());
    out.dispose();
    return v;
  };
  const a1 = run(a);
  const a2 = run(a);
  assert.deepEqual(run(b), a1);
  assert.deepEqual(run(b), a2);
  assert.notDeepEqual(a2, a1, "each call draws new transforms");
  assert.notDeepEqual(run(c), a1);
  a.reset();
  assert.deepEqual(run(a), a1, "reset replays from the start");
  // Each example gets its own transform, within the ranges asked for.
  const params = a.lastParams;
  assert.equal(params.length, 3);
  assert.equal(new Set(params.map((p) => p.angle)).size, 3);
  for (const p of params) {
    assert.ok(Math.abs(p.angle) <= 15 && p.scale >= 0.9 && p.scale <= 1.1 && Math.abs(p.tx) <= 4 && Math.abs(p.ty) <= 4, JSON.stringify(p));
  }
  x.dispose();
});

test("shapes in are shapes out: b×784, b×28×28, b×28×28×1", async () => {
  await initBackend();
  const aug = createAugmenter({ rotation: 10, seed: 1 });
  for (const shape of [[4, 784], [4, 28, 28], [4, 28, 28, 1]]) {
    const x = tf.zeros(shape);
    const y = aug(x);
    assert.deepEqual(y.shape, shape);
    assert.equal(y.dtype, "float32");
    tf.dispose([x, y]);
  }
  const bad = tf.zeros([4, 100]);
  assert.throws(() => aug(bad), (e: unknown) => e instanceof DataError && e.code === "BAD_SHAPE" && /expected a batch b×28×28×1, b×28×28 or b×784, found shape \[4, 100\]/.test(e.message));
  bad.dispose();
  assert.throws(() => createAugmenter({ rotation: -1, seed: 1 }), /rotation must be ≥ 0 degrees, found -1/);
  assert.throws(() => createAugmenter({ crop: { padding: 1.5 }, seed: 1 }), /crop\.padding must be a non-negative integer, found 1\.5/);
  assert.throws(() => createAugmenter({} as { seed: number }), /a numeric seed is required/);
});

test("random crop with padding is an integer shift within the padding", () => {
  const img = pattern();
  const aug = createAugmenter({ crop: { padding: 3 }, seed: 4 });
  const x = tf.tensor4d(Array.from({ length: 8 }, () => Array.from(img)).flat(), [8, 28, 28, 1]);
  const out = aug(x).dataSync();
  const seenShifts = new Set<string>();
  for (let k = 0; k < 8; k++) {
    const { tx, ty } = aug.lastParams[k];
    assert.ok(Number.isInteger(tx) && Number.isInteger(ty) && Math.abs(tx) <= 3 && Math.abs(ty) <= 3, `${tx}, ${ty}`);
    seenShifts.add(`${tx},${ty}`);
    for (let y = 0; y < 28; y++) {
      for (let xx = 0; xx < 28; xx++) {
        const sx = xx - tx;
        const sy = y - ty;
        const want = sx >= 0 && sx < 28 && sy >= 0 && sy < 28 ? img[sy * 28 + sx] : 0;
        assert.equal(out[k * 784 + y * 28 + xx], want);
      }
    }
  }
  assert.ok(seenShifts.size > 1);
  x.dispose();
});

test("pixels from outside take the background, also after the article's normalization", async () => {
  await initBackend();
  // Article-normalized: background −1. A shift must not bring in 0 (grey).
  const img = Array.from(pattern(), (v) => (v / 255 - 0.5) / 0.5);
  const x = tf.tensor2d([img], [1, 784]);
  const check = (fill: number | undefined, background: number) => {
    const aug = createAugmenter({ crop: { padding: 5 }, seed: 2, ...(fill === undefined ? {} : { fill }) });
    const out = aug(x).dataSync();
    const { tx, ty } = aug.lastParams[0];
    assert.ok(tx !== 0 || ty !== 0, "this seed shifts the image");
    let fromOutside = 0;
    for (let y = 0; y < 28; y++) {
      for (let xx = 0; xx < 28; xx++) {
        const sx = xx - tx;
        const sy = y - ty;
        if (sx < 0 || sx >= 28 || sy < 0 || sy >= 28) {
          fromOutside++;
          assert.ok(Math.abs(out[y * 28 + xx] - background) < 1e-6, `(${xx}, ${y}) = ${out[y * 28 + xx]}, expected ${background}`);
        }
      }
    }
    assert.ok(fromOutside > 0);
  };
  check(undefined, -1); // "min" by default: the batch's background
  check(0, 0);
  x.dispose();
});

test("augmentationGrid shows each original followed by its augmented versions", async () => {
  await initBackend();
  const ds = loadMnist({ split: "test", limit: 10 });
  const aug = createAugmenter({ rotation: 20, scale: 0.1, seed: 3 });
  const before = tf.memory().numTensors;
  const grid = augmentationGrid(ds, aug, { count: 3, perImage: 4 });
  assert.equal(tf.memory().numTensors, before, "the grid leaves no tensors behind");
  assert.equal(grid.length, 15);
  assert.equal(grid.cols, 5);
  const bundle = toBundle(grid);
  const text = bundle["text/plain"] as string;
  assert.match(text, /^Augmentation: 3 originals, 4 versions each: 15 images 28×28: original, -?\d+° ×\d\.\d\d \(/);
  assert.equal((text.match(/original/g) ?? []).length - 1, 3, "one 'original' caption per row (plus the title)");
  assert.ok((bundle["image/png"] as string).length > 100);
  // Also from a normalized tensor batch, flat.
  const { x, y } = ds.toTensors({ normalize: "article" });
  const g2 = augmentationGrid(x, aug, { count: 2, perImage: 1 });
  assert.equal(g2.length, 4);
  tf.dispose([x, y]);
});
