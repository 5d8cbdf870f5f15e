/**
 * Entry point of one WebAssembly thread (an Emscripten pthread) of the threaded tfjs-wasm build,
 * run inside a Node `worker_threads` Worker that `src/wasm/threads.ts` lets Emscripten start.
 *
 * tfjs-backend-wasm ships the worker script only as a string (`wasmWorkerContents`), meant for a
 * browser Blob URL, which Node cannot start a Worker from. This file is that script as a real
 * file: it evaluates the string with this module's `require` and `__filename`, which the script
 * uses to load `worker_threads`, `fs` and the Emscripten module that the main thread names.
 */
import path from "node:path";

const wasmOut = path.join(
  path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")),
  "wasm-out",
);
const { wasmWorkerContents } = require(
  path.join(wasmOut, "tfjs-backend-wasm-threaded-simd.worker.js"),
) as { wasmWorkerContents: string };

// The string comes from a template literal, so the "\n" escapes inside its string literals are
// real newlines now; put the escapes back, as tfjs does before it makes its Blob.
const source = wasmWorkerContents.replace(/\n/g, "\\n");
new Function("require", "__filename", source)(require, __filename);
