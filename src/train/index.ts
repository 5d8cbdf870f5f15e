/**
 * `dl.train`: the training loop with its live chart, metrics (accuracy, confusion matrix,
 * per-class precision and recall, misclassified images), and atomic save and load.
 * Introduced in notebook 05; regularization and early stopping in notebook 06.
 */
export { fit, DEFAULT_LEARNING_RATES } from "./fit";
export type { FitOptions, OptimizerName, EarlyStoppingOptions, CheckpointOptions } from "./fit";
export { History, monitored } from "./history";
export type { EpochLog, HistoryInfo, Monitor } from "./history";
export { notebookReporter, terminalReporter, autoReporter, silentReporter, formatEpoch } from "./reporter";
export type { FitReporter, FitStart, BatchProgress, TerminalReporterOptions } from "./reporter";
export { evaluate, predictClasses } from "./evaluate";
export type { Evaluation, FitData, TensorData, TensorSource } from "./evaluate";
export { taskFor } from "./task";
export type { LossName, LossOption, Task } from "./task";
export { save, load, MODEL_FILE } from "./io";
export type { SavedModel, SaveFs } from "./io";
export { accuracy, confusionMatrix, ConfusionMatrix, classificationReport, misclassified } from "./metrics";
export type { Labels, ConfusionOptions, ClassScores, ImageSource, MisclassifiedOptions } from "./metrics";
export { ensureTrainingKernels } from "./kernels";
