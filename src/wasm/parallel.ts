/**
 * tsdl's GEMM on more than one core: helper threads that share the product's column blocks
 * with the calling thread.
 *
 * With the threaded build the backend's memory is a SharedArrayBuffer, so a Node worker can run
 * the same generated kernels on the same tensors. A product is cut into blocks of columns; the
 * calling thread and the helpers claim blocks one at a time from a shared counter (atomic
 * compare-and-swap) until none is left, and the caller then waits only for blocks already
 * claimed. The caller never waits for a helper to wake up: on a busy machine, where a helper may
 * not get a core in time, the caller simply does all the blocks itself. It does wait for a block
 * a helper has claimed, and on an overloaded machine the helper may lose its core in the middle
 * of one; when such waits take a large share of the products' time several products running,
 * the runner computes alone for a while (and for twice as long after each further failed
 * retry). Helpers sleep in `Atomics.wait` between products and are `unref()`ed, so they cost
 * nothing idle and never keep the process alive.
 *
 * Control block (Int32 slots of a SharedArrayBuffer):
 *   GEN     product number; bumped and notified to start a product
 *   CLAIM   (product number & 0x7fff) << 16 | next block: compare-and-swap to claim a block
 *   DONE    blocks finished
 *   HELPED  blocks the helpers ran, in total (for tests)
 *   then the product: epilogue, a, b, c, m, k, n, lda, ldb, ldc, bias, blocks, block width.
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import { gemmFor, gemmModuleFor, type GemmKernels } from "./gemm";
import { poolSwitch } from "./threadpool";

export const GEN = 0;
const CLAIM = 1;
const DONE = 2;
/** Blocks run by helpers, in total. */
export const HELPED = 3;
const P = 4; // first product slot
export const EPILOGUES = ["none", "bias", "relu", "bias_relu", "tn_none"] as const;
export type EpilogueName = (typeof EPILOGUES)[number];

/** Runs block `block` of the product described in `ctrl` with `kernels`. */
export function runBlock(kernels: GemmKernels, ctrl: Int32Array, block: number): void {
  const [ep, a, b, c, m, k, n, lda, ldb, ldc, bias, , width] = ctrl.subarray(P, P + 13);
  const j0 = block * width;
  const cols = Math.min(width, n - j0);
  kernels.gemm[EPILOGUES[ep]](a, b + 4 * j0, c + 4 * j0, m, k, cols, lda, ldb, ldc, bias === 0 ? 0 : bias + 4 * j0);
}

/** Claims the next block of product `gen`, or returns -1 when that product has none left. */
export function claim(ctrl: Int32Array, gen: number): number {
  const blocks = ctrl[P + 11];
  for (;;) {
    const word = Atomics.load(ctrl, CLAIM);
    const block = word & 0xffff;
    if (word >>> 16 !== (gen & 0x7fff) || block >= blocks) return -1;
    if (Atomics.compareExchange(ctrl, CLAIM, word, word + 1) === word) return block;
  }
}

/** Claim-and-run loop shared by the caller and the helpers. */
export function work(kernels: GemmKernels, ctrl: Int32Array, gen: number): number {
  let ran = 0;
  for (let block = claim(ctrl, gen); block >= 0; block = claim(ctrl, gen)) {
    runBlock(kernels, ctrl, block);
    Atomics.add(ctrl, DONE, 1);
    ran++;
  }
  return ran;
}

/** Products smaller than this (2·M·K·N) run on the calling thread alone. */
export const PARALLEL_MIN_FLOPS = 2 ** 21;

/** Runs products with helper threads. */
export class ParallelGemm {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(64 * 4));
  private readonly helpers: Worker[] = [];
  private gen = 0;
  /** Products run in parallel so far. */
  products = 0;
  /** Test switch: the caller leaves every block to the helpers (and waits for them). */
  callerClaims = true;
  /** Products in a row where waiting for helpers took over a third of the time. */
  private strikes = 0;
  /** Products to run alone before trying the helpers again, and the next such pause. */
  private alone = 0;
  private pause = 64;

  constructor(
    private readonly kernels: GemmKernels,
    memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    helpers: number,
  ) {
    const script = path.join(__dirname, "gemm-worker.js");
    for (let i = 0; i < helpers; i++) {
      const worker = new Worker(script, { workerData: { memory, module, ctrl: this.ctrl } });
      worker.unref();
      this.helpers.push(worker);
    }
  }

  /** Blocks the helpers have run so far. */
  get helperBlocks(): number {
    return Atomics.load(this.ctrl, HELPED);
  }

  /** Threads that compute a product: the caller and the helpers. */
  get threads(): number {
    return 1 + this.helpers.length;
  }

  /**
   * c = act(a·b + bias) for row-major a [m, k] (row stride lda; for `tn_none` a is [k, m], read transposed), b [k, n] (ldb), c [m, n] (ldc);
   * byte offsets; bias 0 for none.
   */
  gemm(ep: EpilogueName, a: number, b: number, c: number, m: number, k: number, n: number, lda: number, ldb: number, ldc: number, bias: number): void {
    const width = Math.max(8, Math.ceil(n / (4 * this.threads) / 8) * 8);
    const blocks = Math.ceil(n / width);
    if (blocks < 2 || 2 * m * k * n < PARALLEL_MIN_FLOPS || this.helpers.length === 0 || (this.alone > 0 && this.callerClaims)) {
      if (this.alone > 0) this.alone--;
      this.kernels.gemm[ep](a, b, c, m, k, n, lda, ldb, ldc, bias);
      return;
    }
    const start = performance.now();
    const ctrl = this.ctrl;
    const gen = ++this.gen;
    ctrl.set([EPILOGUES.indexOf(ep), a, b, c, m, k, n, lda, ldb, ldc, bias, blocks, width], P);
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, CLAIM, (gen & 0x7fff) << 16);
    Atomics.store(ctrl, GEN, gen);
    Atomics.notify(ctrl, GEN);
    if (this.callerClaims) work(this.kernels, ctrl, gen);
    // Only blocks a helper has claimed are left.
    const waitFrom = performance.now();
    while (Atomics.load(ctrl, DONE) < blocks) {
      if (!this.callerClaims) Atomics.wait(ctrl, DONE, Atomics.load(ctrl, DONE), 1);
    }
    this.products++;
    const end = performance.now();
    if (!this.callerClaims) return;
    if (end - waitFrom > (end - start) / 3) {
      if (++this.strikes >= 3) {
        this.strikes = 0;
        this.alone = this.pause;
        this.pause = Math.min(2 * this.pause, 1 << 14);
      }
    } else {
      this.strikes = 0;
      this.pause = 64;
    }
  }
}

const perBackend = new WeakMap<object, ParallelGemm>();

/**
 * The parallel runner of a wasm backend: helpers (threads − 1 of them) where the backend is the
 * threaded build (shared memory, and the thread count its pool was made with), none otherwise.
 */
export function parallelGemmFor(backend: Parameters<typeof gemmFor>[0]): ParallelGemm {
  let runner = perBackend.get(backend);
  if (!runner) {
    const kernels = gemmFor(backend);
    const { module, memory } = gemmModuleFor(backend);
    const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    const threads = poolSwitch(backend)?.threads ?? 1;
    let helpers = shared ? threads - 1 : 0;
    try {
      runner = new ParallelGemm(kernels, memory, module, helpers);
    } catch {
      helpers = 0; // no worker_threads here: compute on the calling thread
      runner = new ParallelGemm(kernels, memory, module, helpers);
    }
    perBackend.set(backend, runner);
  }
  return runner;
}
