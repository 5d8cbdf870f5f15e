/**
 * XNNPACK's thread pool only where it pays: large matrix products and convolutions.
 *
 * In the threaded tfjs-wasm build every XNNPACK operator runs on one global thread pool
 * (`tfjs::backend::threadpool` in the C++ backend), so each of the ~200 small element-wise
 * kernels of a training step also wakes the other threads and waits for them. On a 2-core
 * machine that sync costs far more than it saves: measured, a 1280-element `Square` took
 * 0.7 ms instead of 0.01 ms, and a whole MLP training step got 2.5× slower.
 *
 * The backend reads that global on every kernel call, so switching it between the pool and
 * null (XNNPACK's "run on the calling thread") between kernel calls is safe. This module finds
 * its address in the WebAssembly binary (the only load in the exported `get_threads_count`),
 * checks the find at run time through `get_threads_count` itself, and offers the switch;
 * `src/wasm/matmul.ts` turns the pool on around the products it gives XNNPACK (the large ones),
 * and `pooledConvolutionConfigs` below around large convolutions. If the binary is not the
 * expected shape, there is no switch and every kernel uses the pool, as tfjs ships it. (tsdl's
 * own GEMM has its own helper threads: parallel.ts.)
 */

/** Turns the XNNPACK thread pool on or off for the kernels that run next. */
export interface PoolSwitch {
  /** Threads in the pool, the calling thread included. */
  readonly threads: number;
  on(): void;
  off(): void;
}

class Reader {
  constructor(
    private bytes: Uint8Array,
    public pos = 0,
  ) {}
  byte(): number {
    if (this.pos >= this.bytes.length) throw new Error("unexpected end of wasm binary");
    return this.bytes[this.pos++];
  }
  uleb(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) return result;
    }
  }
  sleb(): number {
    let result = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return b & 0x40 ? result - 2 ** shift : result;
  }
  name(): string {
    const n = this.uleb();
    const s = Buffer.from(this.bytes.subarray(this.pos, this.pos + n)).toString("utf8");
    this.pos += n;
    return s;
  }
  skipLimits(): void {
    const flags = this.byte();
    this.uleb();
    if (flags & 1) this.uleb();
  }
}

/**
 * The linear-memory address that the exported function `exportName` loads first, when its body
 * starts `i32.const A; i32.load offset=O; local.tee/set; i32.eqz` (a null check of a global
 * pointer, as in tfjs-wasm's `get_threads_count`); null otherwise.
 */
