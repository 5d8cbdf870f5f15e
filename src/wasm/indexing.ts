/**
 * `Slice`, `SplitV`, `Unpack`, `StridedSlice` and `GatherV2` for the tfjs `wasm` backend without
 * their whole-input costs.
 *
 * - tfjs-backend-wasm's `Slice` starts with `readSync(x)`, a JS copy of the entire input, to cut
 *   out a few rows: taking a batch of 64 images from 60,000 copies all 188 MB; `model.fit` slices
 *   its 60,000-entry index array this way for every batch, and `tf.split` / `tf.unstack` /
 *   simple `tf.stridedSlice` copy the whole input once per piece. Here the rows are copied
 *   straight from the backend's memory.
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

const splitVKernel: tf.KernelFunc = (args) => {
  const { x } = args.inputs as unknown as { x: tf.TensorInfo };
  if (x.dtype === "string") return runShipped(tf.SplitV, args);
  const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, $axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[$axis] = s;
    const piece = sliceKernel({ inputs: { x }, backend: args.backend, attrs: { begin: [...begin], size } }) as tf.TensorInfo;
    begin[$axis] += s;
    return piece;
  });
};

const unpackKernel: tf.KernelFunc = (args) => {
  const { value } = args.inputs as unknown as { value: tf.TensorInfo };
  if (value.dtype === "string") return runShipped(tf.Unpack, args);
  const rank = value.shape.length;
  const given = (args.attrs as unknown as tf.UnpackAttrs).axis;
  const axis = given < 0 ? given + rank : given;
  const outShape = value.shape.filter((_, d) => d !== axis);
  const begin = new Array<number>(rank).fill(0);
  const size = [...value.shape];
  size[axis] = 1;
  return Array.from({ length: value.shape[axis] }, (_, i) => {
    begin[axis] = i;
    const piece = sliceKernel({ inputs: { x: value }, backend: args.backend, attrs: { begin: [...begin], size } }) as tf.TensorInfo;
    return { dataId: piece.dataId, dtype: piece.dtype, shape: outShape };
  });
};

const stridedSliceKernel: tf.KernelFunc = (args) => {
  const { x } = args.inputs as unknown as { x: tf.TensorInfo };
  const a = args.attrs as unknown as tf.StridedSliceAttrs;
  if (x.dtype === "string" || x.shape.length === 0) return runShipped(tf.StridedSlice, args);
  const backend = args.backend as unknown as WasmBackend & { disposeData(dataId: object): void };
  const info = tf.slice_util.sliceInfo(x.shape, a.begin, a.end, a.strides, a.beginMask, a.endMask, a.ellipsisMask, a.newAxisMask, a.shrinkAxisMask);
  const reshape = (t: tf.TensorInfo) => {
    const r = tf.getKernel(tf.Reshape, "wasm")!.kernelFunc({ inputs: { x: t }, backend: args.backend, attrs: { shape: info.finalShape } }) as tf.TensorInfo;
    backend.disposeData(t.dataId);
    return r;
  };
  const size = tf.slice_util.computeOutShape(info.begin, info.end, info.strides);
  if (info.isIdentity) {
    // A no-op slice: the input itself, reshaped (the Reshape kernel shares its buffer).
    return tf.getKernel(tf.Reshape, "wasm")!.kernelFunc({ inputs: { x }, backend: args.backend, attrs: { shape: info.finalShape } });
  }
  if (info.sliceDim0 || info.isSimpleSlice) {
    return reshape(sliceKernel({ inputs: { x }, backend: args.backend, attrs: { begin: info.begin, size } }) as tf.TensorInfo);
  }
  // Strided: element by element along the last dimension, odometer over the others. (The
  // shipped kernel does this in C++ but returns float32 whatever the input's dtype.)
  const out = backend.makeOutput(size, x.dtype);
  const count = size.reduce((p, d) => p * d, 1);
  if (count > 0) {
    const [xs, outs] = heaps(backend, x, out);
    const rank = x.shape.length;
    const xStrides = [...tf.util.computeStrides(x.shape), 1];
    const inner = size[rank - 1];
    const innerStep = info.strides[rank - 1];
    const index = new Array<number>(rank - 1).fill(0);
    for (let o = 0; o < count; o += inner) {
      let from = info.begin[rank - 1];
      for (let d = 0; d < rank - 1; d++) from += (info.begin[d] + index[d] * info.strides[d]) * xStrides[d];
      for (let t = 0; t < inner; t++) outs[o + t] = xs[from + t * innerStep];
      for (let d = rank - 2; d >= 0; d--) {
        if (++index[d] < size[d]) break;
        index[d] = 0;
      }
    }
  }
  return reshape(out);
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

const kernels: [string, tf.KernelFunc][] = [
  [tf.Slice, sliceKernel],
  [tf.SplitV, splitVKernel],
  [tf.Unpack, unpackKernel],
  [tf.StridedSlice, stridedSliceKernel],
  [tf.GatherV2, gatherKernel],
];

/**
 * `Slice`, `SplitV`, `Unpack`, `StridedSlice` and `GatherV2` that copy only what they return,
 * for a backend built on tfjs-backend-wasm.
 */
export function indexingConfigs(backendName = "wasm"): tf.KernelConfig[] {
  require("@tensorflow/tfjs-backend-wasm");
  for (const [name, ours] of kernels) {
    const current = tf.getKernel(name, "wasm");
    if (!shipped.has(name) && current && current.kernelFunc !== ours) shipped.set(name, current);
  }
  return kernels.map(([kernelName, kernelFunc]) => ({ kernelName, backendName, kernelFunc }));
}

/**
 * `tf.gather(x, rows)` along the first axis, with the row numbers as a JavaScript array: on a
 * backend with tsdl's `GatherV2` the rows are copied straight into a new tensor, without
 * uploading the indices, reading them back, and two engine calls (what `fit` did for each batch's
 * images and labels); elsewhere `tf.gather`. The values are the same copies.
 */
export function gatherRows(x: tf.Tensor, rows: ArrayLike<number>): tf.Tensor {
  const config = tf.getKernel(tf.GatherV2, tf.getBackend());
  if (config?.kernelFunc !== gatherKernel || x.dtype === "string" || x.rank === 0) {
    return tf.tidy(() => tf.gather(x, tf.tensor1d(Array.from(rows), "int32")));
  }
  const n = x.shape[0];
  for (let i = 0; i < rows.length; i++) {
    if (!(Number.isInteger(rows[i]) && rows[i] >= 0 && rows[i] < n)) throw new Error(`gatherRows: the row ${rows[i]} is not in [0, ${n - 1}]`);
  }
  const backend = tf.backend() as unknown as WasmBackend;
  const slice = x.size / Math.max(1, n);
  const out = backend.makeOutput([rows.length, ...x.shape.slice(1)], x.dtype);
  const [xs, outs] = heaps(backend, x, out);
  for (let i = 0; i < rows.length; i++) outs.set(xs.subarray(rows[i] * slice, (rows[i] + 1) * slice), i * slice);
  return tf.engine().makeTensorFromTensorInfo(out, backend as unknown as tf.KernelBackend);
}
