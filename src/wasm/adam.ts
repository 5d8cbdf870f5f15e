/**
 * Adam's update as one fused kernel on the tfjs `wasm` backend.
 *
 * tfjs's `AdamOptimizer.applyGradients` updates each weight tensor with 14 element-wise ops
 * (m·β1 + g·(1−β1), v·β2 + g²·(1−β2), two bias corrections, √, +ε, ÷, ·(−lr), + value), each a
 * kernel call through the engine and a pass over memory: 1.7 ms of the article MLP's 5.3 ms
 * step. `TsdlAdamUpdate` does the same float32 operations, in the same order, in one SIMD pass
 * (gemm.ts), so the weights come out bit for bit the same (test/wasm/adam.test.ts).
 *
 * tfjs offers no hook for an optimizer's update, so `installFusedAdam` wraps
 * `AdamOptimizer.prototype.applyGradients`: on a backend where `TsdlAdamUpdate` is registered the
 * wrapper runs the fused kernel, and everywhere else (cpu, tfjs-node, wasm without tsdl's
 * kernels) it calls tfjs's own method untouched. Everything else about the optimizer — its
 * moment variables and their names, `accBeta1/2`, iterations, weights saving — is tfjs's.
 *
 * In place: when nothing else holds a weight's or its moments' buffers (the wasm backend's
 * reference count is 1: no clone, reshape or saved copy shares them), the kernel writes the new
 * values over the old ones instead of into three fresh buffers that `assign` then swaps in. Each
 * element is read before it is written, so the numbers are the same; what goes is three
 * allocations and frees of the weight's size per weight per step, and the cache misses of writing
 * to fresh memory. The updated buffers get new tensor ids in the backend's C++ registry (as a
 * fresh allocation would): XNNPACK's products and convolutions cache their repacked weights by
 * tensor id, and would otherwise go on multiplying by the old weights (test/wasm/matmul.test.ts's
 * XNNPACK Adam test caught that). Anything that shares a buffer (say a `clone()` kept for early stopping) gets
 * the fresh-output path and so keeps the old values, as with tfjs's own update. The per-step
 * scalars (1 − β1ᵗ, 1 − β2ᵗ and βᵗ·β) are computed in float32 in JavaScript, with tfjs's
 * operations, and uploaded instead of being four scalar kernels with four scalar uploads.
 */
import * as tf from "@tensorflow/tfjs";
import { gemmModuleFor } from "./gemm";
import { parallelGemmFor } from "./parallel";

/** The backend's memory, as its GEMM kernels were bound to it (gemm.ts). */
const memoryOf = (b: WasmBackend): WebAssembly.Memory => gemmModuleFor(b).memory;

/** The fused update's kernel name. */
export const ADAM_KERNEL = "TsdlAdamUpdate";

interface WasmBackend {
  wasm: {
    wasmMemory?: WebAssembly.Memory;
    asm?: { memory?: WebAssembly.Memory };
    tfjs: { disposeData(id: number): void; registerTensor(id: number, size: number, memoryOffset: number): void };
    _malloc(bytes: number): number;
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number; refCount: number } | undefined };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/**
 * Gives a buffer written in place a new id in the C++ registry (the memory stays): what was
 * cached for the old id (XNNPACK's packed weights) is dropped with it, as for a freed tensor.
 */
function renew(b: WasmBackend, t: tf.TensorInfo, size: number): void {
  const entry = b.dataIdMap.get(t.dataId)!;
  b.wasm.tfjs.disposeData(entry.id);
  entry.id = b.dataIdNextNumber++;
  b.wasm.tfjs.registerTensor(entry.id, size, entry.memoryOffset);
}

/**
 * Inputs value, m, v, gradient and the two 1 − βᵗ scalars; attrs the hyper-parameters and
 * `inPlace`: without it, outputs the new value, m and v; with it, writes them over value, m and v
 * (the caller has checked that nothing else shares those buffers) and outputs nothing.
 */
const adamKernel: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { value, m, v, gradient, oneMinusAccBeta1, oneMinusAccBeta2 } = inputs as unknown as Record<string, tf.TensorInfo>;
  const { inPlace } = attrs as unknown as { inPlace: number };
  const b = backend as unknown as WasmBackend;
  const outs = inPlace ? [value, m, v] : [b.makeOutput(value.shape, "float32"), b.makeOutput(value.shape, "float32"), b.makeOutput(value.shape, "float32")];
  const at = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId)!.memoryOffset;
  update(b, [value, m, v, gradient, ...outs].map(at), at(oneMinusAccBeta1), at(oneMinusAccBeta2), attrs as unknown as AdamAttrs, sizeOf(value));
  if (!inPlace) return outs;
  for (const t of outs) renew(b, t, sizeOf(value));
  return [];
};

let updates = 0;

/** How many weight updates the fused kernel has made, through the engine or in place (for tests). */
export function fusedAdamUpdates(): number {
  return updates;
}

