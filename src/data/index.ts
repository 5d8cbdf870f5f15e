/**
 * `dl.data`: every data step of the article's training recipe (§3.2, step 1) — loading MNIST and
 * Fashion-MNIST offline, cleaning tables, normalizing, augmenting images, and splitting into
 * batches. Introduced in notebook 04 (`04-data-preprocessing.ipynb`); batches in notebook 05.
 */

// Errors with a code, a file name, what was expected and what was found.
export { DataError } from "./errors";
export type { DataErrorCode } from "./errors";

// Seeded randomness.
export { mulberry32, createRng, shuffle, seededShuffle, permutation } from "./rng";
export type { Rng } from "./rng";

// The IDX file format.
export { readIdx, parseIdx, encodeIdx, gunzipIfNeeded, isGzip, idxMagic, IDX_TYPES, MNIST_IMAGES, MNIST_LABELS } from "./idx";
export type { IdxArray, IdxDtype, IdxExpectation, IdxFile } from "./idx";

// MNIST and Fashion-MNIST.
export {
  loadMnist, loadFashionMnist, ImageDataset, KNOWN_SHA256, MNIST_CLASSES, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR,
  defaultMnistDir, clearVerifyCache,
} from "./mnist";
export type { LoadOptions, TensorOptions, Split, DatasetName, ImageDatasetInit } from "./mnist";

// Cleaning tabular data.
export { dropNonFinite, dropDuplicates, dropOutliers, clean, quantile, CleanResult } from "./clean";
export type { Row, Column, Removed, ColumnOptions, OutlierOptions, CleanOptions } from "./clean";

// Normalization.
export { minMaxScaler, zScoreScaler, articleNormalizer, articleNormalize, articleDenormalize } from "./normalize";
export type { Scaler, ScalerInput, FitOptions, MinMaxOptions } from "./normalize";

// Augmentation.
export { createAugmenter, augmentationGrid, affineMatrix, warpAffine, warpAffineValues } from "./augment";
export type { Augmenter, AugmentOptions, AffineParams, AugmentationGridOptions } from "./augment";

// Splits and batches.
export { batchIndices, BatchIndices, batches, trainValSplit, oneHot } from "./batches";
export type { BatchOptions, Batch, TensorBatchOptions, SplitOptions } from "./batches";
