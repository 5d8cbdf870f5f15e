/**
 * A Jupyter of its own for a test: the tsdl kernelspec installed into a temporary prefix, and the
 * environment that makes Debian's Jupyter tools (jupyter_client, nbclient, the Notebook server,
 * jupyter_kernel_test) find it there and keep their data, runtime and config files under `tmp`,
 * never in the user's folders (other checkouts' kernels stay out of sight).
 */
import path from "node:path";
import { installKernelspec } from "../../kernel/kernelspec";

/** Installs the kernelspec under `tmp/prefix`; returns the prefix and the environment to run Jupyter with. */
export function isolatedJupyter(tmp: string, extra: NodeJS.ProcessEnv = {}): { prefix: string; env: NodeJS.ProcessEnv } {
  const prefix = path.join(tmp, "prefix");
  installKernelspec({ location: { kind: "prefix", prefix } });
  return {
    prefix,
    env: {
      ...process.env,
      TSDL_BACKEND: "cpu",
      JUPYTER_PATH: path.join(prefix, "share", "jupyter"),
      JUPYTER_DATA_DIR: path.join(tmp, "data"),
      JUPYTER_RUNTIME_DIR: path.join(tmp, "runtime"),
      JUPYTER_CONFIG_DIR: path.join(tmp, "config"),
      ...extra,
    },
  };
}
