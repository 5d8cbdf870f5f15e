/**
 * A dense network's forward pass in inference (scoring: `evaluate`, `predictClasses`, fit's
 * validation) as a straight run of the registered kernels on the tfjs `wasm` backend, without
 * tfjs-layers' `predictLoop` and executor and the engine's `runKernel` around each layer.
 *
 * In inference tfjs-layers' `Dense` calls `tf.fused.matMul`, which, outside gradient recording,
 * runs the `_FusedMatMul` kernel (tsdl's, matmul.ts) on a reshaped to [1, m, k] and the kernel
 * to [1, k, n], with the bias and attrs { transposeA: false, transposeB: false, activation,
 * leakyreluAlpha: 0.2 }; `Dropout` passes its input on; `predictLoop` slices each pass's rows
 * out of the input (a copy) and concatenates the passes' outputs. For a `Sequential` stack of
 * `Dense` (relu or linear, with a bias) and `Dropout` layers, `denseForwardFor` returns a forward
 * pass that calls that same kernel, with the same inputs and attrs, layer by layer, pass by pass
 * (the caller says how many rows a pass has, as `predictBatch` chooses them), and copies each
 * pass's output into one [rows, units] tensor, so the outputs are those of `model.predict` to the
 * bit (test/train/dense-forward.test.ts). A pass's rows are read in place: the first product's
 * input is a view (a tensor id registered on a slice of the input's wasm memory, as matmul.ts
 * makes for XNNPACK), where `predictLoop` copied them (`sliceKernel` was ~4% of `evaluate`).
 *
 * Everything else — other layers, activations or no bias, an input that is not a float32 [n, k]
 * tensor on this backend, a pass too tall for tsdl's GEMM, other backends — returns undefined:
 * the caller runs `model.predict`.
 */
import * as tf from "@tensorflow/tfjs";
import { gemmModuleFor } from "./gemm";
import { productOnTsdlGemm } from "./matmul";

interface WasmBackend {
  wasm: {
    tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
    wasmMemory?: WebAssembly.Memory;
    asm?: { memory?: WebAssembly.Memory };
  };
  dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number } | undefined;
    set(dataId: object, data: { id: number; memoryOffset: number; shape: number[]; dtype: tf.DataType; refCount: number }): void;
    delete(dataId: object): boolean;
  };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/** A dense layer as the forward pass runs it (dropout layers drop out: identity in inference). */
interface ForwardLayer {
  kernel: tf.Variable;
  /** The kernel's [k, n]. */
  k: number;
  n: number;
  bias: tf.Variable;
  activation: "relu" | "linear";
}

/** A dense network's inference pass; `logits` returns undefined for an input the general path must take. */
export interface DenseForward {
  /**
   * The model's outputs for rows [start, start + rows) of `x`, in passes of `passRows` rows (the
   * last one shorter), as an engine tensor [rows, units] (tracked by the current scope).
   */
  logits(x: tf.Tensor, start: number, rows: number, passRows: number): tf.Tensor | undefined;
}

let enabled = true;
let passesRun = 0;