interface AdamAttrs {
  beta1: number;
  beta2: number;
  epsilon: number;
  learningRate: number;
}

const sizeOf = (t: tf.TensorInfo) => t.shape.reduce((p, d) => p * d, 1);

/**
 * The update of `count` elements: value, m, v and gradient at the first four byte offsets of
 * `at`, the new value, m and v at the last three; 1 − β1ᵗ and 1 − β2ᵗ read from their offsets.
 * Split with the GEMM's helper threads when large (parallel.ts): the same bits.
 */
function update(b: WasmBackend, at: number[], oneMinusAccBeta1: number, oneMinusAccBeta2: number, h: AdamAttrs, count: number): void {
  updates++;
  parallelGemmFor(b).adam([
    ...at, count, oneMinusAccBeta1, oneMinusAccBeta2,
    h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, h.epsilon, -h.learningRate,
  ]);
}

/** The kernel's in-place update called directly (no engine call: it has no outputs), with 1 − β1ᵗ and 1 − β2ᵗ at `slots`. */
function updateInPlace(b: WasmBackend, value: tf.Tensor, m: tf.Tensor, v: tf.Tensor, gradient: tf.Tensor, slots: number, h: AdamAttrs): void {
  const at = (t: tf.Tensor) => b.dataIdMap.get(t.dataId)!.memoryOffset;
  const buffers = [value, m, v];
  update(b, [...buffers, gradient, ...buffers].map(at), slots, slots + 4, h, value.size);
  for (const t of buffers) renew(b, t, value.size);
}

/** The fused Adam kernel, for a backend built on tfjs-backend-wasm. */
export function adamConfig(backendName = "wasm"): tf.KernelConfig {
  return { kernelName: ADAM_KERNEL, backendName, kernelFunc: adamKernel };
}

/** The parts of tfjs's AdamOptimizer that its `applyGradients` uses (private in its types). */
interface AdamInternals {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: { originalName: string; variable: tf.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: tf.Variable }[];
  incrementIterations(): void;
}

/** What `applyGradients` takes: a map from variable name to gradient, or named gradients. */
type Gradients = Parameters<tf.AdamOptimizer["applyGradients"]>[0];

let installed = false;

/**
 * Makes `AdamOptimizer.applyGradients` use the fused kernel on backends that have it (see the
 * file comment); idempotent.
 */
export function installFusedAdam(): void {
  if (installed) return;
  installed = true;
  const proto = tf.AdamOptimizer.prototype;
  const original = proto.applyGradients;
  proto.applyGradients = function (this: tf.AdamOptimizer, variableGradients: Gradients) {
    if (!tf.getKernel(ADAM_KERNEL, tf.getBackend())) {
      original.call(this, variableGradients);
      return;
    }
    fusedApplyGradients(this as unknown as AdamInternals, variableGradients);
  };
}

let inPlaceEnabled = true;

/** Turns the in-place update on or off (default on; off only for benchmarks that compare); returns the previous setting. */
export function setAdamInPlace(enabled: boolean): boolean {
  const was = inPlaceEnabled;
  inPlaceEnabled = enabled;
  return was;
}

/** Whether the kernel may write over these tensors: distinct buffers that nothing else shares. */
function ownsBuffers(tensors: tf.Tensor[]): boolean {
  if (!inPlaceEnabled) return false;
  const b = tf.backend() as unknown as Partial<WasmBackend>;
  if (!b.dataIdMap) return false;
  const ids = new Set(tensors.map((t) => t.dataId));
  return ids.size === tensors.length && tensors.every((t) => b.dataIdMap!.get(t.dataId)?.refCount === 1);
}

/** A float32 scalar variable's value, read from the wasm heap (no read-back copy); undefined when it is not a plain wasm buffer. */
function heapScalar(b: Partial<WasmBackend>, t: tf.Tensor): number | undefined {
  const entry = t.dtype === "float32" && t.size === 1 ? b.dataIdMap?.get(t.dataId) : undefined;
  return entry ? new Float32Array(memoryOf(b as WasmBackend).buffer, entry.memoryOffset, 1)[0] : undefined;
}

/**
 * Sets a scalar variable (accBeta1/2) to `value`: written over its buffer when nothing else
 * shares it (as the in-place update does), else tfjs's `assign` of a new scalar.
 */
function setScalar(b: Partial<WasmBackend>, variable: tf.Variable, value: number): void {
  const entry = variable.dtype === "float32" && variable.size === 1 ? b.dataIdMap?.get(variable.dataId) : undefined;
  if (entry && entry.refCount === 1 && inPlaceEnabled) new Float32Array(memoryOf(b as WasmBackend).buffer, entry.memoryOffset, 1)[0] = value;
  else tf.tidy(() => variable.assign(tf.scalar(value)));
}

