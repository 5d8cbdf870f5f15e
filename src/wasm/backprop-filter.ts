/**
 * The fallback for a training kernel the wasm backend of tfjs 4.22 lacks: `Conv2DBackpropFilter`, the gradient of a
 * 2-D convolution with respect to its filter. Without it a CNN cannot train on wasm ("Kernel
 * 'Conv2DBackpropFilter' not registered for backend 'wasm'"). We build it from wasm's own
 * kernels (Transpose, PadV2, Conv2D, Slice), so the heavy part runs in XNNPACK's convolution:
 *
 *   dW[a, b, c, o] = Σₙ,ᵢ,ⱼ x[n, i·s + a − top, j·s + b − left, c] · dy[n, i, j, o]
 *
 * is a convolution of x seen as [c, h, w, n] (channels as the batch, the batch as channels) with
 * dy seen as a filter [oh, ow, n, o], dilated by the stride. (wasm's Conv3DBackpropFilterV2 on a
 * depth-1 view also works, but it is a plain loop, about ten times slower here.)
 * tsdl's fast one (conv.ts, an im2col product) replaces it where tsdl's kernels are registered;
 * this one stays for a wasm backend without them (no SIMD, or `setupFastWasm({ kernels: false })`)
 * and for the cases conv.ts leaves out. Registered only when missing, so a backend that gains its
 * own keeps it.
 */
import * as tf from "@tensorflow/tfjs";

type Info = { dataId: object; shape: number[]; dtype: tf.DataType };
type Backend = { disposeData(dataId: object): boolean };

function wasmKernel(name: string): (args: { inputs: Record<string, Info>; backend: Backend; attrs?: Record<string, unknown> }) => Info {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`Conv2DBackpropFilter on wasm (tsdl): the wasm backend has no ${name} kernel`);
  return k.kernelFunc as never;
}

/** The assembled `Conv2DBackpropFilter` (transposes, a pad, a convolution, a slice). */
export function assembledConv2dBackpropFilter(args: { inputs: Record<string, Info>; backend: Backend; attrs?: Record<string, unknown> }): Info {
  const { inputs, backend } = args;
  const attrs = (args.attrs ?? {}) as { strides: number | [number, number]; pad: "valid" | "same" | number | number[][]; dataFormat?: string; dimRoundingMode?: "floor" | "round" | "ceil"; filterShape: [number, number, number, number] };
  const { x, dy } = inputs;
  if (attrs.dataFormat && attrs.dataFormat !== "NHWC") {
    throw new Error(`Conv2DBackpropFilter on wasm (tsdl): only NHWC (channels last) is supported, found ${attrs.dataFormat}`);
  }
  const [kh, kw, c, o] = attrs.filterShape;
  const [, h, w] = x.shape;
  const [, oh, ow] = dy.shape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad as never, attrs.dimRoundingMode,
  );
  const [sh, sw] = [info.strideHeight, info.strideWidth];
  const { top, left } = info.padInfo;
  const bottom = Math.max(0, kh + (oh - 1) * sh - h - top);
  const right = Math.max(0, kw + (ow - 1) * sw - w - left);
  const temps: Info[] = [];
  const keep = (t: Info) => (temps.push(t), t);
  try {
    const transpose = wasmKernel("Transpose");
    let xt = keep(transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } })); // [c, h, w, n]
    const filter = keep(transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } })); // [oh, ow, n, o]
    if (top || bottom || left || right) {
      xt = keep(wasmKernel("PadV2")({ inputs: { x: xt }, backend, attrs: { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 } }));
    }
    let out = keep(wasmKernel("Conv2D")({
      inputs: { x: xt, filter }, backend,
      attrs: { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [sh, sw], dimRoundingMode: undefined },
    })); // [c, ≥kh, ≥kw, o]
    if (out.shape[1] !== kh || out.shape[2] !== kw) {
      out = keep(wasmKernel("Slice")({ inputs: { x: out }, backend, attrs: { begin: [0, 0, 0, 0], size: [c, kh, kw, o] } }));
    }
    return transpose({ inputs: { x: out }, backend, attrs: { perm: [1, 2, 0, 3] } }); // [kh, kw, c, o]
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

/**
 * Register the kernels training needs that the active tfjs backends lack (today: wasm's
 * Conv2DBackpropFilter, for the CNN). Safe to call often; `setupFastWasm` calls it, so plain tfjs
 * `model.fit` trains a CNN on the kernel's default backend. Introduced in notebook 06 (the CNN).
 */
export function ensureTrainingKernels(): void {
  if (tf.getKernel("Conv2DBackpropFilter", "wasm") === undefined && tf.getKernel("Conv2D", "wasm") !== undefined) {
    tf.registerKernel({
      kernelName: "Conv2DBackpropFilter",
      backendName: "wasm",
      kernelFunc: assembledConv2dBackpropFilter as unknown as tf.KernelFunc,
    });
  }
}
