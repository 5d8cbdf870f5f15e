/**
 * tsdl's speed-ups for the tfjs `wasm` backend, the default where tfjs-node cannot install
 * (README, "Performance"): matrix products that never take the backend's slow path and mostly
 * run on tsdl's own generated SIMD GEMM (matmul.ts, gemm.ts, emit.ts; on all cores: parallel.ts,
 * gemm-worker.ts), an `Identity` that shares instead of copying (identity.ts), a SIMD `Sqrt`
 * (elementwise.ts), slicing and gathering that copy only what they return (indexing.ts), Adam's
 * update fused into one kernel (adam.ts), dropout's mask drawn in WebAssembly from tfjs's own seeded
 * generator and ReLU's gradient in one kernel (dropout.ts, masks.ts), dense layers fused in
 * training too (dense.ts), softmax cross-entropy and its gradient as two kernels (loss.ts), the
 * tape's saved tensors kept without an engine call each (tape.ts), the binary element-wise kernels
 * without Emscripten's `ccall` (binary.ts), convolutions as im2col products on that GEMM or direct
 * kernels, conv + bias + ReLU fused in training, max-pooling with its argmax (conv.ts,
 * conv-direct.ts, conv-fused.ts, pool.ts; with `Conv2DBackpropFilter`, which tfjs-wasm lacks, so that
 * plain tfjs `model.fit` trains a CNN), and the threaded SIMD build in Node with one thread per
 * core (threads.ts, threadpool.ts, pthread-worker.ts). `initBackend()` (src/backend.ts) sets them
 * up when it picks wasm.
 */
import * as tf from "@tensorflow/tfjs";
import { fastMatMulConfigs } from "./matmul";
import { sharedCastConfig, sharedIdentityConfig } from "./identity";
import { sqrtConfig } from "./elementwise";
import { indexingConfigs } from "./indexing";
import { gemmModuleBytes } from "./gemm";
import { adamConfig, installFusedAdam } from "./adam";
import { dropoutConfigs, installFastDropout } from "./dropout";
import { denseConfig, installFusedDense } from "./dense";
import { installFusedLoss, lossConfigs } from "./loss";
import { installLeanTape } from "./tape";
import { binaryConfigs } from "./binary";
import { pooledConvolutionConfigs } from "./threadpool";
import { CONV_KERNELS, convolutionConfigs, fusedConvolutionConfigs } from "./conv";
import { installFusedConv } from "./conv-fused";
import { assembledConv2dBackpropFilter, ensureTrainingKernels } from "./backprop-filter";
import {
  canUseThreads,
  defaultWasmThreads,
  registerThreadedWasm,
  threadedWasmFactory,
  threadedWasmFailure,
  wasmThreads,
  type ThreadOptions,
} from "./threads";

export { canUseThreads, defaultWasmThreads, MAX_WASM_THREADS, wasmThreads, threadedWasmFactory, withoutAddedProcessHandlers } from "./threads";
export { fastMatMulConfigs, setXnnpackMinFlops, XNNPACK_MIN_FLOPS } from "./matmul";
export { sharedCastConfig, sharedIdentityConfig } from "./identity";
export { sqrtConfig } from "./elementwise";
export { indexingConfigs } from "./indexing";
export { ADAM_KERNEL, adamConfig, installFusedAdam, setAdamInPlace } from "./adam";
export { DENSE_KERNEL, denseConfig, installFusedDense, uninstallFusedDense } from "./dense";
export { installLeanTape, uninstallLeanTape } from "./tape";
export { binaryConfigs } from "./binary";
export { SOFTMAX_CE_GRAD_KERNEL, SOFTMAX_CE_KERNEL, installFusedLoss, lossConfigs, uninstallFusedLoss } from "./loss";
export { DROPOUT_MASK_KERNEL, RELU_GRAD_KERNEL, dropoutConfigs, installFastDropout, uninstallFastDropout } from "./dropout";
export { CONV_BIAS_KERNEL, CONV_KERNELS, RELU_BIAS_GRAD_KERNEL, convolutionConfigs, fusedConvolutionConfigs, setDirectConvolutions, setDirectAnyChannels, setPoolArgmax } from "./conv";
export { installFusedConv, uninstallFusedConv } from "./conv-fused";
export { ensureTrainingKernels } from "./backprop-filter";
export { guardWasmHeap, WasmOutOfMemoryError, WASM_HEAP_MAX_BYTES } from "./heap";
export { setDirectOnHelpers, setFilterGradientOnHelpers, setHelpersLeaveLast } from "./parallel";

/** tfjs-backend-wasm's own kernels, as registered before tsdl replaced any. */
const shippedKernels = new Map<string, tf.KernelConfig>();
function shippedKernel(name: string): tf.KernelConfig | undefined {
  if (!shippedKernels.has(name)) {
    const config = tf.getKernel(name, "wasm");
    if (config) shippedKernels.set(name, config);
  }
  return shippedKernels.get(name);
}

/** The kernels tsdl puts on a backend built on tfjs-backend-wasm. */
export function tsdlWasmKernels(backendName = "wasm"): tf.KernelConfig[] {
  require("@tensorflow/tfjs-backend-wasm");
  const pooled = pooledConvolutionConfigs(shippedKernel, backendName) as unknown as tf.KernelConfig[];
  const assembledFilter: tf.KernelConfig = {
    kernelName: tf.Conv2DBackpropFilter, backendName, kernelFunc: assembledConv2dBackpropFilter as unknown as tf.KernelFunc,
  };
  // What tsdl's convolutions leave out runs on the (pooled) shipped kernel, or for the filter
  // gradient, which wasm lacks, on the one assembled from wasm's kernels.
  const fallback = (name: string) =>
    pooled.find((c) => c.kernelName === name) ?? shippedKernel(name) ?? (name === tf.Conv2DBackpropFilter ? assembledFilter : undefined);
  return [
    ...pooled.filter((c) => !CONV_KERNELS.includes(c.kernelName)),
    ...convolutionConfigs(backendName, fallback),
    ...fusedConvolutionConfigs(backendName),
    ...fastMatMulConfigs(backendName),
    sharedIdentityConfig(backendName),
    sharedCastConfig(backendName, shippedKernel(tf.Cast)),
    sqrtConfig(backendName),
    ...indexingConfigs(backendName),
    adamConfig(backendName),
    ...dropoutConfigs(backendName),
    denseConfig(backendName),
    ...lossConfigs(backendName),
    ...binaryConfigs(backendName, shippedKernel),
  ];
}

