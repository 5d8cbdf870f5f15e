/**
 * tfjs-backend-wasm's element-wise binary kernels (Add, Multiply, Equal, ...) called without
 * Emscripten's `ccall`.
 *
 * The shipped kernels pass the two input shapes as `'array'` arguments of `cwrap`, and for such
 * arguments Emscripten's cwrap falls back to `ccall` at every call: it looks the C function up
 * again (`getCFunc`), saves the stack, copies each shape onto it and converts every argument.
 * A profile of `dl.train.fit` on the article MLP (README, "Performance") put 4% of the step in
 * these kernels' JavaScript, 2.4% in `ccall` alone, for the few binary kernels of a step
 * (dropout's Multiply forward and backward, the accuracy's Equal).
 *
 * Here each kernel writes the shapes into a small buffer allocated once per backend and calls the
 * same exported C function (`_Multiply`, ...) directly: the same C++ code on the same inputs, so
 * the same bits and the same broadcasting (test/wasm/binary.test.ts). Inputs of a dtype the C++
 * side does not take, or of rank above 8, run the shipped kernel.
 */
import * as tf from "@tensorflow/tfjs";

/** The binary kernels tfjs-backend-wasm 4.22 builds with `createBinaryKernelConfig`, and those whose output is bool. */
const BINARY_KERNELS: readonly string[] = [
  tf.Add, tf.Atan2, tf.FloorDiv, tf.Maximum, tf.Minimum, tf.Mod, tf.Multiply, tf.Pow, tf.RealDiv, tf.SquaredDifference, tf.Sub,
  tf.Equal, tf.Greater, tf.GreaterEqual, tf.Less, tf.LessEqual, tf.LogicalAnd, tf.LogicalOr, tf.LogicalXor, tf.NotEqual,
];
const BOOL_OUTPUT = new Set<string>([tf.Equal, tf.Greater, tf.GreaterEqual, tf.Less, tf.LessEqual, tf.LogicalAnd, tf.LogicalOr, tf.LogicalXor, tf.NotEqual]);

/** tfjs-backend-wasm's CppDType. */
const CPP_DTYPE: Partial<Record<tf.DataType, number>> = { float32: 0, int32: 1, bool: 2 };

/** The most dimensions the shape buffer holds per input. */
const MAX_RANK = 8;

type BinaryFunc = (aId: number, aShape: number, aRank: number, bId: number, bShape: number, bRank: number, dtype: number, outId: number) => void;

interface WasmBackend {
  wasm: Record<string, unknown> & { _malloc(bytes: number): number; HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { id: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** Per backend: the address of 2 × MAX_RANK int32 for the two shapes (never freed; 64 bytes). */
const shapeBuffers = new WeakMap<object, number>();

function shapeBuffer(b: WasmBackend): number {
  let at = shapeBuffers.get(b);
  if (at === undefined) {
    at = b.wasm._malloc(2 * MAX_RANK * 4);
    if (!at) throw new Error("tsdl binary kernels: the wasm heap has no room for 64 bytes");
    shapeBuffers.set(b, at);
  }
  return at;
}

/**
 * The kernel `name` on `backendName`, calling tfjs-backend-wasm's C function directly, and the
 * shipped kernel for what it leaves out.
 */
function binaryConfig(name: string, backendName: string, shipped: tf.KernelConfig): tf.KernelConfig {
  const outBool = BOOL_OUTPUT.has(name);
  const kernelFunc: tf.KernelFunc = (args) => {
    const b = args.backend as unknown as WasmBackend;
    const { a, b: y } = args.inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
    const fn = b.wasm[`_${name}`] as BinaryFunc | undefined;
    const dtype = CPP_DTYPE[a.dtype];
    if (typeof fn !== "function" || dtype === undefined || a.shape.length > MAX_RANK || y.shape.length > MAX_RANK) {
      shipped.setupFunc?.(args.backend);
      return shipped.kernelFunc(args);
    }
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, y.shape);
    const out = b.makeOutput(shape, outBool ? "bool" : a.dtype);
    if (tf.util.sizeFromShape(shape) === 0) return out;
    const at = shapeBuffer(b);
    // The view made after makeOutput (its malloc may have grown the memory; Emscripten renews HEAPU8).
    const shapes = new Int32Array(b.wasm.HEAPU8.buffer, at, 2 * MAX_RANK);
    for (let i = 0; i < a.shape.length; i++) shapes[i] = a.shape[i];
    for (let i = 0; i < y.shape.length; i++) shapes[MAX_RANK + i] = y.shape[i];
    fn(b.dataIdMap.get(a.dataId)!.id, at, a.shape.length, b.dataIdMap.get(y.dataId)!.id, at + MAX_RANK * 4, y.shape.length, dtype, b.dataIdMap.get(out.dataId)!.id);
    return out;
  };
  return { kernelName: name, backendName, kernelFunc };
}

/** The binary kernels without `ccall`, for a backend built on tfjs-backend-wasm (`shipped` gives its own kernels). */
export function binaryConfigs(backendName: string, shipped: (name: string) => tf.KernelConfig | undefined): tf.KernelConfig[] {
  return BINARY_KERNELS.flatMap((name) => {
    const config = shipped(name);
    return config ? [binaryConfig(name, backendName, config)] : [];
  });
}
