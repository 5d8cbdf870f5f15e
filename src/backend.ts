/**
 * Backend selection: use the fastest TensorFlow.js backend that loads on this machine,
 * and say which one is active and why each faster one was skipped.
 *
 * Order: node-gpu (libtensorflow with CUDA), node (libtensorflow on CPU), wasm (XNNPACK, no native
 * download), cpu (plain JavaScript). `@tensorflow/tfjs-node` and `-node-gpu` are optional
 * dependencies: their install downloads libtensorflow, which fails on an offline machine, and npm
 * then skips them quietly. `TSDL_BACKEND=<name>` forces one backend.
 *
 * The kernel calls `initBackend()` before the first cell. A plain script gets the same choice the
 * way TensorFlow.js users ask for one, `await tf.ready()`: importing tsdl makes tfjs's `ready()` run
 * `initBackend()` when no backend has been chosen yet (`hookReady`). Why not register tsdl's
 * backends with tfjs priorities and let tfjs's own pick (the highest-priority registered backend
 * that initialises) do it? The node backends register themselves only when their package is
 * loaded, which starts libtensorflow (a second or more) in every script that imports tsdl, even one
 * that then picks a backend itself; and tsdl's wasm set-up (threads, kernels) happens when it is
 * chosen. A script that never asks runs on tfjs's synchronous pick, `cpu`; training there warns
 * once with the fix (`warnIfUnchosenCpu`).
 *
 * Introduced in notebook 01.
 */
import * as tf from "@tensorflow/tfjs";
import { withText } from "./display";
import { describeWasm, guardWasmHeap, MAX_WASM_THREADS, setupFastWasm, withoutAddedProcessHandlers } from "./wasm";

/** The backends tsdl knows, fastest first. */
export const BACKENDS = ["node-gpu", "node", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKENDS)[number];

/** What happened to one candidate backend during selection. */
export interface BackendAttempt {
  name: BackendName;
  /** active: selected; skipped: tried and failed, or excluded by TSDL_BACKEND; unused: not tried because a faster one loaded. */
  status: "active" | "skipped" | "unused";
  /** One human-readable sentence. */
  reason: string;
}

/** The result of backend selection. */
export interface BackendInfo {
  active: BackendName;
  /** The tfjs backend name behind it (`tensorflow`, `wasm` or `cpu`). */
  tfBackend: string;
  attempts: BackendAttempt[];
  /** One line per backend, in order. */
  toString(): string;
}

/** How a backend is loaded; injected so tests can simulate missing modules. */
export interface BackendLoader {
  /**
   * Load the module(s) for `name` and make `tf.setBackend` possible; throws when unavailable.
   * `env` is the environment `initBackend` was given.
   */
  load(name: BackendName, env?: NodeJS.ProcessEnv): Promise<string>;
}

const OPTIONAL_HINT =
  "optional dependency; its install downloads libtensorflow, which needs internet access";

function describeError(name: BackendName, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string } | null)?.code;
  const pkg = name === "node-gpu" ? "@tensorflow/tfjs-node-gpu" : "@tensorflow/tfjs-node";
  if (code === "MODULE_NOT_FOUND" && msg.includes(pkg)) {
    return `${pkg} is not installed (${OPTIONAL_HINT})`;
  }
  const firstLine = msg.split("\n").find((l) => l.trim() !== "") ?? msg;
  return `failed to load: ${firstLine.trim()}`;
}

/**
 * The wasm threads `TSDL_WASM_THREADS` asks for (an integer from 1 to 8), or undefined for the
 * default, one per core.
 */
export function wasmThreadsFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.TSDL_WASM_THREADS?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS) {
    throw new Error(
      `TSDL_WASM_THREADS=${JSON.stringify(raw)} is not a thread count; expected an integer from 1 to ${MAX_WASM_THREADS}`,
    );
  }
  return n;
}

/**
 * The default loader: requires the packages from this package's node_modules. For wasm it also
 * sets up tsdl's fast kernels and one thread per core (src/wasm).
 */
export const defaultLoader: BackendLoader = {
  async load(name, env = process.env) {
    switch (name) {
      case "node-gpu":
        require("@tensorflow/tfjs-node-gpu");
        return "tensorflow";
      case "node":
        require("@tensorflow/tfjs-node");
        return "tensorflow";
      case "wasm":
        setupFastWasm({ threads: wasmThreadsFromEnv(env) });
        return "wasm";
      case "cpu":
        return "cpu";
    }
  },
};

let current: BackendInfo | null = null;
/** True while `initBackend` runs (its own `tf.setBackend` and `tf.ready` calls pass through the hooks). */
let choosing = false;
/** True once the script called `tf.setBackend` itself: its choice, not to be warned about. */
let chosenByScript = false;

function format(attempts: BackendAttempt[]): string {
  const width = Math.max(...attempts.map((a) => a.name.length));
  return attempts.map((a) => `${a.name.padEnd(width)}  ${a.status}: ${a.reason}`).join("\n");
}

function describeActive(name: BackendName): string {
  switch (name) {
    case "node-gpu":
      return "libtensorflow with CUDA";
    case "node":
      return "libtensorflow on the CPU";
    case "wasm":
      return describeWasm(tf.backend());
    case "cpu":
      return "plain JavaScript, the slowest backend";
  }
}

/**
 * Pick and activate the best backend. Safe to call more than once: later calls return the
 * first result unless `force` is set.
 */
export async function initBackend(
  options: { env?: NodeJS.ProcessEnv; loader?: BackendLoader; force?: boolean } = {},
): Promise<BackendInfo> {
  if (current && !options.force) return current;
  choosing = true;
  try {
    return await choose(options);
  } finally {
    choosing = false;
  }
}

