/**
 * A network's training step as a straight run of tsdl's kernels on the tfjs `wasm` backend: the
 * same kernels, with the same inputs and attributes, as `tf.variableGrads` over `model.apply`
 * runs, without tfjs-layers' executor and the engine's tape around them.
 *
 * With the MLP's kernels fused (dense.ts, dropout.ts, loss.ts, adam.ts), its step was 29 kernel
 * calls, yet the JavaScript around them — tfjs-layers' `execute` and `Layer.apply`, the engine's
 * `runKernel` (scopes, tape entries, saved tensors, tensor tracking) and the tape's backward walk
 * (`getFilteredNodesXToY`, `backpropagateGradients`) — was about a quarter of the step's main
 * thread, which is the step's critical path (profile in the README, "Performance"); in
 * `dl.models.cnn`'s step, whose kernels are longer, about 6%. For a `Sequential` stack of
 * `Dense` layers (relu or linear, with a bias, no regularizer), `Dropout` layers, and for images
 * `Conv2D` (relu or linear, a bias, 'valid' or 'same', any strides, NHWC, no dilation),
 * `MaxPooling2D` (NHWC), `Flatten` and `Reshape` layers, trained on softmax cross-entropy of its
 * logits, `denseStepFor` returns a step that calls the registered kernel functions directly:
 *
 * - forward, per layer: `TsdlDense` (the product with its bias and relu), or `TsdlDropoutMask`
 *   (seeded from the layer's `seed`, as `tf.dropout` seeds it) and `Multiply`; `TsdlConv2DBias`
 *   (conv-fused.ts's kernel, attributes as tfjs-layers' `conv2dWithBiasActivation` passes them);
 *   `MaxPool` with `tf.maxPool`'s attributes, while the engine counts as recording gradients, so
 *   that conv.ts keeps the argmax its `MaxPoolGrad` reads; `Flatten` and `Reshape` only relabel
 *   the buffer with the new shape (tfjs-wasm's `Reshape` shares the buffer and counts a reference);
 * - the loss: `TsdlSoftmaxCrossEntropy`, and its gradient for a loss gradient of 1, as the tape
 *   starts;
 * - backward, layer by layer from the last: `TsdlReluBiasGrad` (or `Sum` over the batch, and
 *   over the image for a convolution, for a linear layer's bias), `BatchMatMul` xᵀ·dz for a dense
 *   kernel and dz·Wᵀ for its input, `Conv2DBackpropFilter` and `Conv2DBackpropInput` for a
 *   convolution, `MaxPoolGrad` (dy, the forward input and output), `Multiply` by a dropout
 *   layer's mask — what the registered gradients (dense.ts, conv-fused.ts, tfjs's MaxPool and
 *   Multiply) run, and, as the tape, no input gradient below the first layer with weights.
 *
 * Every output is the same float32 computation in the same order, so the losses, the gradients
 * and every seeded run are bit for bit those of the general path (test/train/dense-step.test.ts,
 * test/train/conv-step.test.ts train both ways). The gradients come back as tensors, in the order
 * of the model's trainable weights, for any optimizer's `applyGradients`. Everything else — other
 * layers, dilations, regularizers, other losses, a batch too tall for tsdl's GEMM, tfjs's own
 * fused conv2d (conv-fused.ts uninstalled), other backends — takes the general path.
 */
import * as tf from "@tensorflow/tfjs";
import { CONV_BIAS_KERNEL, RELU_BIAS_GRAD_KERNEL, type ConvBiasAttrs } from "./conv";
import { fusedConvInstalled } from "./conv-fused";
import { DENSE_KERNEL } from "./dense";
import { DROPOUT_MASK_KERNEL, aleaState } from "./dropout";
import { SOFTMAX_CE_GRAD_KERNEL, SOFTMAX_CE_KERNEL } from "./loss";
import { gemmModuleFor } from "./gemm";
import { productOnTsdlGemm } from "./matmul";

