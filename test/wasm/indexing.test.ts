/**
 * tsdl's wasm `Slice`, `SplitV`, `Unpack`, `StridedSlice` and `GatherV2` against the `cpu`
 * backend (ranks 1–5, contiguous and strided slices, every axis, batchDims, dtypes), and proof
 * they do not copy the whole input.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { indexingConfigs, registerTsdlKernels } from "../../src/wasm";
import { gatherRows } from "../../src/wasm/indexing";

before(async () => {
  require("@tensorflow/tfjs-backend-wasm");
  registerTsdlKernels("wasm");
  await tf.setBackend("wasm");
});

/** Runs `f` on both backends from the same array; compares values, shapes and dtypes exactly. */
async function same(what: string, data: number[], shape: number[], dtype: tf.DataType, f: (x: tf.Tensor) => tf.Tensor | tf.Tensor[]): Promise<void> {
  const on = async (b: string) => {
    await tf.setBackend(b);
    return tf.tidy(() => {
      const ys = f(tf.tensor(data, shape, dtype));
      return (Array.isArray(ys) ? ys : [ys]).map((y) => ({ shape: y.shape, dtype: y.dtype, values: [...y.dataSync()] }));
    });
  };
  assert.deepEqual(await on("wasm"), await on("cpu"), what);
}

const iota = (n: number) => Array.from({ length: n }, (_, i) => i);

test("the wasm backend runs tsdl's Slice, SplitV, Unpack, StridedSlice and GatherV2", () => {
  for (const config of indexingConfigs("wasm")) {
    assert.equal(tf.getKernel(config.kernelName, "wasm")?.kernelFunc, config.kernelFunc, config.kernelName);
  }
});

test("split, unstack and strided slices match cpu", async () => {
  const data = iota(4 * 6 * 5).map((i) => i * 0.25 - 3);
  for (const dtype of ["float32", "int32"] as tf.DataType[]) {
    const d = dtype === "int32" ? data.map(Math.round) : data;
    await same(`split in 2 along 0 ${dtype}`, d, [4, 6, 5], dtype, (x) => tf.split(x, 2, 0));
    await same(`split [1,3,2] along 1 ${dtype}`, d, [4, 6, 5], dtype, (x) => tf.split(x, [1, 3, 2], 1));
    await same(`split [2,-1] along -1 ${dtype}`, d, [4, 6, 5], dtype, (x) => tf.split(x, [2, -1], -1));
    for (const axis of [0, 1, 2, -1]) await same(`unstack along ${axis} ${dtype}`, d, [4, 6, 5], dtype, (x) => tf.unstack(x, axis));
    await same(`strided slice rows ${dtype}`, d, [4, 6, 5], dtype, (x) => tf.stridedSlice(x, [1], [3], [1]));
    await same(`strided slice box ${dtype}`, d, [4, 6, 5], dtype, (x) => tf.stridedSlice(x, [1, 2, 0], [3, 5, 4], [1, 1, 1]));
    await same(`strided slice step 2 ${dtype}`, d, [4, 6, 5], dtype, (x) => tf.stridedSlice(x, [0, 0, 1], [4, 6, 5], [2, 1, 2]));
    await same(`strided slice shrink ${dtype}`, d, [4, 6, 5], dtype, (x) => tf.stridedSlice(x, [2, 1, 0], [3, 4, 5], [1, 1, 1], 0, 0, 0, 0, 1));
    await same(`strided slice negative ${dtype}`, d, [4, 6, 5], dtype, (x) => tf.stridedSlice(x, [-1, 5, 4], [0, 0, 0], [-1, -2, -1]));
    await same(`strided slice whole ${dtype}`, d, [4, 6, 5], dtype, (x) => tf.stridedSlice(x, [0, 0, 0], [4, 6, 5], [1, 1, 1]));
  }
});

test("Slice matches cpu: ranks 1-5, contiguous and strided, -1 sizes, empty, every dtype", async () => {
  const cases: [number[], number[], number[]][] = [
    [[10], [3], [4]],
    [[6, 7], [2, 0], [3, 7]],
    [[6, 7], [1, 2], [4, 3]],
    [[6, 7], [0, 6], [-1, 1]],
    [[4, 5, 6], [1, 1, 1], [2, 3, 4]],
    [[4, 5, 6], [2, 0, 0], [2, -1, -1]],
    [[3, 4, 5, 6], [1, 0, 2, 1], [2, 4, 2, 5]],
    [[2, 3, 4, 5, 6], [1, 1, 0, 2, 3], [1, 2, 4, 2, 2]],
    [[6, 7], [2, 3], [0, 2]],
  ];
  for (const [shape, begin, size] of cases) {
    const n = shape.reduce((p, d) => p * d, 1);
    for (const dtype of ["float32", "int32", "bool"] as tf.DataType[]) {
      const data = dtype === "bool" ? iota(n).map((i) => i % 3 === 0 ? 1 : 0) : iota(n).map((i) => i * 1.5 - 7);
      await same(`slice [${shape}] from [${begin}] size [${size}] ${dtype}`, dtype === "int32" ? data.map(Math.round) : data, shape, dtype, (x) => tf.slice(x, begin, size));
    }
  }
});

