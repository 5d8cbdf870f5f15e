/**
 * A plain Node script that imports tsdl (not the kernel): `await tf.ready()` gives it the backend
 * `dl.initBackend()` picks, and training on the cpu backend that nobody chose warns once, with
 * the fix. Each case runs in a fresh Node process, since tfjs keeps one engine per process.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { tempDir } from "./helpers/tmpdir";

const LIBRARY = path.join(__dirname, "..", "src", "index.js");
const TFJS = require.resolve("@tensorflow/tfjs");

/** Runs `body` (inside an async function, with `tf` and `dl` in scope) as a script; returns its JSON line and stderr. */
function script(body: string, env: NodeJS.ProcessEnv = {}) {
  const file = path.join(tempDir(), "script.js");
  writeFileSync(file, `const tf = require(${JSON.stringify(TFJS)});\nconst dl = require(${JSON.stringify(LIBRARY)});\n(async () => {\n${body}\n})().catch((e) => { console.error(e); process.exit(1); });\n`);
  const r = spawnSync(process.execPath, [file], { encoding: "utf8", timeout: 240_000, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `script failed:\n${r.stderr}`);
  const line = r.stdout.trim().split("\n").at(-1) ?? "";
  return { result: JSON.parse(line) as Record<string, unknown>, stderr: r.stderr };
}

// A tiny classification task: 32 examples of 4 features, 2 classes, trained for one short epoch.
const FIT = `
const x = tf.randomUniform([32, 4], 0, 1, "float32", 1);
const y = tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 2), "int32");
const model = () => dl.models.mlp({ inputs: 4, hidden: [8], outputs: 2, seed: 1 });
const fit = () => dl.train.fit(model(), { x, y }, { epochs: 1, batchSize: 16, reporter: "none", seed: 1 });
`;

const warnings = (stderr: string) => stderr.split("\n").filter((l) => l.includes("TSDL_CPU_BACKEND"));

test("await tf.ready() in a script picks what dl.initBackend() picks: the best backend that loads", () => {
  const { result, stderr } = script(`
await tf.ready();
const info = dl.backendInfo();
console.log(JSON.stringify({ backend: tf.getBackend(), tfBackend: info.tfBackend, active: info.active, statuses: info.attempts.map((a) => a.status), again: (await dl.initBackend()) === info }));
`);
  assert.equal(result.backend, result.tfBackend, "tfjs runs the backend that backendInfo() reports");
  const statuses = result.statuses as string[];
  assert.deepEqual(statuses.filter((s) => s === "active"), ["active"]);
  assert.ok(statuses.slice(0, statuses.indexOf("active")).every((s) => s === "skipped"), `every faster backend was tried and skipped: ${statuses}`);
  if (!process.env.TSDL_BACKEND) assert.notEqual(result.active, "cpu", "wasm loads on every Node, so a script is never left on cpu");
  assert.equal(result.again, true, "the choice is made once");
  assert.deepEqual(warnings(stderr), []);
});

test("TSDL_BACKEND applies to a script's tf.ready() as to the kernel", () => {
  const { result } = script(`await tf.ready(); console.log(JSON.stringify({ backend: tf.getBackend(), active: dl.backendInfo().active }));`, { TSDL_BACKEND: "cpu" });
  assert.deepEqual(result, { backend: "cpu", active: "cpu" });
});

test("training on the cpu backend nobody chose warns once, naming the fix", () => {
  const { result, stderr } = script(`${FIT}
await fit();
await fit();
console.log(JSON.stringify({ backend: tf.getBackend() }));
`);
  assert.equal(result.backend, "cpu", "without tf.ready() tfjs falls back to cpu on first use");
  const w = warnings(stderr);
  assert.equal(w.length, 1, `one warning for two fits:\n${stderr}`);
  assert.match(w[0], /dl\.train\.fit is running on TensorFlow\.js's plain-JavaScript cpu backend because no backend was chosen.*Add `await tf\.ready\(\)` \(or `await dl\.initBackend\(\)`\)/);
});

test("no warning once a backend was chosen: by tf.ready(), or by the script's own tf.setBackend('cpu')", () => {
  const ready = script(`await tf.ready();${FIT}await fit(); console.log(JSON.stringify({ backend: tf.getBackend() }));`);
  assert.deepEqual(warnings(ready.stderr), []);
  const own = script(`await tf.setBackend("cpu");${FIT}await fit(); console.log(JSON.stringify({ backend: tf.getBackend() }));`);
  assert.equal(own.result.backend, "cpu");
  assert.deepEqual(warnings(own.stderr), [], "cpu chosen on purpose is not warned about");
});