interface WasmBackend {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

type Pad = "valid" | "same";

/**
 * A layer of the step: a dense or convolution layer's weights and activation, a dropout layer,
 * a max-pooling's window, or a new shape (Flatten, Reshape; `shape` without the batch).
 */
type StepLayer =
  | { kind: "dense"; kernel: tf.Variable; bias: tf.Variable; activation: "relu" | "linear" }
  | { kind: "conv"; kernel: tf.Variable; bias: tf.Variable; activation: "relu" | "linear"; strides: [number, number]; pad: Pad }
  | { kind: "dropout"; layer: { seed?: number; rate: number } }
  | { kind: "pool"; attrs: { filterSize: [number, number]; strides: [number, number]; pad: Pad; dimRoundingMode: undefined } }
  | { kind: "reshape"; shape: number[] };

/** What one step returns: the batch's mean loss, the logits and the gradients by variable name. */
export interface DenseStepResult {
  loss: number;
  /** The logits [batch, units], an engine tensor (tracked by the current scope). */
  out: tf.Tensor;
  /** A gradient per trainable weight, keyed and ordered as `tf.variableGrads` gives them. */
  grads: tf.NamedTensorMap;
}

/** A network's direct step; `run` returns undefined for a batch the general path must take. */
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

const DENSE_KERNELS = [DENSE_KERNEL, RELU_BIAS_GRAD_KERNEL, SOFTMAX_CE_KERNEL, SOFTMAX_CE_GRAD_KERNEL, DROPOUT_MASK_KERNEL, tf.Multiply, tf.Sum, tf.BatchMatMul];
const IMAGE_KERNELS = [CONV_BIAS_KERNEL, tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter, tf.MaxPool, tf.MaxPoolGrad];

const pair = (v: unknown): [number, number] | undefined =>
  Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d) && d > 0) ? [v[0], v[1]] : undefined;
const ones = (v: unknown) => v == null || v === 1 || (Array.isArray(v) && v.every((d) => d === 1));

/** A layer's output shape without the batch, where every size is known. */
function knownShape(l: tf.layers.Layer): number[] | undefined {
  const shape = l.outputShape as (number | null)[];
  if (!Array.isArray(shape) || shape.length < 2 || Array.isArray(shape[0]) || shape[0] != null) return undefined;
  const rest = shape.slice(1);
  return rest.every((d) => Number.isInteger(d) && (d as number) > 0) ? (rest as number[]) : undefined;
}

/** The model's layers as the step runs them, or undefined when it has any other kind. */
function stepLayers(model: tf.LayersModel): StepLayer[] | undefined {
  const layers: StepLayer[] = [];
  for (const l of model.layers) {
    const c = l as unknown as {
      kernel?: { read(): tf.Variable }; bias?: { read(): tf.Variable }; activation?: { getClassName(): string }; useBias?: boolean;
      kernelRegularizer?: unknown; biasRegularizer?: unknown; activityRegularizer?: unknown; rate?: number; noiseShape?: unknown; seed?: number;
      dataFormat?: string; strides?: unknown; padding?: unknown; dilationRate?: unknown; poolSize?: unknown; rank?: number;
    };
    const name = l.getClassName();
    if (!l.built || !l.trainable) return undefined;
    if (c.activityRegularizer) return undefined;
    if (name === "Dense" || name === "Conv2D") {
      const activation = c.activation?.getClassName();
      if ((activation !== "relu" && activation !== "linear") || !c.kernel || !c.bias || c.useBias === false) return undefined;
      if (c.kernelRegularizer || c.biasRegularizer) return undefined;
      if (name === "Dense") {
        layers.push({ kind: "dense", kernel: c.kernel.read(), bias: c.bias.read(), activation });
        continue;
      }
      // What conv-fused.ts fuses: NHWC, no dilation, 'valid' or 'same' (tfjs-layers passes no other).
      const strides = pair(c.strides);
      if (c.rank !== 2 || (c.dataFormat ?? "channelsLast") !== "channelsLast" || !ones(c.dilationRate) || !strides) return undefined;
      if (c.padding !== "valid" && c.padding !== "same") return undefined;
      layers.push({ kind: "conv", kernel: c.kernel.read(), bias: c.bias.read(), activation, strides, pad: c.padding });
    } else if (name === "Dropout") {
      if (!(typeof c.rate === "number" && c.rate > 0 && c.rate < 1) || c.noiseShape != null) return undefined;
      layers.push({ kind: "dropout", layer: c as { seed?: number; rate: number } });
    } else if (name === "MaxPooling2D") {
      const filterSize = pair(c.poolSize);
      const strides = pair(c.strides);
      if ((c.dataFormat ?? "channelsLast") !== "channelsLast" || !filterSize || !strides || (c.padding !== "valid" && c.padding !== "same")) return undefined;
      // `tf.maxPool`'s attributes, for MaxPool and MaxPoolGrad alike.
      layers.push({ kind: "pool", attrs: { filterSize, strides, pad: c.padding, dimRoundingMode: undefined } });
    } else if (name === "Flatten" || name === "Reshape") {
      // A Flatten of channels-first images transposes first; a channels-last one only reshapes.
      const shape = knownShape(l);
      if ((name === "Flatten" && (c.dataFormat ?? "channelsLast") !== "channelsLast") || !shape) return undefined;
      layers.push({ kind: "reshape", shape });
    } else return undefined;
  }
  const last = layers[layers.length - 1];
  return last?.kind === "dense" && last.activation === "linear" ? layers : undefined;
}

