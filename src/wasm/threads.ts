/**
 * Multithreaded tfjs-wasm in Node.
 *
 * tfjs-backend-wasm ships a threaded SIMD build (`tfjs-backend-wasm-threaded-simd.wasm`, XNNPACK on
 * a pthreadpool) but switches it off in Node (`WASM_HAS_MULTITHREAD_SUPPORT` is false there,
 * tensorflow/tfjs#3830), for two reasons this module works around:
 *
 * 1. Its loader hands Emscripten a Blob URL for the thread script and a Blob for the main
 *    script; Node's `Worker` and the script's `importScripts` only take files. Here Emscripten
 *    gets real paths: `pthread-worker.js` beside this file, and the package's own
 *    `wasm-out/tfjs-backend-wasm-threaded-simd.js`.
 * 2. Its C++ side caps the thread pool at half of `emscripten_num_logical_cores()` (it assumes
 *    two hyperthreads per core), so a 2-core machine gets one thread. Here that import of the
 *    WebAssembly module answers `2 × threads`, so the pool gets exactly the threads asked for.
 *
 * Everything else is tfjs's own: the same `BackendWasm` class, kernels and thread-count API
 * (`setThreadsCount`), registered under the usual backend name `wasm`. Emscripten `unref()`s its
 * workers, so a script that uses the threaded backend still exits on its own (tested in
 * test/wasm/threads.test.ts).
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import vm from "node:vm";
import * as tf from "@tensorflow/tfjs";
import { attachPoolSwitch, makePoolSwitch, poolSwitch } from "./threadpool";

type WasmPackage = typeof import("@tensorflow/tfjs-backend-wasm");

/** The most threads the threaded build can run: Emscripten pre-creates a pool of 8 workers. */
export const MAX_WASM_THREADS = 8;

/** The number of threads tsdl gives the wasm backend by default: one per CPU core. */
export function defaultWasmThreads(): number {
  return Math.max(1, Math.min(MAX_WASM_THREADS, os.availableParallelism()));
}

/** The line of the threaded build's script that sizes Emscripten's pool of pthread workers. */
const POOL_LINE = "var pthreadPoolSize=8;";

/**
 * The threaded build's Emscripten factory, with a pool of `workers` pthread workers instead of the
 * 8 the build pre-creates. Each worker is a Node worker that boots, loads the script and
 * instantiates the module, about 0.4 s of CPU at every start (a notebook kernel, a test process),
 * and XNNPACK's pool of n threads uses n − 1 of them (the calling thread is the first). The pool
 * must be made up front: the pool's creation waits for its threads, which a worker made on
 * demand would start only after the wait. A script without that line (another tfjs build) is
 * loaded as shipped.
 */
function threadedFactory(mainScript: string, workers: number): (config: object) => Promise<ThreadedModule> {
  const cached = factories.get(workers);
  if (cached) return cached;
  const source = fs.readFileSync(mainScript, "utf8");
  let factory: (config: object) => Promise<ThreadedModule>;
  if (!source.includes(POOL_LINE)) {
    factory = require(mainScript) as typeof factory;
  } else {
    // Compiled as CommonJS, as `require` would: the pthread workers load the file itself, by path
    // (mainScriptUrlOrBlob), and never size a pool.
    const wrapper = vm.compileFunction(source.replace(POOL_LINE, `var pthreadPoolSize=${workers};`), ["exports", "require", "module", "__filename", "__dirname"], { filename: mainScript });
    const mod = { exports: {} as unknown };
    wrapper.call(mod.exports, mod.exports, createRequire(mainScript), mod, mainScript, path.dirname(mainScript));
    factory = mod.exports as typeof factory;
  }
  factories.set(workers, factory);
  return factory;
}
const factories = new Map<number, (config: object) => Promise<ThreadedModule>>();

/** The pthread workers Emscripten pre-creates for a backend of `threads` threads: one per thread besides the caller (at least one). */
export function pthreadWorkersFor(threads: number): number {
  return Math.max(1, threads - 1);
}

function wasmOutDir(): string {
  return path.join(
    path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")),
    "wasm-out",
  );
}

/**
 * Runs `start` (which starts an Emscripten module) and takes back the `uncaughtException` and
 * `unhandledRejection` handlers it added: Emscripten's rethrow every error, which would end a
 * notebook kernel that means to survive a failing cell.
 */
export async function withoutAddedProcessHandlers<T>(start: () => Promise<T>): Promise<T> {
  const emitter = process as NodeJS.EventEmitter;
  const events = ["uncaughtException", "unhandledRejection"];
  const before = events.map((e) => emitter.listeners(e));
  try {
    return await start();
  } finally {
    events.forEach((event, i) => {
      for (const listener of emitter.listeners(event)) {
        if (!before[i].includes(listener)) emitter.removeListener(event, listener as () => void);
      }
    });
  }
}

/** Whether this Node can run the threaded build at all (shared memory, atomics, SIMD, workers). */
export function canUseThreads(): boolean {
  if (typeof SharedArrayBuffer === "undefined" || typeof Atomics === "undefined") return false;
  try {
    require("node:worker_threads");
    // A module that uses SIMD (v128) and a shared memory: what the threaded SIMD build needs.
    return (
      WebAssembly.validate(
        new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11]),
      ) && new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer
    );
  } catch {
    return false;
  }
}

