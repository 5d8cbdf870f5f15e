/**
 * A dense network's training step as a straight run of tsdl's kernels on the tfjs `wasm`
 * backend: the same kernels, with the same inputs, as `tf.variableGrads` over `model.apply`
 * runs, without tfjs-layers' executor and the engine's tape around them.
 *
 * With the MLP's kernels fused (dense.ts, dropout.ts, loss.ts, adam.ts), its step was 29 kernel
 * calls, yet the JavaScript around them — tfjs-layers' `execute` and `Layer.apply`, the engine's
 * `runKernel` (scopes, tape entries, saved tensors, tensor tracking) and the tape's backward walk
 * (`getFilteredNodesXToY`, `backpropagateGradients`) — was about a quarter of the step's main
 * thread, which is the step's critical path (profile in the README, "Performance"). For a
 * `Sequential` stack of `Dense` layers (relu or linear, with a bias, no regularizer) and
 * `Dropout` layers, trained on softmax cross-entropy of its logits, `denseStepFor` returns a step
 * that calls the registered kernel functions directly:
 *
 * - forward, per layer: `TsdlDense` (the product with its bias and relu), or `TsdlDropoutMask`
 *   (seeded from the layer's `seed`, as `tf.dropout` seeds it) and `Multiply`;
 * - the loss: `TsdlSoftmaxCrossEntropy`, and its gradient for a loss gradient of 1, as the tape
 *   starts;
 * - backward, layer by layer from the last: `TsdlReluBiasGrad` (or `Sum` over the batch for a
 *   linear layer's bias), `BatchMatMul` xᵀ·dz for the kernel and dz·Wᵀ for the layer's input
 *   (not for the first layer, whose input is the batch), and `Multiply` by a dropout layer's
 *   mask — what the registered gradients (dense.ts, tfjs's Multiply) run.
 *
 * Every output is the same float32 computation in the same order, so the losses, the gradients
 * and every seeded run are bit for bit those of the general path (test/train/dense-step.test.ts
 * trains both ways). The gradients come back as tensors, in the order of the model's trainable
 * weights, for any optimizer's `applyGradients`. Everything else — other layers, regularizers,
 * other losses, a batch too tall for tsdl's GEMM, other backends — takes the general path.
 */
import * as tf from "@tensorflow/tfjs";
import { RELU_BIAS_GRAD_KERNEL } from "./conv";
import { DENSE_KERNEL } from "./dense";
import { DROPOUT_MASK_KERNEL, aleaState } from "./dropout";
import { SOFTMAX_CE_GRAD_KERNEL, SOFTMAX_CE_KERNEL } from "./loss";
import { productOnTsdlGemm } from "./matmul";

