/**
 * tsdl: the teaching library behind the notebooks. In the tsdl kernel it is in scope as `dl`;
 * in a script, `import * as dl from "tsdl"`.
 *
 * One flat entry point, grouped by what a learner looks for (d2l style).
 */

// Backends: which TensorFlow.js backend runs, and why.
export { initBackend, backendInfo, BACKENDS } from "./backend";
export type { BackendName, BackendInfo, BackendAttempt } from "./backend";

// Rich display in notebooks and scripts alike.
export { display, input, inNotebook, toBundle, JUPYTER_DISPLAY } from "./display";
export type { MimeBundle, Displayable, DisplayHandle, NotebookHost } from "./display";

// Quick (CI) or full settings for notebooks: TSDL_QUICK.
export { isQuick, pick } from "./settings";

// Data loading and preprocessing (notebook 04).
export * as data from "./data";
// The article's math: losses, activations, autograd, gradient checks, the perceptron (notebooks 01-03).
export * as math from "./math";
// Model definitions (notebook 05).
export * as models from "./models";
export { summary } from "./models";
// The training loop, metrics, save and load (notebooks 05-06).
export * as train from "./train";
// Figures that render themselves (every notebook).
export * as plot from "./plot";
// Interactive widgets (ipywidgets' protocol): sliders, interact, Output (notebooks 01, 03).
export * as widgets from "./widgets";

export { version } from "./version";
