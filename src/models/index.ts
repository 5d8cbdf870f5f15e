/**
 * `dl.models`: the article's networks as fresh tfjs LayersModels, and `summary` to see their layers
 * and parameter counts. Introduced in notebook 05 (the MLP), 03 (the perceptron), 06 (the CNN).
 */
export { mlp, perceptron, cnn } from "./build";
export type { MlpOptions, PerceptronOptions, CnnOptions, Activation, Init } from "./build";
export { summary, ModelSummary } from "./summary";
export type { LayerSummary } from "./summary";