async function choose(options: { env?: NodeJS.ProcessEnv; loader?: BackendLoader }): Promise<BackendInfo> {
  const env = options.env ?? process.env;
  const loader = options.loader ?? defaultLoader;
  const forced = env.TSDL_BACKEND?.trim();
  if (forced && !(BACKENDS as readonly string[]).includes(forced)) {
    throw new Error(
      `TSDL_BACKEND=${JSON.stringify(forced)} is not a backend; expected one of ${BACKENDS.join(", ")}`,
    );
  }
  wasmThreadsFromEnv(env); // a bad TSDL_WASM_THREADS is an error, not a silent fallback
  const attempts: BackendAttempt[] = [];
  let active: { name: BackendName; tfBackend: string } | null = null;
  for (const name of BACKENDS) {
    if (active) {
      attempts.push({ name, status: "unused", reason: `not tried, ${active.name} loaded first` });
      continue;
    }
    if (forced && name !== forced) {
      attempts.push({ name, status: "skipped", reason: `TSDL_BACKEND=${forced} forces ${forced}` });
      continue;
    }
    try {
      const tfBackend = await loader.load(name, env);
      // Starting the wasm module installs Emscripten's rethrow-everything process handlers.
      const set = () => tf.setBackend(tfBackend);
      if (!(await (name === "wasm" ? withoutAddedProcessHandlers(set) : set()))) {
        throw new Error(`tf.setBackend("${tfBackend}") returned false`);
      }
      await tf.ready();
      // tfjs-backend-wasm does not check its allocations; a tensor too big must fail cleanly.
      if (tfBackend === "wasm") guardWasmHeap(tf.backend());
      active = { name, tfBackend };
      attempts.push({ name, status: "active", reason: describeActive(name) });
    } catch (err) {
      if (forced) {
        throw new Error(`TSDL_BACKEND=${forced}: ${describeError(name, err)}`);
      }
      attempts.push({ name, status: "skipped", reason: describeError(name, err) });
    }
  }
  if (!active) throw new Error(`no TensorFlow.js backend loaded:\n${format(attempts)}`);
  if (active.tfBackend === "cpu") {
    // tfjs-backend-cpu prints a banner urging tfjs-node on first use; backendInfo() already
    // explains the choice, so silence it.
    (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  }
  const { name, tfBackend } = active;
  // One text for String(), text/plain and console.log: the one-line-per-backend table.
  current = withText({ active: name, tfBackend, attempts } as BackendInfo, () => format(attempts));
  return current;
}

/** The parts of tfjs's engine that the hooks wrap (`tf.ready()` and `tf.setBackend()` call these). */
interface HookableEngine {
  ready(): Promise<void>;
  setBackend(name: string): Promise<boolean>;
  /** tfjs's synchronous first-use pick (the `backend` getter), which then calls `setBackend`. */
  initializeBackendsAndReturnBest(): { name: string; asyncInit: boolean };
  backendInstance: unknown;
  pendingBackendInit: unknown;
}

const HOOKED = Symbol.for("tsdl.readyHook");

/**
 * Makes `await tf.ready()` choose tsdl's backend (`initBackend()`) when no backend is chosen yet,
 * and notes a script's own `tf.setBackend` calls. Done once per engine, when tsdl is imported.
 */
export function hookReady(engine: HookableEngine = tf.engine() as unknown as HookableEngine): void {
  const marked = engine as unknown as Record<symbol, boolean>;
  if (marked[HOOKED]) return;
  marked[HOOKED] = true;
  const ready = engine.ready.bind(engine);
  const setBackend = engine.setBackend.bind(engine);
  const pickBest = engine.initializeBackendsAndReturnBest.bind(engine);
  let picked: string | null = null;
  engine.initializeBackendsAndReturnBest = () => {
    const best = pickBest();
    picked = best.name;
    return best;
  };
  engine.ready = async () => {
    if (!current && !choosing && engine.backendInstance == null && engine.pendingBackendInit == null) {
      await initBackend();
      return;
    }
    return ready();
  };
  engine.setBackend = (name: string) => {
    // tfjs's own first-use pick sets the backend it just picked: not the script's choice.
    if (!choosing && name !== picked) chosenByScript = true;
    picked = null;
    return setBackend(name);
  };
}
hookReady();

let warnedCpu = false;

/**
 * Warns once when `what` (say dl.train.fit) runs on tfjs's slow `cpu` backend that nobody chose:
 * a script that neither awaited `tf.ready()` / `dl.initBackend()` nor called `tf.setBackend`.
 * Returns whether it warned. `warn` is injected so tests can observe it.
 */
export function warnIfUnchosenCpu(
  what: string,
  warn: (message: string) => void = (m) => process.emitWarning(m, { code: "TSDL_CPU_BACKEND" }),
): boolean {
  if (warnedCpu || current || chosenByScript || tf.getBackend() !== "cpu") return false;
  warnedCpu = true;
  warn(
    `${what} is running on TensorFlow.js's plain-JavaScript cpu backend because no backend was chosen ` +
      `(tfjs fell back to cpu on first use). Add \`await tf.ready()\` (or \`await dl.initBackend()\`) before ` +
      `the first tensor to get the fastest backend that loads, as the tsdl kernel does (wasm runs the ` +
      `article's MLP about 40 times faster); \`tf.setBackend("cpu")\` keeps cpu and silences this.`,
  );
  return true;
}

/**
 * Which backend is active and why each faster one was skipped, one line per backend.
 * Throws if `initBackend()` has not run yet.
 */
export function backendInfo(): BackendInfo {
  if (!current) {
    throw new Error("no backend chosen yet: call `await dl.initBackend()` first");
  }
  return current;
}
