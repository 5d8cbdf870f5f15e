/**
 * tsdl's GEMM on more than one core: helper threads that share the product's column blocks
 * with the calling thread.
 *
 * With the threaded build the backend's memory is a SharedArrayBuffer, so a Node worker can run
 * the same generated kernels on the same tensors. A product is cut into blocks: row blocks for
 * tall products (the convolutions' im2col matrices; b's panels packed once by the caller), else
 * column blocks (each packs its own panels of b). The calling thread and the helpers claim
 * blocks one at a time from a shared counter (atomic compare-and-swap) until none is left, and
 * the caller then waits only for blocks already claimed. The caller never waits for a helper to
 * wake up: on a busy machine, where a helper may not get a core in time, the caller simply does
 * all the blocks itself. For a block a helper has claimed it spins about as long as a block
 * took itself, then sleeps (`Atomics.wait`, woken by the helper's `Atomics.notify`): on an
 * overloaded machine the helper may have lost its core in the middle of the block, and a
 * spinning caller kept a core from it. When such waits take a large share of the products'
 * time several products running, the runner computes alone for a while (and for twice as long
 * after each further failed retry). Helpers sleep in `Atomics.wait` between products and are
 * `unref()`ed, so they cost nothing idle and never keep the process alive.
 *
 * Control block (Int32 slots of a SharedArrayBuffer):
 *   GEN     product number; bumped and notified to start a product
 *   CLAIM   (product number & 0x7fff) << 16 | next block: compare-and-swap to claim a block
 *   DONE    blocks finished
 *   HELPED  blocks the helpers ran, in total (for tests)
 *   SLEEPING 1 while the caller sleeps on DONE
 *   then the product: epilogue, a, b, c, m, k, n, lda, ldb, ldc, bias, blocks, block width,
 *   packed panels (0: b read in place), row blocks (0: unblocked kernels, column blocks only),
 *   block height, b given as bᵀ, whether each block packs its own panels.
 *   KIND    0: a GEMM; 2: Adam's update (adam.ts) in blocks of elements, its 10 pointer and count
 *   arguments from DOP + 3 and its 6 float32 hyper-parameters from ADAM_FLOATS;
 *   1: a direct convolution or 2×2 max-pooling (conv-direct.ts, pool.ts), then
 *   its op (DIRECT_OPS), the images or output channels per block, how many of them, the kernel's
 *   own arguments (9 to 14), and at DOP + 17 whether helpers leave the last block to the caller.
 *
 * A direct convolution is split so that every output is still one thread's sum in today's order
 * (the same bits as on one thread): the forward pass and the input gradient by images, the
 * filter gradient by filter rows and output channels (never by images: adding per-thread partial dW's would
 * change the bits); max-pooling and its gradient by images.
 */
import path from "node:path";
// The module's own binding: Node 20's global `performance` is a lazy getter (~35 ns a read),
// 1% of a training step's samples inside the caller's spin for helpers.
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { blockedName, gemmFor, gemmModuleFor, type Epilogue, type GemmKernels } from "./gemm";
import { directConvModuleFor, type DirectConvKernels } from "./conv-direct";
import { poolSwitch } from "./threadpool";

export const GEN = 0;
const CLAIM = 1;
const DONE = 2;
/** Blocks run by helpers, in total. */
export const HELPED = 3;
/** 1 while the caller sleeps on DONE (helpers then notify). */
const SLEEPING = 4;
const P = 5; // first product slot
const KIND = P + 18;
const DOP = P + 19; // a direct convolution's op, then per block, count, arguments
/** Adam's float32 hyper-parameters (KIND 2), past the direct kernels' slots. */
const ADAM_FLOATS = 48;

/** The direct kernels helpers run: the forward convolution by epilogue, its filter and input gradients, 2×2 max-pooling and its gradient. */
export const DIRECT_OPS = ["none", "bias", "relu", "bias_relu", "dw", "dx", "pool2", "pool2_grad"] as const;
export type DirectOp = (typeof DIRECT_OPS)[number];
export const EPILOGUES = ["none", "bias", "relu", "bias_relu", "tn_none"] as const;
export type EpilogueName = (typeof EPILOGUES)[number];

