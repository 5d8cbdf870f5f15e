/**
 * A convolution layer in training as one fused kernel on the tfjs `wasm` backend, with the same
 * numbers as tfjs's own ops.
 *
 * tfjs-layers' `Conv2D` calls `tf.fused.conv2d({x, filter, bias, activation, ...})`. While
 * gradients are recorded tfjs fuses only `linear` (through `tf.customGrad` and wasm's XNNPACK
 * `FusedConv2D`); a ReLU layer runs Conv2D, then Add (the bias, [64,26,26,16] + [16]: 1.1 ms a
 * step in dl.models.cnn's first layer) and Relu (0.55 ms) forward, and backward Relu's gradient,
 * the Add's bias gradient (a Sum, 0.45 ms) and the convolution's two gradients.
 * `installFusedConv` replaces the `conv2d` of tfjs-core's exported `fused` namespace with one
 * that runs, for relu and linear with a bias of one value per output channel (NHWC, float32,
 * no dilations, no PReLU), one `TsdlConv2DBias` forward (conv.ts: the im2col product or the
 * direct single-channel kernel with the bias(+relu) epilogue, the bias added after the whole sum
 * as the separate Add does) and backward one `TsdlReluBiasGrad` pass (the ReLU mask applied and
 * the bias gradient summed together, conv-direct.ts) before the convolution's own gradient
 * kernels, for the inputs that need one: the same bits as tfjs's path
 * (test/wasm/conv.test.ts). Everything else, and every other backend, calls tfjs's own
 * `fused.conv2d`; outside gradient recording tfjs fuses by itself.
 */
import * as tf from "@tensorflow/tfjs";
import { CONV_BIAS_KERNEL, RELU_BIAS_GRAD_KERNEL, type ConvBiasAttrs } from "./conv";
import { tfjsCore } from "./tfjs-core";

type FusedConv2d = typeof tf.fused.conv2d;
type FusedConvArgs = Parameters<FusedConv2d>[0];

/** tfjs-core's module object, whose `fused` export tfjs-layers and `tf.fused` read. */
const tfCore = tfjsCore();

/** tfjs's own `fused.conv2d`, kept while tsdl's is installed. */
let originalConv2d: FusedConv2d | undefined;

/** Its gradient, registered so that tfjs asks only for the inputs on the path (a first layer's x needs none). */
const convBiasGradient: tf.GradConfig = {
  kernelName: CONV_BIAS_KERNEL,
  inputsToSave: ["x", "filter"],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter, y] = saved;
    const { strides, pad, dimRoundingMode, activation } = attrs as unknown as ConvBiasAttrs;
    const engine = tf.engine();
    const [dz, db] =
      activation === "relu"
        ? (engine.runKernel(RELU_BIAS_GRAD_KERNEL, { dy: dy as tf.Tensor, y }) as tf.Tensor[])
        : [dy as tf.Tensor, tf.sum(dy as tf.Tensor, [0, 1, 2])];
    const common = { strides, pad, dataFormat: "NHWC", dimRoundingMode };
    return {
      x: () => engine.runKernel(tf.Conv2DBackpropInput, { dy: dz, filter }, { ...common, inputShape: x.shape } as never) as tf.Tensor,
      filter: () => engine.runKernel(tf.Conv2DBackpropFilter, { x, dy: dz }, { ...common, filterShape: filter.shape } as never) as tf.Tensor,
      bias: () => db,
    };
  },
};

const ones = (v: unknown) => v == null || v === 1 || (Array.isArray(v) && v.every((d) => d === 1));

function fusable(args: FusedConvArgs): boolean {
  if (!installed) return false;
  const { x, filter, bias, activation, dataFormat, dilations, preluActivationWeights } = args;
  if ((activation !== "relu" && activation !== "linear" && activation != null) || preluActivationWeights != null) return false;
  if (!(x instanceof tf.Tensor) || !(filter instanceof tf.Tensor) || !(bias instanceof tf.Tensor)) return false;
  if ((dataFormat ?? "NHWC") !== "NHWC" || !ones(dilations)) return false;
  if (x.dtype !== "float32" || filter.dtype !== "float32" || bias.dtype !== "float32" || x.rank !== 4 || filter.rank !== 4) return false;
  if (filter.shape[2] !== x.shape[3] || bias.rank !== 1 || bias.shape[0] !== filter.shape[3]) return false;
  const backend = tf.getBackend();
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0 && !!tf.getKernel(CONV_BIAS_KERNEL, backend) && !!tf.getKernel(RELU_BIAS_GRAD_KERNEL, backend);
}

/** `tf.fused.conv2d`, fused in training too where `fusable` says so. */
function fusedConv2d(args: FusedConvArgs): tf.Tensor {
  if (!fusable(args)) return originalConv2d!(args);
  const inputs = { x: args.x as tf.Tensor, filter: args.filter as tf.Tensor, bias: args.bias as tf.Tensor };
  const attrs: ConvBiasAttrs = { strides: args.strides, pad: args.pad as ConvBiasAttrs["pad"], dimRoundingMode: args.dimRoundingMode, activation: args.activation === "relu" ? "relu" : "linear" };
  return tf.engine().runKernel(CONV_BIAS_KERNEL, inputs, attrs as never) as tf.Tensor;
}

/** What tfjs-core's `fused` was last set to (by tfjs, or dense.ts's hook), and it with tsdl's conv2d. */
let base: typeof tf.fused | undefined;
let withConv: typeof tf.fused | undefined;
let installed = false;

function getFused(): typeof tf.fused {
  withConv ??= Object.freeze({ ...base!, conv2d: fusedConv2d as FusedConv2d }) as typeof tf.fused;
  return withConv;
}

/**
 * Makes a convolution layer with a bias (ReLU or linear) run fused in training on backends with
 * tsdl's kernels; idempotent. tfjs-core's `fused` becomes an accessor, so that dense.ts (which
 * sets the whole namespace, `fused.matMul` replaced) and this hook stay in place whichever is
 * installed or removed first.
 */
export function installFusedConv(): void {
  if (!tf.getGradient(CONV_BIAS_KERNEL)) tf.registerGradient(convBiasGradient);
  installed = true;
  if (Object.getOwnPropertyDescriptor(tfCore, "fused")?.get === getFused) return;
  base = tfCore.fused;
  if (base.conv2d !== fusedConv2d) originalConv2d ??= base.conv2d;
  withConv = undefined;
  Object.defineProperty(tfCore, "fused", {
    configurable: true,
    enumerable: true,
    get: getFused,
    set: (value: typeof tf.fused) => {
      base = value;
      withConv = undefined;
    },
  });
}

/** Whether `installFusedConv` is in effect (dense-step.ts runs `TsdlConv2DBias` directly only then, as the general path does). */
export function fusedConvInstalled(): boolean {
  return installed;
}

/** Puts back tfjs's own `fused.conv2d` (for tests and benchmarks that compare the two). */
export function uninstallFusedConv(): void {
  installed = false;
  if (Object.getOwnPropertyDescriptor(tfCore, "fused")?.get !== getFused || !originalConv2d) return;
  const value = Object.freeze({ ...base!, conv2d: originalConv2d }) as typeof tf.fused;
  Object.defineProperty(tfCore, "fused", { configurable: true, enumerable: true, writable: true, value });
}
