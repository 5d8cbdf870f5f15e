/**
 * Data loading speed: all 70,000 MNIST images (train + test) through `loadMnist`, against a bare
 * `fs.readFileSync` of the same four files in the same process, alternating so that both see the
 * same page cache and machine load. Also Fashion-MNIST (.gz), `toTensors`, and augmentation per
 * batch. Prints figures and ratios; asserts nothing. Where Fashion-MNIST is absent (or
 * `TSDL_FASHION_MNIST` points elsewhere) its rows are skipped with the reason and the install line.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { affineMatrix, clearVerifyCache, createAugmenter, defaultMnistDir, loadFashionMnist, loadMnist } from "../../src/data";
import { fashionMnistDir, find } from "../helpers/components";

const ROUNDS = process.env.TSDL_QUICK === "1" ? 3 : 7;

function time(fn: () => unknown): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function row(label: string, ms: number[], ref?: number): void {
  const m = median(ms);
  console.log(`${label.padEnd(52)} ${m.toFixed(1).padStart(8)} ms${ref ? `   ×${(m / ref).toFixed(2)} the reference` : ""}`);
}

async function main(): Promise<void> {
  const info = await initBackend();
  console.log(`backend: ${info.active}; median of ${ROUNDS} rounds, alternating`);
  const dir = defaultMnistDir();
  const files = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"].map((f) => path.join(dir, f));
  // Fashion-MNIST is an optional system package: without it, its rows are skipped, saying why.
  const fashionDir = fashionMnistDir();
  const hasFashion = find("fashion-mnist") !== null;
  const fashion = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    .map((f) => path.join(fashionDir, f))
    .map((f) => (existsSync(f + ".gz") ? f + ".gz" : f));
  const readFashion = (f: string) => (f.endsWith(".gz") ? gunzipSync(readFileSync(f)) : readFileSync(f));

  const t = { ref: [] as number[], cold: [] as number[], cached: [] as number[], noVerify: [] as number[], fref: [] as number[], fashion: [] as number[] };
  let count = 0;
  for (let r = 0; r < ROUNDS; r++) {
    t.ref.push(time(() => files.forEach((f) => readFileSync(f))));
    clearVerifyCache();
    t.cold.push(time(() => (count = loadMnist({ split: "train" }).count + loadMnist({ split: "test" }).count)));
    t.cached.push(time(() => loadMnist({ split: "train" }).count + loadMnist({ split: "test" }).count));
    t.noVerify.push(time(() => loadMnist({ split: "train", verify: false }).count + loadMnist({ split: "test", verify: false }).count));
    if (!hasFashion) continue;
    t.fref.push(time(() => fashion.forEach(readFashion)));
    clearVerifyCache();
    t.fashion.push(time(() => loadFashionMnist({ split: "train", dir: fashionDir }).count + loadFashionMnist({ split: "test", dir: fashionDir }).count));
  }
  const ref = median(t.ref);
  console.log(`\nMNIST, ${count} images (train + test), 4 plain idx files, ${(files.reduce((a, f) => a + readFileSync(f).length, 0) / 1e6).toFixed(1)} MB`);
  row("reference: fs.readFileSync of the 4 files", t.ref);
  row("loadMnist train + test, SHA-256 verified", t.cold, ref);
  row("loadMnist again (verification cached)", t.cached, ref);
  row("loadMnist with verify: false", t.noVerify, ref);
  if (hasFashion) {
    const fref = median(t.fref);
    console.log(`\nFashion-MNIST, 70000 images, 4 files in ${fashionDir}`);
    row("reference: readFileSync (+ gunzipSync) of the 4 files", t.fref);
    row("loadFashionMnist train + test, SHA-256 verified", t.fashion, fref);
  } else {
    console.log(`\nFashion-MNIST: skipped: no Fashion-MNIST files in ${fashionDir} (apt-get install dataset-fashion-mnist, or set TSDL_FASHION_MNIST to a folder of them)`);
  }

  // Float tensors for training, and augmentation per batch of 64.
  const train = loadMnist({ split: "train" });
  const conv: number[] = [];
  const convRef: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    convRef.push(time(() => tf.tensor(Float32Array.from(train.images), [train.count, 784]).dispose()));
    conv.push(time(() => {
      const { x, y } = train.toTensors({ normalize: "article" });
      tf.dispose([x, y]);
    }));
  }
  console.log(`\nFloat tensors for 60000 images`);
  row("reference: tf.tensor(Float32Array.from(bytes))", convRef);
  row("toTensors({ normalize: \"article\" })", conv, median(convRef));

  const batch = tf.tidy(() => train.toTensors({ normalize: "article", flatten: false }).x.slice(0, 64)) as tf.Tensor4D;
  const aug = createAugmenter({ rotation: 15, scale: 0.1, translate: 2, crop: { padding: 2 }, seed: 1 });
  const mats = tf.tensor2d(Array.from({ length: 64 }, () => affineMatrix({ angle: 10, scale: 1.05, tx: 1, ty: -1 })));
  const n = ROUNDS * 20;
  aug(batch).dispose();
  const augMs: number[] = [];
  const tfMs: number[] = [];
  for (let r = 0; r < n; r++) {
    augMs.push(time(() => aug(batch).dispose()));
    tfMs.push(time(() => {
      const out = tf.image.transform(batch, mats, "bilinear", "constant", -1);
      out.dataSync();
      out.dispose();
    }));
  }
  console.log(`\nAugmentation of a 64×28×28×1 batch (${n} batches)`);
  row(`reference: tf.image.transform on ${info.active}${info.active === "cpu" ? " (transforms only image 0)" : ""}`, tfMs);
  row("createAugmenter(...)(batch)", augMs, median(tfMs));
  console.log(`→ one epoch of 938 batches spends about ${((median(augMs) * 938) / 1000).toFixed(1)} s augmenting`);
  tf.dispose([batch, mats]);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
