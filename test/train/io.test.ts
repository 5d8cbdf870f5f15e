import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import * as dl from "../../src";
import { tempDir } from "../helpers/tmpdir";

const probe = () => tf.tensor2d([[0.1, -0.2, 0.3, 0.4], [1, 2, -3, 0.5], [-1, 0, 0, 2]]);

function predictions(model: tf.LayersModel, x?: tf.Tensor): number[] {
  const input = x ?? probe();
  const out = tf.tidy(() => Array.from((model.predict(input) as tf.Tensor).dataSync()));
  if (!x) input.dispose();
  return out;
}

function small(seed: number): tf.LayersModel {
  return dl.models.mlp({ inputs: 4, hidden: [7], outputs: 3, dropout: 0, seed });
}

test("save → load gives identical predictions, in the tfjs format (model.json + weights file)", async () => {
  await initBackend();
  const dir = path.join(tempDir(), "mlp");
  const model = dl.models.mlp({ seed: 3 });
  const x = tf.randomNormal([5, 784], 0, 1, "float32", 2);
  const saved = await dl.train.save(model, dir);
  assert.equal(saved.weightBytes, 235146 * 4);
  assert.equal(saved.weightCount, 6);
  assert.deepEqual(fs.readdirSync(dir).sort(), [path.basename(saved.weightsFile), "model.json"].sort());
  const json = JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf8"));
  assert.equal(json.format, "layers-model");
  assert.equal(json.modelTopology.class_name, "Sequential");
  assert.deepEqual(json.weightsManifest[0].paths, [path.basename(saved.weightsFile)]);
  assert.deepEqual(json.weightsManifest[0].weights.map((w: { name: string }) => w.name), [
    "hidden1/kernel", "hidden1/bias", "hidden2/kernel", "hidden2/bias", "output/kernel", "output/bias",
  ]);
  const loaded = await dl.train.load(dir);
  assert.deepEqual(predictions(loaded, x), predictions(model, x));
  assert.equal(dl.summary(loaded).totalParams, 235146);
  // Dropout survives the round trip (its rate is in the topology).
  assert.deepEqual(loaded.layers.map((l) => l.getClassName()), ["Dense", "Dropout", "Dense", "Dropout", "Dense"]);
  // The CNN too; and load accepts the model.json path itself.
  const cnn = dl.models.cnn({ filters: [2, 4], dense: 8, seed: 1 });
  const cdir = path.join(tempDir(), "cnn");
  await dl.train.save(cnn, cdir);
  const cnn2 = await dl.train.load(path.join(cdir, "model.json"));
  assert.deepEqual(predictions(cnn2, x), predictions(cnn, x));
  [model, loaded, cnn, cnn2].forEach((m) => m.dispose());
  x.dispose();
});

test("a trained model saved, loaded and trained further behaves like the original", async () => {
  await initBackend();
  const dir = tempDir();
  const model = small(1);
  const x = tf.randomNormal([40, 4], 0, 1, "float32", 3);
  const y = tf.tensor1d(Array.from({ length: 40 }, (_, i) => i % 3), "int32");
  await dl.train.fit(model, { x, y }, { epochs: 2, batchSize: 8, seed: 1, reporter: "none" });
  await dl.train.save(model, dir);
  const loaded = await dl.train.load(dir);
  assert.deepEqual(predictions(loaded), predictions(model));
  const h = await dl.train.fit(loaded, { x, y }, { epochs: 1, batchSize: 8, seed: 1, reporter: "none" });
  assert.ok(Number.isFinite(h.loss[0]));
  tf.dispose([x, y]);
  model.dispose();
  loaded.dispose();
});

test("saving again replaces the model atomically and removes the old weights file", async () => {
  await initBackend();
  const dir = tempDir();
  const a = small(1);
  const b = small(2);
  const first = await dl.train.save(a, dir);
  const second = await dl.train.save(b, dir);
  assert.notEqual(first.weightsFile, second.weightsFile, "the weights file name carries its hash");
  assert.deepEqual(fs.readdirSync(dir).sort(), [path.basename(second.weightsFile), "model.json"].sort());
  assert.deepEqual(predictions(await dl.train.load(dir)), predictions(b));
  a.dispose();
  b.dispose();
});

test("a save that throws midway (injected file-system failure) leaves the previous model loadable", async () => {
  await initBackend();
  const a = small(1);
  const b = small(2);
  for (const failAt of ["weights-write", "weights-rename", "model-write", "model-rename"]) {
    const dir = tempDir();
    await dl.train.save(a, dir);
    const failing = {
      writeFile(file: string, data: Uint8Array | string) {
        const isWeights = path.basename(file).startsWith("weights.");
        if ((failAt === "weights-write" && isWeights) || (failAt === "model-write" && !isWeights)) {
          fs.writeFileSync(file, typeof data === "string" ? data.slice(0, 10) : data.subarray(0, 10));
          throw new Error("ENOSPC: no space left on device (simulated)");
        }
        fs.writeFileSync(file, data);
      },
      rename(from: string, to: string) {
        if ((failAt === "weights-rename" && to.includes("weights.")) || (failAt === "model-rename" && to.endsWith("model.json"))) {
          throw new Error("EIO (simulated)");
        }
        fs.renameSync(from, to);
      },
    };
    await assert.rejects(dl.train.save(b, dir, { fs: failing }), /simulated/);
    assert.deepEqual(predictions(await dl.train.load(dir)), predictions(a), `after a failure at ${failAt}, the previous model loads`);
    // The next good save cleans up what the failed one left.
    await dl.train.save(b, dir);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes(".tmp-") || f.startsWith("weights.")).length, 1, `${failAt}: ${fs.readdirSync(dir)}`);
    assert.deepEqual(predictions(await dl.train.load(dir)), predictions(b));
  }
  a.dispose();
  b.dispose();
});

