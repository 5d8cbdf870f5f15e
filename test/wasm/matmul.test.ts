/**
 * tsdl's wasm `BatchMatMul` / `_FusedMatMul` kernels against the `cpu` backend: outputs and
 * gradients on random shapes, all four transpose combinations, batch dimensions (broadcast
 * too), fused bias and activations. Every case runs twice: on tsdl's generated GEMM (what
 * products of these sizes use) and with every product sent to XNNPACK (what large ones use);
 * a spy on the C++ entry point proves XNNPACK was only ever called on its fast path.
 */
import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { fastMatMulConfigs, registerTsdlKernels, setXnnpackMinFlops, tsdlKernelsRegistered } from "../../src/wasm";
import { assertClose, randn, runOn, type Values } from "../helpers/compare-backends";

let rand = randn(20240607);
const values = (...shape: number[]): Values => ({ shape, data: rand(shape.reduce((p, d) => p * d, 1)) });

/**
 * The cpu backend's results, computed for the first engine and reused for the second: both
 * draw the same inputs in the same order (the generator restarts for each engine).
 */
const references: { inputs: Values[]; result: Values[] }[] = [];
let referenceIndex = 0;
async function reference(inputs: Values[], f: (...xs: tf.Tensor[]) => tf.Tensor[]): Promise<Values[]> {
  const cached = references[referenceIndex++];
  if (cached) {
    assert.deepEqual(cached.inputs, inputs, "both engines must see the same inputs");
    return cached.result;
  }
  const result = await runOn("cpu", inputs, f);
  references.push({ inputs, result });
  return result;
}

/** Every call into the C++ `_FusedMatMul`: [transposeA, transposeB, a batch, b batch]. */
const cppCalls: number[][] = [];

before(async () => {
  require("@tensorflow/tfjs-backend-wasm");
  registerTsdlKernels("wasm");
  await tf.setBackend("wasm");
  // Spy on the C++ entry point. Emscripten's lazy wrapper replaces `Module.__FusedMatMul` with
  // the raw export on first call, so the spy ignores that write.
  const wasm = (tf.backend() as unknown as { wasm: { asm: Record<string, (...args: number[]) => void>; HEAP32: Int32Array } }).wasm;
  const raw = wasm.asm["_FusedMatMul"];
  const spy = (...args: number[]) => {
    cppCalls.push([args[6], args[7], wasm.HEAP32[args[1] >> 2], wasm.HEAP32[args[4] >> 2]]);
    return raw(...args);
  };
  Object.defineProperty(wasm, "__FusedMatMul", { get: () => spy, set: () => {}, configurable: true });
});

test("the wasm backend runs tsdl's kernels", () => {
  assert.ok(tsdlKernelsRegistered("wasm"));
  const [batchMatMul, fusedMatMul] = fastMatMulConfigs("wasm");
  assert.equal(tf.getKernel(tf.BatchMatMul, "wasm")?.kernelFunc, batchMatMul.kernelFunc);
  assert.equal(tf.getKernel(tf._FusedMatMul, "wasm")?.kernelFunc, fusedMatMul.kernelFunc);
});

/** Which engine the kernels use for the products below. */
function useEngine(engine: "tsdl" | "xnnpack"): void {
  setXnnpackMinFlops(engine === "xnnpack" ? 0 : undefined);
}

const xnnCallsBefore: Record<string, number> = {};

