/**
 * Scoring outside the training steps, as notebook 05 and 06 do it, against the way it ran before
 * (the reference, rebuilt here in the same process, interleaved round by round):
 * - `toTensors` of the 60,000 MNIST training images, again and again (05 converts them at every
 *   fit, evaluate and predictClasses: seven times); reference: a fresh conversion each call;
 * - `evaluate` of the article's MLP on the 10,000 test images and of the CNN on 2,000 of them;
 *   reference: the same batches of 1,000, each through `model.predict` alone, which cuts it into
 *   tfjs-layers' default batches of 32;
 * - `evaluate` of the MLP with its direct dense pass (src/wasm/dense-forward.ts) switched off:
 *   the same passes through `model.predict` (reference) against the direct pass (now).
 * Prints the best and median ms per call of each and the ratio reference / now, and checks the
 * numbers are the same to the bit (prints a warning if not). `TSDL_BENCH_ROUNDS` (default 3).
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import * as dl from "../../src";
import { articleNormalize } from "../../src/data";
import { taskFor } from "../../src/train/task";
import { setDenseForward } from "../../src/wasm/dense-forward";
import { Rounds, loadLine } from "../helpers/bench-util";

/** The conversion as `toTensors` did it before its cache: a lookup table, every call. */
function freshTensors(ds: dl.data.ImageDataset): { x: tf.Tensor; y: tf.Tensor } {
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = articleNormalize(v);
  const values = new Float32Array(ds.images.length);
  for (let i = 0; i < values.length; i++) values[i] = table[ds.images[i]];
  return { x: tf.tensor(values, [ds.count, ds.height * ds.width], "float32"), y: tf.tensor1d(Int32Array.from(ds.labels), "int32") };
}

/** `evaluate` as it was: batches of 1,000, each through `model.predict` (batches of 32 inside). */
function evaluateBefore(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): { loss: number; correct: number } {
  const task = taskFor(model);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < x.shape[0]; start += 1000) {
    const size = Math.min(1000, x.shape[0] - start);
    const [l, c] = tf.tidy(() => {
      const out = model.predict(x.slice(start, size)) as tf.Tensor;
      const yb = y.slice(start, size);
      return [task.loss(yb, out).mul(size).dataSync()[0], task.correct(yb, out).dataSync()[0]];
    });
    lossSum += l;
    correct += c;
  }
  return { loss: lossSum / x.shape[0], correct };
}

function time<T>(f: () => T): [number, T] {
  const t0 = performance.now();
  const r = f();
  return [performance.now() - t0, r];
}

async function main(): Promise<void> {
  const rounds = Number(process.env.TSDL_BENCH_ROUNDS ?? 3);
  const info = await initBackend();
  console.log(`scoring outside the training steps; ${rounds} rounds; ${loadLine()} at start; ${info.active}`);
  const train = dl.data.loadMnist({ split: "train" });
  const test = dl.data.loadMnist({ split: "test" });
  const r = new Rounds();
  const models = {
    mlp: dl.models.mlp({ seed: 1 }),
    cnn: dl.models.cnn({ seed: 1 }),
  };
  // Non-zero biases, as after training (a zero bias hides where the bias is added).
  for (const m of Object.values(models)) m.setWeights(m.getWeights().map((w, i) => (w.rank === 1 ? tf.randomUniform(w.shape, -0.1, 0.1, "float32", i) : w)));
  const testT = test.toTensors();
  const cnnX = testT.x.slice(0, 2000);
  const cnnY = testT.y.slice(0, 2000);
  let mismatch = "";
  for (let round = 0; round < rounds; round++) {
    const [tRef, a] = time(() => freshTensors(train));
    r.add("toTensors 60,000 reference", tRef);
    const [tNow, b] = time(() => train.toTensors());
    r.add("toTensors 60,000 now", tNow);
    tf.dispose([a.x, a.y, b.x, b.y]);
    for (const [name, model, x, y] of [["mlp", models.mlp, testT.x, testT.y], ["cnn", models.cnn, cnnX, cnnY]] as const) {
      const [t1, before] = time(() => evaluateBefore(model, x, y));
      r.add(`evaluate ${name} ${x.shape[0]} reference`, t1);
      const [t2, now] = time(() => dl.train.evaluate(model, { x, y }));
      r.add(`evaluate ${name} ${x.shape[0]} now`, t2);
      if (before.loss !== now.loss || before.correct !== now.correct) mismatch += ` ${name}: loss ${before.loss} vs ${now.loss}, correct ${before.correct} vs ${now.correct};`;
    }
    const was = setDenseForward(false);
    const [t3, general] = time(() => dl.train.evaluate(models.mlp, { x: testT.x, y: testT.y }));
    setDenseForward(was);
    r.add("mlp 10000 direct pass reference", t3);
    const [t4, direct] = time(() => dl.train.evaluate(models.mlp, { x: testT.x, y: testT.y }));
    r.add("mlp 10000 direct pass now", t4);
    if (general.loss !== direct.loss || general.correct !== direct.correct) mismatch += ` mlp direct pass: loss ${general.loss} vs ${direct.loss}, correct ${general.correct} vs ${direct.correct};`;
  }
  console.log(`${"".padEnd(28)} ${"reference ms".padStart(22)} ${"now ms".padStart(22)}   ratio (best)`);
  for (const what of ["toTensors 60,000", "evaluate mlp 10000", "evaluate cnn 2000", "mlp 10000 direct pass"]) {
    const ref = `${what} reference`;
    const now = `${what} now`;
    const cell = (l: string) => `${r.best(l).toFixed(0)} best, ${r.median(l).toFixed(0)} median`.padStart(22);
    console.log(`${what.padEnd(28)} ${cell(ref)} ${cell(now)}   ${(r.best(ref) / r.best(now)).toFixed(2)}×`);
  }
  console.log(mismatch ? `WARNING: the numbers differ:${mismatch}` : "the same loss and correct count to the bit in every round");
  console.log(`${loadLine()} at the end`);
}

void main();
