/**
 * Element-wise kernels for the tfjs `wasm` backend where the shipped ones are scalar loops.
 * `Sqrt`: Adam takes the square root of its second moment for every weight every step
 * (235,146 of them in the article MLP); tfjs-backend-wasm runs `f32.sqrt` one element at a
 * time, tsdl's generated `sqrt` four at a time (gemm.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { gemmFor } from "./gemm";

interface WasmBackend {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** tfjs-backend-wasm's own Sqrt, for other dtypes; captured before tsdl's replaces it. */
let shippedSqrt: tf.KernelConfig | undefined;

const sqrtKernel: tf.KernelFunc = (args) => {
  const { x } = args.inputs as unknown as { x: tf.TensorInfo };
  if (x.dtype !== "float32") {
    if (!shippedSqrt) throw new Error("tfjs-backend-wasm registered no Sqrt kernel");
    shippedSqrt.setupFunc?.(args.backend);
    return shippedSqrt.kernelFunc(args);
  }
  const backend = args.backend as unknown as WasmBackend;
  const out = backend.makeOutput(x.shape, "float32");
  const count = x.shape.reduce((p, d) => p * d, 1);
  if (count > 0) {
    gemmFor(backend).sqrt(backend.dataIdMap.get(x.dataId)!.memoryOffset, backend.dataIdMap.get(out.dataId)!.memoryOffset, count);
  }
  return out;
};

/** The SIMD `Sqrt` kernel, for a backend built on tfjs-backend-wasm. */
export function sqrtConfig(backendName = "wasm"): tf.KernelConfig {
  require("@tensorflow/tfjs-backend-wasm");
  const current = tf.getKernel(tf.Sqrt, "wasm");
  if (!shippedSqrt && current && current.kernelFunc !== sqrtKernel) shippedSqrt = current;
  return { kernelName: tf.Sqrt, backendName, kernelFunc: sqrtKernel };
}