interface WasmBackend {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/** A layer of the step: a dense layer's weights and activation, or a dropout layer. */
type StepLayer =
  | { dense: true; kernel: tf.Variable; bias: tf.Variable; activation: "relu" | "linear" }
  | { dense: false; layer: { seed?: number; rate: number } };

/** What one step returns: the batch's mean loss, the logits and the gradients by variable name. */
export interface DenseStepResult {
  loss: number;
  /** The logits [batch, units], an engine tensor (tracked by the current scope). */
  out: tf.Tensor;
  /** A gradient per trainable weight, keyed and ordered as `tf.variableGrads` gives them. */
  grads: tf.NamedTensorMap;
}

/** A dense network's step; `run` returns undefined for a batch the general path must take. */
export interface DenseStep {
  run(xb: tf.Tensor, yb: tf.Tensor): DenseStepResult | undefined;
  dispose(): void;
}

let enabled = true;
let stepsRun = 0;

/** Turns the direct step on or off (default on; off for tests and benchmarks that compare); returns the previous setting. */
export function setDenseStep(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** How many batches the direct step has trained (for tests: that a fit took it). */
export function denseStepsRun(): number {
  return stepsRun;
}

const KERNELS = [DENSE_KERNEL, RELU_BIAS_GRAD_KERNEL, SOFTMAX_CE_KERNEL, SOFTMAX_CE_GRAD_KERNEL, DROPOUT_MASK_KERNEL, tf.Multiply, tf.Sum, tf.BatchMatMul];

/** The model's layers as the step runs them, or undefined when it has any other kind. */
function stepLayers(model: tf.LayersModel): StepLayer[] | undefined {
  const layers: StepLayer[] = [];
  for (const l of model.layers) {
    const c = l as unknown as {
      kernel?: { read(): tf.Variable }; bias?: { read(): tf.Variable }; activation?: { getClassName(): string }; useBias?: boolean;
      kernelRegularizer?: unknown; biasRegularizer?: unknown; activityRegularizer?: unknown; rate?: number; noiseShape?: unknown; seed?: number;
    };
    const name = l.getClassName();
    if (!l.built || !l.trainable) return undefined;
    if (name === "Dense") {
      const activation = c.activation?.getClassName();
      if ((activation !== "relu" && activation !== "linear") || !c.kernel || !c.bias || c.useBias === false) return undefined;
      if (c.kernelRegularizer || c.biasRegularizer || c.activityRegularizer) return undefined;
      layers.push({ dense: true, kernel: c.kernel.read(), bias: c.bias.read(), activation });
    } else if (name === "Dropout") {
      if (!(typeof c.rate === "number" && c.rate > 0 && c.rate < 1) || c.noiseShape != null) return undefined;
      layers.push({ dense: false, layer: c as { seed?: number; rate: number } });
    } else return undefined;
  }
  const last = layers[layers.length - 1];
  return last?.dense && last.activation === "linear" ? layers : undefined;
}

/**
 * The direct step for `model` trained on softmax cross-entropy of its logits, with `vars` (its
 * trainable weights, in order) as the variables; undefined where the general path must run.
 */
export function denseStepFor(model: tf.LayersModel, vars: tf.Variable[], lossName: string): DenseStep | undefined {
  const backendName = tf.getBackend();
  if (!enabled || lossName !== "softmaxCrossEntropy" || KERNELS.some((k) => !tf.getKernel(k, backendName))) return undefined;
  const layers = stepLayers(model);
  if (!layers) return undefined;
  const weights = layers.flatMap((l) => (l.dense ? [l.kernel, l.bias] : []));
  if (weights.length !== vars.length || weights.some((w, i) => w !== vars[i])) return undefined;
  if (weights.some((w) => w.dtype !== "float32") || layers.some((l) => l.dense && l.kernel.rank !== 2)) return undefined;

  const backend = tf.backend() as unknown as WasmBackend;
  const kernelArgsBackend = backend as unknown as tf.KernelBackend;
  const funcs = new Map(KERNELS.map((k) => [k, tf.getKernel(k, backendName)!.kernelFunc]));
  const call = (name: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}) =>
    funcs.get(name)!({ inputs: inputs as unknown as tf.NamedTensorInfoMap, backend: kernelArgsBackend, attrs: attrs as tf.NamedAttrMap });
  const one = tf.scalar(1);
  const memory = () => (backend.wasm.wasmMemory ?? backend.wasm.asm?.memory)!;

  const run = (xb: tf.Tensor, yb: tf.Tensor): DenseStepResult | undefined => {
    const rows = xb.shape[0];
    if (xb.rank !== 2 || xb.dtype !== "float32" || yb.rank !== 2 || yb.dtype !== "float32" || yb.shape[0] !== rows || rows === 0) return undefined;
    for (const l of layers) if (l.dense && !productOnTsdlGemm(rows, l.kernel.shape[0]!, l.kernel.shape[1]!)) return undefined;
    const temporary: tf.TensorInfo[] = [];
    const keep = <T extends tf.TensorInfo>(t: T): T => (temporary.push(t), t);
    const grads: (tf.TensorInfo | undefined)[] = new Array(weights.length);
    let handedOut = false;
    try {
      // Forward: each dense layer's input and output, each dropout layer's mask.
      const saved: { input: tf.TensorInfo; output: tf.TensorInfo; mask?: tf.TensorInfo }[] = [];
      let h: tf.TensorInfo = xb;
      for (const l of layers) {
        if (l.dense) {
          const y = keep(call(DENSE_KERNEL, { a: h, b: l.kernel, bias: l.bias }, { activation: l.activation }) as tf.TensorInfo);
          saved.push({ input: h, output: y });
          h = y;
        } else {
          const attrs = { shape: h.shape, ...aleaState(l.layer.seed), keepProb: 1 - l.layer.rate };
          const mask = keep(call(DROPOUT_MASK_KERNEL, {}, attrs) as tf.TensorInfo);
          saved.push({ input: h, output: h, mask });
          h = keep(call(tf.Multiply, { a: h, b: mask }) as tf.TensorInfo);
        }
      }
      const logits = h;
      const lossInfo = keep(call(SOFTMAX_CE_KERNEL, { labels: yb, logits }) as tf.TensorInfo);
      const loss = new Float32Array(memory().buffer, backend.dataIdMap.get(lossInfo.dataId)!.memoryOffset, 1)[0];

      // Backward, from the loss's gradient 1.
      let g = keep(call(SOFTMAX_CE_GRAD_KERNEL, { dy: one, labels: yb, logits }, { of: "logits" }) as tf.TensorInfo);
      let w = weights.length;
      for (let i = layers.length - 1; i >= 0; i--) {
        const l = layers[i];
        const s = saved[i];
        if (!l.dense) {
          g = keep(call(tf.Multiply, { a: g, b: s.mask! }) as tf.TensorInfo);
          continue;
        }
        let dz = g;
        let db: tf.TensorInfo;
        if (l.activation === "relu") {
          [dz, db] = call(RELU_BIAS_GRAD_KERNEL, { dy: g, y: s.output }) as tf.TensorInfo[];
          keep(dz);
        } else db = call(tf.Sum, { x: g }, { axis: 0, keepDims: false }) as tf.TensorInfo;
        w -= 2;
        grads[w + 1] = db;
        grads[w] = call(tf.BatchMatMul, { a: s.input, b: dz }, { transposeA: true, transposeB: false }) as tf.TensorInfo;
        if (i > 0) g = keep(call(tf.BatchMatMul, { a: dz, b: l.kernel }, { transposeA: false, transposeB: true }) as tf.TensorInfo);
      }

      // The logits and gradients become engine tensors; the logits leave the temporaries.
      temporary.splice(temporary.indexOf(logits), 1);
      const engine = tf.engine();
      const out = engine.makeTensorFromTensorInfo(logits, kernelArgsBackend);
      const named: tf.NamedTensorMap = {};
      weights.forEach((v, i) => (named[v.name] = engine.makeTensorFromTensorInfo(grads[i]!, kernelArgsBackend)));
      handedOut = true;
      stepsRun++;
      return { loss, out, grads: named };
    } finally {
      for (const t of temporary) backend.disposeData(t.dataId);
      if (!handedOut) for (const t of grads) if (t) backend.disposeData(t.dataId);
    }
  };
  return { run, dispose: () => one.dispose() };
}
