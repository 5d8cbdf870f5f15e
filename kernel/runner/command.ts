/**
 * `tsdl run NOTEBOOK... [--out DIR] [--html] [--timeout SECONDS] [--allow-errors] [--quick]`
 * and `tsdl start` (what `npm start` runs: every notebook in notebooks/ to reports/).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { writeFileAtomicSync } from "../atomic-write";
import { PACKAGE_ROOT } from "../paths";
import { renderIndexHtml } from "../report/index-page";
import { runFiles, type FileResult, type RunFilesOptions } from "./files";

/** Where the command writes; tests pass their own streams. */
export interface CommandIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

const STD_IO: CommandIO = { out: process.stdout, err: process.stderr };

/** Usage text of `tsdl run`. */
export const RUN_USAGE = `usage: tsdl run NOTEBOOK.ipynb... [--out DIR] [--html] [--timeout SECONDS] [--allow-errors] [--quick]

Executes each notebook top to bottom in a fresh tsdl kernel and writes the executed notebook
(nbformat 4, validated against the official schema) to DIR/NAME.ipynb.
  --out DIR          output folder (default: reports)
  --html             also write DIR/NAME.html, a self-contained offline report
  --timeout SECONDS  interrupt a cell that runs longer, record it as an error, stop
  --allow-errors     keep running after a cell error (recorded in the cell; the notebook counts as
                     ok; timeouts and a dead kernel still fail it)
  --quick            set TSDL_QUICK=1 for the kernel: notebooks shrink their work
Exit status: 0 if every notebook ran without error, 1 otherwise, 130 after Ctrl-C, 2 for bad usage.
`;

/** Usage text of `tsdl start`. */
export const START_USAGE = `usage: tsdl start [--notebooks DIR] [--out DIR] [--timeout SECONDS] [--quick]

The main job (npm start): runs every notebook in notebooks/ in name order and writes
reports/NAME.ipynb, reports/NAME.html and reports/index.html.
`;

class UsageError extends Error {}

