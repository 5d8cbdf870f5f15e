/**
 * `Slice` and `GatherV2` for the tfjs `wasm` backend without their whole-input costs.
 *
 * - tfjs-backend-wasm's `Slice` starts with `readSync(x)`, a JS copy of the entire input, to cut
 *   out a few rows: taking a batch of 64 images from 60,000 copies all 188 MB; `model.fit` slices
 *   its 60,000-entry index array this way for every batch. Here the rows are copied straight
 *   from the backend's memory.
 * - Its `Gather` walks every element through index arithmetic in C++ (~50 ns per element here,
 *   2.6 ms for `fit`'s batch of 64 images); here whole slices are block copies.
 *
 * Both keep the shipped kernels for strings (which live in JS, not in wasm memory).
 */
import * as tf from "@tensorflow/tfjs";

interface WasmBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  readSync(dataId: object): ArrayLike<number>;
}

type Heap = Float32Array | Int32Array | Uint8Array;

const shipped = new Map<string, tf.KernelConfig>();

function runShipped(name: string, args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | tf.TensorInfo[] {
  const config = shipped.get(name);
  if (!config) throw new Error(`tfjs-backend-wasm registered no ${name} kernel`);
  config.setupFunc?.(args.backend);
  return config.kernelFunc(args);
}

/** Output first, then views: allocating may grow (and so replace) the memory buffer. */
function heaps(backend: WasmBackend, x: tf.TensorInfo, out: tf.TensorInfo): [Heap, Heap] {
  return [backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(out)];
}

const sliceKernel: tf.KernelFunc = (args) => {
  const { x } = args.inputs as unknown as { x: tf.TensorInfo };
  if (x.dtype === "string") return runShipped(tf.Slice, args);
  const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
  const backend = args.backend as unknown as WasmBackend;
  const [begin_, size_] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
  const out = backend.makeOutput(size_, x.dtype);
  const count = size_.reduce((p, d) => p * d, 1);
  if (count === 0) return out;
  const [xs, outs] = heaps(backend, x, out);
  const strides = tf.util.computeStrides(x.shape);
  if (tf.slice_util.isSliceContinous(x.shape, begin_, size_)) {
    const start = tf.slice_util.computeFlatOffset(begin_, strides);
    outs.set(xs.subarray(start, start + count));
    return out;
  }
  // Copy runs along the last dimension, odometer over the others.
  const rank = x.shape.length;
  const run = size_[rank - 1];
  const index = new Array<number>(rank - 1).fill(0);
  for (let o = 0; o < count; o += run) {
    let start = begin_[rank - 1];
    for (let d = 0; d < rank - 1; d++) start += (begin_[d] + index[d]) * strides[d];
    outs.set(xs.subarray(start, start + run), o);
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d] < size_[d]) break;
      index[d] = 0;
    }
  }
  return out;
};

const gatherKernel: tf.KernelFunc = (args) => {
  const { x, indices } = args.inputs as unknown as { x: tf.TensorInfo; indices: tf.TensorInfo };
  if (x.dtype === "string") return runShipped(tf.GatherV2, args);
  const { axis, batchDims } = args.attrs as unknown as tf.GatherV2Attrs;
  const backend = args.backend as unknown as WasmBackend;
  const parsedAxis = tf.util.parseAxisParam(axis, x.shape)[0];
  const info = tf.backend_util.segment_util.collectGatherOpShapeInfo(x as tf.Tensor, indices as tf.Tensor, parsedAxis, batchDims);
  const { batchSize, outerSize, dimSize, sliceSize } = info;
  const indexCount = indices.shape.reduce((p, d) => p * d, 1);
  const perBatch = indexCount / batchSize;
  const idx = backend.readSync(indices.dataId);
  for (let i = 0; i < idx.length; i++) {
    if (!(idx[i] >= 0 && idx[i] <= dimSize - 1)) {
      throw new Error(`GatherV2: the index value ${idx[i]} is not in [0, ${dimSize - 1}]`);
    }
  }
  const out = backend.makeOutput(info.outputShape, x.dtype);
  if (outerSize * indexCount * sliceSize === 0) return out;
  const [xs, outs] = heaps(backend, x, out);
  let o = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let outer = 0; outer < outerSize; outer++) {
      const base = (b * outerSize + outer) * dimSize * sliceSize;
      for (let i = 0; i < perBatch; i++) {
        const from = base + idx[b * perBatch + i] * sliceSize;
        if (sliceSize === 1) outs[o] = xs[from];
        else outs.set(xs.subarray(from, from + sliceSize), o);
        o += sliceSize;
      }
    }
  }
  return out;
};

/** `Slice` and `GatherV2` that copy only what they return, for a backend built on tfjs-backend-wasm. */
export function indexingConfigs(backendName = "wasm"): tf.KernelConfig[] {
  require("@tensorflow/tfjs-backend-wasm");
  for (const [name, ours] of [
    [tf.Slice, sliceKernel],
    [tf.GatherV2, gatherKernel],
  ] as const) {
    const current = tf.getKernel(name, "wasm");
    if (!shipped.has(name) && current && current.kernelFunc !== ours) shipped.set(name, current);
  }
  return [
    { kernelName: tf.Slice, backendName, kernelFunc: sliceKernel },
    { kernelName: tf.GatherV2, backendName, kernelFunc: gatherKernel },
  ];
}
