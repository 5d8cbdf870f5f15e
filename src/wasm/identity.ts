/**
 * A zero-copy `Identity` kernel for the tfjs `wasm` backend.
 *
 * While gradients are being recorded, tfjs-core keeps every tensor a backward pass needs by
 * cloning it, and a clone runs the `Identity` kernel. tfjs-backend-wasm's Identity copies the
 * whole buffer (a training step of the article MLP copies its 784×256 weights this way, among
 * others); the `cpu` backend instead shares the buffer and counts one more reference. The wasm
 * backend keeps reference counts too (`incRef`, and `disposeData` frees at zero; its `Reshape`
 * already shares buffers this way), and no kernel writes into its inputs, so sharing is safe.
 */
import * as tf from "@tensorflow/tfjs";

interface RefCountingBackend {
  incRef(dataId: object): void;
}

const identityKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as unknown as { x: tf.TensorInfo };
  (backend as unknown as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** The sharing `Identity` kernel, for a backend built on tfjs-backend-wasm. */
export function sharedIdentityConfig(backendName = "wasm"): tf.KernelConfig {
  return { kernelName: tf.Identity, backendName, kernelFunc: identityKernel };
}

/**
 * `Cast` to the dtype a tensor already has shares its buffer the same way (tfjs's ReLU gradient
 * casts Step's float32 output to float32: a full copy per ReLU layer and step); real conversions
 * run on the shipped kernel.
 */
export function sharedCastConfig(backendName = "wasm", shipped = tf.getKernel(tf.Cast, "wasm")): tf.KernelConfig {
  if (!shipped) throw new Error("tfjs-backend-wasm registered no Cast kernel");
  const kernelFunc: tf.KernelFunc = (args) => {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    const { dtype } = args.attrs as unknown as tf.CastAttrs;
    if (x.dtype === dtype && dtype !== "string") return identityKernel(args);
    return shipped.kernelFunc(args);
  };
  return { kernelName: tf.Cast, backendName, kernelFunc, setupFunc: shipped.setupFunc };
}
