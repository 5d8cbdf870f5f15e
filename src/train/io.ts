/**
 * Saving and loading models in the TensorFlow.js format (model.json plus a binary weights file),
 * with our own file IO handler: tfjs-node's `file://` handler is absent on the wasm and cpu
 * backends, so `model.save` hands its artifacts to `tf.io.withSaveHandler` and we write them.
 *
 * A save is atomic. The weights go to a temporary file that is flushed and renamed to a name that
 * carries their SHA-256 (`weights.<hash>.bin`); only then is a new model.json, naming that file,
 * written to a temporary file and renamed over the old one (rename is atomic on POSIX file
 * systems). A crash at any point leaves either the old model.json with its old weights file, or
 * the new one with its new weights file; weights no longer named are removed after the switch.
 * Loading checks every file against model.json (presence, size, checksum) and says which file is
 * wrong and how.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import * as tf from "@tensorflow/tfjs";

/** The file operations a save performs; injectable so tests can simulate a crash between any two. */
export interface SaveFs {
  mkdir(dir: string): void;
  /** Write `data` to `file`, flushed to disk (fsync) before returning. */
  writeFile(file: string, data: Uint8Array | string): void;
  rename(from: string, to: string): void;
  unlink(file: string): void;
  readdir(dir: string): string[];
  /** Flush a folder's entries (the renames) to disk. */
  syncDir(dir: string): void;
}