/**
 * The direct step for `model` trained on softmax cross-entropy of its logits, with `vars` (its
 * trainable weights, in order) as the variables; undefined where the general path must run.
 */
export function denseStepFor(model: tf.LayersModel, vars: tf.Variable[], lossName: string): DenseStep | undefined {
  const backendName = tf.getBackend();
  if (!enabled || lossName !== "softmaxCrossEntropy") return undefined;
  const layers = stepLayers(model);
  if (!layers) return undefined;
  const images = layers.some((l) => l.kind === "conv" || l.kind === "pool");
  // The general path runs TsdlConv2DBias only through conv-fused.ts's hook.
  if (images && !fusedConvInstalled()) return undefined;
  const kernelNames = images ? [...DENSE_KERNELS, ...IMAGE_KERNELS] : DENSE_KERNELS;
  if (kernelNames.some((k) => !tf.getKernel(k, backendName))) return undefined;
  const weighted = layers.filter((l): l is Extract<StepLayer, { kernel: tf.Variable }> => l.kind === "dense" || l.kind === "conv");
  const weights = weighted.flatMap((l) => [l.kernel, l.bias]);
  if (weights.length !== vars.length || weights.some((w, i) => w !== vars[i])) return undefined;
  if (weights.some((w) => w.dtype !== "float32") || weighted.some((l) => l.kernel.rank !== (l.kind === "dense" ? 2 : 4))) return undefined;
  if (model.inputs?.length !== 1) return undefined;
  const inputShape = model.inputs[0].shape.slice(1);
  if (!inputShape.every((d) => Number.isInteger(d))) return undefined;
  // The first layer with weights: the tape computes no gradient for the input of it or below.
  const firstWeighted = layers.findIndex((l) => l.kind === "dense" || l.kind === "conv");

  const backend = tf.backend() as unknown as WasmBackend;
  const kernelArgsBackend = backend as unknown as tf.KernelBackend;
  const funcs = new Map(kernelNames.map((k) => [k, tf.getKernel(k, backendName)!.kernelFunc]));
  const call = (name: string, inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown> = {}) =>
    funcs.get(name)!({ inputs: inputs as unknown as tf.NamedTensorInfoMap, backend: kernelArgsBackend, attrs: attrs as tf.NamedAttrMap });
  const one = tf.scalar(1);
  const engineState = (tf.engine() as unknown as { state: { gradientDepth: number } }).state;
  /** A kernel call while the engine counts as recording gradients, as `MaxPool` runs in the general path (conv.ts keeps its argmax only then). */
  const recorded = <T>(f: () => T): T => {
    engineState.gradientDepth++;
    try {
      return f();
    } finally {
      engineState.gradientDepth--;
    }
  };

  const run = (xb: tf.Tensor, yb: tf.Tensor): DenseStepResult | undefined => {
    const rows = xb.shape[0];
    if (xb.dtype !== "float32" || yb.rank !== 2 || yb.dtype !== "float32" || yb.shape[0] !== rows || rows === 0) return undefined;
    if (xb.rank !== inputShape.length + 1 || inputShape.some((d, i) => xb.shape[i + 1] !== d)) return undefined;
    for (const l of layers) if (l.kind === "dense" && !productOnTsdlGemm(rows, l.kernel.shape[0]!, l.kernel.shape[1]!)) return undefined;
    const temporary: tf.TensorInfo[] = [];
    const keep = <T extends tf.TensorInfo>(t: T): T => (temporary.push(t), t);
    const grads: (tf.TensorInfo | undefined)[] = new Array(weights.length);
    let handedOut = false;
    try {
      // Forward: each layer's input and output, each dropout layer's mask. A new shape is a
      // view of the same buffer (not a temporary of its own).
      const saved: { input: tf.TensorInfo; output: tf.TensorInfo; mask?: tf.TensorInfo }[] = [];
      let h: tf.TensorInfo = xb;
      for (const l of layers) {
        const input = h;
        if (l.kind === "dense") {
          h = keep(call(DENSE_KERNEL, { a: h, b: l.kernel, bias: l.bias }, { activation: l.activation }) as tf.TensorInfo);
        } else if (l.kind === "conv") {
          const attrs: ConvBiasAttrs = { strides: l.strides, pad: l.pad, dimRoundingMode: undefined, activation: l.activation };
          h = keep(call(CONV_BIAS_KERNEL, { x: h, filter: l.kernel, bias: l.bias }, attrs as unknown as Record<string, unknown>) as tf.TensorInfo);
        } else if (l.kind === "pool") {
          const x = h;
          h = keep(recorded(() => call(tf.MaxPool, { x }, l.attrs) as tf.TensorInfo));
        } else if (l.kind === "reshape") {
          h = { dataId: h.dataId, shape: [rows, ...l.shape], dtype: h.dtype };
        } else {
          const attrs = { shape: h.shape, ...aleaState(l.layer.seed), keepProb: 1 - l.layer.rate };
          const mask = keep(call(DROPOUT_MASK_KERNEL, {}, attrs) as tf.TensorInfo);
          saved.push({ input: h, output: h, mask });
          h = keep(call(tf.Multiply, { a: h, b: mask }) as tf.TensorInfo);
          continue;
        }
        saved.push({ input, output: h });
      }
      const logits = h;
      const lossInfo = keep(call(SOFTMAX_CE_KERNEL, { labels: yb, logits }) as tf.TensorInfo);
      const loss = new Float32Array(gemmModuleFor(backend).memory.buffer, backend.dataIdMap.get(lossInfo.dataId)!.memoryOffset, 1)[0];

      // Backward, from the loss's gradient 1, down to the first layer with weights.
      let g = keep(call(SOFTMAX_CE_GRAD_KERNEL, { dy: one, labels: yb, logits }, { of: "logits" }) as tf.TensorInfo);
      let w = weights.length;
      for (let i = layers.length - 1; i >= firstWeighted; i--) {
        const l = layers[i];
        const s = saved[i];
        if (l.kind === "dropout") {
          g = keep(call(tf.Multiply, { a: g, b: s.mask! }) as tf.TensorInfo);
          continue;
        }
        if (l.kind === "reshape") {
          g = { dataId: g.dataId, shape: s.input.shape, dtype: g.dtype };
          continue;
        }
        if (l.kind === "pool") {
          g = keep(call(tf.MaxPoolGrad, { dy: g, input: s.input, output: s.output }, l.attrs) as tf.TensorInfo);
          continue;
        }
        let dz = g;
        let db: tf.TensorInfo;
        if (l.activation === "relu") {
          [dz, db] = call(RELU_BIAS_GRAD_KERNEL, { dy: g, y: s.output }) as tf.TensorInfo[];
          keep(dz);
        } else db = call(tf.Sum, { x: g }, { axis: l.kind === "dense" ? 0 : [0, 1, 2], keepDims: false }) as tf.TensorInfo;
        w -= 2;
        grads[w + 1] = db;
        const below = i > firstWeighted;
        if (l.kind === "dense") {
          grads[w] = call(tf.BatchMatMul, { a: s.input, b: dz }, { transposeA: true, transposeB: false }) as tf.TensorInfo;
          if (below) g = keep(call(tf.BatchMatMul, { a: dz, b: l.kernel }, { transposeA: false, transposeB: true }) as tf.TensorInfo);
        } else {
          const common = { strides: l.strides, pad: l.pad, dataFormat: "NHWC", dimRoundingMode: undefined };
          // The tape's order: the input's gradient, then the filter's (each its own computation).
          if (below) g = keep(call(tf.Conv2DBackpropInput, { dy: dz, filter: l.kernel }, { ...common, inputShape: s.input.shape }) as tf.TensorInfo);
          grads[w] = call(tf.Conv2DBackpropFilter, { x: s.input, dy: dz }, { ...common, filterShape: l.kernel.shape }) as tf.TensorInfo;
        }
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