/** What was registered before `registerTsdlKernels`, per backend name and kernel. */
const replaced = new Map<string, Map<string, tf.KernelConfig | undefined>>();

/** Registers tsdl's kernels on `backendName` (default `wasm`), remembering what they replace. */
export function registerTsdlKernels(backendName = "wasm"): void {
  if (replaced.has(backendName)) return;
  installFusedAdam();
  installFastDropout();
  installFusedDense();
  installFusedLoss();
  installLeanTape();
  installFusedConv();
  const before = new Map<string, tf.KernelConfig | undefined>();
  for (const config of tsdlWasmKernels(backendName)) {
    before.set(config.kernelName, tf.getKernel(config.kernelName, backendName));
    if (before.get(config.kernelName)) tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel(config);
  }
  replaced.set(backendName, before);
}

/** Puts back the kernels `registerTsdlKernels` replaced on `backendName`. */
export function unregisterTsdlKernels(backendName = "wasm"): void {
  const before = replaced.get(backendName);
  if (!before) return;
  for (const [name, config] of before) {
    tf.unregisterKernel(name, backendName);
    if (config) tf.registerKernel(config);
  }
  replaced.delete(backendName);
}

/** Whether tsdl's kernels are registered on `backendName`. */
export function tsdlKernelsRegistered(backendName = "wasm"): boolean {
  return replaced.has(backendName);
}

/** Whether this JavaScript engine runs tsdl's generated kernels (they need WebAssembly SIMD). */
export function tsdlKernelsSupported(): boolean {
  return WebAssembly.validate(gemmModuleBytes(false) as Uint8Array<ArrayBuffer>);
}

/** Options for `setupFastWasm`. */
export interface FastWasmOptions extends ThreadOptions {
  /** Threads to compute with; default one per core (`TSDL_WASM_THREADS` in `initBackend`). */
  threads?: number;
  /** Register tsdl's kernels (default true). */
  kernels?: boolean;
}

/**
 * Prepares the `wasm` backend before it starts: the threaded build when more than one thread is
 * asked for and Node supports it, and tsdl's kernels. Returns the threads it arranged.
 */
export function setupFastWasm(options: FastWasmOptions = {}): { threads: number } {
  let threads = options.threads ?? defaultWasmThreads();
  if (threads > 1 && canUseThreads() && tf.findBackend("wasm") == null) {
    registerThreadedWasm(threads, options);
  } else {
    require("@tensorflow/tfjs-backend-wasm");
    threads = 1;
  }
  if (options.kernels !== false && tsdlKernelsSupported()) registerTsdlKernels("wasm");
  // Without tsdl's kernels wasm still needs a Conv2DBackpropFilter for any CNN to train.
  ensureTrainingKernels();
  return { threads };
}

/**
 * Registers a second wasm backend under `name`, with the given threads and with or without
 * tsdl's kernels, next to the stock `wasm`: for benchmarks that compare them in one process.
 */
export function registerWasmVariant(name: string, options: FastWasmOptions = {}): void {
  require("@tensorflow/tfjs-backend-wasm");
  const threads = options.threads ?? defaultWasmThreads();
  for (const config of tf.getKernelsForBackend("wasm")) {
    if (!tf.getKernel(config.kernelName, name)) tf.registerKernel({ ...config, backendName: name });
  }
  if (options.kernels !== false) {
    installFusedAdam();
    installFastDropout();
    installFusedDense();
    installFusedLoss();
    installLeanTape();
    installFusedConv();
    for (const config of tsdlWasmKernels(name)) {
      if (tf.getKernel(config.kernelName, name)) tf.unregisterKernel(config.kernelName, name);
      tf.registerKernel(config);
    }
  }
  tf.registerBackend(name, threads > 1 ? threadedWasmFactory(threads, options) : stockWasmFactory(), 0);
}

/** A factory for a second instance of the stock single-threaded SIMD wasm backend. */
function stockWasmFactory(): () => Promise<tf.KernelBackend> {
  const wasmFactory = tf.engine().registryFactory["wasm"]?.factory;
  if (!wasmFactory) throw new Error("tfjs-backend-wasm registered no wasm backend");
  return wasmFactory as () => Promise<tf.KernelBackend>;
}

/**
 * The wasm line of `backendInfo()`: what the running wasm backend has on, e.g.
 * "WebAssembly (XNNPACK): SIMD, threads: 2, tsdl fast matmul".
 */
export function describeWasm(backend: tf.KernelBackend = tf.backend(), backendName = "wasm"): string {
  const parts: string[] = [];
  const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
  parts.push(simd ? "SIMD" : "no SIMD");
  const failure = threadedWasmFailure();
  parts.push(`threads: ${wasmThreads(backend)}` + (failure ? ` (the threaded build failed: ${failure})` : ""));
  if (tsdlKernelsRegistered(backendName)) parts.push("tsdl fast matmul");
  return `WebAssembly (XNNPACK): ${parts.join(", ")}`;
}
