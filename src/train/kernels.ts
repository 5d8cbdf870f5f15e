/**
 * What training takes from tsdl's wasm kernels (src/wasm/): the kernels tfjs's backends lack
 * (src/wasm/backprop-filter.ts, src/wasm/conv.ts), registered when the backend is set up
 * (`setupFastWasm`; `fit` still calls `ensureTrainingKernels` for a wasm backend set up
 * otherwise), a dense network's step run straight on them (dense-step.ts) and a batch's rows
 * gathered without a kernel call (indexing.ts). Each falls back to tfjs's own path elsewhere.
 */
export { ensureTrainingKernels } from "../wasm/backprop-filter";
export { denseStepFor, type DenseStep } from "../wasm/dense-step";
export { gatherRows } from "../wasm/indexing";
