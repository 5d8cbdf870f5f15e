/** Where things live: the package root, the launcher, and the compiled library. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "tsdl") return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the tsdl package.json above ${start}`);
    dir = parent;
  }
}

/** The tsdl package root (holds package.json, dist/, node_modules/). */
export const PACKAGE_ROOT: string = findRoot(__dirname);

/** The `tsdl` command's launcher script (the package's bin). */
export const LAUNCHER: string = path.join(PACKAGE_ROOT, "kernel", "bin", "tsdl.js");

/** The compiled library entry point that `import ... from "tsdl"` resolves to. */
export const LIBRARY_ENTRY: string = path.join(PACKAGE_ROOT, "dist", "src", "index.js");

/** The argv that starts the tsdl kernel; `{connection_file}` is replaced by the client (as in kernel.json). */
export function kernelArgv(): string[] {
  return [process.execPath, LAUNCHER, "kernel", "--connection-file", "{connection_file}"];
}