/** Two float32 slots per backend for the step's 1 − β1ᵗ and 1 − β2ᵗ, which the in-place update reads (written each step: no upload, no tensor). */
const betaSlots = new WeakMap<object, number>();
function betaSlotsOf(b: WasmBackend): number {
  let at = betaSlots.get(b);
  if (at === undefined) {
    at = b.wasm._malloc(8);
    betaSlots.set(b, at);
  }
  return at;
}

/**
 * tfjs 4.22's AdamOptimizer.applyGradients, with the per-weight update in one kernel. Where the
 * update is in place (the MLP's and CNN's every step) the kernel is called directly, with the two
 * 1 − βᵗ scalars in a fixed pair of slots and accBeta1/2 read and written on the heap: tfjs's
 * `tidy`, two read-backs, four scalar uploads and a `runKernel` per weight were about a third of
 * the update's time on the main thread (profile in the README). The numbers are the same float32
 * operations (test/wasm/adam.test.ts).
 */
function fusedApplyGradients(opt: AdamInternals, variableGradients: Gradients): void {
  const varNames = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients);
  const b = tf.backend() as unknown as WasmBackend;
  // tfjs's sub(1, βᵗ) and mul(βᵗ, β) in float32, without their kernels.
  const accBeta1 = heapScalar(b, opt.accBeta1) ?? opt.accBeta1.dataSync()[0];
  const accBeta2 = heapScalar(b, opt.accBeta2) ?? opt.accBeta2.dataSync()[0];
  const slots = betaSlotsOf(b);
  const slotValues = new Float32Array(memoryOf(b).buffer, slots, 2);
  slotValues[0] = Math.fround(1 - accBeta1);
  slotValues[1] = Math.fround(1 - accBeta2);
  const attrs = { beta1: opt.beta1, beta2: opt.beta2, epsilon: opt.epsilon, learningRate: opt.learningRate };
  tf.tidy(() => {
    let scalars: { oneMinusAccBeta1: tf.Scalar; oneMinusAccBeta2: tf.Scalar } | undefined;
    const betaScalars = () => (scalars ??= { oneMinusAccBeta1: tf.scalar(slotValues[0]), oneMinusAccBeta2: tf.scalar(slotValues[1]) });
    varNames.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      const trainable = false;
      if (opt.accumulatedFirstMoment[i] == null) {
        opt.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(trainable)) };
      }
      if (opt.accumulatedSecondMoment[i] == null) {
        opt.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(trainable)) };
      }
      const gradient = Array.isArray(variableGradients) ? variableGradients[i].tensor : (variableGradients as Record<string, tf.Tensor>)[name];
      if (gradient == null) return;
      const firstMoment = opt.accumulatedFirstMoment[i].variable;
      const secondMoment = opt.accumulatedSecondMoment[i].variable;
      const tensors = [value, firstMoment, secondMoment, gradient];
      if (tensors.every((t) => t.dtype === "float32" && t.size === value.size)) {
        if (ownsBuffers([value, firstMoment, secondMoment]) && !tensors.slice(0, 3).some((t) => t.dataId === gradient.dataId)) {
          updateInPlace(b, value, firstMoment, secondMoment, gradient, slots, attrs);
          return;
        }
        const [newValue, newFirstMoment, newSecondMoment] = tf.engine().runKernel(
          ADAM_KERNEL,
          { value, m: firstMoment, v: secondMoment, gradient, ...betaScalars() },
          { ...attrs, inPlace: 0 },
        ) as tf.Tensor[];
        firstMoment.assign(newFirstMoment);
        secondMoment.assign(newSecondMoment);
        value.assign(newValue);
        return;
      }
      // Other dtypes: tfjs's own ops.
      const { oneMinusAccBeta1, oneMinusAccBeta2 } = betaScalars();
      const newFirstMoment = tf.add(tf.mul(firstMoment, opt.beta1), tf.mul(gradient, 1 - opt.beta1));
      const newSecondMoment = tf.add(tf.mul(secondMoment, opt.beta2), tf.mul(tf.square(gradient), 1 - opt.beta2));
      const biasCorrectedFirstMoment = tf.div(newFirstMoment, oneMinusAccBeta1);
      const biasCorrectedSecondMoment = tf.div(newSecondMoment, oneMinusAccBeta2);
      firstMoment.assign(newFirstMoment);
      secondMoment.assign(newSecondMoment);
      const newValue = tf.add(tf.mul(tf.div(biasCorrectedFirstMoment, tf.add(tf.sqrt(biasCorrectedSecondMoment), opt.epsilon)), -opt.learningRate), value);
      value.assign(newValue);
    });
  });
  setScalar(b, opt.accBeta1, Math.fround(accBeta1 * Math.fround(opt.beta1)));
  setScalar(b, opt.accBeta2, Math.fround(accBeta2 * Math.fround(opt.beta2)));
  opt.incrementIterations();
}
