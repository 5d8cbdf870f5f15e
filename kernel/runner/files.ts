/**
 * Running notebook files: each one through `runNotebook`, then the executed notebook (validated,
 * atomic) and, if asked, its HTML report written to the output folder. Shared by `tsdl run` and
 * `tsdl start` (`npm start`).
 */
import * as path from "node:path";
import { KernelClient } from "../client";
import { readNotebook, writeNotebook } from "../nbformat/io";
import { writeReport } from "../report/index";
import { notebookTitle } from "../report/render";
import { childCpuSeconds } from "./cpu";
import { createProgress, type NotebookProgress } from "./progress";
import { foreignKernelspec, notebookCwd, runNotebook, type RunOptions, type RunStatus } from "./run";

/** The outcome of one notebook file. */
export interface FileResult {
  file: string;
  /** File name without `.ipynb`. */
  name: string;
  title?: string;
  /** "ok", a run status, or "failed" when the notebook could not be read or written. */
  status: RunStatus | "failed";
  durationSeconds: number;
  /**
   * CPU seconds (user + system) of the notebook's kernel process, from its start to its exit;
   * absent where the system does not say (not Linux). Beside the wall time it shows how much of a
   * slow run was the machine's load.
   */
  kernelCpuSeconds?: number;
  /** Where the executed notebook and the report were written (absent if writing failed). */
  notebookOut?: string;
  htmlOut?: string;
  /** The one-line failure message (notebook, cell number, error), absent when ok. */
  message?: string;
  /** One line per cell error that --allow-errors ran past. */
  notes?: string[];
  kernelPid?: number;
}

/** Options of `runFiles`. */
export interface RunFilesOptions extends Omit<RunOptions, "cwd" | "progress" | "prestarted" | "onKernelReady"> {
  outDir: string;
  /**
   * Start each notebook's kernel while the notebook before it runs, once that one's kernel is
   * ready, and the second notebook's beside the first's (default true). A kernel start is ~5 s
   * of one core on the quiet 2-core machine, ~10 s under load, and a notebook's cells mostly
   * leave the second core idle; the waiting kernel uses no CPU (0.17 CPU s in 10 s, measured).
   * Each notebook still gets a fresh kernel of its own.
   */
  prestart?: boolean;
  html?: boolean;
  /** Where progress goes (default stderr): a bar on a TTY, lines otherwise. */
  progressStream?: NodeJS.WritableStream;
  /** Makes a reporter per notebook (tests inject one). */
  progress?: (name: string) => NotebookProgress;
  /** Called after each notebook is written. */
  onResult?(result: FileResult): void;
  /** Called once per notebook, before it runs, with a warning such as a Python kernelspec (default: a line on the progress stream). */
  onWarning?(message: string): void;
}

/** Runs each notebook in turn (a fresh kernel each); stops early only when `signal` is aborted. */
export async function runFiles(files: string[], options: RunFilesOptions): Promise<FileResult[]> {
  const results: FileResult[] = [];
  // The kernel started ahead for files[i + 1], if any; whoever does not use it closes it.
  let next: Promise<KernelClient> | undefined;
  try {
    for (let i = 0; i < files.length; i++) {
      if (options.signal?.aborted) break;
      const prestarted = next;
      next = undefined;
      const following = files[i + 1];
      const startNext =
        options.prestart === false || following === undefined
          ? undefined
          : () => {
              if (next || options.signal?.aborted) return;
              next = KernelClient.start({ ...options.kernel, cwd: notebookCwd(following), env: options.env });
              next.catch(() => undefined); // a start that fails is reported by the run that awaits it
            };
      // A notebook that starts its own kernel (the first) has the next one start beside it: a
      // kernel's start is mostly one thread, and the first notebook (00, a smoke test) runs for
      // about a second once ready, less than the next kernel's start.
      if (!prestarted) startNext?.();
      try {
        const result = await runFile(files[i], options, prestarted, startNext);
        results.push(result);
        options.onResult?.(result);
      } finally {
        // A notebook that could not be read never took its kernel (close is safe twice).
        if (prestarted) await closeStarted(prestarted);
      }
    }
  } finally {
    if (next) await closeStarted(next);
  }
  return results;
}

async function closeStarted(kernel: Promise<KernelClient>): Promise<void> {
  try {
    await (await kernel).close({ graceMs: 5000 });
  } catch {
    // it never started: nothing to close
  }
}

async function runFile(file: string, options: RunFilesOptions, prestarted?: Promise<KernelClient>, onKernelReady?: () => void): Promise<FileResult> {
  const name = path.basename(file).replace(/\.ipynb$/i, "");
  const base: FileResult = { file, name, status: "failed", durationSeconds: 0 };
  let source;
  try {
    source = readNotebook(file);
  } catch (err) {
    return { ...base, message: `${file}: ${(err as Error).message.replace(`${file}: `, "")}` };
  }
  base.title = notebookTitle(source, file);
  const foreign = foreignKernelspec(source);
  if (foreign) {
    const message = `${file}: ${foreign}`;
    if (options.onWarning) options.onWarning(message);
    else (options.progressStream ?? process.stderr).write(`warning: ${message}\n`);
  }
  const progress = options.progress?.(name) ?? createProgress(name, options.progressStream ?? process.stderr);
  let run;
  const cpuBefore = childCpuSeconds();
  try {
    run = await runNotebook(source, { ...options, cwd: notebookCwd(file), progress, prestarted, onKernelReady });
  } catch (err) {
    progress.end("failed", 0);
    return { ...base, message: `${file}: the kernel could not be started: ${(err as Error).message}` };
  }
  progress.end(run.status, run.durationSeconds);
  const result: FileResult = { ...base, status: run.status, durationSeconds: run.durationSeconds, kernelPid: run.kernelPid };
  const cpuAfter = childCpuSeconds();
  if (cpuBefore !== undefined && cpuAfter !== undefined) result.kernelCpuSeconds = cpuAfter - cpuBefore;
  if (run.status !== "ok") {
    const where = run.failedCell !== undefined ? `cell ${run.failedCell}` : "before the first cell";
    result.message = `${file}: ${where}: ${run.error ?? run.status}`;
  } else if (run.errors.length > 0) {
    result.notes = run.errors.map((e) => `${file}: cell ${e.cell}: ${e.error} (run past with --allow-errors)`);
  }
  const notebookOut = path.join(options.outDir, `${name}.ipynb`);
  try {
    writeNotebook(notebookOut, run.notebook);
    result.notebookOut = notebookOut;
    if (options.html) {
      const htmlOut = path.join(options.outDir, `${name}.html`);
      writeReport(run.notebook, htmlOut, { fileName: path.basename(file) });
      result.htmlOut = htmlOut;
    }
  } catch (err) {
    result.status = "failed";
    result.message = `${result.message ? result.message + "; and " : `${file}: `}${(err as Error).message}`;
  }
  return result;
}
