/**
 * A parent process for the orphan test: starts a tsdl kernel, prints its pid and connection file, then waits to be
 * killed (with SIGKILL, so it cannot clean up). The kernel must notice and exit by itself.
 */
import { KernelClient } from "../../kernel/client";

void (async () => {
  const kernel = await KernelClient.start({ cwd: process.argv[2], env: { TSDL_BACKEND: "cpu" } });
  process.stdout.write(`${kernel.pid} ${kernel.connectionFile}\n`);
  setInterval(() => undefined, 60_000);
})();
