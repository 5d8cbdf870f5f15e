import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import * as data from "../../src/data";
import { DataError, encodeIdx, parseIdx, readIdx, MNIST_IMAGES, MNIST_LABELS } from "../../src/data";
import { tempDir } from "../helpers/tmpdir";
import { throwsData } from "../helpers/data-errors";


test("IDX bytes written by hand decode to the values and shape", () => {
  // 2 images of 2×3, by hand: magic 0x00000803, sizes 2, 2, 3, then 12 bytes.
  const bytes = new Uint8Array([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]);
  const arr = parseIdx(bytes, "tiny", MNIST_IMAGES);
  assert.equal(arr.dtype, "uint8");
  assert.deepEqual(arr.shape, [2, 2, 3]);
  assert.deepEqual(Array.from(arr.data), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 255]);
  assert.equal(data.idxMagic(MNIST_IMAGES), 2051);
  assert.equal(data.idxMagic(MNIST_LABELS), 2049);
});

test("every IDX element type round-trips big-endian", () => {
  const cases: [data.IdxDtype, number[]][] = [
    ["uint8", [0, 1, 128, 255]],
    ["int8", [-128, -1, 0, 127]],
    ["int16", [-32768, -2, 258, 32767]],
    ["int32", [-2147483648, -70000, 65536, 2147483647]],
    ["float32", [-1.5, 0, 3.25, 1e-3]],
    ["float64", [Math.PI, -Math.E, 1e300, -0.1]],
  ];
  for (const [dtype, values] of cases) {
    const bytes = encodeIdx(values, [2, 2], dtype);
    const arr = parseIdx(bytes, `x.${dtype}`);
    assert.equal(arr.dtype, dtype);
    assert.deepEqual(arr.shape, [2, 2]);
    const expected = dtype === "float32" ? values.map(Math.fround) : values;
    assert.deepEqual(Array.from(arr.data), expected, dtype);
  }
  // Big-endian on disk: 258 as int16 is 01 02.
  const b = encodeIdx([258], [1], "int16");
  assert.deepEqual(Array.from(b.subarray(8)), [1, 2]);
});

test("an empty file is its own error", () => {
  throwsData(() => parseIdx(new Uint8Array(0), "train-images-idx3-ubyte", MNIST_IMAGES), "EMPTY", /^train-images-idx3-ubyte: the file is empty \(0 bytes\); expected an IDX file of images/);
  const dir = tempDir();
  const f = path.join(dir, "t10k-labels-idx1-ubyte");
  writeFileSync(f, new Uint8Array(0));
  throwsData(() => readIdx(f, MNIST_LABELS), "EMPTY", /t10k-labels-idx1-ubyte: the file is empty/);
});

test("a missing file is NOT_FOUND, naming the path (a folder too), not a bare ENOENT", () => {
  const dir = tempDir();
  const f = path.join(dir, "train-images-idx3-ubyte");
  throwsData(() => readIdx(f, MNIST_IMAGES), "NOT_FOUND", /^train-images-idx3-ubyte: no such file; expected an IDX file of images at .*train-images-idx3-ubyte$/);
  assert.throws(() => readIdx(f), (err: unknown) => (err as DataError).file === f);
  throwsData(() => readIdx(dir), "NOT_FOUND", /is a folder; expected an IDX file at /);
});

