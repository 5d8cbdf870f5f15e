/** The data benchmark runs where Fashion-MNIST is absent: it skips those rows, saying why, instead of crashing with ENOENT. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { tempDir } from "../helpers/tmpdir";

test("data.bench without Fashion-MNIST skips its rows with the reason and the install line, and finishes", () => {
  const missing = path.join(tempDir(), "no-fashion-mnist");
  const r = spawnSync(process.execPath, [path.join(__dirname, "..", "bench", "data.bench.js")], {
    encoding: "utf8",
    env: { ...process.env, TSDL_QUICK: "1", TSDL_FASHION_MNIST: missing },
    timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr + r.stdout, /ENOENT/);
  assert.match(r.stdout, new RegExp(`Fashion-MNIST: skipped: no Fashion-MNIST files in ${missing.replace(/[/\\]/g, "\\$&")} \\(apt-get install dataset-fashion-mnist`));
  assert.doesNotMatch(r.stdout, /loadFashionMnist/);
  // The other rows still ran.
  assert.match(r.stdout, /loadMnist train \+ test, SHA-256 verified +\d+\.\d ms/);
  assert.match(r.stdout, /createAugmenter\(\.\.\.\)\(batch\) +\d+\.\d ms/);
});
