import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import {
  DataError, batchIndices, batches, createAugmenter, createRng, mulberry32, oneHot, permutation, seededShuffle, shuffle, trainValSplit,
} from "../../src/data";

test("mulberry32: the same seed gives the same stream, floats in [0, 1), spread evenly", () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const xs = Array.from({ length: 20000 }, () => a());
  assert.deepEqual(Array.from({ length: 20000 }, () => b()), xs);
  assert.notDeepEqual(Array.from({ length: 5 }, mulberry32(43)), xs.slice(0, 5));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  // 10 buckets of 2000 expected: a chi-square far above 9 degrees of freedom would mean bias.
  const counts = new Array(10).fill(0);
  for (const x of xs) counts[Math.floor(x * 10)]++;
  const chi2 = counts.reduce((s, c) => s + (c - 2000) ** 2 / 2000, 0);
  assert.ok(chi2 < 30, `chi-square ${chi2} for ${counts}`);
  const r = createRng(7);
  const ints = Array.from({ length: 2000 }, () => r.intBetween(-2, 2));
  assert.deepEqual([...new Set(ints)].sort(), [-1, -2, 0, 1, 2].sort());
  assert.throws(() => mulberry32(NaN), /seed must be a finite number, found NaN/);
});

test("shuffles are permutations of a copy, reproducible by seed", () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  const s1 = seededShuffle(items, 1);
  assert.deepEqual(items, Array.from({ length: 100 }, (_, i) => i), "the input is untouched");
  assert.deepEqual([...s1].sort((a, b) => a - b), items);
  assert.notDeepEqual(s1, items);
  assert.deepEqual(seededShuffle(items, 1), s1);
  assert.notDeepEqual(seededShuffle(items, 2), s1);
  const typed = seededShuffle(new Float32Array([1, 2, 3, 4]), 5);
  assert.ok(typed instanceof Float32Array);
  assert.equal(shuffle(["a"]).length, 1);
  // Fisher–Yates is uniform: each of the 6 orders of 3 items appears about 1/6 of the time.
  const random = mulberry32(9);
  const freq = new Map<string, number>();
  for (let i = 0; i < 6000; i++) {
    const k = shuffle([0, 1, 2], random).join("");
    freq.set(k, (freq.get(k) ?? 0) + 1);
  }
  assert.equal(freq.size, 6);
  for (const [k, c] of freq) assert.ok(Math.abs(c - 1000) < 150, `${k}: ${c}`);
  const p = permutation(10, 3);
  assert.deepEqual(Array.from(p).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test("batchIndices visits every example exactly once per epoch; the last batch may be smaller", () => {
  const it = batchIndices(1000, 64, { seed: 3 });
  assert.equal(it.length, 16);
  const batchesSeen = [...it];
  assert.equal(batchesSeen.length, 16);
  assert.deepEqual(batchesSeen.map((b) => b.length), [...new Array(15).fill(64), 1000 - 15 * 64]);
  assert.ok(batchesSeen.every((b) => b instanceof Int32Array));
  const all = batchesSeen.flatMap((b) => Array.from(b)).sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 1000 }, (_, i) => i));
  assert.notDeepEqual(Array.from(batchesSeen[0]), Array.from({ length: 64 }, (_, i) => i), "shuffled by default");
  // The same iterator twice, and the same seed, give the same batches; another epoch a new order.
  assert.deepEqual([...it].map((b) => Array.from(b)), batchesSeen.map((b) => Array.from(b)));
  assert.deepEqual([...batchIndices(1000, 64, { seed: 3 })].map((b) => Array.from(b)), batchesSeen.map((b) => Array.from(b)));
  const epoch1 = [...batchIndices(1000, 64, { seed: 3, epoch: 1 })];
  assert.notDeepEqual(Array.from(epoch1[0]), Array.from(batchesSeen[0]));
  assert.deepEqual(epoch1.flatMap((b) => Array.from(b)).sort((a, b) => a - b), all);
  // In order without shuffling; dropLast skips the short batch.
  assert.deepEqual([...batchIndices(5, 2, { shuffle: false })].map((b) => Array.from(b)), [[0, 1], [2, 3], [4]]);
  assert.deepEqual([...batchIndices(5, 2, { shuffle: false, dropLast: true })].map((b) => Array.from(b)), [[0, 1], [2, 3]]);
  assert.equal([...batchIndices(0, 8)].length, 0);
  assert.throws(() => batchIndices(10, 0), (e: unknown) => e instanceof DataError && /batchSize must be a positive integer, found 0/.test(e.message));
});

