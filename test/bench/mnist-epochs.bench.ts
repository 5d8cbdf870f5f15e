/**
 * The article's full recipe on MNIST, on the backend `initBackend()` picks (tsdl's wasm here):
 * the MLP, Adam 0.001, batch 64, `model.fit` for 10 epochs over the 60,000 training images,
 * then test accuracy. Prints seconds per epoch, the total, and the accuracy; with PyTorch
 * (Debian's python3-torch) the same recipe runs afterwards for comparison.
 *
 * Run: `npm run bench -- mnist-epochs` (TSDL_EPOCHS=N to change the epochs; TSDL_QUICK=1: 1).
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { buildArticleMlp, BATCH } from "../helpers/article-mlp";
import { loadLine } from "../helpers/bench-util";
import { loadMnist } from "../helpers/mnist-idx";
import { TorchWorker } from "../helpers/torch-worker";
import { pythonPath } from "../helpers/components";

async function main(): Promise<void> {
  const epochs = Number(process.env.TSDL_EPOCHS ?? (process.env.TSDL_QUICK === "1" ? 1 : 10));
  const info = await initBackend();
  console.log(`MNIST, article MLP, batch ${BATCH}, ${epochs} epochs; ${loadLine()} at start`);
  console.log(info.toString().split("\n").find((l) => l.includes("active")));
  const train = loadMnist("train");
  const test = loadMnist("test");
  const model = buildArticleMlp({ metrics: true });
  const start = performance.now();
  let last = start;
  await model.fit(train.x, train.y, {
    batchSize: BATCH,
    epochs,
    shuffle: true,
    verbose: 0,
    callbacks: {
      onEpochEnd: async (epoch, logs) => {
        const now = performance.now();
        console.log(
          `epoch ${epoch + 1}: ${((now - last) / 1000).toFixed(1)} s, loss ${logs?.loss.toFixed(4)}, accuracy ${logs?.acc.toFixed(4)}`,
        );
        last = now;
      },
    },
  });
  const seconds = (performance.now() - start) / 1000;
  const [, acc] = model.evaluate(test.x, test.y, { batchSize: 1000 }) as tf.Scalar[];
  console.log(`tfjs (${tf.getBackend()}): ${epochs} epochs in ${seconds.toFixed(1)} s (${(seconds / epochs).toFixed(1)} s/epoch), test accuracy ${(100 * acc.dataSync()[0]).toFixed(2)}%`);

  if (TorchWorker.available()) {
    const script = path.join(__dirname, "..", "..", "..", "test", "bench", "torch-mnist.py");
    // The same settings as the step benchmark's PyTorch worker (see torch-worker.py).
    const env = { ...process.env, OMP_WAIT_POLICY: "PASSIVE", MALLOC_MMAP_THRESHOLD_: "67108864", MALLOC_TRIM_THRESHOLD_: "268435456" };
    const r = spawnSync(pythonPath(), [script, String(epochs)], { encoding: "utf8", env });
    process.stdout.write(r.stdout);
    if (r.status !== 0) console.log(`PyTorch run failed: ${r.stderr}`);
  }
  console.log(`${loadLine()} at end`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
