/**
 * Child process for the full-disk and read-only tests (test/runner/disk-faults.test.ts). It runs
 * inside a private mount namespace on a tiny tmpfs the parent mounted at `dir`:
 * - `node disk-child.js full DIR`: saves a model and writes a notebook and a report (the
 *   "previous" files), fills the disk, then tries to replace each with a bigger one;
 * - `node disk-child.js readonly DIR` (after the parent remounted DIR read-only): tries again.
 * Prints one JSON line: for each target, the error message and whether the previous file is intact.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as dl from "../../src";
import { readNotebook, serializeNotebook, writeNotebook } from "../../kernel/nbformat/io";
import { writeReport } from "../../kernel/report/index";
import type { Notebook } from "../../kernel/nbformat/types";

function notebook(text: string): Notebook {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [{ cell_type: "code", id: "a", metadata: {}, source: "1", outputs: [{ output_type: "stream", name: "stdout", text }], execution_count: 1 }],
  };
}

function predict(model: tf.LayersModel): number[] {
  return Array.from((model.predict(tf.tensor2d([[0.5, -1]])) as tf.Tensor).dataSync());
}

async function main(): Promise<void> {
  const [phase, dir] = process.argv.slice(2);
  await dl.initBackend({ env: { TSDL_BACKEND: "cpu" } });
  const modelDir = path.join(dir, "model");
  const nbFile = path.join(dir, "nb.ipynb");
  const htmlFile = path.join(dir, "nb.html");
  const small = dl.models.mlp({ inputs: 2, hidden: [3], outputs: 2, dropout: 0, seed: 1 });
  // ~40 KB of weights: more than the space left.
  const big = dl.models.mlp({ inputs: 2, hidden: [100, 100], outputs: 2, dropout: 0, seed: 2 });
  const result: Record<string, unknown> = { phase };
  if (phase === "full") {
    await dl.train.save(small, modelDir);
    writeNotebook(nbFile, notebook("previous\n"));
    writeReport(notebook("previous\n"), htmlFile);
    // Fill the file system, leaving less than one 4 KiB page.
    const fd = fs.openSync(path.join(dir, "filler"), "w");
    const block = Buffer.alloc(4096, 1);
    try {
      for (;;) fs.writeSync(fd, block);
    } catch (err) {
      result.filled = (err as NodeJS.ErrnoException).code;
    } finally {
      fs.closeSync(fd);
    }
  }
  const previousPrediction = predict(small);
  const attempt = async (name: string, write: () => unknown, intact: () => boolean | Promise<boolean>) => {
    let message = "";
    try {
      await write();
      message = "no error";
    } catch (err) {
      message = (err as Error).message;
    }
    result[name] = { message, intact: await intact(), files: fs.readdirSync(name === "model" ? modelDir : dir).sort() };
  };
  await attempt(
    "model",
    () => dl.train.save(big, modelDir),
    async () => JSON.stringify(predict(await dl.train.load(modelDir))) === JSON.stringify(previousPrediction),
  );
  await attempt(
    "notebook",
    () => writeNotebook(nbFile, notebook("new ".repeat(20_000))),
    () => serializeNotebook(readNotebook(nbFile)) === serializeNotebook(notebook("previous\n")),
  );
  await attempt(
    "report",
    () => writeReport(notebook("new ".repeat(20_000)), htmlFile),
    () => fs.readFileSync(htmlFile, "utf8").includes("previous"),
  );
  if (phase === "full") fs.rmSync(path.join(dir, "filler"));
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exitCode = 1;
});
