/**
 * tsdl's blocked GEMM (src/wasm/parallel.ts's runner on gemm.ts's gemmb kernels): k in blocks,
 * rows in blocks, b packed into panels or read in place, a read transposed (tn), b given
 * transposed (packed from bᵀ), bias and relu after the whole sum. Every result must have the
 * very bits of one sequential float32 sum per output, c = relu(Σ_k fround(a·b) in k's order +
 * bias), which is what the unblocked kernel computes and what keeps seeded training runs
 * repeatable. On a plain (unshared) memory with no helper threads; the helpers' blocks are
 * checked in test/wasm/threads.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { instantiateGemm } from "../../src/wasm/gemm";
import { KC, MC, packB, ParallelGemm, setGemmBlocking, useBlocked, type EpilogueName } from "../../src/wasm/parallel";
import { randn } from "../helpers/compare-backends";

const memory = new WebAssembly.Memory({ initial: 1024 }); // 64 MiB
const kernels = instantiateGemm(memory);
const heap = new Float32Array(memory.buffer);
/** A bump allocator over the memory (reset per case), as the runner's heap. */
let next = 1024;
const alloc = (bytes: number) => {
  const at = next;
  next += Math.ceil(bytes / 64) * 64 + 64;
  assert.ok(next <= 32 << 20, "test memory too small");
  return at;
};
/** The runner's own allocations (its packed panels, kept across calls) from the upper half. */
let nextScratch = 32 << 20;
const scratch = (bytes: number) => {
  const at = nextScratch;
  nextScratch += Math.ceil(bytes / 64) * 64;
  assert.ok(nextScratch <= memory.buffer.byteLength, "test memory too small");
  return at;
};
const noModule = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
const runner = new ParallelGemm(kernels, memory, noModule, 0, { malloc: scratch, free: () => {} });
const rand = randn(14014);

interface Case {
  m: number;
  k: number;
  n: number;
  ep: EpilogueName;
  transB?: boolean;
  /** Extra row stride beyond the matrix's own width (padding), for a, b and c. */
  pad?: number;
}

/** Runs one case on the runner and returns [result, reference] (c's valid elements). */
function run({ m, k, n, ep, transB = false, pad = 0 }: Case): [Float32Array, Float32Array] {
  next = 1024;
  const tn = ep === "tn_none";
  const lda = (tn ? m : k) + pad;
  const ldb = (transB ? k : n) + pad;
  const ldc = n + pad;
  const put = (count: number) => {
    const at = alloc(4 * count);
    heap.set(rand(count), at / 4);
    return at;
  };
  const a = put((tn ? k : m) * lda);
  const b = put((transB ? n : k) * ldb);
  const bias = put(n);
  const c = put(m * ldc); // garbage in c: the product must not read it (no accumulation flag)
  const A = (i: number, kk: number) => heap[a / 4 + (tn ? kk * lda + i : i * lda + kk)];
  const B = (kk: number, j: number) => heap[b / 4 + (transB ? j * ldb + kk : kk * ldb + j)];
  const ref = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let kk = 0; kk < k; kk++) s = Math.fround(s + Math.fround(A(i, kk) * B(kk, j)));
      if (ep === "bias" || ep === "bias_relu") s = Math.fround(s + heap[bias / 4 + j]);
      if (ep === "relu" || ep === "bias_relu") s = Math.max(s, 0);
      ref[i * n + j] = s;
    }
  }
  const before = runner.products;
  runner.gemm(ep, a, b, c, m, k, n, lda, ldb, ldc, ep.startsWith("bias") ? bias : 0, transB);
  assert.equal(runner.products, before, "no helpers: nothing may run in parallel");
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) out.set(heap.subarray(c / 4 + i * ldc, c / 4 + i * ldc + n), i * n);
  return [out, ref];
}

function check(c: Case): void {
  const [out, ref] = run(c);
  for (let i = 0; i < ref.length; i++) {
    if (!Object.is(out[i], ref[i])) {
      assert.fail(`${JSON.stringify(c)}: c[${Math.floor(i / c.n)}, ${i % c.n}] = ${out[i]}, expected ${ref[i]} (one sequential float32 sum)`);
    }
  }
}

test("the products below run blocked, and those with long rows of b on packed panels", () => {
  assert.ok(useBlocked(64, KC + 1, 64, 64) && packB(64, KC + 1, 64, 64), "k over two blocks, b packed");
  assert.ok(useBlocked(13, 2 * KC + 37, 77, 77) && !packB(13, 2 * KC + 37, 77, 77), "too few rows to pack for");
  assert.ok(packB(33, 1, 66, 66) && packB(20, KC + 5, 69, 72), "odd widths on packed panels");
  assert.ok(useBlocked(MC + 45, 9, 16, 16) && !packB(MC + 45, 9, 16, 16), "rows past MC, b read in place");
  assert.ok(!useBlocked(4, 100, 7, 7), "under 8 columns: the unblocked kernel");
});

test("with blocking switched off (the unblocked kernels, b read in place) the same bits", () => {
  setGemmBlocking({ enabled: false });
  try {
    check({ m: 13, k: 2 * KC + 37, n: 77, ep: "bias_relu" });
    check({ m: MC + 45, k: 9, n: 16, ep: "none" });
    check({ m: 12, k: KC + 3, n: 21, ep: "none", transB: true });
  } finally {
    setGemmBlocking();
  }
});

test("long sums (k over several k blocks), packed b (long rows), every epilogue: the bits of one sequential sum", () => {
  for (const ep of ["none", "bias", "relu", "bias_relu"] as const) {
    check({ m: 13, k: 2 * KC + 37, n: 77, ep });
    check({ m: 64, k: KC + 1, n: 64, ep });
  }
});

test("odd shapes: single rows and columns, n not a multiple of 8 or 4, m below a tile, padded strides", () => {
  for (const [m, n] of [[4, 8], [5, 9], [7, 12], [9, 13], [4, 70], [6, 65], [33, 66], [20, 69]]) {
    for (const k of [1, 3, KC + 5]) {
      check({ m, k, n, ep: "bias_relu" });
      check({ m, k, n, ep: "none", pad: 3 });
    }
  }
});

test("tall products (row blocks, rows past MC) and a transposed a (tn) with a long sum", () => {
  check({ m: MC + 45, k: 9, n: 16, ep: "none" });
  check({ m: 2 * MC + 3, k: 40, n: 70, ep: "bias" });
  check({ m: 9, k: 3 * KC + 11, n: 16, ep: "tn_none" });
  check({ m: 30, k: KC + 2, n: 72, ep: "tn_none", pad: 5 });
});

test("b given transposed (packed from bᵀ in one pass): k not a multiple of 4, partial panels", () => {
  for (const [m, k, n] of [[64, 128, 256], [1, 40, 20], [5, 7, 9], [12, KC + 3, 21], [4, 1, 8], [17, 33, 3]]) {
    check({ m, k, n, ep: "none", transB: true });
    check({ m, k, n, ep: "bias_relu", transB: true, pad: 2 });
  }
});
