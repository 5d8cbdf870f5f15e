/**
 * The fused Adam update: on the wasm backend with tsdl's kernels, `tf.train.adam` runs one
 * `TsdlAdamUpdate` kernel per weight and ends with the very same bits as tfjs's own update on
 * the cpu backend; its moments, names and iterations are tfjs's; other backends keep tfjs's code.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { ADAM_KERNEL, registerTsdlKernels } from "../../src/wasm";
import { fusedAdamUpdates } from "../../src/wasm/adam";
import { randn } from "../helpers/compare-backends";

before(async () => {
  require("@tensorflow/tfjs-backend-wasm");
  registerTsdlKernels("wasm");
  await tf.setBackend("wasm");
});

const rand = randn(3);
/** Weight shapes around the SIMD width (1, 3, 4, 5 elements) and a larger odd one. */
const shapes = [[1], [3], [4], [5], [13, 7], [64, 33]];
const initial = shapes.map((s) => rand(s.reduce((p, d) => p * d, 1)));
const gradients = [0, 1, 2, 3, 4].map(() => shapes.map((s) => rand(s.reduce((p, d) => p * d, 1)).map((g) => g * 0.1)));

interface Run {
  weights: Float32Array[];
  saved: { name: string; values: Float32Array }[];
  iterations: number;
  kernels: string[];
  /** Fused updates made (through the engine, or in place called directly). */
  fused: number;
}

/** Five Adam steps with fixed gradients on `backend`; `asArray` passes them as NamedTensor[]. */
async function run(backend: string, asArray: boolean, opts: [number, number, number, number] = [0.01, 0.9, 0.999, 1e-7]): Promise<Run> {
  await tf.setBackend(backend);
  const vars = initial.map((v, i) => tf.variable(tf.tensor(v, shapes[i]), true, `w${backend}${asArray}${i}`));
  const opt = tf.train.adam(...opts);
  const kernels: string[] = [];
  const fused = fusedAdamUpdates();
  for (const step of gradients) {
    const grads = step.map((g, i) => tf.tensor(g, shapes[i]));
    const profile = await tf.profile(() => {
      if (asArray) opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] })));
      else opt.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, grads[i]])) as unknown as Parameters<typeof opt.applyGradients>[0]);
    });
    kernels.push(...profile.kernels.map((k) => k.name));
    tf.dispose(grads);
  }
  const saved = (await opt.getWeights()).map((w) => ({ name: w.name.replace(`${backend}${asArray}`, ""), values: w.tensor.dataSync() as Float32Array }));
  const result = { weights: vars.map((v) => v.dataSync() as Float32Array), saved, iterations: opt.iterations, kernels, fused: fusedAdamUpdates() - fused };
  opt.dispose();
  tf.dispose(vars);
  return result;
}

test("wasm runs one fused update per weight (in place without the engine); cpu keeps tfjs's element-wise ops", async () => {
  const wasm = await run("wasm", false);
  const cpu = await run("cpu", false);
  assert.equal(wasm.fused, 5 * shapes.length);
  // The first step's weights share their buffers with the tensors they were made from, so
  // the engine runs the kernel; from the second step on they own them and are updated in place.
  assert.equal(wasm.kernels.filter((k) => k === ADAM_KERNEL).length, shapes.length);
  assert.ok(!wasm.kernels.includes("Sqrt") && !wasm.kernels.includes("Multiply"), "the unfused update ran on wasm");
  assert.equal(cpu.fused, 0);
  assert.ok(!cpu.kernels.includes(ADAM_KERNEL));
  assert.ok(cpu.kernels.includes("Sqrt"));
});

for (const asArray of [false, true]) {
  test(`the fused update gives the same bits as tfjs's on cpu (gradients as ${asArray ? "an array" : "a map"})`, async () => {
    const wasm = await run("wasm", asArray);
    const cpu = await run("cpu", asArray);
    wasm.weights.forEach((w, i) => assert.deepEqual([...w], [...cpu.weights[i]], `weight ${i} [${shapes[i]}]`));
    assert.equal(wasm.iterations, cpu.iterations);
    assert.deepEqual(wasm.saved.map((s) => s.name), cpu.saved.map((s) => s.name));
    wasm.saved.forEach((s, i) => assert.deepEqual([...s.values], [...cpu.saved[i].values], `saved ${s.name}`));
  });
}

test("other hyper-parameters too (learning rate, betas, epsilon)", async () => {
  const opts: [number, number, number, number] = [0.3, 0.5, 0.75, 0.01];
  const wasm = await run("wasm", false, opts);
  const cpu = await run("cpu", false, opts);
  wasm.weights.forEach((w, i) => assert.deepEqual([...w], [...cpu.weights[i]], `weight ${i}`));
});

/** Five steps on wasm with variables that own their buffers (their initial tensors disposed). */
async function runOwned(keepClones: boolean): Promise<{ weights: Float32Array[]; clones: Float32Array[]; moved: boolean[] }> {
  await tf.setBackend("wasm");
  const vars = initial.map((v, i) => tf.tidy(() => tf.variable(tf.tensor(v, shapes[i]), true, `owned${keepClones}${i}`)));
  const opt = tf.train.adam(0.01);
  const clones = keepClones ? vars.map((v) => v.clone()) : [];
  const dataIds = vars.map((v) => v.dataId);
  for (const step of gradients) {
    const grads = step.map((g, i) => tf.tensor(g, shapes[i]));
    opt.applyGradients(Object.fromEntries(vars.map((v, i) => [v.name, grads[i]])) as unknown as Parameters<typeof opt.applyGradients>[0]);
    tf.dispose(grads);
  }
  const result = { weights: vars.map((v) => v.dataSync() as Float32Array), clones: clones.map((c) => c.dataSync() as Float32Array), moved: vars.map((v, i) => v.dataId !== dataIds[i]) };
  opt.dispose();
  tf.dispose([...vars, ...clones]);
  return result;
}

test("weights that own their buffers are updated in place, to the same bits as cpu's; a clone keeps the old values", async () => {
  const cpu = await run("cpu", false);
  const before = tf.memory().numTensors;
  const owned = await runOwned(false);
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
  assert.deepEqual(owned.moved, shapes.map(() => false), "updated in place (the same buffers)");
  owned.weights.forEach((w, i) => assert.deepEqual([...w], [...cpu.weights[i]], `weight ${i} [${shapes[i]}]`));
  const cloned = await runOwned(true);
  assert.deepEqual(cloned.moved, shapes.map(() => true), "a shared buffer is not written over");
  cloned.weights.forEach((w, i) => assert.deepEqual([...w], [...cpu.weights[i]], `weight ${i} with a clone held`));
  cloned.clones.forEach((c, i) => assert.deepEqual([...c], [...initial[i]], `the clone of weight ${i} keeps its values`));
});