test("GatherV2 matches cpu: every axis, 2-D indices, repeated indices, batchDims, dtypes", async () => {
  const x = iota(4 * 5 * 6).map((i) => i * 0.5);
  for (const dtype of ["float32", "int32"] as tf.DataType[]) {
    const data = dtype === "int32" ? x.map(Math.round) : x;
    for (const axis of [0, 1, 2, -1]) {
      await same(`gather axis ${axis} ${dtype}`, data, [4, 5, 6], dtype, (t) => tf.gather(t, tf.tensor1d([3, 0, 3, 1], "int32"), axis));
      await same(`gather 2-D indices axis ${axis}`, data, [4, 5, 6], dtype, (t) => tf.gather(t, tf.tensor2d([[1, 0], [2, 2], [0, 3]], [3, 2], "int32"), axis));
    }
    await same(`gather batchDims 1 ${dtype}`, data, [4, 5, 6], dtype, (t) => tf.gather(t, tf.tensor2d([[4, 0], [1, 1], [3, 2], [0, 4]], [4, 2], "int32"), 1, 1));
    await same(`gather no indices ${dtype}`, data, [4, 5, 6], dtype, (t) => tf.gather(t, tf.tensor1d([], "int32"), 1));
  }
});

test("GatherV2 rejects an index out of range, naming it", async () => {
  await tf.setBackend("wasm");
  assert.throws(() => tf.gather(tf.ones([3, 2]), tf.tensor1d([0, 3], "int32")), /index value 3 is not in \[0, 2\]/);
});

test("gatherRows copies the rows tf.gather gives, with no kernel call on wasm, and checks the rows", async () => {
  const x = iota(7 * 3 * 2).map((i) => i * 0.25 - 3);
  const rows = [6, 0, 3, 3, 1];
  for (const dtype of ["float32", "int32", "bool"] as tf.DataType[]) {
    const data = dtype === "float32" ? x : x.map((v) => Math.round(v) & 1);
    for (const s of [[7, 3, 2], [7, 6], [42]]) {
      const picked = s[0] === 42 ? [41, 0, 17, 17] : rows;
      await same(`gatherRows ${dtype} [${s}]`, data, s, dtype, (t) => gatherRows(t, picked));
      await tf.setBackend("wasm");
      const t = tf.tensor(data, s, dtype);
      const expected = tf.gather(t, tf.tensor1d(picked, "int32"));
      const profile = await tf.profile(() => {
        const got = gatherRows(t, Int32Array.from(picked));
        assert.deepEqual([...got.dataSync()], [...expected.dataSync()], `gatherRows ${dtype} [${s}] from an Int32Array`);
        assert.deepEqual(got.shape, expected.shape);
        got.dispose();
      });
      assert.deepEqual(profile.kernels.map((k) => k.name), [], "kernels run by gatherRows on wasm");
      tf.dispose([t, expected]);
    }
  }
  await tf.setBackend("wasm");
  const t = tf.ones([3, 2]);
  assert.throws(() => gatherRows(t, [0, 3]), /the row 3 is not in \[0, 2\]/);
  assert.throws(() => gatherRows(t, [1.5]), /the row 1.5 is not in \[0, 2\]/);
  assert.equal(gatherRows(t, []).shape[0], 0);
  t.dispose();
});

test("slicing, splitting and gathering never read the whole input back into JavaScript", async () => {
  await tf.setBackend("wasm");
  const backend = tf.backend();
  const big = tf.zeros([600, 784]);
  const reads: object[] = [];
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId: object, ...rest: unknown[]) => {
    reads.push(dataId);
    return (readSync as (...a: unknown[]) => ReturnType<typeof readSync>)(dataId, ...rest);
  };
  try {
    tf.tidy(() => {
      tf.slice(big, [64, 0], [64, 784]);
      tf.slice(big, [0, 10], [600, 20]);
      tf.gather(big, tf.tensor1d([5, 599, 0], "int32"));
      tf.split(big, 10);
      tf.unstack(tf.slice(big, [0, 0], [600, 8]), 1);
      tf.stridedSlice(big, [100], [164], [1]);
    });
  } finally {
    backend.readSync = readSync;
  }
  assert.ok(!reads.includes(big.dataId), "the 600x784 input was read back");
  big.dispose();
});
