import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { toBundle } from "../../src/display";
import {
  DataError, articleDenormalize, articleNormalizer, clean, dropDuplicates, dropNonFinite, dropOutliers, minMaxScaler, quantile, zScoreScaler,
} from "../../src/data";

test("dropNonFinite removes NaN, ±Infinity and missing values, and says where", () => {
  const rows = [[1, 2], [NaN, 3], [4, Infinity], [5, 6], [-Infinity, NaN]];
  const r = dropNonFinite(rows);
  assert.deepEqual(r.kept, [[1, 2], [5, 6]]);
  assert.deepEqual(r.keptIndices, [0, 3]);
  assert.deepEqual(r.removed.map((x) => [x.index, x.reason]), [
    [1, "NaN in column 0"],
    [2, "Infinity in column 1"],
    [4, "-Infinity in column 0; NaN in column 1"],
  ]);
  assert.equal(r.removed[0].row, rows[1], "the removed row itself is returned");
  const records = [{ name: "a", age: 30 }, { name: "b", age: null }, { name: "c" }, { name: "d", age: 41 }];
  const rr = dropNonFinite(records);
  assert.deepEqual(rr.kept.map((x) => x.name), ["a", "d"]);
  assert.deepEqual(rr.removed.map((x) => x.reason), ["missing value in column 'age'", "missing value in column 'age'"]);
  // Only the listed columns are examined.
  assert.equal(dropNonFinite(rows, { columns: [1] }).removed.length, 2);
});

test("dropDuplicates keeps the first of exact duplicates, records compared key by key", () => {
  const rows = [[1, 2], [1, 2.0000001], [1, 2], [0, -0], [0, 0], [NaN, 1], [NaN, 1]];
  const r = dropDuplicates(rows);
  assert.deepEqual(r.removed.map((x) => [x.index, x.reason]), [[2, "duplicate of row 0"], [4, "duplicate of row 3"], [6, "duplicate of row 5"]]);
  assert.equal(r.kept.length, 4);
  const recs = [{ a: 1, b: "x" }, { b: "x", a: 1 }, { a: 1, b: "y" }];
  assert.deepEqual(dropDuplicates(recs).removed.map((x) => x.index), [1]);
  assert.deepEqual(dropDuplicates(recs, { columns: ["a"] }).removed.map((x) => x.index), [1, 2]);
});

test("dropOutliers by z-score and by IQR, each reason giving the value and the limit", () => {
  // 20 values near 10 and one at 100.
  const xs = [9, 10, 11, 10, 9, 11, 10, 10, 9, 11, 10, 10, 9, 11, 10, 10, 9, 11, 10, 10, 100];
  const rows = xs.map((v, i) => [i, v]);
  const z = dropOutliers(rows, { columns: [1] });
  assert.deepEqual(z.removed.map((r) => r.index), [20]);
  const mean = xs.reduce((a, b) => a + b) / xs.length;
  const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
  assert.equal(z.removed[0].reason, `column 1 = 100: z = ${+((100 - mean) / std).toPrecision(4)}, |z| > 3 (mean ${+mean.toPrecision(4)}, std ${+std.toPrecision(4)})`);
  // A stricter z threshold catches more.
  assert.ok(dropOutliers(rows, { columns: [1], threshold: 0.1 }).removed.length > 1);
  const iqr = dropOutliers(rows, { columns: [1], method: "iqr" });
  // Sorted: five 9s (positions 0-4), ten 10s (5-14), five 11s (15-19), 100: Q1 at position 5, Q3 at 15.
  const sorted = [...xs].sort((a, b) => a - b);
  assert.deepEqual([quantile(sorted, 0.25), quantile(sorted, 0.75)], [10, 11]);
  assert.deepEqual(iqr.removed.map((r) => r.index), [20]);
  assert.match(iqr.removed[0].reason, /^column 1 = 100: above the IQR fence 12\.5 \(Q1 10, Q3 11, k 1\.5\)$/);
  // The index column 0..20 has no outliers by either rule.
  assert.equal(dropOutliers(rows, { columns: [0] }).removed.length, 0);
  assert.equal(dropOutliers(rows, { columns: [0], method: "iqr" }).removed.length, 0);
  assert.throws(() => dropOutliers(rows, { method: "mad" as "iqr" }), (e: unknown) => e instanceof DataError && /method must be "zscore" or "iqr", found "mad"/.test(e.message));
});

test("quantile interpolates like NumPy's default", () => {
  assert.equal(quantile([1, 2, 3, 4], 0.25), 1.75);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([5], 0.9), 5);
});