/** k and m block sizes of the blocked products: a kc×8 panel of b in L1, an MC×kc block of a in L2. */
export const KC = 256;
export const MC = 256;
/** b rows at least this long get packed (when a has at least PACK_MIN_M rows to reuse the panels). */
export const PACK_MIN_LDB = 64;
export const PACK_MIN_M = 16;

/** How products are blocked; `setGemmBlocking` changes it for tests and benchmarks. */
export interface GemmBlocking {
  /** false: every product on the unblocked kernels, b read in place (as before blocking). */
  enabled: boolean;
  kc: number;
  mc: number;
  packMinLdb: number;
  packMinM: number;
}
const DEFAULT_BLOCKING: GemmBlocking = { enabled: true, kc: KC, mc: MC, packMinLdb: PACK_MIN_LDB, packMinM: PACK_MIN_M };
let blocking: GemmBlocking = { ...DEFAULT_BLOCKING };

/** Sets how products are blocked (unnamed fields: the defaults); for tests and benchmarks. */
export function setGemmBlocking(options: Partial<GemmBlocking> = {}): void {
  blocking = { ...DEFAULT_BLOCKING, ...options };
}

/** The blocked kernels for an epilogue (tn_none: a read transposed), by whether b is packed. */
function blockedKernels(kernels: GemmKernels, ep: number, packed: boolean) {
  const name = EPILOGUES[ep];
  const tn = name === "tn_none";
  const last = tn ? "none" : name;
  const pick = (fromC: boolean, e: Epilogue) => kernels.gemmBlocked[blockedName(tn, packed, fromC, e)];
  return { tn, first: pick(false, "none"), middle: pick(true, "none"), only: pick(false, last), last: pick(true, last) };
}

/**
 * Rows i0..i0+rows-1 and columns j0..j0+cols-1 (j0 a multiple of 8) of a blocked product, k in
 * blocks of at most KC, in order (each block continues from the sums the previous one stored),
 * the epilogue with the last; rows in blocks of at most MC. `packed` (0: b read in place) holds
 * b's panels, which `pack` writes first for these columns (b is bᵀ [n, k] when `transB`).
 */
export function blockedRange(
  kernels: GemmKernels, ep: number, a: number, b: number, c: number, k: number,
  lda: number, ldb: number, ldc: number, bias: number, packed: number, transB: boolean, pack: boolean,
  i0: number, rows: number, j0: number, cols: number,
): void {
  if (packed !== 0 && pack) {
    if (transB) kernels.packBt(b + 4 * j0 * ldb, packed + 4 * j0 * k, k, cols, ldb);
    else kernels.packB(b + 4 * j0, packed + 4 * j0 * k, k, cols, ldb);
  }
  const kernel = blockedKernels(kernels, ep, packed !== 0);
  const { kc: KCB, mc: MCB } = blocking;
  const chunks = Math.ceil(k / KCB);
  const kc = Math.ceil(k / chunks);
  const pstride = packed !== 0 ? 8 * k : 0;
  const biasAt = bias === 0 ? 0 : bias + 4 * j0;
  for (let k0 = 0; k0 < k; k0 += kc) {
    const kn = Math.min(kc, k - k0);
    const end = k0 + kn >= k;
    const call = k0 === 0 ? (end ? kernel.only : kernel.first) : end ? kernel.last : kernel.middle;
    const bAt = packed !== 0 ? packed + 4 * (j0 * k + 8 * k0) : b + 4 * (k0 * ldb + j0);
    for (let i = i0; i < i0 + rows; i += MCB) {
      const mi = Math.min(MCB, i0 + rows - i);
      const aAt = kernel.tn ? a + 4 * (k0 * lda + i) : a + 4 * (i * lda + k0);
      call(aAt, bAt, c + 4 * (i * ldc + j0), mi, kn, cols, lda, ldb, ldc, biasAt, pstride);
    }
  }
}