interface EmscriptenImports {
  env: Record<string, unknown>;
  [module: string]: Record<string, unknown>;
}

interface ThreadedModule {
  cwrap(name: string, ret: string | null, args: string[]): (...args: number[]) => number;
  tfjs?: unknown;
  PThread: { runningWorkers: { unref(): void }[]; unusedWorkers: { unref(): void }[] };
}

export interface ThreadOptions {
  /** "matmul" (default): the pool runs large matrix products only (see threadpool.ts); "all": every kernel, as tfjs ships it. */
  poolFor?: "matmul" | "all";
}

/**
 * A tfjs backend factory for the threaded SIMD build of tfjs-backend-wasm with `threads` threads
 * (the calling thread counts as one): pass it to `tf.registerBackend`.
 */
export function threadedWasmFactory(threads: number, options: ThreadOptions = {}): () => Promise<tf.KernelBackend> {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new Error(`wasm threads must be an integer from 1 to ${MAX_WASM_THREADS}; got ${threads}`);
  }
  const pkg = require("@tensorflow/tfjs-backend-wasm") as WasmPackage;
  const out = wasmOutDir();
  const mainScript = path.join(out, "tfjs-backend-wasm-threaded-simd.js");
  const wasmFile = path.join(out, "tfjs-backend-wasm-threaded-simd.wasm");
  const workerScript = path.join(__dirname, "pthread-worker.js");
  const factory = threadedFactory(mainScript, pthreadWorkersFor(threads));
  return async () => {
    // Evaluated (and cached) by tfjs's own loader; backendInfo() reads it.
    await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
    let binary: Uint8Array | null = null;
    const module = await withoutAddedProcessHandlers(() =>
      factory({
        mainScriptUrlOrBlob: mainScript,
        locateFile: (file: string, prefix: string) =>
          file.endsWith(".worker.js") ? workerScript : file.endsWith(".wasm") ? wasmFile : prefix + file,
        instantiateWasm: (
          imports: EmscriptenImports,
          receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
        ) => {
          const patched = { ...imports, env: { ...imports.env, emscripten_num_logical_cores: () => 2 * threads } };
          const bytes = fs.readFileSync(wasmFile);
          binary = bytes;
          WebAssembly.instantiate(bytes, patched as WebAssembly.Imports).then(
            ({ instance, module }) => receive(instance, module),
          );
          return {};
        },
      }),
    );
    // The same bridge tfjs's own init() sets up.
    module.tfjs = {
      init: module.cwrap("init", null, []),
      initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
      getThreadsCount: module.cwrap("get_threads_count", "number", []),
      registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
      disposeData: module.cwrap("dispose_data", null, ["number"]),
      dispose: module.cwrap("dispose", null, []),
    };
    pkg.setThreadsCount(threads);
    const backend = new pkg.BackendWasm(module as unknown as ConstructorParameters<typeof pkg.BackendWasm>[0]);
    // The constructor started the pool's threads. Emscripten ref()s a Worker while its pthread
    // runs, and the pool's threads run (mostly asleep on a futex) for the life of the module,
    // which would keep Node's event loop alive forever: unref them, like the idle ones.
    for (const worker of [...module.PThread.runningWorkers, ...module.PThread.unusedWorkers]) {
      worker.unref();
    }
    if (options.poolFor !== "all" && binary) {
      const poolSwitch = makePoolSwitch(module as unknown as Parameters<typeof makePoolSwitch>[0], binary);
      if (poolSwitch) attachPoolSwitch(backend, poolSwitch);
    }
    return backend;
  };
}

/**
 * Registers the `wasm` backend as the threaded SIMD build with `threads` threads. Call it before
 * the wasm backend is first used; it throws if the wasm backend is already running, since a
 * running pool cannot be resized.
 */
export function registerThreadedWasm(threads: number, options: ThreadOptions = {}): void {
  const threaded = threadedWasmFactory(threads, options);
  if (tf.findBackend("wasm") != null) {
    throw new Error("the wasm backend is already initialized; register threads before tf.setBackend('wasm')");
  }
  const stock = tf.engine().registryFactory["wasm"]?.factory as (() => Promise<tf.KernelBackend>) | undefined;
  tf.removeBackend("wasm");
  tf.registerBackend(
    "wasm",
    async () => {
      try {
        return await threaded();
      } catch (err) {
        // Fall back to the single-threaded build rather than lose wasm; say why in backendInfo().
        threadsFailure = err instanceof Error ? err.message : String(err);
        if (!stock) throw err;
        return stock();
      }
    },
    2,
  );
  threadedRegistered = threads;
}

let threadsFailure: string | null = null;

/** Why the threaded build failed to start and the single-threaded one runs instead, if it did. */
export function threadedWasmFailure(): string | null {
  return threadsFailure;
}

let threadedRegistered = 0;

/** Whether `registerThreadedWasm` set up the `wasm` backend in this process. */
export function threadedWasmRegistered(): boolean {
  return threadedRegistered > 0;
}

/** The threads a running wasm backend instance computes with (1 for the single-threaded builds). */
export function wasmThreads(backend: tf.KernelBackend): number {
  const pool = poolSwitch(backend);
  if (pool) return pool.threads;
  const wasm = (backend as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } }).wasm;
  return Math.max(1, wasm?.tfjs?.getThreadsCount?.() ?? 1);
}