test("trainValSplit: disjoint, complete, seeded; stratified keeps each class's share", () => {
  const { train, val } = trainValSplit(1000, { valFraction: 0.2, seed: 1 });
  assert.equal(val.length, 200);
  assert.equal(train.length, 800);
  const union = [...train, ...val].sort((a, b) => a - b);
  assert.deepEqual(union, Array.from({ length: 1000 }, (_, i) => i));
  assert.deepEqual(Array.from(trainValSplit(1000, { valFraction: 0.2, seed: 1 }).val), Array.from(val));
  assert.notDeepEqual(Array.from(trainValSplit(1000, { valFraction: 0.2, seed: 2 }).val), Array.from(val));
  assert.ok(val.every((v, i) => i === 0 || v > val[i - 1]), "sorted");
  // Unbalanced labels: 900 of class 0, 90 of class 1, 10 of class 2.
  const labels = Array.from({ length: 1000 }, (_, i) => (i < 900 ? 0 : i < 990 ? 1 : 2));
  const s = trainValSplit(labels, { valFraction: 0.1, seed: 4, stratify: true });
  const count = (ids: Int32Array, c: number, ls: number[] = labels) => Array.from(ids).filter((i) => ls[i] === c).length;
  assert.deepEqual([0, 1, 2].map((c) => count(s.val, c)), [90, 9, 1]);
  assert.deepEqual([0, 1, 2].map((c) => count(s.train, c)), [810, 81, 9]);
  // Shares that do not divide evenly still add up to round(n × f).
  const odd = Array.from({ length: 25 }, (_, i) => i % 3);
  const so = trainValSplit(odd, { valFraction: 0.3, stratify: true });
  assert.equal(so.val.length, Math.round(25 * 0.3));
  for (const c of [0, 1, 2]) {
    const exact = odd.filter((l) => l === c).length * 0.3;
    assert.ok(Math.abs(count(so.val, c, odd) - exact) < 1, `class ${c}`);
  }
  assert.throws(() => trainValSplit(100, { stratify: true }), /stratify needs the labels, found only a count \(100\)/);
  assert.throws(() => trainValSplit(100, { valFraction: 1 }), /valFraction must be in \[0, 1\), found 1/);
});

test("oneHot: one 1 per row at the label, clear errors outside the range", async () => {
  await initBackend();
  const t = oneHot([2, 0, 1], 3);
  assert.deepEqual(t.shape, [3, 3]);
  assert.equal(t.dtype, "float32");
  assert.deepEqual(t.arraySync(), [[0, 0, 1], [1, 0, 0], [0, 1, 0]]);
  const y = tf.tensor1d([1, 1], "int32");
  assert.deepEqual(oneHot(y, 2).arraySync(), [[0, 1], [0, 1]]);
  tf.dispose([t, y]);
  assert.throws(() => oneHot([0, 10, 1], 10), /oneHot: label 10 at index 1 is outside 0\.\.9 \(10 classes\)/);
  assert.throws(() => oneHot([0.5], 2), /label 0\.5 at index 0/);
});

test("an epoch of batches with augmentation leaks no tensors", async () => {
  await initBackend();
  const n = 300;
  const x = tf.randomUniform([n, 784], 0, 1, "float32", 1);
  const y = tf.tensor1d(Int32Array.from({ length: n }, (_, i) => i % 10), "int32");
  const augment = createAugmenter({ rotation: 10, scale: 0.1, translate: 2, crop: { padding: 2 }, seed: 5 });
  // Warm-up: tfjs may allocate backend-internal tensors on first use of an op.
  for (const b of batches({ x, y }, 64, { seed: 1, augment })) b.dispose();
  const before = tf.memory().numTensors;
  let seen = 0;
  for (const b of batches({ x, y }, 64, { seed: 2, augment })) {
    assert.deepEqual(b.x.shape, [b.indices.length, 784]);
    assert.deepEqual(Array.from(b.y!.dataSync()), Array.from(b.indices, (i) => i % 10), "labels follow their images");
    seen += b.indices.length;
    b.dispose();
  }
  assert.equal(seen, n);
  assert.equal(tf.memory().numTensors, before, "tensors after an epoch = tensors before");
  // The same with bare index batches and the augmenter, as a training loop would do it.
  for (const idx of batchIndices(n, 64, { seed: 3 })) {
    const idxT = tf.tensor1d(idx, "int32");
    const xb = tf.gather(x, idxT);
    const xa = augment(xb);
    assert.deepEqual(xa.shape, xb.shape);
    tf.dispose([idxT, xb, xa]);
  }
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y]);
});