/**
 * Items first..first+items-1 of the direct kernel call `op` with arguments `a` (`ParallelGemm.direct`'s):
 * images of the forward pass, the input gradient or 2×2 pooling (x, y or dy, dx moved on by
 * `first` images), output channels of the filter gradient. All of them: the call on one thread.
 */
function runDirect(kernels: DirectConvKernels, op: DirectOp, a: readonly number[], first: number, items: number): void {
  if (op === "pool2" || op === "pool2_grad") {
    const [p0, p1, p2, n, h, w, c, oh, ow] = a;
    kernels[op === "pool2" ? "maxPool2" : "maxPool2Grad"](p0, p1, p2, n, h, w, c, oh, ow, first, first + items);
  } else if (op === "dw") {
    const [x, dy, dw, n, hp, wp, oh, ow, kh, kw, sh, sw, o] = a;
    kernels.filterGradient(x, dy, dw, n, hp, wp, oh, ow, kh, kw, sh, sw, o, first, first + items);
  } else if (op === "dx") {
    const [dy, wt, dx, , h, w, c, oh, ow, kh, kw, o, top, left] = a;
    kernels.inputGradient(dy + 4 * first * oh * ow * o, wt, dx + 4 * first * h * w * c, items, h, w, c, oh, ow, kh, kw, o, top, left);
  } else {
    const [x, wt, y, bias, , hp, wp, oh, ow, kh, kw, sh, sw, o] = a;
    kernels.forward[op](x + 4 * first * hp * wp, wt, y + 4 * first * oh * ow * o, bias, items, hp, wp, oh, ow, kh, kw, sh, sw, o);
  }
}

/**
 * Filter row `row` (ky) of the filter gradient, output channels j0..j1-1: the kernel run with one
 * filter row, x moved down by `row` rows and dw by `row` rows of the filter. Every output it
 * writes is the same sum, in the same order, as in the call over all rows.
 */
function filterGradientRow(kernels: DirectConvKernels, a: readonly number[], row: number, j0: number, j1: number): void {
  const [x, dy, dw, n, hp, wp, oh, ow, , kw, sh, sw, o] = a;
  kernels.filterGradient(x + 4 * row * wp, dy, dw + 4 * row * kw * o, n, hp, wp, oh, ow, 1, kw, sh, sw, o, j0, j1);
}

/** Block `block` of the direct kernel call posted in `ctrl`. */
function runDirectBlock(kernels: DirectConvKernels, ctrl: Int32Array, block: number): void {
  const per = ctrl[DOP + 1];
  const op = DIRECT_OPS[ctrl[DOP]];
  const a = Array.from(ctrl.subarray(DOP + 3, DOP + 17));
  if (op === "dw") {
    // Blocks by filter row and channel block, rows fastest: blocks run at the same time then
    // write different rows of dw.
    const kh = a[8];
    const row = block % kh;
    const j0 = ((block - row) / kh) * per;
    filterGradientRow(kernels, a, row, j0, Math.min(j0 + per, ctrl[DOP + 2]));
    return;
  }
  const first = block * per;
  runDirect(kernels, op, a, first, Math.min(per, ctrl[DOP + 2] - first));
}

/**
 * Elements first..first+items-1 of Adam's update `a` (value, m, v, gradient, the three outputs,
 * count, the two 1 − βᵗ pointers; `f` its float32 hyper-parameters): each element is computed
 * on its own, so any split gives the same bits.
 */
function runAdam(kernels: GemmKernels, a: ArrayLike<number>, f: ArrayLike<number>, first: number, items: number): void {
  const at = (i: number) => a[i] + 4 * first;
  kernels.adam(at(0), at(1), at(2), at(3), at(4), at(5), at(6), items, a[8], a[9], f[0], f[1], f[2], f[3], f[4], f[5]);
}