for (const engine of ["tsdl", "xnnpack"] as const) {
  test(`${engine}: start`, () => {
    xnnCallsBefore[engine] = cppCalls.length;
    rand = randn(20240607);
    referenceIndex = 0;
  });
  /** matMul output and the gradients of sum(matMul(a, b) · w) for a and b. */
  const matMulWithGrads = (ta: boolean, tb: boolean) => (a: tf.Tensor, b: tf.Tensor, w: tf.Tensor) => {
    const y = tf.matMul(a, b, ta, tb);
    const [da, db] = tf.grads((x: tf.Tensor, z: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, z, ta, tb), w)))([a, b]);
    return [y, da, db];
  };

  const shapes2d: [number, number, number][] = [
    [1, 1, 1],
    [1, 7, 1],
    [5, 1, 3],
    [1, 9, 6],
    [6, 9, 1],
    [17, 33, 9],
    [64, 784, 256],
    [40, 3, 70],
  ];

  for (const [m, k, n] of shapes2d) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        test(`${engine}: matMul ${m}x${k}x${n} transposeA=${ta} transposeB=${tb}: output and gradients match cpu`, async () => {
          useEngine(engine);
          const a = ta ? values(k, m) : values(m, k);
          const b = tb ? values(n, k) : values(k, n);
          const w = values(m, n);
          const f = matMulWithGrads(ta, tb);
          assertClose(await runOn("wasm", [a, b, w], f), await reference([a, b, w], f), `${m}x${k}x${n}`);
        });
      }
    }
  }

  test(`${engine}: batch dimensions: equal batches, shared b, rank-2 b, rank 4; with gradients`, async () => {
    useEngine(engine);
    const cases: [number[], number[], boolean, boolean][] = [
      [[3, 5, 7], [3, 7, 4], false, false],
      [[3, 7, 5], [3, 4, 7], true, true],
      [[3, 5, 7], [3, 4, 7], false, true],
      [[3, 7, 5], [3, 7, 4], true, false],
      [[2, 3, 6, 8], [2, 3, 8, 5], false, false],
      [[2, 3, 8, 6], [2, 3, 5, 8], true, true],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = values(...sa);
      const b = values(...sb);
      const out = tf.tidy(() => tf.matMul(tf.zeros(sa), tf.zeros(sb), ta, tb).shape);
      const w = values(...out);
      const f = matMulWithGrads(ta, tb);
      assertClose(await runOn("wasm", [a, b, w], f), await reference([a, b, w], f), `[${sa}]·[${sb}] ${ta} ${tb}`);
    }
  });

  test(`${engine}: broadcast batch dimensions match cpu where one side has a single batch`, async () => {
    useEngine(engine);
    const cases: [number[], number[], boolean, boolean][] = [
      [[4, 5, 7], [7, 3], false, false],
      [[4, 7, 5], [1, 3, 7], true, true],
      [[5, 7], [4, 7, 3], false, false],
      [[1, 5, 7], [4, 3, 7], false, true],
      [[2, 3, 5, 7], [7, 6], false, false],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = values(...sa);
      const b = values(...sb);
      const f = (x: tf.Tensor, y: tf.Tensor) => [tf.matMul(x, y, ta, tb)];
      assertClose(await runOn("wasm", [a, b], f), await reference([a, b], f), `[${sa}]·[${sb}] ${ta} ${tb}`);
    }
  });

  test(`${engine}: broadcast batch dimensions on both sides follow numpy rules`, async () => {
    useEngine(engine);
    // [2,1]·[1,3] batches: out[i][j] = a[i]·b[j]. (tfjs's cpu kernel indexes batches modulo their
    // count and gets this case wrong, so the reference is built from single products.)
    const a = values(2, 1, 4, 6);
    const b = values(1, 3, 6, 5);
    const got = await runOn("wasm", [a, b], (x, y) => [tf.matMul(x, y)]);
    const expected = await reference([a, b], (x, y) => {
      const rows: tf.Tensor[] = [];
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 3; j++) {
          rows.push(tf.matMul(tf.slice(x, [i, 0, 0, 0], [1, 1, 4, 6]).reshape([4, 6]), tf.slice(y, [0, j, 0, 0], [1, 1, 6, 5]).reshape([6, 5])));
        }
      }
      return [tf.stack(rows).reshape([2, 3, 4, 5])];
    });
    assertClose(got, expected, "[2,1,4,6]·[1,3,6,5]");
  });

  test(`${engine}: empty and zero-length inner dimensions`, async () => {
    useEngine(engine);
    for (const [sa, sb] of [
      [[3, 0], [0, 4]],
      [[0, 5], [5, 4]],
      [[3, 5], [5, 0]],
      [[2, 3, 0], [2, 0, 4]],
    ]) {
      const f = (x: tf.Tensor, y: tf.Tensor) => [tf.matMul(x, y)];
      const a = values(...sa);
      const b = values(...sb);
      assertClose(await runOn("wasm", [a, b], f), await reference([a, b], f), `[${sa}]·[${sb}]`);
    }
  });

  test(`${engine}: a tensor reused as b under another shape gets no stale packed weights`, async () => {
    useEngine(engine);
    // The backend caches XNNPACK's packed weights per tensor id; [6,1] read as [1,6] must not
    // reuse the packing made for [6,1].
    const b = values(6, 1);
    const x1 = values(2, 6);
    const x2 = values(3, 1);
    const f = (p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) => [tf.matMul(p, q), tf.matMul(r, q, false, true), tf.matMul(r, tf.reshape(q, [1, 6]))];
    assertClose(await runOn("wasm", [x1, b, x2], f), await reference([x1, b, x2], f), "reused b");
  });

  const activations: { activation: tf.fused.Activation; alpha?: boolean }[] = [
    { activation: "linear" },
    { activation: "relu" },
    { activation: "relu6" },
    { activation: "elu" },
    { activation: "sigmoid" },
    { activation: "leakyrelu" },
    { activation: "prelu", alpha: true },
  ];

  test(`${engine}: fused matMul: bias and every activation, all transposes, match cpu`, async () => {
    useEngine(engine);
    const [m, k, n] = [9, 13, 11];
    for (const { activation, alpha } of activations) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = values(...(ta ? [k, m] : [m, k]));
          const b = values(...(tb ? [n, k] : [k, n]));
          const bias = values(n);
          const weights = values(n);
          const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor, p: tf.Tensor) => [
            tf.fused.matMul({ a: x, b: y, transposeA: ta, transposeB: tb, bias: z, activation, preluActivationWeights: alpha ? p : undefined, leakyreluAlpha: 0.13 }),
          ];
          const inputs = [a, b, bias, weights];
          assertClose(await runOn("wasm", inputs, f), await reference(inputs, f), `${activation} ${ta} ${tb}`);
        }
      }
    }
  });

  test(`${engine}: fused matMul: bias shapes the GEMM cannot take, and batches`, async () => {
    useEngine(engine);
    const cases: { a: number[]; b: number[]; bias: number[]; ta?: boolean; tb?: boolean }[] = [
      { a: [6, 8], b: [8, 5], bias: [1] },
      { a: [6, 8], b: [8, 5], bias: [6, 5] },
      { a: [6, 8], b: [8, 5], bias: [1, 5] },
      { a: [3, 6, 8], b: [3, 8, 5], bias: [5] },
      { a: [3, 8, 6], b: [1, 5, 8], bias: [5], ta: true, tb: true },
      { a: [3, 6, 8], b: [3, 8, 5], bias: [3, 6, 5] },
    ];
    for (const c of cases) {
      for (const activation of ["linear", "relu", "prelu"] as tf.fused.Activation[]) {
        const inputs = [values(...c.a), values(...c.b), values(...c.bias), values(5)];
        const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor, p: tf.Tensor) => [
          tf.fused.matMul({ a: x, b: y, transposeA: c.ta, transposeB: c.tb, bias: z, activation, preluActivationWeights: p }),
        ];
        assertClose(await runOn("wasm", inputs, f), await reference(inputs, f), `[${c.a}]·[${c.b}]+[${c.bias}] ${activation}`);
      }
    }
  });

  test(`${engine}: fused matMul gradients (linear and relu, with bias) match cpu`, async () => {
    useEngine(engine);
    for (const activation of ["linear", "relu"] as tf.fused.Activation[]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const [m, k, n] = [12, 20, 7];
          const inputs = [values(...(ta ? [k, m] : [m, k])), values(...(tb ? [n, k] : [k, n])), values(n), values(m, n)];
          const f = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor, w: tf.Tensor) => {
            const loss = (p: tf.Tensor, q: tf.Tensor, r: tf.Tensor) =>
              tf.sum(tf.mul(tf.fused.matMul({ a: p, b: q, transposeA: ta, transposeB: tb, bias: r, activation }), w));
            return tf.grads(loss)([x, y, z]);
          };
          assertClose(await runOn("wasm", inputs, f), await reference(inputs, f), `grads ${activation} ${ta} ${tb}`);
        }
      }
    }
  });

  test(`${engine}: three Adam steps of a dense network end with the same weights as on cpu`, async () => {
    useEngine(engine);
    const x = values(32, 50);
    const y = values(32, 10);
    const w1 = values(50, 30);
    const w2 = values(30, 10);
    const b1 = values(30);
    const train = (xs: tf.Tensor, ys: tf.Tensor, ...init: tf.Tensor[]) => {
      const [v1, v2, v3] = init.map((t) => tf.variable(t));
      const opt = tf.train.adam(0.01);
      for (let i = 0; i < 3; i++) {
        opt.minimize(() => {
          const h = tf.relu(tf.add(tf.matMul(xs, v1), v3));
          return tf.losses.softmaxCrossEntropy(tf.softmax(ys), tf.matMul(h, v2));
        });
      }
      const out = [v1.clone(), v2.clone(), v3.clone()];
      opt.dispose();
      [v1, v2, v3].forEach((v) => v.dispose());
      return out;
    };
    assertClose(await runOn("wasm", [x, y, w1, w2, b1], train), await reference([x, y, w1, w2, b1], train), "weights after Adam", 1e-4);
  });

  test(`${engine}: XNNPACK was ${engine === "tsdl" ? "never" : "always"} called`, () => {
    const calls = cppCalls.length - xnnCallsBefore[engine];
    if (engine === "tsdl") assert.equal(calls, 0, "products of these sizes should all run on tsdl's GEMM");
    else assert.ok(calls > 100, `only ${calls} XNNPACK calls`);
    setXnnpackMinFlops();
  });
}

test("every XNNPACK call above took its fast path (no transpose flag, no batch)", () => {
  assert.ok(cppCalls.length > 100, `only ${cppCalls.length} calls recorded`);
  const slow = cppCalls.filter(([ta, tb, ba, bb]) => ta !== 0 || tb !== 0 || ba !== 1 || bb !== 1);
  assert.deepEqual(slow, [], "calls that would take the slow path");
});
