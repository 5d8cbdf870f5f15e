/**
 * The kernels training needs that tfjs's backends lack. They live with the other wasm kernels
 * (src/wasm/backprop-filter.ts, src/wasm/conv.ts) and are registered when the backend is set up
 * (`setupFastWasm`); `fit` still calls `ensureTrainingKernels` for a wasm backend set up otherwise.
 */
export { ensureTrainingKernels } from "../wasm/backprop-filter";
export { denseStepFor, type DenseStep } from "../wasm/dense-step";