/** Runs block `block` of the product described in `ctrl` with `kernels` (`direct`: a direct convolution's). */
export function runBlock(kernels: GemmKernels, ctrl: Int32Array, block: number, direct?: () => DirectConvKernels): void {
  if (ctrl[KIND] === 2) {
    const per = ctrl[DOP + 1];
    const first = block * per;
    runAdam(kernels, ctrl.subarray(DOP + 3, DOP + 13), new Float32Array(ctrl.buffer, ADAM_FLOATS * 4, 6), first, Math.min(per, ctrl[DOP + 2] - first));
    return;
  }
  if (ctrl[KIND] === 1) {
    if (!direct) throw new Error("tsdl parallel: a direct convolution was posted to a runner without its kernels");
    runDirectBlock(direct(), ctrl, block);
    return;
  }
  const [ep, a, b, c, m, k, n, lda, ldb, ldc, bias, , width, packed, rowBlocks, height, transB, packHere] = ctrl.subarray(P, P + 18);
  if (rowBlocks === 0) {
    const j0 = block * width;
    const cols = Math.min(width, n - j0);
    kernels.gemm[EPILOGUES[ep]](a, b + 4 * j0, c + 4 * j0, m, k, cols, lda, ldb, ldc, bias === 0 ? 0 : bias + 4 * j0);
    return;
  }
  const ib = block % rowBlocks;
  const jb = (block - ib) / rowBlocks;
  const i0 = ib * height;
  const j0 = jb * width;
  blockedRange(kernels, ep, a, b, c, k, lda, ldb, ldc, bias, packed, transB !== 0, packHere !== 0, i0, Math.min(height, m - i0), j0, Math.min(width, n - j0));
}

/** The control block's slot with the posted product's block count (written before `post`). */
export const BLOCKS = P + 11;

/** Claims the next block of product `gen`, or returns -1 when that product has none left. */
export function claim(ctrl: Int32Array, gen: number, leave = 0): number {
  const blocks = ctrl[BLOCKS] - leave;
  for (;;) {
    const word = Atomics.load(ctrl, CLAIM);
    const block = word & 0xffff;
    if (word >>> 16 !== (gen & 0x7fff) || block >= blocks) return -1;
    if (Atomics.compareExchange(ctrl, CLAIM, word, word + 1) === word) return block;
  }
}

/** Claim-and-run loop shared by the caller and the helpers. */
export function work(kernels: GemmKernels, ctrl: Int32Array, gen: number, direct?: () => DirectConvKernels, helper = false): number {
  let ran = 0;
  // A helper leaves a direct convolution's last block to the caller (when it claims any): one
  // that woke late, or lost its core, then never holds the caller up for a whole block at the end.
  const leave = helper && ctrl[KIND] === 1 ? ctrl[DOP + 17] : 0;
  for (let block = claim(ctrl, gen, leave); block >= 0; block = claim(ctrl, gen, leave)) {
    runBlock(kernels, ctrl, block, direct);
    Atomics.add(ctrl, DONE, 1);
    // Wakes the caller if it went to sleep on DONE.
    if (Atomics.load(ctrl, SLEEPING) !== 0) Atomics.notify(ctrl, DONE);
    ran++;
  }
  return ran;
}

/** malloc and free of the wasm heap the kernels run on. */
export interface HeapAllocator {
  malloc(bytes: number): number;
  free(at: number): void;
}

/** The caller spins at least this long (ms) for a helper's last block before it sleeps. */
export const SPIN_MIN_MS = 0.02;

let directOnHelpers = true;
let filterGradientOnHelpers = true;
/**
 * Bench switch: false, the direct filter gradient runs on the calling thread alone (as before
 * its split by filter rows × 16 output channels; split by channels alone, conv 2's dW was two
 * blocks with two threads, and a helper leaving the last block to the caller never got one).
 */
export function setFilterGradientOnHelpers(on: boolean): void {
  filterGradientOnHelpers = on;
}
let leaveLast = true;
/** Bench switch: false, helpers may claim a direct convolution's last block too. */
export function setHelpersLeaveLast(on: boolean): void {
  leaveLast = on;
}
/** Bench switch: false, the direct convolutions run on the calling thread alone (as before issue 14's split). */
export function setDirectOnHelpers(on: boolean): void {
  directOnHelpers = on;
}

/** Products smaller than this (2·M·K·N) run on the calling thread alone. */
export const PARALLEL_MIN_FLOPS = 2 ** 21;
/**
 * Adam's updates of fewer elements run on the calling thread alone: the MLP's 784×256 and
 * 256×128 kernels and the CNN's 800×128 one are split, the biases are not.
 */
