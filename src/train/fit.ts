/**
 * `dl.train.fit`: the article's training step (§3.2, step 3) as a loop you can read. Each batch
 * runs inside `tf.tidy`: a forward pass in training mode (dropout on), tfjs's own loss on the
 * logits, and `optimizer.minimize`, which back-propagates and updates the weights. tsdl owns the
 * loop rather than calling `model.fit` so that it controls batching (each example once per epoch,
 * seeded order), dropout seeds, augmentation, the live view and memory.
 */
import * as tf from "@tensorflow/tfjs";
import { batchIndices, trainValSplit } from "../data/batches";
import { mulberry32 } from "../data/rng";
import { evaluateTensors, tensorsFor, type FitData } from "./evaluate";
import { History, monitored, type EpochLog, type Monitor } from "./history";
import { autoReporter, notebookReporter, silentReporter, terminalReporter, type FitReporter } from "./reporter";
import { taskFor, type LossOption } from "./task";
import { save } from "./io";
import { denseStepFor, ensureTrainingKernels, gatherRows, type DenseStep } from "./kernels";
import { warnIfUnchosenCpu } from "../backend";

/** The optimizers `fit` knows by name (tfjs's own `tf.train.*`). */
export type OptimizerName = "adam" | "sgd" | "momentum" | "adagrad" | "rmsprop";

/** The learning rate each optimizer gets when none is given (the values Keras and PyTorch use). Introduced in notebook 06 (optimizers). */
export const DEFAULT_LEARNING_RATES: Record<OptimizerName, number> = {
  adam: 0.001,
  sgd: 0.01,
  momentum: 0.01,
  adagrad: 0.01,
  rmsprop: 0.001,
};

/** Options of early stopping. */
export interface EarlyStoppingOptions {
  /** The metric to watch; default "val_loss" with a validation set, else "loss". */
  monitor?: Monitor;
  /** Epochs without improvement before stopping; default 3. */
  patience?: number;
  /** The least change that counts as an improvement; default 0. */
  minDelta?: number;
  /** Put back the best epoch's weights at the end; default true. */
  restoreBest?: boolean;
}

/** Options of checkpoints: save the model during training, atomically (see `save`). */
export interface CheckpointOptions {
  /** The folder to save into (model.json and its weights file). */
  dir: string;
  /** Save only when `monitor` improves (default false: after every epoch). */
  saveBestOnly?: boolean;
  /** The metric for `saveBestOnly`; default as early stopping's. */
  monitor?: Monitor;
}

/** Options of `fit`. */
export interface FitOptions {
  /** Default 10. */
  epochs?: number;
  /** Default 64 (the article's). */
  batchSize?: number;
  /** A name or a tfjs optimizer you made (it is then not disposed, so its state carries over). Default "adam". */
  optimizer?: OptimizerName | tf.Optimizer;
  /** Default per optimizer (`DEFAULT_LEARNING_RATES`; Adam 0.001). */
  learningRate?: number;
  /** Momentum for "sgd" (makes it "momentum"); default 0.9 for "momentum". */
  momentum?: number;
  /** Default "auto": softmax cross-entropy on logits for several outputs, binary cross-entropy for one sigmoid output. */
  loss?: LossOption;
  /** A validation set, or the fraction of the training data to hold out (stratified by label, seeded). */
  validation?: FitData | number;
  /** Stop when the monitored metric stops improving (true: the defaults). */
  earlyStopping?: boolean | EarlyStoppingOptions;
  /** Save the model after each epoch (or each improvement) into this folder. */
  checkpoint?: string | CheckpointOptions;
  /** Seeds the batch order and the dropout masks; with a seeded model, the run repeats exactly on the same backend. Default: drawn at random and recorded in the history. */
  seed?: number;
  /** Applied to each training batch's x (e.g. `dl.data.createAugmenter(...)`); validation data is never augmented. */
  augment?: (x: tf.Tensor) => tf.Tensor;
  /** Shuffle the batches each epoch; default true. */
  shuffle?: boolean;
  /** How progress is shown: "auto" (notebook or terminal), "notebook", "terminal", "none", or your own reporter. */
  reporter?: FitReporter | "auto" | "notebook" | "terminal" | "none";
  /** false is the same as reporter "none". */
  verbose?: boolean;
  /** Batches between live updates; default a twentieth of an epoch. */
  liveEvery?: number;
  /**
   * The least time between two live updates inside an epoch, in seconds; an epoch's first update
   * and its last batch are always reported. Default 0.25 (at most 4 a second), or 0 when
   * `liveEvery` is given.
   */
  liveInterval?: number;
  /** The normalization used when `data` is a data set from dl.data; default "article". */
  normalize?: "article" | "unit" | "none";
  /** Called after each epoch, after the reporter. */
  onEpochEnd?: (log: EpochLog, history: History) => void | Promise<void>;
}