/** Turns the direct inference pass on or off (default on; off for tests and benchmarks that compare); returns the previous setting. */
export function setDenseForward(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** How many forward passes the direct path has run (for tests: that scoring took it). */
export function denseForwardsRun(): number {
  return passesRun;
}

/** The model's dense layers as the pass runs them, or undefined when it has any other kind. */
function forwardLayers(model: tf.LayersModel): ForwardLayer[] | undefined {
  if (!(model instanceof tf.Sequential) || model.inputs.length !== 1 || model.outputs.length !== 1) return undefined;
  const layers: ForwardLayer[] = [];
  for (const l of model.layers) {
    const c = l as unknown as { kernel?: { read(): tf.Variable }; bias?: { read(): tf.Variable }; activation?: { getClassName(): string }; useBias?: boolean };
    const name = l.getClassName();
    if (!l.built) return undefined;
    if (name === "Dense") {
      const activation = c.activation?.getClassName();
      if ((activation !== "relu" && activation !== "linear") || !c.kernel || !c.bias || c.useBias === false) return undefined;
      const kernel = c.kernel.read();
      const bias = c.bias.read();
      if (kernel.rank !== 2 || kernel.dtype !== "float32" || bias.rank !== 1 || bias.dtype !== "float32") return undefined;
      const prev = layers[layers.length - 1];
      const [k, n] = kernel.shape as [number, number];
      if (prev && prev.n !== k) return undefined;
      layers.push({ kernel, k, n, bias, activation });
    } else if (name !== "Dropout") return undefined;
  }
  return layers.length > 0 ? layers : undefined;
}

/** The direct inference pass for `model` on the current backend; undefined where `model.predict` must run. */
export function denseForwardFor(model: tf.LayersModel): DenseForward | undefined {
  const backendName = tf.getBackend();
  const fused = tf.getKernel(tf._FusedMatMul, backendName);
  if (!enabled || !fused) return undefined;
  const layers = forwardLayers(model);
  if (!layers) return undefined;
  const backend = tf.backend() as unknown as WasmBackend;
  // Duck-typed: a backend built on tfjs-backend-wasm (others keep their data elsewhere).
  if (!backend.dataIdMap || !backend.wasm?.tfjs?.registerTensor || !(backend.wasm.wasmMemory ?? backend.wasm.asm?.memory)) return undefined;
  const kernelBackend = backend as unknown as tf.KernelBackend;
  const k0 = layers[0].k;
  const units = layers[layers.length - 1].n;

  const logits = (x: tf.Tensor, start: number, rows: number, passRows: number): tf.Tensor | undefined => {
    if (!enabled || tf.getBackend() !== backendName || x.rank !== 2 || x.dtype !== "float32" || x.shape[1] !== k0) return undefined;
    if (!(Number.isInteger(start) && Number.isInteger(rows) && Number.isInteger(passRows)) || start < 0 || rows < 1 || passRows < 1 || start + rows > x.shape[0]) return undefined;
    // Everything read must be on this backend: its data storage moves data made on another one
    // when asked for it (as for runKernel), and knows nothing only of disposed tensors.
    const xData = backend.dataIdMap.get(x.dataId);
    if (!xData || layers.some((l) => !backend.dataIdMap.get(l.kernel.dataId) || !backend.dataIdMap.get(l.bias.dataId))) return undefined;
    const tall = Math.min(passRows, rows);
    if (layers.some((l) => !productOnTsdlGemm(tall, l.k, l.n))) return undefined;

    const out = backend.makeOutput([rows, units], "float32");
    let handedOut = false;
    let h: tf.TensorInfo | undefined;
    const views: { dataId: object; id: number }[] = [];
    const isView = (t: tf.TensorInfo) => views.some((v) => v.dataId === t.dataId);
    try {
      for (let from = 0; from < rows; from += passRows) {
        const m = Math.min(passRows, rows - from);
        // Rows [start + from, start + from + m) of x, in place: a view with its own tensor id.
        const view = { dataId: {}, id: backend.dataIdNextNumber++ };
        const offset = xData.memoryOffset + 4 * (start + from) * k0;
        backend.dataIdMap.set(view.dataId, { id: view.id, memoryOffset: offset, shape: [1, m, k0], dtype: "float32", refCount: 1 });
        backend.wasm.tfjs.registerTensor(view.id, m * k0, offset);
        views.push(view);
        h = { dataId: view.dataId, shape: [1, m, k0], dtype: "float32" };
        for (const l of layers) {
          // tfjs's fused matMul: a as [1, m, k], b as [1, k, n], the bias as it is.
          const inputs = { a: h!, b: { dataId: l.kernel.dataId, shape: [1, l.k, l.n], dtype: "float32" }, bias: l.bias };
          const attrs = { transposeA: false, transposeB: false, activation: l.activation, leakyreluAlpha: 0.2 };
          const next = fused.kernelFunc({ inputs: inputs as unknown as tf.NamedTensorInfoMap, backend: kernelBackend, attrs: attrs as unknown as tf.NamedAttrMap }) as tf.TensorInfo;
          if (!isView(h!)) backend.disposeData(h!.dataId);
          h = next;
        }
        // The pass's output into its rows of `out` (predictLoop's concat copies the same values).
        const src = backend.dataIdMap.get(h.dataId)!.memoryOffset;
        const dst = backend.dataIdMap.get(out.dataId)!.memoryOffset + 4 * from * units;
        // (The memory's buffer taken after every allocation: one may have grown it.)
        new Uint8Array(gemmModuleFor(backend).memory.buffer).copyWithin(dst, src, src + 4 * m * units);
        backend.disposeData(h.dataId);
        h = undefined;
        passesRun++;
      }
      const result = tf.engine().makeTensorFromTensorInfo(out, kernelBackend);
      handedOut = true;
      return result;
    } finally {
      if (h && !isView(h)) backend.disposeData(h.dataId);
      for (const v of views) {
        backend.wasm.tfjs.disposeData(v.id);
        backend.dataIdMap.delete(v.dataId);
      }
      if (!handedOut) backend.disposeData(out.dataId);
    }
  };
  return { logits };
}
