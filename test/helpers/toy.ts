/** Small seeded classification problems for the model and training tests. */
import * as tf from "@tensorflow/tfjs";
import { mulberry32 } from "../../src/data/rng";

/**
 * `k` Gaussian blobs in `dims` dimensions, centred on well-separated points, `n` examples in
 * all (class i % k): a problem a small MLP separates almost perfectly.
 */
export function blobs(n: number, options: { k?: number; dims?: number; seed?: number; spread?: number } = {}): { x: tf.Tensor2D; y: tf.Tensor1D; labels: Int32Array } {
  const k = options.k ?? 3;
  const dims = options.dims ?? 2;
  const spread = options.spread ?? 0.5;
  const rand = mulberry32(options.seed ?? 1);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const centres = Array.from({ length: k }, (_, c) => Array.from({ length: dims }, (_, d) => 3 * Math.cos((2 * Math.PI * c) / k + d)));
  const xs = new Float32Array(n * dims);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    labels[i] = c;
    for (let d = 0; d < dims; d++) xs[i * dims + d] = centres[c][d] + spread * gauss();
  }
  return { x: tf.tensor2d(xs, [n, dims]), y: tf.tensor1d(labels, "int32"), labels };
}