function parseTimeout(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--timeout expects a positive number of seconds, found ${JSON.stringify(v)}`);
  return n;
}

/** Ctrl-C: the first interrupts the running cell and lets the runner write what it has; a second exits at once. */
function interruptOnSigint(io: CommandIO): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSigint = () => {
    if (!controller.signal.aborted) {
      io.err.write("\ntsdl run: interrupted: stopping the running cell and writing what ran (Ctrl-C again to quit at once)\n");
      controller.abort();
    } else {
      io.err.write("tsdl run: quitting now\n");
      // The kernel client's exit hook kills any kernel still running.
      process.exit(130);
    }
  };
  process.on("SIGINT", onSigint);
  return { signal: controller.signal, dispose: () => process.off("SIGINT", onSigint) };
}

function kernelEnv(quick: boolean | undefined): NodeJS.ProcessEnv {
  // The kernel inherits this process's environment (TSDL_QUICK, TSDL_BACKEND pass through);
  // --quick sets TSDL_QUICK=1 on top.
  return quick ? { TSDL_QUICK: "1" } : {};
}

function describe(r: FileResult): string {
  const time = `${r.durationSeconds.toFixed(1)} s${r.kernelCpuSeconds === undefined ? "" : `, kernel CPU ${r.kernelCpuSeconds.toFixed(1)} s`}`;
  const where = [r.notebookOut, r.htmlOut].filter(Boolean).join(", ");
  return `${r.status === "ok" ? "ok    " : "FAILED"} ${r.file} (${time})${where ? ` -> ${where}` : ""}`;
}

/** Runs `tsdl run` with the arguments after the sub-command; returns the exit code. */
export async function runCommand(argv: string[], io: CommandIO = STD_IO, extra: Partial<RunFilesOptions> = {}): Promise<number> {
  let files: string[];
  let options: RunFilesOptions;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: "string" },
        html: { type: "boolean" },
        timeout: { type: "string" },
        "allow-errors": { type: "boolean" },
        quick: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      io.out.write(RUN_USAGE);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError("expected at least one notebook (.ipynb), found none");
    files = positionals;
    options = {
      outDir: values.out ?? "reports",
      html: values.html ?? false,
      timeoutSeconds: parseTimeout(values.timeout),
      allowErrors: values["allow-errors"] ?? false,
      progressStream: io.err,
      onWarning: (message) => io.err.write(`tsdl run: warning: ${message}\n`),
      ...extra,
      env: { ...kernelEnv(values.quick), ...extra.env },
    };
  } catch (err) {
    io.err.write(`tsdl run: ${(err as Error).message}\n${RUN_USAGE}`);
    return 2;
  }
  const sigint = interruptOnSigint(io);
  try {
    const results = await runFiles(files, { ...options, signal: sigint.signal });
    for (const r of results) {
      io.out.write(describe(r) + "\n");
      for (const note of r.notes ?? []) io.err.write(`tsdl run: note: ${note}\n`);
      if (r.message) io.err.write(`tsdl run: ${r.message}\n`);
    }
    if (sigint.signal.aborted) return 130;
    return results.every((r) => r.status === "ok") ? 0 : 1;
  } finally {
    sigint.dispose();
  }
}

/**
 * `tsdl start`, the main job: every notebook in notebooks/ (sorted by name), each written to
 * reports/NAME.ipynb and reports/NAME.html, then reports/index.html with status and run time.
 * Exits non-zero if any notebook failed, after writing everything.
 */
export async function startCommand(argv: string[], io: CommandIO = STD_IO, extra: Partial<RunFilesOptions> = {}): Promise<number> {
  let notebooksDir: string;
  let outDir: string;
  let timeoutSeconds: number | undefined;
  let quick: boolean | undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        notebooks: { type: "string" },
        out: { type: "string" },
        timeout: { type: "string" },
        quick: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      io.out.write(START_USAGE);
      return 0;
    }
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    notebooksDir = path.resolve(values.notebooks ?? path.join(PACKAGE_ROOT, "notebooks"));
    outDir = path.resolve(values.out ?? path.join(PACKAGE_ROOT, "reports"));
    timeoutSeconds = parseTimeout(values.timeout);
    quick = values.quick;
  } catch (err) {
    io.err.write(`tsdl start: ${(err as Error).message}\n${START_USAGE}`);
    return 2;
  }
  let files: string[];
  try {
    files = fs
      .readdirSync(notebooksDir)
      .filter((f) => f.toLowerCase().endsWith(".ipynb"))
      .sort()
      .map((f) => path.join(notebooksDir, f));
  } catch (err) {
    io.err.write(`tsdl start: cannot list the notebooks folder ${notebooksDir}: ${(err as Error).message}\n`);
    return 1;
  }
  if (files.length === 0) {
    io.err.write(`tsdl start: no notebooks (*.ipynb) in ${notebooksDir}\n`);
    return 1;
  }
  const mode = quick || process.env.TSDL_QUICK ? "quick settings (TSDL_QUICK)" : "full settings";
  io.out.write(`tsdl start: running ${files.length} notebook${files.length === 1 ? "" : "s"} from ${notebooksDir} with ${mode}\n`);
  const sigint = interruptOnSigint(io);
  let results: FileResult[];
  try {
    results = await runFiles(files, {
      outDir,
      html: true,
      timeoutSeconds,
      progressStream: io.err,
      onWarning: (message) => io.err.write(`tsdl start: warning: ${message}\n`),
      signal: sigint.signal,
      onResult: (r) => {
        io.out.write(describe(r) + "\n");
        for (const note of r.notes ?? []) io.err.write(`tsdl start: note: ${note}\n`);
        if (r.message) io.err.write(`tsdl start: ${r.message}\n`);
      },
      ...extra,
      env: { ...kernelEnv(quick), ...extra.env },
    });
  } finally {
    sigint.dispose();
  }
  // Notebooks a Ctrl-C kept from running are listed as such.
  const ran = new Set(results.map((r) => r.file));
  const entries = [
    ...results.map((r) => ({
      name: r.name,
      title: r.title,
      status: r.status,
      durationSeconds: r.durationSeconds,
      htmlHref: r.htmlOut ? path.basename(r.htmlOut) : undefined,
      notebookHref: r.notebookOut ? path.basename(r.notebookOut) : undefined,
      message: r.message ? r.message.replace(`${r.file}: `, "") : undefined,
    })),
    ...files.filter((f) => !ran.has(f)).map((f) => ({ name: path.basename(f, ".ipynb"), status: "not run", message: "the run was interrupted first" })),
  ];
  const index = path.join(outDir, "index.html");
  try {
    writeFileAtomicSync(index, renderIndexHtml(entries, { generated: new Date().toISOString() }));
  } catch (err) {
    io.err.write(`tsdl start: ${(err as Error).message}\n`);
    return 1;
  }
  const failed = entries.filter((e) => e.status !== "ok");
  io.out.write(
    `\nreports: ${index}\n` +
      `${entries.length - failed.length} of ${entries.length} notebooks ok` +
      (failed.length ? `; failed: ${failed.map((e) => e.name).join(", ")}` : "") +
      "\n",
  );
  if (sigint.signal.aborted) return 130;
  return failed.length ? 1 : 0;
}