test("a truncated file names the bytes expected and found", () => {
  const full = encodeIdx(new Uint8Array(3 * 4 * 4), [3, 4, 4]);
  throwsData(
    () => parseIdx(full.subarray(0, full.length - 5), "train-images-idx3-ubyte", MNIST_IMAGES),
    "TRUNCATED",
    /^train-images-idx3-ubyte: truncated: the header says 3 × 4 × 4 uint8 = 48 bytes after a 16-byte header \(64 in all\), found 59 \(5 missing\)$/,
  );
  // Cut inside the header, and inside the magic number.
  throwsData(() => parseIdx(full.subarray(0, 10), "f", MNIST_IMAGES), "TRUNCATED", /f: truncated: 10 bytes, but a header with 3 dimensions needs 16/);
  throwsData(() => parseIdx(full.subarray(0, 3), "f"), "TRUNCATED", /f: truncated: 3 bytes, but the IDX magic number alone needs 4/);
  // A gzip file cut short is also TRUNCATED, not a zlib message.
  const dir = tempDir();
  const gz = gzipSync(encodeIdx(new Uint8Array(1000).map((_, i) => i % 251), [1000]));
  const f = path.join(dir, "train-labels-idx1-ubyte.gz");
  writeFileSync(f, gz.subarray(0, gz.length - 20));
  throwsData(() => readIdx(f, MNIST_LABELS), "TRUNCATED", /train-labels-idx1-ubyte\.gz: truncated gzip stream/);
});

test("extra bytes after the data are refused", () => {
  const bytes = new Uint8Array([...encodeIdx([1, 2, 3], [3]), 9, 9]);
  throwsData(() => parseIdx(bytes, "labels", MNIST_LABELS), "TRAILING_BYTES", /labels: 2 unexpected bytes after the data: the header says 3 uint8 = 3 bytes after a 8-byte header \(11 in all\), found 13/);
});

test("a wrong magic number says which kind of file was found", () => {
  const labels = encodeIdx([5, 0, 4], [3]);
  throwsData(() => parseIdx(labels, "train-images-idx3-ubyte", MNIST_IMAGES), "BAD_MAGIC", /^train-images-idx3-ubyte: magic 2049, expected 2051 \(images\); found uint8, 1 dimension, expected uint8, 3 dimensions$/);
  const images = encodeIdx(new Uint8Array(8), [2, 2, 2]);
  throwsData(() => parseIdx(images, "train-labels-idx1-ubyte", MNIST_LABELS), "BAD_MAGIC", /magic 2051, expected 2049 \(labels\)/);
  // Right dimensions, wrong element type.
  throwsData(() => parseIdx(encodeIdx([1, 2], [2], "float32"), "l", MNIST_LABELS), "BAD_MAGIC", /magic 3329, expected 2049 \(labels\); found float32, 1 dimension/);
  // Not IDX at all (a PNG header).
  throwsData(() => parseIdx(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]), "img.png", MNIST_IMAGES), "BAD_MAGIC", /img\.png: not an IDX file: starts with bytes 89 50 4e 47/);
});

test("an unknown element type and zero dimensions are refused", () => {
  throwsData(() => parseIdx(new Uint8Array([0, 0, 7, 1, 0, 0, 0, 0]), "odd"), "BAD_TYPE", /odd: element type 0x07 is not an IDX type; expected one of 0x08 uint8, 0x09 int8/);
  throwsData(() => parseIdx(new Uint8Array([0, 0, 8, 0]), "flat"), "BAD_SHAPE", /flat: the header declares 0 dimensions/);
});

test("gzip is detected by its magic bytes, whatever the file name", () => {
  const dir = tempDir();
  const raw = encodeIdx(new Uint8Array([3, 1, 4, 1, 5, 9, 2, 6]), [2, 2, 2]);
  const plain = path.join(dir, "a-idx3-ubyte");
  const gz = path.join(dir, "b-idx3-ubyte"); // gzip content without a .gz name
  writeFileSync(plain, raw);
  writeFileSync(gz, gzipSync(raw));
  const a = readIdx(plain, MNIST_IMAGES);
  const b = readIdx(gz, MNIST_IMAGES);
  assert.equal(a.gzip, false);
  assert.equal(b.gzip, true);
  assert.deepEqual(Array.from(b.data), [3, 1, 4, 1, 5, 9, 2, 6]);
  assert.deepEqual(Buffer.from(b.bytes), Buffer.from(raw), "decompressed bytes are the idx bytes");
  // Starts like gzip but is not.
  throwsData(() => data.gunzipIfNeeded(new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]), "bad.gz"), "BAD_GZIP", /bad\.gz: starts with the gzip magic 1f 8b but does not decompress/);
});