/**
 * Seconds between live updates by default. A small data set trains hundreds of batches a second,
 * and each update re-sends the whole chart through the kernel to the front end: notebook 06's
 * first run (16 batches an epoch) sent 640 mid-epoch updates of its chart in about 10 s before
 * this limit.
 */
const DEFAULT_LIVE_INTERVAL = 0.25;

function makeOptimizer(name: OptimizerName, lr: number, momentum: number | undefined): tf.Optimizer {
  switch (name) {
    case "adam": return tf.train.adam(lr);
    case "sgd": return momentum ? tf.train.momentum(lr, momentum) : tf.train.sgd(lr);
    case "momentum": return tf.train.momentum(lr, momentum ?? 0.9);
    case "adagrad": return tf.train.adagrad(lr);
    case "rmsprop": return tf.train.rmsprop(lr);
    default:
      throw new Error(`fit: unknown optimizer ${JSON.stringify(name)}; expected "adam", "sgd", "momentum", "adagrad", "rmsprop" or a tf.train optimizer`);
  }
}

/**
 * Dispose an optimizer `fit` made, with everything it holds. tfjs 4.22's MomentumOptimizer extends
 * SGDOptimizer but its dispose() does not call super's, so SGD's learning-rate scalar (`c`) would
 * leak one tensor per momentum run.
 */
function disposeOptimizer(optimizer: tf.Optimizer): void {
  const c = (optimizer as unknown as { c?: tf.Tensor }).c;
  optimizer.dispose();
  if (optimizer instanceof tf.MomentumOptimizer && c instanceof tf.Tensor && !c.isDisposed) c.dispose();
}

function isOptimizer(o: unknown): o is tf.Optimizer {
  return typeof o === "object" && o !== null && o instanceof tf.Optimizer;
}

function checkInt(what: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`fit: ${what} must be an integer ≥ ${min}, found ${JSON.stringify(v)}`);
}

/** Every Dropout layer, inside nested models too. */
function dropoutLayers(layers: tf.layers.Layer[]): { seed?: number }[] {
  return layers.flatMap((l) => {
    const inner = (l as unknown as { layers?: tf.layers.Layer[] }).layers;
    if (Array.isArray(inner)) return dropoutLayers(inner);
    return l.getClassName() === "Dropout" ? [l as unknown as { seed?: number }] : [];
  });
}

/**
 * The regularization penalties (L2 on kernels) of every layer, as scalars. `model.calculateLosses()`
 * returns none for a `tf.sequential` model (its layers hang off an inner model), so walk the layers.
 */
function regularizationLosses(layers: tf.layers.Layer[]): tf.Scalar[] {
  return layers.flatMap((l) => {
    const inner = (l as unknown as { layers?: tf.layers.Layer[] }).layers;
    return Array.isArray(inner) ? regularizationLosses(inner) : l.calculateLosses();
  });
}

function pickReporter(options: FitOptions): FitReporter {
  if (options.verbose === false) return silentReporter;
  const r = options.reporter ?? "auto";
  if (typeof r === "object") return r;
  switch (r) {
    case "auto": return autoReporter();
    case "notebook": return notebookReporter();
    case "terminal": return terminalReporter();
    case "none": return silentReporter;
    default: throw new Error(`fit: unknown reporter ${JSON.stringify(r)}; expected "auto", "notebook", "terminal", "none" or an object with start, batch, epoch and end`);
  }
}

/** Resolve which metric a watcher monitors and check it exists. */
function resolveMonitor(m: Monitor | undefined, hasVal: boolean, what: string): Monitor {
  const monitor = m ?? (hasVal ? "val_loss" : "loss");
  if (!["loss", "accuracy", "val_loss", "val_accuracy"].includes(monitor)) {
    throw new Error(`fit: ${what}.monitor must be "loss", "accuracy", "val_loss" or "val_accuracy", found ${JSON.stringify(monitor)}`);
  }
  if (monitor.startsWith("val_") && !hasVal) throw new Error(`fit: ${what} monitors ${monitor}, but there is no validation set; pass validation (data or a fraction) or monitor "loss"`);
  return monitor;
}

