/**
 * src/math: the article's mathematics (§4) as code a learner can step through, each formula
 * written from scratch on plain numbers and checked against TensorFlow.js.
 *
 * - losses: mse, crossEntropy (probabilities or logits), binaryCrossEntropy; `losses.tf.*` twins
 * - activations: sigmoid, tanh, relu, leakyRelu, softmax, each with its derivative; plots
 * - Value, Neuron, Layer, MLP: a micrograd-sized scalar autograd; `graph(value)` draws it
 * - gradCheck: analytic gradients against central finite differences
 * - perceptron: the §4.3 worked example, a toy dataset, training with a live decision boundary
 * - backprop: the δ formulas in matrix form for a dense layer and a 2-layer network
 * - bowl, descend, plotDescent: gradient descent, momentum and Adam on a 2-D bowl
 */
export * as losses from "./losses";
export * as activations from "./activations";
export { plotActivation, plotActivations, plotWithDerivative, linspace } from "./activations";
export type { Activation, ActivationName, DerivativePlotOptions } from "./activations";
export { Value, Neuron, Layer, MLP } from "./value";
export type { Operand, NeuronActivation, NeuronOptions } from "./value";
export { graph, ComputationGraph } from "./graph";
export type { GraphNode, GraphOptions } from "./graph";
export { gradCheck, GradCheckResult } from "./gradcheck";
export type { Params, Mirror, GradCheckOptions, GradCheckRow } from "./gradcheck";
export * as perceptron from "./perceptron";
export * as backprop from "./backprop";
export { bowl, descend, plotDescent } from "./optim";
export type { Bowl, Surface, Point, DescendOptions, DescentPath, OptimizerName } from "./optim";
export { rng } from "./random";
export type { Rng } from "./random";
export { Table } from "./table";