export const ADAM_PARALLEL_MIN = 2 ** 14;
let adamOnHelpers = true;
/** Bench switch: false, Adam's update runs on the calling thread alone (as before it was split). */
export function setAdamOnHelpers(on: boolean): void {
  adamOnHelpers = on;
}

/** Runs products with helper threads. */
export class ParallelGemm {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(64 * 4));
  private readonly helpers: Worker[] = [];
  private gen = 0;
  /** Products run in parallel so far. */
  products = 0;
  /** Milliseconds the caller waited for helpers' blocks after its own, in total. */
  waitMs = 0;
  /** Products for which the caller went to sleep (Atomics.wait) for a helper's last block. */
  sleeps = 0;
  /** Benchmark switch: false, the caller spins until helpers finish (as before sleeping was added). */
  sleepAfterSpin = true;
  /** Test switch: the caller leaves every block to the helpers (and waits for them). */
  callerClaims = true;
  /** Test and bench switch: false, every product runs on the calling thread alone (as with one thread). */
  useHelpers = true;
  /** Products in a row where waiting for helpers took over a third of the time. */
  private strikes = 0;
  /** Products to run alone before trying the helpers again, and the next such pause. */
  private alone = 0;
  private pause = 64;

  private scratchAt = 0;
  private scratchBytes = 0;

  constructor(
    private readonly kernels: GemmKernels,
    memory: WebAssembly.Memory,
    module: WebAssembly.Module,
    helpers: number,
    /** Allocation in the backend's heap, for packed panels. */
    private readonly heap: HeapAllocator,
    /** The direct convolutions' module (conv-direct.ts), shared with the helpers; absent: they run no direct kernels. */
    directModule?: WebAssembly.Module,
  ) {
    const script = path.join(__dirname, "gemm-worker.js");
    for (let i = 0; i < helpers; i++) {
      const worker = new Worker(script, { workerData: { memory, module, directModule, ctrl: this.ctrl } });
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
   * byte offsets; bias 0 for none. With `transB`, b is bᵀ [n, k] (row stride ldb), packed from there.
   */
  gemm(ep: EpilogueName, a: number, b: number, c: number, m: number, k: number, n: number, lda: number, ldb: number, ldc: number, bias: number, transB = false): void {
    const epi = EPILOGUES.indexOf(ep);
    const blocked = transB || useBlocked(m, k, n, ldb);
    const packed = blocked && (transB || packB(m, k, n, ldb)) ? this.scratch(8 * Math.ceil(n / 8) * k) : 0;
    const parallel = 2 * m * k * n >= PARALLEL_MIN_FLOPS && this.useHelpers && this.helpers.length > 0 && !(this.alone > 0 && this.callerClaims);
    // Tall products (the convolutions' im2col matrices) are cut into row blocks, each reading
    // its own rows of a once; others into column blocks, each packing its own panels of b.
    const rowSplit = blocked && m >= 4 * n && m >= 2 * blocking.mc;
    let width = Math.max(8, Math.ceil(n / (4 * this.threads) / 8) * 8);
    let height = m;
    if (rowSplit) {
      width = n;
      // About 4 blocks per thread (each computes its rows in mc-row steps): a block per mc rows
      // cost more in claims and calls than it computed when k is short (conv1's k = 9).
      height = Math.max(16, Math.ceil(m / (4 * this.threads) / 4) * 4);
    }
    const rowBlocks = Math.ceil(m / height);
    const blocks = rowBlocks * Math.ceil(n / width);
    if (blocks < 2 || !parallel) {
      if (this.alone > 0) this.alone--;
      if (blocked) blockedRange(this.kernels, epi, a, b, c, k, lda, ldb, ldc, bias, packed, transB, true, 0, m, 0, n);
      else this.kernels.gemm[ep](a, b, c, m, k, n, lda, ldb, ldc, bias);
      return;
    }
    const start = performance.now();
    const ctrl = this.ctrl;
    const gen = ++this.gen;
    // Row blocks share b's panels: packed once, here, before the helpers start.
    const packHere = !rowSplit;
    if (packed !== 0 && !packHere) {
      if (transB) this.kernels.packBt(b, packed, k, n, ldb);
      else this.kernels.packB(b, packed, k, n, ldb);
    }
    ctrl.set([epi, a, b, c, m, k, n, lda, ldb, ldc, bias, blocks, width, packed, blocked ? rowBlocks : 0, height, +transB, +packHere, 0], P);
    this.post(gen, blocks, start);
  }

  /**
   * A direct convolution (conv-direct.ts), or a 2×2 max-pooling or its gradient (pool.ts, in
   * blocks of images), with the helpers: `args` are the kernel's own (the
   * filter gradient's without its channel range), `flops` its 2·p·k·o. Forward and input gradient
   * in blocks of images, the filter gradient in blocks of one filter row × 16 output channels;
   * on the calling thread alone, exactly as one call there,
   * when there are no helpers, the product is small, or it would give fewer than two blocks.
   */
  direct(kernels: DirectConvKernels, op: DirectOp, args: number[], flops: number): void {
    const count = op === "dw" ? args[12] : op === "dx" || op.startsWith("pool2") ? args[3] : args[4]; // o, else n
    // The filter gradient in blocks of one filter row × 16 output channels (the kernel's widest
    // group), the others in about 4 blocks of images per thread.
    const per = op === "dw" ? 16 : Math.ceil(count / (4 * this.threads));
    const blocks = per > 0 ? Math.ceil(count / per) * (op === "dw" ? args[8] : 1) : 0;
    const parallel = flops >= PARALLEL_MIN_FLOPS && directOnHelpers && (op !== "dw" || filterGradientOnHelpers) && this.useHelpers && this.helpers.length > 0 && !(this.alone > 0 && this.callerClaims);
    if (blocks < 2 || !parallel) {
      if (this.alone > 0) this.alone--;
      runDirect(kernels, op, args, 0, count);
      return;
    }
    this.directKernels = kernels;
    const start = performance.now();
    const gen = ++this.gen;
    const ctrl = this.ctrl;
    ctrl[P + 11] = blocks;
    ctrl[KIND] = 1;
    ctrl.set([DIRECT_OPS.indexOf(op), per, count, ...args], DOP);
    ctrl[DOP + 17] = this.callerClaims && leaveLast ? 1 : 0;
    this.post(gen, blocks, start);
  }

  /**
   * Adam's update (gemm.ts `adam`; arguments as there: 10 pointers and counts, then 6 float32
   * hyper-parameters) with the helpers, in blocks of elements, 4 per thread; on the calling
   * thread alone, as one call, when it is small or there are no helpers. The update is a pass
   * over 7 arrays of the weight's size: memory-bound, with a division and a square root per element.
   */
  adam(args: readonly number[]): void {
    const count = args[7];
    const parallel = count >= ADAM_PARALLEL_MIN && adamOnHelpers && this.useHelpers && this.helpers.length > 0 && !(this.alone > 0 && this.callerClaims);
    if (!parallel) {
      if (this.alone > 0) this.alone--;
      runAdam(this.kernels, args.slice(0, 10), args.slice(10), 0, count);
      return;
    }
    const per = 4 * Math.ceil(count / (4 * 4 * this.threads));
    const blocks = Math.ceil(count / per);
    const start = performance.now();
    const gen = ++this.gen;
    const ctrl = this.ctrl;
    ctrl[P + 11] = blocks;
    ctrl[KIND] = 2;
    ctrl.set([0, per, count, ...args.slice(0, 10)], DOP);
    new Float32Array(ctrl.buffer, ADAM_FLOATS * 4, 6).set(args.slice(10, 16));
    this.post(gen, blocks, start);
  }

  private directKernels: DirectConvKernels | undefined;
  private readonly direct_ = () => this.directKernels!;

  /**
   * Starts product `gen` (its slots set) on the helpers, claims blocks with them, then waits for
   * the blocks they claimed: spin, then sleep; the "compute alone for a while" back-off.
   */
  private post(gen: number, blocks: number, start: number): void {
    const ctrl = this.ctrl;
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, CLAIM, (gen & 0x7fff) << 16);
    Atomics.store(ctrl, GEN, gen);
    Atomics.notify(ctrl, GEN);
    const ran = this.callerClaims ? work(this.kernels, ctrl, gen, this.direct_) : 0;
    // Only blocks a helper has claimed are left. A helper that has its core finishes its block
    // in about the time the caller took per block: spin that long (1.5×), then sleep until it
    // is done. On a loaded machine a helper may have lost its core mid-block for a whole time
    // slice, and a spinning caller kept a core from it (and from everything else).
    const waitFrom = performance.now();
    let done = Atomics.load(ctrl, DONE);
    if (done < blocks) {
      const spinUntil = waitFrom + (ran > 0 ? Math.max(SPIN_MIN_MS, (1.5 * (waitFrom - start)) / ran) : SPIN_MIN_MS);
      while ((done = Atomics.load(ctrl, DONE)) < blocks && this.callerClaims && (!this.sleepAfterSpin || performance.now() < spinUntil));
      if (done < blocks) {
        this.sleeps++;
        Atomics.store(ctrl, SLEEPING, 1);
        while ((done = Atomics.load(ctrl, DONE)) < blocks) Atomics.wait(ctrl, DONE, done, 1);
        Atomics.store(ctrl, SLEEPING, 0);
      }
    }
    // Every block is done: mark the product's claims exhausted before the caller writes the next
    // product's slots. Else a helper still in `claim` for this product could read the next one's
    // block count (written before `post` stores the new CLAIM word), still find this product's
    // tag, claim block `blocks` and run it with the next product's arguments, which then runs it
    // again: Adam's in-place update applied twice to a suffix of a weight (seen under load).
    Atomics.store(ctrl, CLAIM, ((gen & 0x7fff) << 16) | 0xffff);
    this.products++;
    const end = performance.now();
    this.waitMs += end - waitFrom;
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

  /** A buffer of at least `floats` float32 values in the backend's memory for packed panels (kept, grown as needed). */
  private scratch(floats: number): number {
    const bytes = 4 * floats;
    if (bytes > this.scratchBytes) {
      if (this.scratchAt !== 0) this.heap.free(this.scratchAt);
      this.scratchAt = 0;
      this.scratchBytes = 0;
      const at = this.heap.malloc(bytes);
      if (at === 0) throw new Error(`tsdl GEMM: the wasm heap has no room for ${bytes} bytes of packed panels`);
      this.scratchAt = at;
      this.scratchBytes = bytes;
    }
    return this.scratchAt;
  }
}

/**
 * Whether a product runs blocked: k in blocks of kc, so that the panels of b in use stay in L1,
 * and rows in blocks of mc, so that the rows of a in use stay in L2 across b's panels (a tall
 * im2col matrix read once per 8 columns of b came from memory each time: 2× slower).
 */
export function useBlocked(m: number, k: number, n: number, ldb: number): boolean {
  void m;
  void k;
  void ldb;
  return blocking.enabled && n >= 8;
}

/**
 * Whether a blocked product packs b: when b's rows are long (a panel read in place spreads over
 * few cache sets: 1 KiB apart for 256 columns) and a has rows enough to reuse the panels.
 */
export function packB(m: number, k: number, n: number, ldb: number): boolean {
  void k;
  void n;
  return ldb >= blocking.packMinLdb && m >= blocking.packMinM;
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
    const wasm = (backend as unknown as { wasm: { _malloc(bytes: number): number; _free(at: number): void } }).wasm;
    const heap: HeapAllocator = { malloc: (bytes) => wasm._malloc(bytes) >>> 0, free: (at) => wasm._free(at) };
    try {
      runner = new ParallelGemm(kernels, memory, module, helpers, heap, helpers > 0 ? directConvModuleFor(backend as never).module : undefined);
    } catch {
      helpers = 0; // no worker_threads here: compute on the calling thread
      runner = new ParallelGemm(kernels, memory, module, helpers, heap);
    }
    perBackend.set(backend, runner);
  }
  return runner;
}
