/**
 * A helper thread of src/wasm/parallel.ts: binds tsdl's generated kernels to the wasm backend's
 * shared memory, then forever: sleeps until a product is posted, claims blocks of it until none
 * is left, and sleeps again. (Spinning a little before sleeping, to catch the next product of a
 * training step sooner, measured no clear gain here and costs a core on a shared machine.)
 * The direct convolutions' module (conv-direct.ts), passed by the caller, is bound to the same
 * memory too, before the first product is looked at.
 */
import { workerData } from "node:worker_threads";
import { bindGemm } from "./gemm";
import { bindDirectConv, directConvModule } from "./conv-direct";
import { GEN, HELPED, work } from "./parallel";

const data = workerData as { memory: WebAssembly.Memory; module: WebAssembly.Module; directModule?: WebAssembly.Module; ctrl: Int32Array };
const { memory, ctrl } = data;
const kernels = bindGemm(data.module, memory);
// The caller's own module when given (V8 then shares its compiled code), else compiled here.
const direct = bindDirectConv(data.directModule ?? directConvModule(true), memory);
const directKernels = () => direct;
// From product 0: a product posted while this worker was still starting is joined (its blocks, if any are left).
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, GEN, seen);
  seen = Atomics.load(ctrl, GEN);
  const ran = work(kernels, ctrl, seen, directKernels, true);
  if (ran > 0) Atomics.add(ctrl, HELPED, ran);
}