test("clean runs the three steps and reports indices of the original table; it renders as a table", () => {
  const table = [
    { x: 1, y: 10 }, { x: 2, y: 11 }, { x: NaN, y: 12 }, { x: 1, y: 10 }, { x: 3, y: 9 },
    { x: 2, y: 10 }, { x: 1, y: 11 }, { x: 3, y: 10 }, { x: 2, y: 12 }, { x: 1, y: 500 },
    { x: 2, y: 9 }, { x: 3, y: 11 },
  ];
  const r = clean(table, { outliers: { method: "iqr" } });
  assert.deepEqual(r.removed.map((x) => [x.index, x.step]), [[2, "non-finite"], [3, "duplicate"], [9, "outlier"]]);
  assert.equal(r.removed[1].reason, "duplicate of row 0");
  assert.equal(r.kept.length, 9);
  assert.deepEqual(r.keptIndices, [0, 1, 4, 5, 6, 7, 8, 10, 11]);
  assert.equal(r.total, 12);
  const bundle = toBundle(r);
  assert.match(bundle["text/plain"] as string, /^kept 9 of 12 rows, removed 3:\n  row 2: \{ x: NaN, y: 12 \}: NaN in column 'x'\n/);
  const html = bundle["text/html"] as string;
  assert.equal((html.match(/<tr><td>/g) ?? []).length, 3);
  // Values are escaped in the HTML.
  const nasty = dropNonFinite([{ "<b>": null }]);
  assert.ok(!(toBundle(nasty)["text/html"] as string).includes("<b>"));
});

// Scalers: the rows path (plain JavaScript) and the tensor path (tf ops) apply the same formula.
const train = [[1, 100, 5], [2, 200, 5], [3, 300, 5], [6, 0, 5]];
const testRows = [[0, 50, 5], [10, 400, 7]];

function close(a: number[][], b: number[][], tol = 1e-5): void {
  assert.equal(a.length, b.length);
  a.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - b[i][j]) <= tol * Math.max(1, Math.abs(b[i][j])), `[${i}][${j}] ${v} vs ${b[i][j]}`)));
}

test("min-max maps the training range onto the target range and back", async () => {
  await initBackend();
  const s = minMaxScaler({ range: [-1, 1] }).fit(train);
  assert.deepEqual(s.stats, { min: [1, 0, 5], max: [6, 300, 5] });
  const t = s.transform(train);
  close(t, [[-1, -1 / 3, -1], [-0.6, 1 / 3, -1], [-0.2, 1, -1], [1, -1, -1]]);
  // Test rows use the training min and max, so they may fall outside the range.
  // The constant column's span counts as 1: 7 maps to (7 − 5)·2 − 1 = 3.
  close(s.transform(testRows), [[-1.4, -2 / 3, -1], [2.6, 5 / 3, 3]]);
  close(s.inverse(s.transform(testRows)), testRows, 1e-12);
  // The tensor path agrees and round-trips.
  const st = minMaxScaler({ range: [-1, 1] }).fit(tf.tensor2d(train));
  assert.deepEqual(st.stats, s.stats);
  const tt = st.transform(tf.tensor2d(testRows));
  close(tt.arraySync() as number[][], s.transform(testRows));
  close(st.inverse(tt).arraySync() as number[][], testRows);
  // One range for all values (images): min 0, max 300.
  const g = minMaxScaler({ perFeature: false }).fit(train);
  assert.deepEqual(g.stats, { min: [0], max: [300] });
  close(g.transform([[150, 300, 0]]), [[0.5, 1, 0]]);
});

test("z-score is fitted on the training split only and reused on the test split", async () => {
  await initBackend();
  const s = zScoreScaler().fit(train);
  const mean0 = (1 + 2 + 3 + 6) / 4;
  const std0 = Math.sqrt(((1 - mean0) ** 2 + (2 - mean0) ** 2 + (3 - mean0) ** 2 + (6 - mean0) ** 2) / 4);
  assert.equal(s.stats.mean[0], mean0);
  assert.ok(Math.abs(s.stats.std[0] - std0) < 1e-12);
  const t = s.transform(train);
  for (let j = 0; j < 2; j++) {
    const col = t.map((r) => r[j]);
    assert.ok(Math.abs(col.reduce((a, b) => a + b) / col.length) < 1e-12, "training columns have mean 0");
    assert.ok(Math.abs(Math.sqrt(col.reduce((a, b) => a + b * b, 0) / col.length) - 1) < 1e-12, "and std 1");
  }
  // The constant column is only centred (its std counts as 1).
  assert.deepEqual(t.map((r) => r[2]), [0, 0, 0, 0]);
  const tt = s.transform(testRows);
  assert.equal(tt[0][0], (0 - mean0) / std0, "test rows use the training statistics");
  assert.equal(tt[1][2], 2);
  close(s.inverse(tt), testRows, 1e-12);
  // Fitting on the test rows would give different numbers: the split matters.
  assert.notDeepEqual(zScoreScaler().fit(testRows).transform(testRows), tt);
  // Tensor path: same statistics and values.
  const st = zScoreScaler().fit(tf.tensor2d(train));
  close([st.stats.mean, st.stats.std], [s.stats.mean, s.stats.std]);
  const out = st.transform(tf.tensor2d(testRows));
  close(out.arraySync() as number[][], tt);
  close(st.inverse(out).arraySync() as number[][], testRows, 1e-5);
  tf.dispose(out);
});

