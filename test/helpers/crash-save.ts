/**
 * A child process for the save tests: builds a model and saves it, but dies with SIGKILL (no
 * cleanup, no finally blocks) at the chosen point of the save, as a power cut or a killed kernel
 * would. Usage: node crash-save.js DIR STEP SEED, STEP one of weights-write, weights-rename,
 * model-write, model-rename, none.
 */
import * as fs from "node:fs";
import { initBackend } from "../../src/backend";
import * as dl from "../../src";
import { nodeSaveFs } from "../../src/train/io";

async function main(): Promise<void> {
  const [dir, step, seed] = process.argv.slice(2);
  await initBackend();
  const model = dl.models.mlp({ inputs: 4, hidden: [7], outputs: 3, dropout: 0, seed: Number(seed) });
  const die = (): never => {
    process.kill(process.pid, "SIGKILL");
    throw new Error("unreachable");
  };
  await dl.train.save(model, dir, {
    fs: {
      writeFile(file, data) {
        const isWeights = file.includes("weights.");
        if ((step === "weights-write" && isWeights) || (step === "model-write" && !isWeights)) {
          // Half the bytes reach the disk, then the process dies.
          const bytes = typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
          fs.writeFileSync(file, bytes.subarray(0, bytes.length >> 1));
          die();
        }
        nodeSaveFs.writeFile(file, data);
      },
      rename(from, to) {
        if ((step === "weights-rename" && to.includes("weights.")) || (step === "model-rename" && to.endsWith("model.json"))) die();
        nodeSaveFs.rename(from, to);
      },
    },
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