export function findGlobalPointer(binary: Uint8Array, exportName: string): number | null {
  const r = new Reader(binary, 8);
  let importedFuncs = 0;
  let funcIndex = -1;
  let code: [number, number] | null = null;
  while (r.pos < binary.length) {
    const id = r.byte();
    const size = r.uleb();
    const start = r.pos;
    if (id === 2) {
      for (let n = r.uleb(); n > 0; n--) {
        r.name();
        r.name();
        const kind = r.byte();
        if (kind === 0) {
          r.uleb();
          importedFuncs++;
        } else if (kind === 1) {
          r.byte();
          r.skipLimits();
        } else if (kind === 2) {
          r.skipLimits();
        } else if (kind === 3) {
          r.byte();
          r.byte();
        } else return null;
      }
    } else if (id === 7) {
      for (let n = r.uleb(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.uleb();
        if (kind === 0 && name === exportName) funcIndex = index;
      }
    } else if (id === 10) {
      code = [start, start + size];
    }
    r.pos = start + size;
  }
  if (funcIndex < importedFuncs || !code) return null;
  r.pos = code[0];
  const bodies = r.uleb();
  const wanted = funcIndex - importedFuncs;
  if (wanted >= bodies) return null;
  for (let i = 0; i < wanted; i++) {
    const bodySize = r.uleb();
    r.pos += bodySize;
  }
  r.uleb(); // this body's size
  // Local declarations: (count, type) pairs.
  for (let groups = r.uleb(); groups > 0; groups--) {
    r.uleb();
    r.byte();
  }
  if (r.byte() !== 0x41) return null; // i32.const
  const base = r.sleb();
  if (r.byte() !== 0x28) return null; // i32.load
  r.uleb();
  const offset = r.uleb();
  const set = r.byte();
  if (set !== 0x22 && set !== 0x21) return null; // local.tee / local.set
  r.uleb();
  if (set === 0x21) {
    if (r.byte() !== 0x20) return null; // local.get
    r.uleb();
  }
  if (r.byte() !== 0x45) return null; // i32.eqz
  return (base >>> 0) + offset;
}

interface PoolModule {
  HEAP32: Int32Array;
  cwrap(name: string, ret: string, args: string[]): () => number;
}

/**
 * A switch for the pool of a running threaded module, or null when the global cannot be found
 * or does not behave as expected. Leaves the pool off.
 */
export function makePoolSwitch(module: PoolModule, binary: Uint8Array): PoolSwitch | null {
  const address = findGlobalPointer(binary, "get_threads_count");
  if (address === null || address % 4 !== 0) return null;
  const getThreadsCount = module.cwrap("get_threads_count", "number", []);
  const index = address / 4;
  const pool = module.HEAP32[index];
  const threads = getThreadsCount();
  if (pool === 0 || threads < 1) return null;
  // Check the find: with the global cleared the backend must report no pool (-1).
  module.HEAP32[index] = 0;
  const cleared = getThreadsCount();
  module.HEAP32[index] = pool;
  if (cleared !== -1 || getThreadsCount() !== threads) return null;
  module.HEAP32[index] = 0;
  return {
    threads,
    // HEAP32 is looked up on every call: Emscripten replaces the view when memory grows.
    on: () => {
      module.HEAP32[index] = pool;
    },
    off: () => {
      module.HEAP32[index] = 0;
    },
  };
}

const switches = new WeakMap<object, PoolSwitch>();

/** Records the pool switch of a wasm backend instance (done by `registerThreadedWasm`). */
export function attachPoolSwitch(backend: object, poolSwitch: PoolSwitch): void {
  switches.set(backend, poolSwitch);
}

/** The pool switch of a wasm backend instance, if its pool is switchable. */
export function poolSwitch(backend: object): PoolSwitch | undefined {
  return switches.get(backend);
}

/**
 * Kernels that run XNNPACK's convolutions, which gain from the pool when large (a 64×28×28×32
 * batch through a 3×3×32×64 convolution: 81 → 48 ms on 2 threads here). `Conv2D` and
 * `Conv2DBackpropInput` are tsdl's own (conv.ts); these wrappers remain what they fall back to.
 */
const POOLED_KERNELS = ["Conv2D", "FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2D", "Conv2DBackpropInput"];

/** Convolutions of at least this much work (2 × input size × filter size ÷ input channels) use the pool. */
export const POOLED_MIN_WORK = 2 ** 22;

/**
 * The shipped convolution kernels of tfjs-backend-wasm, registered for `backendName`, wrapped to
 * turn the pool on around large calls.
 */
export function pooledConvolutionConfigs(shipped: (name: string) => { kernelFunc: (args: never) => unknown; setupFunc?: (backend: never) => void } | undefined, backendName: string) {
  return POOLED_KERNELS.flatMap((kernelName) => {
    const config = shipped(kernelName);
    if (!config) return [];
    const kernelFunc = (args: { inputs: Record<string, { shape: number[] } | undefined>; backend: object }) => {
      const pool = poolSwitch(args.backend);
      const x = args.inputs.x ?? args.inputs.dy;
      const filter = args.inputs.filter;
      const size = (t?: { shape: number[] }) => (t ? t.shape.reduce((p, d) => p * d, 1) : 0);
      const inChannels = x ? Math.max(1, x.shape[x.shape.length - 1]) : 1;
      const work = (2 * size(x) * size(filter)) / inChannels;
      if (!pool || work < POOLED_MIN_WORK) return config.kernelFunc(args as never);
      pool.on();
      try {
        return config.kernelFunc(args as never);
      } finally {
        pool.off();
      }
    };
    return [{ kernelName, backendName, kernelFunc, setupFunc: config.setupFunc }];
  });
}
