/**
 * `npm start` (for now): start the tsdl kernel, run one cell, print what it printed and the
 * backend, and shut the kernel down. The notebook runner replaces this with running the notebooks.
 */
import { KernelClient } from "./client";

/** Start a kernel, run a cell that prints the backend and sums a tensor, and stop. */
export async function start(): Promise<void> {
  const t0 = Date.now();
  const kernel = await KernelClient.start();
  try {
    const info = await kernel.request("shell", "kernel_info_request", {});
    process.stdout.write(`${info.content.banner}\nkernel ready in ${Date.now() - t0} ms\n\n`);
    const code = 'console.log(dl.backendInfo().toString());\ntf.tensor([1, 2]).sum()';
    process.stdout.write(`In [1]:\n${code}\n\n`);
    const run = await kernel.execute(code);
    process.stdout.write(run.stdout);
    if (run.stderr) process.stderr.write(run.stderr);
    if (run.result) process.stdout.write(`\nOut[${run.result.execution_count}]: ${String(run.result.data["text/plain"])}\n`);
    if (run.error) {
      process.stderr.write(run.error.traceback.join("\n") + "\n");
      process.exitCode = 1;
    }
  } finally {
    await kernel.close();
  }
}
