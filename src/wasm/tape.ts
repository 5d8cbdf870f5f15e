/**
 * The tensors a gradient tape keeps, without a kernel call and a tape entry each.
 *
 * While gradients are recorded, tfjs-core keeps every input and output a backward pass needs
 * (`saveTensorsForBackwardMode`) as a clone: `Engine.clone` runs the `Identity` kernel through
 * the whole engine (kernel lookup, scopes, tensor tracking) and adds a tape entry of its own, so
 * that a second-order gradient can flow through the saved copy. A training step keeps 20–30
 * (a dense layer keeps its input, weights and output; a Multiply both inputs; a convolution its
 * input and filter). On the wasm backend tsdl's `Identity` only shares the buffer and counts a
 * reference (identity.ts), so the clone is bookkeeping only; for first-order gradients (one
 * `tf.grad` / `variableGrads` deep, every training step) no later gradient can reach the copy's
 * tape entry, which `getFilteredNodesXToY` then drops unread.
 *
 * `installLeanTape` wraps the engine's `saveTensorsForBackwardMode`: on a backend with tsdl's
 * kernels, and one gradient level deep, it makes the same shared, kept tensor directly (one more
 * reference on the buffer and a tracked tensor, as the Identity kernel and the engine make) and
 * no tape entry. Nested gradients (`gradientDepth` above 1), other backends and the
 * `tf.customGrad` path run tfjs's own code. The values are the same tensors; the tape differs only
 * by entries no first-order backward pass visits (test/wasm/tape.test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { ADAM_KERNEL } from "./adam";

interface EngineInternals {
  state: { gradientDepth: number };
  backendName: string;
  backend: { incRef(dataId: object): void };
  saveTensorsForBackwardMode(tensors: tf.Tensor[]): tf.Tensor[];
  makeTensorFromTensorInfo(info: tf.TensorInfo, backend?: unknown): tf.Tensor;
  keep<T extends tf.Tensor>(t: T): T;
}

let original: EngineInternals["saveTensorsForBackwardMode"] | undefined;
let engineProto: EngineInternals | undefined;

/** Keeps the tensors a first-order backward pass needs without cloning them through the engine, on backends with tsdl's kernels; idempotent. */
export function installLeanTape(): void {
  if (original) return;
  engineProto = Object.getPrototypeOf(tf.engine()) as EngineInternals;
  const saveOriginal = engineProto.saveTensorsForBackwardMode;
  original = saveOriginal;
  engineProto.saveTensorsForBackwardMode = function (this: EngineInternals, tensors: tf.Tensor[]): tf.Tensor[] {
    if (this.state.gradientDepth !== 1 || !tf.getKernel(ADAM_KERNEL, this.backendName)) return saveOriginal.call(this, tensors);
    const backend = this.backend;
    return tensors.map((t) => {
      backend.incRef(t.dataId);
      return this.keep(this.makeTensorFromTensorInfo({ dataId: t.dataId, shape: t.shape, dtype: t.dtype }, backend));
    });
  };
}

/** Puts back tfjs's own `saveTensorsForBackwardMode` (for tests and benchmarks that compare). */
export function uninstallLeanTape(): void {
  if (!original || !engineProto) return;
  engineProto.saveTensorsForBackwardMode = original;
  original = undefined;
}