test("z-score statistics of a large tensor are exact to float rounding (not a float32 running sum)", async () => {
  await initBackend();
  // 6,000 pixel-like rows of 784 values in 0..255: 4.7 million values, as in a slice of MNIST.
  const n = 6000;
  const f = 784;
  const values = new Float32Array(n * f);
  for (let i = 0; i < values.length; i++) values[i] = (i * 7919 + (i >> 9)) % 256 < 200 ? 0 : (i * 31) % 256;
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  const std = Math.sqrt(ss / values.length);
  const x = tf.tensor2d(values, [n, f]);
  const all = zScoreScaler({ perFeature: false }).fit(x);
  assert.ok(Math.abs(all.stats.mean[0] / mean - 1) < 1e-6, `mean ${all.stats.mean[0]}, expected ${mean}`);
  assert.ok(Math.abs(all.stats.std[0] / std - 1) < 1e-6, `std ${all.stats.std[0]}, expected ${std}`);
  // Per feature: column 5 against its float64 statistics.
  const perFeature = zScoreScaler().fit(x);
  let cs = 0;
  for (let i = 0; i < n; i++) cs += values[i * f + 5];
  const cm = cs / n;
  let css = 0;
  for (let i = 0; i < n; i++) css += (values[i * f + 5] - cm) ** 2;
  assert.ok(Math.abs(perFeature.stats.mean[5] - cm) < 1e-4 * Math.max(1, cm), `column 5 mean ${perFeature.stats.mean[5]}, expected ${cm}`);
  assert.ok(Math.abs(perFeature.stats.std[5] - Math.sqrt(css / n)) < 1e-4 * Math.max(1, cm), `column 5 std ${perFeature.stats.std[5]}, expected ${Math.sqrt(css / n)}`);
  x.dispose();
});

test("the article's normalization maps 0..255 onto −1..1 and back", async () => {
  await initBackend();
  const a = articleNormalizer();
  assert.deepEqual(a.transform([[0, 127.5, 255]]), [[-1, 0, 1]]);
  assert.deepEqual(a.inverse([[-1, 0, 1]]), [[0, 127.5, 255]]);
  for (let v = 0; v <= 255; v++) assert.ok(Math.abs(articleDenormalize((v / 255 - 0.5) / 0.5) - v) < 1e-9);
  const px = tf.tensor2d([[0, 64, 128, 255]], [1, 4], "int32");
  const t = a.transform(px);
  close(t.arraySync() as number[][], [[-1, (64 / 255 - 0.5) / 0.5, (128 / 255 - 0.5) / 0.5, 1]], 1e-6);
  close(a.inverse(t).arraySync() as number[][], [[0, 64, 128, 255]], 1e-4);
  tf.dispose([px, t]);
});

test("scalers refuse misuse with clear errors", () => {
  assert.throws(() => zScoreScaler().transform([[1]]), /zScoreScaler\.transform: not fitted yet; call fit\(trainingData\) first/);
  const s = minMaxScaler().fit(train);
  assert.throws(() => s.transform([[1, 2]]), /minMaxScaler\.transform: fitted on 3 features, found 2 \(1 rows of 2\)/);
  assert.throws(() => s.transform([[1, 2, 3], [1, 2]]), /row 1 has 2 values, expected 3 like row 0/);
  assert.throws(() => zScoreScaler().fit([[1, NaN]]), /zScoreScaler\.fit: row 0 column 1 is NaN; drop non-finite rows first/);
  assert.throws(() => minMaxScaler({ range: [1, 0] }), /range must be \[lo, hi\] with lo < hi, found \[1, 0\]/);
});
