/**
 * The `tsdl` command line:
 * - `tsdl kernel --connection-file F`: run the kernel (what Jupyter starts, via kernel.json);
 * - `tsdl kernel install [--user | --prefix DIR | --sys-prefix] [--name NAME]`, `tsdl kernel list`,
 *   `tsdl kernel uninstall [...]`: manage the kernelspec, no Python needed;
 * - `tsdl start`: the main job (`npm start`): every notebook in notebooks/ to reports/ (runner).
 * - `tsdl run NOTEBOOK...` and `tsdl report NOTEBOOK.ipynb`: the runner and the report renderer
 *   (kernel/runner, kernel/report); each parses its own arguments and returns its exit code.
 * - `tsdl notebooks [DIR] [--force]`: copies the walkthrough notebooks into a folder of the user's
 *   (kernel/notebooks-command.ts).
 */

const USAGE = `usage:
  tsdl kernel --connection-file FILE       run the kernel (Jupyter does this)
  tsdl kernel install [--user | --prefix DIR | --sys-prefix] [--name NAME]
  tsdl kernel list [--json]
  tsdl kernel uninstall [--user | --prefix DIR | --sys-prefix] [--name NAME]
  tsdl start [--notebooks DIR] [--out DIR] [--quick]
                                           the main job: run notebooks/ to reports/ (npm start)
  tsdl run NOTEBOOK.ipynb... [--out DIR] [--html] [--timeout S] [--allow-errors]
                                           execute notebooks headless (--help for more)
  tsdl report NOTEBOOK.ipynb [-o FILE.html] a notebook as one offline HTML file (--help for more)
  tsdl notebooks [DIR] [--force]           copy the walkthrough notebooks into DIR (default ./tsdl-notebooks)`;

/** Usage of `tsdl kernel` and its sub-commands (`tsdl kernel --help`, `tsdl kernel install --help`, ...). */
export const KERNEL_USAGE = `usage:
  tsdl kernel --connection-file FILE       run the kernel on the sockets FILE names (Jupyter starts
                                           this, from kernel.json's argv)
  tsdl kernel install [--user | --prefix DIR | --sys-prefix] [--name NAME]
  tsdl kernel list [--json]
  tsdl kernel uninstall [--user | --prefix DIR | --sys-prefix] [--name NAME]
Run tsdl kernel install --help (or list, uninstall) for the details of each.`;

const KERNEL_SUB_USAGE: Record<"install" | "uninstall" | "list", string> = {
  install: `usage: tsdl kernel install [--user | --prefix DIR | --sys-prefix] [--name NAME]

Writes the kernelspec (kernel.json and two logos) Jupyter uses to start this kernel, and names
the folder it wrote. No Python is needed. Installing twice overwrites.
  (none)         as root /usr/local/share/jupyter/kernels, otherwise the user's folder
  --user         $JUPYTER_DATA_DIR/kernels (default ~/.local/share/jupyter/kernels)
  --prefix DIR   DIR/share/jupyter/kernels; warns when Jupyter does not search there
                 (add DIR/share/jupyter to JUPYTER_PATH)
  --sys-prefix   the active virtualenv or conda env, else the prefix of the Python that runs
                 jupyter (read from its #! line); refuses when there is neither
  --name NAME    the kernelspec's folder name (default tsdl)`,
  uninstall: `usage: tsdl kernel uninstall [--user | --prefix DIR | --sys-prefix] [--name NAME]

Removes the tsdl kernelspec from the location given, or without one from every folder Jupyter
searches (only kernelspecs that start tsdl), and names each folder it looked in.`,
  list: `usage: tsdl kernel list [--json]

Lists every kernelspec Jupyter would find (first of each name wins), as jupyter kernelspec list does.
  --json         print {"kernelspecs": [...]} instead of a table`,
};

function wantsHelp(argv: string[]): boolean {
  return argv.includes("--help") || argv.includes("-h");
}

/** Fail with a message and exit code 2 (bad usage). */
class UsageError extends Error {}