/** Improvement tracking for one monitored metric (lower loss, higher accuracy). */
class Watch {
  best: number | undefined;
  bestEpoch: number | undefined;
  wait = 0;
  constructor(readonly monitor: Monitor, readonly minDelta = 0) {}
  /** Record an epoch; true when it improved on the best so far. */
  see(log: EpochLog): boolean {
    const v = monitored(log, this.monitor)!;
    const higherIsBetter = this.monitor.endsWith("accuracy");
    const better = this.best === undefined || (higherIsBetter ? v > this.best + this.minDelta : v < this.best - this.minDelta);
    if (better) {
      this.best = v;
      this.bestEpoch = log.epoch;
      this.wait = 0;
    } else this.wait++;
    return better;
  }
}

/**
 * Train `model` on `data` with mini-batches and return the per-epoch history; shows a live chart
 * in a notebook and a progress bar in a terminal. Introduced in notebook 05.
 */
export async function fit(model: tf.LayersModel, data: FitData, options: FitOptions = {}): Promise<History> {
  if (!model || typeof (model as tf.LayersModel).apply !== "function" || !Array.isArray((model as tf.LayersModel).layers)) {
    throw new Error(`fit: expected a tfjs LayersModel (from dl.models.mlp(), tf.sequential() or tf.model()), found ${model === null ? "null" : typeof model}`);
  }
  warnIfUnchosenCpu("dl.train.fit");
  ensureTrainingKernels();
  const epochs = options.epochs ?? 10;
  const batchSize = options.batchSize ?? 64;
  checkInt("epochs", epochs, 1);
  checkInt("batchSize", batchSize, 1);
  const liveEveryOpt = options.liveEvery;
  if (liveEveryOpt !== undefined) checkInt("liveEvery", liveEveryOpt, 1);
  const liveInterval = options.liveInterval ?? (liveEveryOpt === undefined ? DEFAULT_LIVE_INTERVAL : 0);
  if (!(liveInterval >= 0)) throw new Error(`fit: liveInterval must be a number of seconds ≥ 0, found ${String(options.liveInterval)}`);
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (!Number.isFinite(seed)) throw new Error(`fit: seed must be a finite number, found ${seed}`);
  const task = taskFor(model, options.loss ?? "auto");
  // (tf.Optimizer's instanceof check throws on undefined, hence isOptimizer.)
  const optName = isOptimizer(options.optimizer) ? options.optimizer.getClassName() : (options.optimizer ?? "adam");
  const ownOptimizer = !isOptimizer(options.optimizer);
  if (ownOptimizer && !Object.hasOwn(DEFAULT_LEARNING_RATES, optName)) {
    throw new Error(`fit: unknown optimizer ${JSON.stringify(optName)}; expected "adam", "sgd", "momentum", "adagrad", "rmsprop" or a tf.train optimizer`);
  }
  // With an optimizer object, its own learning rate applies; NaN only labels the history.
  const learningRate = options.learningRate ?? (ownOptimizer ? DEFAULT_LEARNING_RATES[optName as OptimizerName] : NaN);
  if (ownOptimizer && !(learningRate > 0)) throw new Error(`fit: learningRate must be > 0, found ${learningRate}`);
  const reporter = pickReporter(options);

  const toDispose: tf.Tensor[] = [];
  let started: History | undefined;
  let optimizer: tf.Optimizer | undefined;
  let snapshot: tf.Tensor[] | undefined;
  let direct: DenseStep | undefined;
  const dropouts = dropoutLayers(model.layers);
  const savedSeeds = dropouts.map((l) => l.seed);
  try {
    // Data: tensors checked against the model, a validation split if asked.
    const train = tensorsFor(model, data, "fit", options.normalize);
    if (train.owned) toDispose.push(train.x, train.y);
    let x = train.x;
    let y = train.y;
    let val: { x: tf.Tensor; y: tf.Tensor } | undefined;
    if (typeof options.validation === "number") {
      const f = options.validation;
      if (!(f > 0 && f < 1)) throw new Error(`fit: validation as a fraction must be in (0, 1), found ${f}`);
      const labels = y.rank === 1 && task.units > 1 ? (y.dataSync() as ArrayLike<number>) : undefined;
      const split = trainValSplit(labels ?? x.shape[0], { valFraction: f, seed, stratify: labels !== undefined });
      const [tx, ty, vx, vy] = tf.tidy(() => {
        const ti = tf.tensor1d(split.train, "int32");
        const vi = tf.tensor1d(split.val, "int32");
        return [tf.gather(x, ti), tf.gather(y, ti), tf.gather(x, vi), tf.gather(y, vi)];
      });
      toDispose.push(tx, ty, vx, vy);
      x = tx;
      y = ty;
      val = { x: vx, y: vy };
    } else if (options.validation !== undefined) {
      const v = tensorsFor(model, options.validation, "fit (validation)", options.normalize);
      if (v.owned) toDispose.push(v.x, v.y);
      val = { x: v.x, y: v.y };
    }

    // Watchers: early stopping and best-only checkpoints.
    const es = options.earlyStopping === true ? {} : options.earlyStopping || undefined;
    if (es && es.patience !== undefined) checkInt("earlyStopping.patience", es.patience, 0);
    const esWatch = es ? new Watch(resolveMonitor(es.monitor, val !== undefined, "earlyStopping"), es.minDelta ?? 0) : undefined;
    const restoreBest = es ? es.restoreBest ?? true : false;
    const ck = typeof options.checkpoint === "string" ? { dir: options.checkpoint } : options.checkpoint;
    const ckWatch = ck?.saveBestOnly ? new Watch(resolveMonitor(ck.monitor, val !== undefined, "checkpoint")) : undefined;

    // Integer labels as one-hot rows once, not per step: a batch then gathers its rows of them,
    // and the loss gets them as they are (tfjs's OneHot and Cast were 2 of the step's ~30
    // kernels, recorded on the tape). Only while that stays small beside the images.
    if (task.units > 1 && y.rank === 1 && y.size * task.units <= Math.max(x.size, 1 << 20)) {
      const oneHot = tf.tidy(() => task.targets(y));
      toDispose.push(oneHot);
      y = oneHot;
    }
    optimizer = isOptimizer(options.optimizer) ? options.optimizer : makeOptimizer(optName as OptimizerName, learningRate, options.momentum);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const n = x.shape[0];
    const batchesPerEpoch = Math.ceil(n / batchSize);
    const liveEvery = liveEveryOpt ?? Math.max(1, Math.ceil(batchesPerEpoch / 20));
    const history = new History({
      seed, epochsPlanned: epochs, batchSize, optimizer: optName, learningRate,
      loss: task.lossName, backend: tf.getBackend(),
    });
    // The dropout masks: one seed per Dropout layer per step, all from the run's seed. (A fixed
    // seed on a tfjs Dropout layer would draw the SAME mask at every step.)
    const dropoutRandom = mulberry32((seed ^ 0x5bd1e995) >>> 0);
    const opt = optimizer;
    // A dense network on softmax cross-entropy: its step as a straight run of tsdl's kernels,
    // the same ones the general path below runs, without tfjs-layers and the tape around them
    // (src/wasm/dense-step.ts); undefined elsewhere.
    direct = typeof (options.loss ?? "auto") === "string" ? denseStepFor(model, vars, task.lossName) : undefined;

    // One optimization step. Forward pass and back-propagation first (variableGrads), then the
    // update (applyGradients) only if the loss is finite: a NaN batch leaves the weights as they were.
    const step = (xb: tf.Tensor, yb: tf.Tensor): [number, number] => {
      for (const d of dropouts) d.seed = Math.floor(dropoutRandom() * 2 ** 31);
      return tf.tidy(() => {
        const fast = direct?.run(xb, yb);
        if (fast) {
          const counted: [number, number] = [fast.loss, task.countCorrect(yb, fast.out)];
          fast.out.dispose();
          if (Number.isFinite(counted[0])) opt.applyGradients(fast.grads);
          return counted;
        }
        let dataLoss: tf.Scalar | undefined;
        let out: tf.Tensor | undefined;
        const { grads } = tf.variableGrads(() => {
          // keep: the gradient scope would dispose them; they are read and disposed below.
          out = tf.keep(model.apply(xb, { training: true }) as tf.Tensor);
          dataLoss = tf.keep(task.loss(yb, out));
          const penalties = regularizationLosses(model.layers);
          return penalties.length ? (tf.addN([dataLoss, ...penalties]) as tf.Scalar) : dataLoss;
        }, vars);
        // The accuracy is counted after the gradient scope (inside it, its kernels went on the tape
        // with copies of their inputs), in JavaScript from the logits: a batch's 64×10 values
        // read back cost less than tfjs's ArgMax, Casts, Equal and Sum (5 of the MLP step's ~40
        // kernels) and their read-back.
        const values: [number, number] = [dataLoss!.dataSync()[0], task.countCorrect(yb, out!)];
        tf.dispose([dataLoss!, out!]);
        if (Number.isFinite(values[0])) opt.applyGradients(grads);
        return values;
      });
    };

    started = history;
    reporter.start({ epochs, batchesPerEpoch, samples: n, valSamples: val?.x.shape[0] ?? 0, history });
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const t0 = performance.now();
      let lossSum = 0;
      let correctSum = 0;
      let seen = 0;
      let lastLoss = NaN;
      let b = 0;
      let lastReport = -Infinity;
      for (const idx of batchIndices(n, batchSize, { seed, epoch, shuffle: options.shuffle ?? true })) {
        const [xb, yb] = tf.tidy(() => {
          const xg = gatherRows(x, idx);
          return [options.augment ? options.augment(xg) : xg, gatherRows(y, idx)];
        });
        let l: number;
        let c: number;
        try {
          if (options.augment && !tf.util.arraysEqual(xb.shape, [idx.length, ...x.shape.slice(1)])) {
            throw new Error(`fit: augment returned shape [${xb.shape.join(", ")}] for a batch of shape [${[idx.length, ...x.shape.slice(1)].join(", ")}]; it must keep the shape`);
          }
          [l, c] = step(xb, yb);
        } finally {
          tf.dispose([xb, yb]);
        }
        if (!Number.isFinite(l)) {
          throw new Error(`fit: the loss became ${l} at epoch ${epoch}, batch ${b + 1}; the learning rate (${learningRate}) may be too high, or the inputs are not normalized`);
        }
        b++;
        lossSum += l * idx.length;
        correctSum += c;
        seen += idx.length;
        lastLoss = l;
        if (b === batchesPerEpoch || (b % liveEvery === 0 && performance.now() - lastReport >= liveInterval * 1000)) {
          lastReport = performance.now();
          reporter.batch({ epoch, epochs, batch: b, batches: batchesPerEpoch, loss: lossSum / seen, accuracy: correctSum / seen, elapsed: (lastReport - t0) / 1000 }, history);
        }
        // Let the event loop run (kernel messages, interrupts, timers) between batches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const log: EpochLog = { epoch, loss: lossSum / seen, accuracy: correctSum / seen, lastBatchLoss: lastLoss, time: 0, samples: seen };
      if (val) {
        const v = evaluateTensors(model, val.x, val.y, { loss: options.loss });
        log.valLoss = v.loss;
        log.valAccuracy = v.accuracy;
      }
      log.time = (performance.now() - t0) / 1000;
      history.epochs.push(log);

      let stop = false;
      if (esWatch) {
        if (esWatch.see(log)) {
          if (restoreBest) {
            tf.dispose(snapshot ?? []);
            snapshot = model.getWeights().map((w) => w.clone());
          }
        } else if (esWatch.wait >= (es!.patience ?? 3)) stop = true;
        history.bestEpoch = esWatch.bestEpoch;
      }
      if (ck && (!ckWatch || ckWatch.see(log))) await save(model, ck.dir);
      reporter.epoch(log, history);
      await options.onEpochEnd?.(log, history);
      if (stop) {
        history.stoppedEpoch = epoch;
        break;
      }
    }
    if (snapshot && esWatch?.bestEpoch !== undefined && esWatch.bestEpoch !== history.last?.epoch) {
      model.setWeights(snapshot);
      history.restoredEpoch = esWatch.bestEpoch;
    }
    reporter.end(history);
    return history;
  } catch (err) {
    if (started) reporter.fail?.(err, started);
    throw err;
  } finally {
    dropouts.forEach((d, i) => (d.seed = savedSeeds[i]));
    direct?.dispose();
    tf.dispose(snapshot ?? []);
    tf.dispose(toDispose);
    if (optimizer && ownOptimizer) disposeOptimizer(optimizer);
  }
}
