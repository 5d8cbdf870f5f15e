/**
 * A dense layer in training as one fused product on the tfjs `wasm` backend, with the same
 * numbers as tfjs's own ops.
 *
 * tfjs-layers' `Dense` calls `tf.fused.matMul({a, b, bias, activation})`. While gradients are
 * recorded tfjs fuses only `linear` (through `tf.customGrad`, with 3-D reshapes, and computing
 * all three gradients, needed or not); a ReLU layer runs BatchMatMul, Add and Relu forward, and
 * Relu's gradient, the Add's bias gradient (a Sum) and BatchMatMul's two products backward.
 * `installFusedDense` replaces tfjs-core's exported `fused` namespace with one whose `matMul`
 * does, for relu and linear (2-D float32 operands, no transposes, a bias row of n values, the
 * product on tsdl's GEMM): one `TsdlDense` forward (tsdl's `_FusedMatMul`: its GEMM with the
 * bias(+relu) epilogue, which adds the bias after the whole sum, as the separate Add does) and,
 * backward, for relu one `TsdlReluBiasGrad` (conv.ts: ReLU's mask and the bias gradient, the Sum
 * over the batch, in one pass, as the fused convolution does; it replaced a `TsdlReluGrad` and a
 * `Sum`, two of the MLP step's ~40 kernels), for linear the Sum, and the products tfjs's
 * BatchMatMul gradient runs, for the inputs that need one: the same bits as tfjs's paths
 * (test/wasm/dense.test.ts). Everything else, and every other
 * backend, calls tfjs's own `fused.matMul`.
 */
import * as tf from "@tensorflow/tfjs";
import { RELU_BIAS_GRAD_KERNEL } from "./conv";
import { productOnTsdlGemm } from "./matmul";
import { tfjsCore } from "./tfjs-core";

type FusedMatMul = typeof tf.fused.matMul;
type FusedArgs = Parameters<FusedMatMul>[0];

/** tfjs-core's module object, whose `fused` export tfjs-layers and `tf.fused` read. */
const tfCore = tfjsCore();

let originalFused: typeof tf.fused | undefined;

/** The fused dense kernel's name: inputs a [m, k], b [k, n], bias [n]; attr `activation` "relu" or "linear". */
export const DENSE_KERNEL = "TsdlDense";

/** `TsdlDense` on `backendName`: the registered `_FusedMatMul` (tsdl's, matmul.ts). */
export function denseConfig(backendName = "wasm"): tf.KernelConfig {
  const kernelFunc: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const fused = tf.getKernel(tf._FusedMatMul, backendName);
    if (!fused) throw new Error(`${DENSE_KERNEL}: no _FusedMatMul kernel on ${backendName}`);
    const activation = (attrs as unknown as { activation: string }).activation;
    return fused.kernelFunc({ inputs, backend, attrs: { transposeA: false, transposeB: false, activation, leakyreluAlpha: 0 } as unknown as tf.NamedAttrMap });
  };
  return { kernelName: DENSE_KERNEL, backendName, kernelFunc };
}

/**
 * Its gradient, as a registered gradient (not `tf.customGrad`) so that tfjs asks only for the
 * inputs on the path: a layer's input x usually needs none, and dy·Wᵀ is a third product.
 */
const denseGradient: tf.GradConfig = {
  kernelName: DENSE_KERNEL,
  inputsToSave: ["a", "b"],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs) => {
    const [a, b, y] = saved;
    const relu = (attrs as unknown as { activation: string }).activation === "relu";
    // dz = dy·step(y) and db = Σ over the batch of dz, rows in order: the Sum kernel's order.
    const [dz, db] = relu
      ? (tf.engine().runKernel(RELU_BIAS_GRAD_KERNEL, { dy: dy as tf.Tensor, y }) as tf.Tensor[])
      : [dy as tf.Tensor, undefined];
    return { a: () => tf.matMul(dz, b, false, true), b: () => tf.matMul(a, dz, true, false), bias: () => db ?? tf.sum(dz, 0) };
  },
};

function fusable(args: FusedArgs): boolean {
  const { a, b, bias, activation, transposeA, transposeB, preluActivationWeights } = args;
  if ((activation !== "relu" && activation !== "linear" && activation != null) || transposeA || transposeB || preluActivationWeights != null) return false;
  if (!(a instanceof tf.Tensor) || !(b instanceof tf.Tensor) || !(bias instanceof tf.Tensor)) return false;
  if (a.dtype !== "float32" || b.dtype !== "float32" || bias.dtype !== "float32" || a.rank !== 2 || b.rank !== 2) return false;
  const [m, k] = a.shape;
  const [kb, n] = b.shape;
  if (k !== kb || bias.rank !== 1 || bias.shape[0] !== n || !productOnTsdlGemm(m, k, n)) return false;
  // Outside gradient recording tfjs fuses by itself.
  const backend = tf.getBackend();
  return (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0 && !!tf.getKernel(DENSE_KERNEL, backend) && !!tf.getKernel(RELU_BIAS_GRAD_KERNEL, backend);
}

/** `tf.fused.matMul`, fused in training too where `fusable` says so. */
function fusedMatMul(args: FusedArgs): tf.Tensor {
  if (!fusable(args)) return originalFused!.matMul(args);
  const inputs = { a: args.a as tf.Tensor, b: args.b as tf.Tensor, bias: args.bias as tf.Tensor };
  return tf.engine().runKernel(DENSE_KERNEL, inputs, { activation: args.activation ?? "linear" }) as tf.Tensor;
}

/** Makes a dense ReLU layer run fused in training on backends with tsdl's kernels; idempotent. */
export function installFusedDense(): void {
  if (originalFused) return;
  if (!tf.getGradient(DENSE_KERNEL)) tf.registerGradient(denseGradient);
  originalFused = tfCore.fused;
  tfCore.fused = Object.freeze({ ...originalFused, matMul: fusedMatMul as FusedMatMul }) as typeof tf.fused;
}

/** Puts back tfjs's own `fused` namespace (for tests that compare the two). */
export function uninstallFusedDense(): void {
  if (!originalFused) return;
  tfCore.fused = originalFused;
  originalFused = undefined;
}