/** The real file system. */
export const nodeSaveFs: SaveFs = {
  mkdir: (dir) => fs.mkdirSync(dir, { recursive: true }),
  writeFile(file, data) {
    const fd = fs.openSync(file, "w");
    try {
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  },
  rename: (from, to) => fs.renameSync(from, to),
  unlink: (file) => fs.rmSync(file, { force: true }),
  readdir: (dir) => fs.readdirSync(dir),
  syncDir(dir) {
    let fd: number | undefined;
    try {
      fd = fs.openSync(dir, "r");
      fs.fsyncSync(fd);
    } catch {
      // Some file systems refuse fsync on a folder; the renames are still atomic.
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  },
};

/** The model file's name inside a saved model's folder. */
export const MODEL_FILE = "model.json";
const WEIGHTS_RE = /^weights\.[0-9a-f]{16}\.bin$/;
const TEMP_RE = /\.tmp-[0-9a-f]+$/;

/** What `save` wrote. */
export interface SavedModel {
  dir: string;
  modelFile: string;
  weightsFile: string;
  /** Bytes of weights and the number of weight tensors. */
  weightBytes: number;
  weightCount: number;
  /** SHA-256 of the weights file, also recorded in model.json. */
  sha256: string;
}

/** The tsdl-specific part of model.json (tfjs ignores unknown fields). */
interface TsdlMeta {
  weightsFile: string;
  weightBytes: number;
  sha256: string;
  savedAt: string;
}

function tempName(file: string): string {
  return `${file}.tmp-${randomBytes(6).toString("hex")}`;
}

function weightBuffer(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(tf.io.concatenateArrayBuffers(Array.isArray(data) ? data : [data]));
}

/**
 * Save `model` to the folder `dir` (model.json and `weights.<hash>.bin`), atomically: an
 * interrupted save leaves the previous model intact. Works on every backend. Introduced in
 * notebook 05.
 */
export async function save(model: tf.LayersModel, dir: string, options: { fs?: Partial<SaveFs> } = {}): Promise<SavedModel> {
  if (!model || typeof (model as tf.LayersModel).save !== "function") {
    throw new Error(`save: expected a tfjs LayersModel, found ${model === null ? "null" : typeof model}`);
  }
  if (typeof dir !== "string" || dir === "") throw new Error(`save: expected a folder path, found ${JSON.stringify(dir)}`);
  const io: SaveFs = { ...nodeSaveFs, ...options.fs };
  let artifacts: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  if (!artifacts) throw new Error("save: tfjs produced no model artifacts");
  const weights = weightBuffer(artifacts.weightData);
  const sha256 = createHash("sha256").update(weights).digest("hex");
  const weightsFile = `weights.${sha256.slice(0, 16)}.bin`;
  const meta: TsdlMeta = { weightsFile, weightBytes: weights.byteLength, sha256, savedAt: new Date().toISOString() };
  const modelJson = {
    format: artifacts.format ?? "layers-model",
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    modelTopology: artifacts.modelTopology,
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
    weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
    tsdl: meta,
  };

  // 1. The weights, under a name no current model.json uses unless the content is identical.
  const weightsPath = path.join(dir, weightsFile);
  const weightsTemp = tempName(weightsPath);
  const modelPath = path.join(dir, MODEL_FILE);
  const modelTemp = tempName(modelPath);
  let step = "create the folder";
  let newWeights = false;
  try {
    io.mkdir(dir);
    newWeights = !fs.existsSync(weightsPath);
    step = `write ${weightsPath}`;
    io.writeFile(weightsTemp, weights);
    io.rename(weightsTemp, weightsPath);
    io.syncDir(dir);
    // 2. The model.json that names them, switched in by one rename.
    step = `write ${modelPath}`;
    io.writeFile(modelTemp, JSON.stringify(modelJson));
    io.rename(modelTemp, modelPath);
  } catch (err) {
    // Nothing of the failed save stays behind (a full disk needs its space back); the previous
    // model.json and the weights it names were never touched.
    for (const f of [weightsTemp, modelTemp, ...(newWeights ? [weightsPath] : [])]) {
      try {
        io.unlink(f);
      } catch {
        /* the original error is the one to report */
      }
    }
    throw new Error(`save: cannot ${step}: ${(err as Error).message}${fsHint(err)}; the previous model in ${dir}, if any, is unchanged`);
  }
  io.syncDir(dir);
  // 3. Weights files no longer named, and temporary files of saves that were interrupted.
  for (const f of io.readdir(dir)) {
    if ((WEIGHTS_RE.test(f) && f !== weightsFile) || (TEMP_RE.test(f) && (f.startsWith("weights.") || f.startsWith(MODEL_FILE)))) {
      io.unlink(path.join(dir, f));
    }
  }
  return { dir, modelFile: modelPath, weightsFile: weightsPath, weightBytes: weights.byteLength, weightCount: artifacts.weightSpecs?.length ?? 0, sha256 };
}

/** A plain-words reason for the error codes a save meets in practice. */
function fsHint(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return " (the disk is full)";
  if (code === "EROFS") return " (the file system is read-only)";
  if (code === "EACCES" || code === "EPERM") return " (no permission to write there)";
  return "";
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, complex64: 8 };

function specBytes(spec: tf.io.WeightsManifestEntry): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  const per = DTYPE_BYTES[dtype];
  if (per === undefined) throw new Error(`weight ${spec.name} has dtype ${dtype}, which tsdl cannot load`);
  return n * per;
}

/** An error about one file of a saved model. */
function fileError(file: string, problem: string): Error {
  return new Error(`load: ${file}: ${problem}`);
}

/**
 * Load a model saved by `save` (or any tfjs layers model folder: model.json and its weights
 * files). A missing or corrupt file is a clear error naming it. Introduced in notebook 05.
 */
export async function load(dir: string): Promise<tf.LayersModel> {
  if (typeof dir !== "string" || dir === "") throw new Error(`load: expected a folder path, found ${JSON.stringify(dir)}`);
  const modelPath = dir.endsWith(".json") ? dir : path.join(dir, MODEL_FILE);
  const folder = path.dirname(modelPath);
  if (!fs.existsSync(folder)) throw new Error(`load: the folder ${folder} does not exist (save a model there with dl.train.save(model, "${folder}"))`);
  if (!fs.existsSync(modelPath)) {
    throw fileError(modelPath, `not found; the folder holds ${describeFolder(folder)}, expected a ${MODEL_FILE} written by dl.train.save`);
  }
  const text = fs.readFileSync(modelPath, "utf8");
  if (text.trim() === "") throw fileError(modelPath, "the file is empty (0 bytes of JSON)");
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw fileError(modelPath, `not valid JSON (${(err as Error).message}); ${text.length} characters, the file may be truncated or overwritten`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) throw fileError(modelPath, `expected a JSON object, found ${Array.isArray(json) ? "an array" : String(json)}`);
  const topology = json.modelTopology;
  if (topology === null || typeof topology !== "object") throw fileError(modelPath, `no "modelTopology" object (keys found: ${Object.keys(json).join(", ") || "none"})`);
  const manifest = json.weightsManifest as tf.io.WeightsManifestConfig | undefined;
  if (!Array.isArray(manifest) || manifest.some((g) => !g || !Array.isArray(g.paths) || !Array.isArray(g.weights))) {
    throw fileError(modelPath, `"weightsManifest" must be an array of { paths: [...], weights: [...] } groups, found ${JSON.stringify(manifest)?.slice(0, 120)}`);
  }
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of manifest) {
    const groupParts: Uint8Array[] = [];
    for (const p of group.paths) {
      const file = path.join(folder, p);
      if (!fs.existsSync(file)) throw fileError(file, `not found; ${MODEL_FILE} names it as a weights file (the save that wrote it may not have finished, or the file was removed)`);
      groupParts.push(new Uint8Array(fs.readFileSync(file)));
    }
    let expected: number;
    try {
      expected = group.weights.reduce((s, w) => s + specBytes(w), 0);
    } catch (err) {
      throw fileError(modelPath, (err as Error).message);
    }
    const got = groupParts.reduce((s, b) => s + b.byteLength, 0);
    if (got !== expected) {
      const names = group.paths.map((p) => path.join(folder, p)).join(", ");
      throw fileError(names, `${got} bytes, but ${MODEL_FILE} describes ${group.weights.length} weights of ${expected} bytes in all; the file is ${got < expected ? "truncated" : "too long"} or belongs to another model`);
    }
    specs.push(...group.weights);
    parts.push(...groupParts);
  }
  const weights = new Uint8Array(tf.io.concatenateArrayBuffers(parts.map((p) => p.slice().buffer as ArrayBuffer)));
  const meta = json.tsdl as Partial<TsdlMeta> | undefined;
  if (meta?.sha256) {
    const sha = createHash("sha256").update(weights).digest("hex");
    if (sha !== meta.sha256) {
      throw fileError(path.join(folder, meta.weightsFile ?? "weights"), `SHA-256 ${sha.slice(0, 16)}… differs from ${meta.sha256.slice(0, 16)}… recorded in ${MODEL_FILE}; the weights were changed or corrupted after saving`);
    }
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: topology as tf.io.ModelArtifacts["modelTopology"],
    format: json.format as string | undefined,
    generatedBy: json.generatedBy as string | undefined,
    convertedBy: json.convertedBy as string | null | undefined,
    trainingConfig: json.trainingConfig as tf.io.TrainingConfig | undefined,
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts["userDefinedMetadata"],
    weightSpecs: specs,
    weightData: weights.buffer as ArrayBuffer,
  };
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw fileError(modelPath, `the model could not be rebuilt from its topology and weights: ${(err as Error).message}`);
  }
}

function describeFolder(folder: string): string {
  const entries = fs.readdirSync(folder);
  if (entries.length === 0) return "nothing";
  const shown = entries.slice(0, 8).join(", ");
  return entries.length > 8 ? `${shown}, … (${entries.length} entries)` : shown;
}