/** Parse `--flag`, `--flag value` and `--flag=value` options; positionals are kept in order. */
export function parseArgs(
  argv: string[],
  spec: Record<string, "flag" | "value">,
): { options: Record<string, string | true>; positionals: string[] } {
  const options: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown option --${name}; expected one of ${Object.keys(spec).map((k) => `--${k}`).join(", ")}`);
    if (kind === "flag") {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      options[name] = true;
    } else {
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (value === undefined || value === "") throw new UsageError(`--${name} needs a value`);
      options[name] = value;
    }
  }
  return { options, positionals };
}

/** Run the command line; sets process.exitCode on failure. */
export async function main(argv: string[]): Promise<void> {
  try {
    await dispatch(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tsdl: ${err.message}\n${USAGE}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`tsdl: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

async function dispatch(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case "kernel":
      return kernelCommand(rest);
    case "run":
      process.exitCode = await (require("./runner/command") as typeof import("./runner/command")).runCommand(rest);
      return;
    case "report":
      process.exitCode = await (require("./report/command") as typeof import("./report/command")).reportCommand(rest);
      return;
    case "notebooks":
      process.exitCode = (require("./notebooks-command") as typeof import("./notebooks-command")).notebooksCommand(rest);
      return;
    case "start":
      // The main job (npm start): every notebook to reports/ (kernel/runner/command.ts).
      process.exitCode = await (require("./runner/command") as typeof import("./runner/command")).startCommand(rest);
      return;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE + "\n");
      return;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}

async function kernelCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if ((sub === "install" || sub === "uninstall" || sub === "list") && wantsHelp(rest)) {
    process.stdout.write(KERNEL_SUB_USAGE[sub] + "\n");
    return;
  }
  if (sub === "help" || wantsHelp(argv)) {
    process.stdout.write(KERNEL_USAGE + "\n");
    return;
  }
  const locationSpec = { user: "flag", prefix: "value", "sys-prefix": "flag", name: "value" } as const;
  switch (sub) {
    case "install":
    case "uninstall": {
      const { options, positionals } = parseArgs(rest, locationSpec);
      if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
      const ks = require("./kernelspec") as typeof import("./kernelspec");
      const location = ks.locationFromOptions(options);
      const name = typeof options.name === "string" ? options.name : undefined;
      if (sub === "install") {
        const dir = ks.installKernelspec({ location, name });
        process.stdout.write(`installed the tsdl kernelspec in ${dir}\n`);
        // As `jupyter kernelspec install` does: say so when Jupyter will not look there.
        const warning = ks.searchPathWarning(dir);
        if (warning) process.stderr.write(`tsdl: warning: ${warning}\n`);
      } else {
        const searched = ks.uninstallCandidates({ location, name });
        const removed = ks.uninstallKernelspec({ location, name });
        if (removed.length === 0) {
          process.stdout.write(
            `no tsdl kernelspec${name ? ` named ${name}` : ""} found; nothing to remove. Looked in:\n` + searched.map((d) => `  ${d}\n`).join(""),
          );
        }
        for (const d of removed) process.stdout.write(`removed ${d}\n`);
      }
      return;
    }
    case "list": {
      const { options, positionals } = parseArgs(rest, { json: "flag" });
      if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
      const { listKernelspecs } = require("./kernelspec") as typeof import("./kernelspec");
      const specs = listKernelspecs();
      if (options.json) {
        process.stdout.write(JSON.stringify({ kernelspecs: specs }, null, 2) + "\n");
        return;
      }
      if (specs.length === 0) {
        process.stdout.write("no kernelspecs found\n");
        return;
      }
      const width = Math.max(...specs.map((s) => s.name.length));
      process.stdout.write("Available kernels:\n");
      for (const s of specs) process.stdout.write(`  ${s.name.padEnd(width)}  ${s.dir}\n`);
      return;
    }
    default: {
      const { options, positionals } = parseArgs(argv, { "connection-file": "value", "config-path": "value" });
      if (positionals.length) throw new UsageError(`unknown kernel sub-command ${JSON.stringify(positionals[0])}`);
      const file = options["connection-file"] ?? options["config-path"];
      if (typeof file !== "string") throw new UsageError("tsdl kernel needs --connection-file FILE");
      const snapshot = require("./snapshot") as typeof import("./snapshot");
      let notUsed = snapshot.snapshotOff();
      if (!notUsed && !snapshot.snapshotState()) {
        // The launcher: with a valid blob, the kernel runs as a child started from it.
        const found = snapshot.findSnapshot();
        const log = (line: string) => process.stderr.write(`tsdl kernel: ${line}\n`);
        if ("blob" in found) {
          snapshot.touchSnapshot(found.key);
          await snapshot.launchFromSnapshot(found.blob, ["kernel", ...argv], log);
          notUsed = "the kernel could not start from it";
        } else notUsed = found.reason;
      }
      const { runKernel } = require("./kernel") as typeof import("./kernel");
      await runKernel(file, { snapshotNotUsed: notUsed });
    }
  }
}
