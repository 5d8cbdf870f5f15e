/**
 * Out-of-memory on the wasm backend, made a clean error.
 *
 * tfjs-backend-wasm 4.22 allocates every tensor with `_malloc(numBytes) >>> 0` and never checks
 * the result. When the WebAssembly heap cannot grow (it holds at most 4 GiB), `_malloc` returns
 * 0 and the tensor is registered at address 0: its data is copied over the start of the heap
 * (silent corruption of the backend's own state) or fails later with "offset is out of bounds";
 * and a size of 4 GiB or more wraps around to a small allocation that the op then overruns.
 * `guardWasmHeap` wraps the backend's `move` (the one place tensors get heap memory) so that such
 * an allocation throws a RangeError naming the shape and the sizes BEFORE anything is written or
 * registered: the cell fails, every other tensor is intact and the backend stays usable.
 */
import * as tf from "@tensorflow/tfjs";

/** The most the tfjs wasm heap can hold: Emscripten's `getHeapMax()` in tfjs-backend-wasm 4.22 (65535 pages of 64 KiB). */
export const WASM_HEAP_MAX_BYTES = 4294901760;

interface WasmModuleLike {
  _malloc(bytes: number): number;
  HEAPU8: Uint8Array;
}

interface WasmBackendLike {
  wasm: WasmModuleLike;
  move(dataId: object, values: ArrayBufferView | null, shape: number[], dtype: tf.DataType, refCount: number): void;
  numDataIds(): number;
}

const GUARDED = Symbol.for("tsdl.wasmHeapGuard");

/** Thrown when a tensor does not fit in the wasm heap; nothing was allocated. */
export class WasmOutOfMemoryError extends RangeError {
  constructor(
    readonly shape: number[],
    readonly dtype: tf.DataType,
    readonly bytes: number,
    why: string,
  ) {
    super(`out of memory on the wasm backend: a ${dtype} tensor of shape [${shape.join(", ")}] needs ${gb(bytes)}, ${why}; nothing was allocated, and the backend and your other tensors are intact (use smaller tensors or batches, and dispose of tensors you no longer need)`);
    this.name = "WasmOutOfMemoryError";
  }
}

function gb(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * Make allocations on a tfjs wasm backend fail with a `WasmOutOfMemoryError` instead of
 * corrupting the heap. Returns false (and does nothing) for a backend that is not tfjs wasm.
 * Idempotent. `initBackend` calls it for the wasm backend; introduced in notebook 01.
 */
export function guardWasmHeap(backend: tf.KernelBackend): boolean {
  const b = backend as unknown as Partial<WasmBackendLike> & { [GUARDED]?: boolean };
  if (!b.wasm || typeof b.wasm._malloc !== "function" || typeof b.move !== "function") return false;
  if (b[GUARDED]) return true;
  const wasm = b.wasm;
  const move = b.move;
  b.move = function guardedMove(this: WasmBackendLike, dataId, values, shape, dtype, refCount) {
    if (dtype !== "string") {
      const bytes = tf.util.sizeFromShape(shape) * tf.util.bytesPerElement(dtype);
      if (bytes > WASM_HEAP_MAX_BYTES) {
        throw new WasmOutOfMemoryError(shape, dtype, bytes, `more than the WebAssembly heap can ever hold (${gb(WASM_HEAP_MAX_BYTES)})`);
      }
      // Wrapped for this one call: whatever `_malloc` is now (Emscripten's, or another wrapper).
      const malloc = wasm._malloc;
      wasm._malloc = (n: number) => {
        const p = malloc(n);
        if (p === 0 && n > 0) {
          // Thrown before tfjs registers the tensor or copies its values to address 0.
          throw new WasmOutOfMemoryError(
            shape,
            dtype,
            bytes,
            `but the WebAssembly heap (at most ${gb(WASM_HEAP_MAX_BYTES)}; ${gb(wasm.HEAPU8.length)} now, for ${this.numDataIds()} tensors) cannot grow that far`,
          );
        }
        return p;
      };
      try {
        return move.call(this, dataId, values, shape, dtype, refCount);
      } finally {
        wasm._malloc = malloc;
      }
    }
    return move.call(this, dataId, values, shape, dtype, refCount);
  };
  b[GUARDED] = true;
  return true;
}