test("a process killed (SIGKILL) in the middle of a save leaves the previous model loadable", async () => {
  await initBackend();
  const child = path.join(__dirname, "..", "helpers", "crash-save.js");
  const dir = tempDir();
  const before = spawnSync(process.execPath, [child, dir, "none", "1"], { encoding: "utf8" });
  assert.equal(before.status, 0, before.stderr);
  const first = predictions(await dl.train.load(dir));
  // Two kill points (the in-process test above covers all four): half the weights written, and
  // everything written but model.json not yet switched.
  for (const step of ["weights-write", "model-rename"]) {
    const r = spawnSync(process.execPath, [child, dir, step, "2"], { encoding: "utf8" });
    assert.equal(r.signal, "SIGKILL", `the child died at ${step}: ${r.stderr}`);
    assert.deepEqual(predictions(await dl.train.load(dir)), first, `after a kill at ${step}`);
  }
  const ok = spawnSync(process.execPath, [child, dir, "none", "2"], { encoding: "utf8" });
  assert.equal(ok.status, 0, ok.stderr);
  const second = predictions(await dl.train.load(dir));
  assert.notDeepEqual(second, first);
  assert.deepEqual(second, predictions(small(2)));
});

test("loading a missing or corrupt model is a clear error naming the file and the problem", async () => {
  await initBackend();
  const root = tempDir();
  const missing = path.join(root, "nope");
  await assert.rejects(dl.train.load(missing), new RegExp(`load: the folder ${missing} does not exist`));
  const empty = path.join(root, "empty");
  fs.mkdirSync(empty);
  fs.writeFileSync(path.join(empty, "notes.txt"), "x");
  await assert.rejects(dl.train.load(empty), new RegExp(`load: ${empty}/model\\.json: not found; the folder holds notes\\.txt`));

  const fresh = async () => {
    const dir = fs.mkdtempSync(path.join(root, "m-"));
    const saved = await dl.train.save(small(1), dir);
    return { dir, model: path.join(dir, "model.json"), weights: saved.weightsFile };
  };
  let f = await fresh();
  fs.writeFileSync(f.model, fs.readFileSync(f.model, "utf8").slice(0, 100));
  await assert.rejects(dl.train.load(f.dir), new RegExp(`load: ${f.model}: not valid JSON \\(.+\\); 100 characters, the file may be truncated`));

  f = await fresh();
  fs.writeFileSync(f.model, "");
  await assert.rejects(dl.train.load(f.dir), /model\.json: the file is empty/);

  f = await fresh();
  fs.writeFileSync(f.model, JSON.stringify({ weightsManifest: [] }));
  await assert.rejects(dl.train.load(f.dir), /model\.json: no "modelTopology" object \(keys found: weightsManifest\)/);

  f = await fresh();
  fs.rmSync(f.weights);
  await assert.rejects(dl.train.load(f.dir), new RegExp(`load: ${f.weights}: not found; model\\.json names it as a weights file`));

  f = await fresh();
  fs.truncateSync(f.weights, 40);
  await assert.rejects(dl.train.load(f.dir), new RegExp(`load: ${f.weights}: 40 bytes, but model\\.json describes 4 weights of ${(4 * 7 + 7 + 7 * 3 + 3) * 4} bytes in all; the file is truncated`));

  f = await fresh();
  const bytes = fs.readFileSync(f.weights);
  bytes[17] ^= 0xff;
  fs.writeFileSync(f.weights, bytes);
  await assert.rejects(dl.train.load(f.dir), /weights\.[0-9a-f]{16}\.bin: SHA-256 [0-9a-f]{16}… differs from [0-9a-f]{16}… recorded in model\.json/);

  f = await fresh();
  const json = JSON.parse(fs.readFileSync(f.model, "utf8"));
  json.modelTopology.config.layers[0].class_name = "NoSuchLayer";
  fs.writeFileSync(f.model, JSON.stringify(json));
  await assert.rejects(dl.train.load(f.dir), /model\.json: the model could not be rebuilt from its topology and weights: .*NoSuchLayer/);
});

test("load reads a plain tfjs model folder (weights.bin, no tsdl fields)", async () => {
  await initBackend();
  const dir = tempDir();
  const model = small(4);
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const { weightData, weightSpecs, ...rest } = a;
      fs.writeFileSync(path.join(dir, "weights.bin"), new Uint8Array(weightData as ArrayBuffer));
      fs.writeFileSync(path.join(dir, "model.json"), JSON.stringify({ ...rest, weightsManifest: [{ paths: ["weights.bin"], weights: weightSpecs }] }));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  assert.deepEqual(predictions(await dl.train.load(dir)), predictions(model));
  model.dispose();
});
