/**
 * Dropout and ReLU's gradient on the tfjs `wasm` backend with fewer kernels, bit for bit as tfjs
 * computes them.
 *
 * `tf.dropout(x, rate, noiseShape, seed)` (what every tfjs `Dropout` layer calls in training)
 * draws its uniform numbers in JavaScript (`randomUniform`: seedrandom's Alea generator, one
 * call per number, 0.2–0.4 ms per 16k values), uploads them, and runs Add, Floor and RealDiv to
 * make the mask (plus two scalar uploads for `1 − rate`), then Multiply. Here one kernel,
 * `TsdlDropoutMask`, runs the same generator from the same seed in WebAssembly and makes the
 * mask with the same float32 operations (masks.ts), and Multiply applies it as before, so the
 * forward values, the gradient (tfjs's own Multiply gradient, dy·mask) and every seeded training
 * run stay exactly what they were (test/wasm/dropout.test.ts). The seeding (a string hashed
 * into the generator's state) stays in JavaScript on seedrandom itself, the package tfjs uses.
 *
 * ReLU's gradient in tfjs is `dy · cast(step(x))`: Step, Cast and Multiply. `TsdlReluGrad` is
 * that product in one SIMD pass (NaN where x is NaN, as Step gives).
 *
 * tfjs has no hook for either, so `installFastDropout` replaces tfjs-core's exported `dropout`
 * (tfjs-layers and `tf.dropout` read it from there at each call) and wraps the gradient function
 * registered for `Relu`. Both fall through to tfjs's own code unless the current backend has
 * tsdl's kernel registered and the input is a plain float32 tensor (for dropout: rate in (0, 1)
 * and no noise shape other than the input's), so `cpu`, tfjs-node and wasm without tsdl's
 * kernels run exactly tfjs's code.
 */
import * as tf from "@tensorflow/tfjs";
import seedrandom from "seedrandom";
import { gemmFor } from "./gemm";
import { tfjsCore } from "./tfjs-core";

/** The mask kernel's name: no inputs; attrs `shape`, the Alea state and `keepProb`. */
export const DROPOUT_MASK_KERNEL = "TsdlDropoutMask";
/** The fused ReLU gradient kernel's name: inputs `dy`, `x`. */
export const RELU_GRAD_KERNEL = "TsdlReluGrad";

interface WasmBackend {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

interface DropoutMaskAttrs {
  shape: number[];
  s0: number;
  s1: number;
  s2: number;
  c: number;
  keepProb: number;
}

const sizeOf = (shape: number[]) => shape.reduce((p, d) => p * d, 1);

const dropoutMaskKernel: tf.KernelFunc = ({ backend, attrs }) => {
  const { shape, s0, s1, s2, c, keepProb } = attrs as unknown as DropoutMaskAttrs;
  const b = backend as unknown as WasmBackend;
  const out = b.makeOutput(shape, "float32");
  const count = sizeOf(shape);
  // Alea's state is whole multiples of 2⁻³² (masks.ts): pass the multiples.
  const k = (s: number) => s * 2 ** 32;
  if (count > 0) gemmFor(b).dropoutMask(b.dataIdMap.get(out.dataId)!.memoryOffset, count, k(s0), k(s1), k(s2), c, keepProb);
  return out;
};

const reluGradKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { dy, x } = inputs as unknown as { dy: tf.TensorInfo; x: tf.TensorInfo };
  const b = backend as unknown as WasmBackend;
  const out = b.makeOutput(x.shape, "float32");
  const count = sizeOf(x.shape);
  const at = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId)!.memoryOffset;
  if (count > 0) gemmFor(b).reluGrad(at(dy), at(x), at(out), count);
  return out;
};

/** The dropout-mask and ReLU-gradient kernels, for a backend built on tfjs-backend-wasm. */
export function dropoutConfigs(backendName = "wasm"): tf.KernelConfig[] {
  return [
    { kernelName: DROPOUT_MASK_KERNEL, backendName, kernelFunc: dropoutMaskKernel },
    { kernelName: RELU_GRAD_KERNEL, backendName, kernelFunc: reluGradKernel },
  ];
}

/** Alea's state after seeding with `seed` as tfjs's `UniformRandom` seeds it (a random seed when none). */
export function aleaState(seed: number | string | undefined): { s0: number; s1: number; s2: number; c: number } {
  const key = seed == null ? Math.random() : seed;
  const prng = seedrandom.alea(String(key), { state: true });
  const { s0, s1, s2, c } = prng.state() as unknown as { s0: number; s1: number; s2: number; c: number };
  return { s0, s1, s2, c };
}

/** tfjs-core's module object, whose `dropout` export tfjs-layers and `tf.dropout` call. */
const tfCore = tfjsCore();

let originalDropout: typeof tf.dropout | undefined;
let originalReluGrad: tf.GradConfig["gradFunc"] | undefined;

function sameShape(a: readonly (number | null)[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** `tf.dropout` with the mask from `TsdlDropoutMask` where the backend has it. */
function fastDropout(x: tf.Tensor | tf.TensorLike, rate: number, noiseShape?: number[], seed?: number | string): tf.Tensor {
  const original = originalDropout!;
  if (
    !(x instanceof tf.Tensor) || x.dtype !== "float32" || typeof rate !== "number" || !(rate > 0 && rate < 1) ||
    (noiseShape != null && !sameShape(noiseShape, x.shape)) || !tf.getKernel(DROPOUT_MASK_KERNEL, tf.getBackend())
  ) {
    return original(x, rate, noiseShape, seed);
  }
  const keepProb = 1 - rate;
  return tf.tidy(() => {
    const mask = tf.engine().runKernel(DROPOUT_MASK_KERNEL, {}, { shape: x.shape, ...aleaState(seed), keepProb } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return tf.mul(x, mask);
  });
}

/**
 * Makes `tf.dropout` (and so every tfjs Dropout layer) and ReLU's gradient use tsdl's kernels on
 * backends that have them (see the file comment); idempotent.
 */
export function installFastDropout(): void {
  if (originalDropout) return;
  originalDropout = tfCore.dropout;
  tfCore.dropout = fastDropout as typeof tf.dropout;
  const relu = tf.getGradient(tf.Relu);
  if (relu) {
    originalReluGrad = relu.gradFunc;
    relu.gradFunc = (dy, saved, attrs) => {
      const [x] = saved;
      if (!Array.isArray(dy) && x && dy.dtype === "float32" && x.dtype === "float32" && sameShape(dy.shape, x.shape) && tf.getKernel(RELU_GRAD_KERNEL, tf.getBackend())) {
        return { x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy, x }) as tf.Tensor };
      }
      return originalReluGrad!(dy, saved, attrs);
    };
  }
}

/** Puts back tfjs's own `dropout` and ReLU gradient (for tests that compare the two). */
export function uninstallFastDropout(): void {
  if (!originalDropout) return;
  tfCore.dropout = originalDropout;
  originalDropout = undefined;
  const relu = tf.getGradient(tf.Relu);
  if (relu && originalReluGrad) relu.gradFunc = originalReluGrad;
  originalReluGrad = undefined;
}
