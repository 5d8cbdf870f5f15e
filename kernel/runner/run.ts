/**
 * Executing one notebook headless through the tsdl kernel: start a kernel from a fresh connection
 * file (straight from the package, no kernelspec needed), run each code cell in order over
 * ZeroMQ, collect outputs as Jupyter does, and always shut the kernel down.
 *
 * Failures, as the runner issue asks:
 * - an error in a cell stops the run unless `allowErrors` (the outputs so far are kept);
 * - a cell that runs past `timeoutSeconds` is interrupted and recorded as an error, and the run stops;
 * - an abort (Ctrl-C in `tsdl run`) interrupts the running cell and stops;
 * - a kernel that dies is reported with the cell that was running;
 * and in every case the kernel process is gone when `runNotebook` returns.
 */
import * as path from "node:path";
import { KernelClient, KernelDiedError, type KernelStartOptions } from "../client";
import { DISPLAY_NAME, KERNEL_NAME } from "../kernelspec";
import type { IopubMessage } from "../protocol";
import { joinText, type CodeCell, type ErrorOutput, type LanguageInfo, type Notebook } from "../nbformat/types";
import type { RunSummary } from "../report/render";
import { stripAnsi } from "../report/text";
import { OutputCollector, DEFAULT_MAX_OUTPUT_CHARS, DEFAULT_MAX_STREAM_CHARS } from "./outputs";
import { WidgetStateCollector } from "./widgets";

/** How a run ended. */
export type RunStatus = RunSummary["status"];

/** Hooks for progress display; every one optional. */
export interface RunProgress {
  /** The kernel is starting; `total` code cells will run. */
  starting?(total: number): void;
  /** Code cell `index` (1-based, of `total`) begins; `cellNumber` is its 1-based place among all cells. */
  cellStart?(index: number, total: number, cellNumber: number): void;
  /** Code cell `index` ended with this status; `cellNumber` as in `cellStart` (the number error lines use). */
  cellDone?(index: number, total: number, status: "ok" | "error", seconds: number, cellNumber: number): void;
}

/** Options of `runNotebook`. */
export interface RunOptions {
  /** Interrupt a cell that runs longer than this, record an error, stop. Default: no limit. */
  timeoutSeconds?: number;
  /** Keep going after a cell error: errors are recorded in the cells and in `errors`, and the status stays "ok". */
  allowErrors?: boolean;
  /** The kernel's working directory (a notebook's folder, as in Jupyter). Default: this process's cwd. */
  cwd?: string;
  /** Extra environment variables for the kernel, over this process's (so `TSDL_QUICK` passes through). */
  env?: NodeJS.ProcessEnv;
  /** Aborting interrupts the running cell and ends the run with status "interrupted". */
  signal?: AbortSignal;
  progress?: RunProgress;
  /** Per stream output (and per error evalue / traceback); default `DEFAULT_MAX_STREAM_CHARS`. */
  maxStreamChars?: number;
  /** Per display_data / execute_result bundle; default `DEFAULT_MAX_OUTPUT_CHARS`. */
  maxOutputChars?: number;
  /** How long the kernel may take to start and load its preload (before the first cell). Default 120 s. */
  startupTimeoutSeconds?: number;
  /** How long to wait for the kernel to stop a cell after an interrupt. Default 10 s. */
  interruptGraceMs?: number;
  /** Passed to `KernelClient.start` (tests use `argv` to start another kernel). */
  kernel?: Omit<KernelStartOptions, "cwd" | "env">;
  /** Called with the kernel's pid once it has started (tests check it is gone afterwards). */
  onKernelStarted?(pid: number | undefined): void;
  /**
   * A kernel started ahead for this run (by `runFiles`, while the notebook before it ran), with
   * this run's `cwd`, `env` and `kernel` options; used instead of starting one here, and closed
   * at the end like one started here. A rejected promise is a kernel that could not start.
   */
  prestarted?: Promise<KernelClient>;
  /** Called once the kernel has loaded its preload, before the first cell (`runFiles` then starts the next notebook's kernel). */
  onKernelReady?(): void;
}

/** What `runNotebook` returns. The notebook is always the one executed, outputs included. */
export interface RunResult {
  notebook: Notebook;
  status: RunStatus;
  durationSeconds: number;
  /** 1-based number, among all cells, of the cell that ended the run (absent when it ran to the end). */
  failedCell?: number;
  /** "TypeError: boom" for that cell. */
  error?: string;
  /** Every cell that failed, including those `allowErrors` ran past. */
  errors: { cell: number; error: string }[];
  /** Code cells executed. */
  executed: number;
  kernelPid?: number;
}

/** The tsdl kernelspec as recorded in a notebook's metadata. */
export const KERNELSPEC_METADATA = { name: KERNEL_NAME, display_name: DISPLAY_NAME, language: "typescript" };

/** The TypeScript names a notebook's kernelspec or language_info may give. */
const TYPESCRIPT = new Set(["typescript", "ts"]);

/**
 * Why a notebook's metadata says it is not a TypeScript notebook (its kernelspec names another
 * language, say Python), or undefined. `tsdl run` warns with this before running it as TypeScript.
 */
export function foreignKernelspec(nb: Notebook): string | undefined {
  const spec = nb.metadata.kernelspec;
  const language = String(spec?.language || nb.metadata.language_info?.name || "").trim();
  if (!language || TYPESCRIPT.has(language.toLowerCase())) return undefined;
  const named = spec?.name ? `kernelspec "${spec.name}"${spec.display_name ? ` (${spec.display_name})` : ""}` : "language_info";
  return `its ${named} names the language ${JSON.stringify(language)}, not TypeScript; running its cells as TypeScript in the tsdl kernel anyway`;
}

/**
 * Executes every code cell of `source` (a deep copy is made) and returns the executed notebook.
 * Never throws for cell errors, timeouts, aborts, a kernel that cannot start or dies: those are
 * statuses, and the notebook returned holds whatever ran.
 */
export async function runNotebook(source: Notebook, options: RunOptions = {}): Promise<RunResult> {
  const nb = structuredClone(source);
  const t0 = performance.now();
  const started = new Date().toISOString();
  const collector = new OutputCollector(options.maxStreamChars ?? DEFAULT_MAX_STREAM_CHARS, options.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS);
  const codeCells: { cell: CodeCell; number: number }[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    // Like "Restart & Run All": no stale outputs, even in cells a failed run never reaches.
    cell.outputs = [];
    cell.execution_count = null;
    delete cell.metadata.execution;
    if (joinText(cell.source).trim() !== "") codeCells.push({ cell, number: i + 1 });
  });
  nb.metadata.kernelspec = { ...KERNELSPEC_METADATA };

  const result: RunResult = { notebook: nb, status: "ok", durationSeconds: 0, errors: [], executed: 0 };
  const widgets = new WidgetStateCollector();
  const finish = (): RunResult => {
    // The widgets' last state, as nbclient stores it (or none: no stale state from the source).
    widgets.store(nb.metadata as Record<string, unknown>);
    result.durationSeconds = (performance.now() - t0) / 1000;
    const summary: RunSummary = { status: result.status, started, duration_s: Math.round(result.durationSeconds * 1000) / 1000 };
    if (result.failedCell !== undefined) summary.failed_cell = result.failedCell;
    if (result.error !== undefined) summary.error = result.error;
    if (result.errors.length > 0) summary.errors = result.errors;
    nb.metadata.tsdl = { ...((nb.metadata.tsdl as object | undefined) ?? {}), run: summary };
    return result;
  };

  options.progress?.starting?.(codeCells.length);
  if (options.signal?.aborted) {
    result.status = "interrupted";
    return finish();
  }
  let kernel: KernelClient;
  try {
    kernel = await (options.prestarted ?? KernelClient.start({ ...options.kernel, cwd: options.cwd, env: options.env }));
  } catch (err) {
    result.status = "died";
    result.error = oneLine("KernelStartError", `the kernel could not be started: ${(err as Error).message}`);
    return finish();
  }
  result.kernelPid = kernel.pid;
  options.onKernelStarted?.(kernel.pid);
  kernel.onIopubMessage((m) => widgets.handle(m));
  try {
    try {
      const info = await kernel.request("shell", "kernel_info_request", {}, { timeoutMs: 30_000 });
      nb.metadata.language_info = info.content.language_info as LanguageInfo;
      // The kernel answers kernel_info at once but loads TensorFlow.js and TypeScript before its
      // first cell; wait for that with a silent empty execution, so that start-up time is not
      // charged to the first cell's --timeout.
      const ready = await kernel.execute("", { silent: true, storeHistory: false, timeoutMs: (options.startupTimeoutSeconds ?? 120) * 1000 });
      if (ready.status !== "ok") throw new Error(`its start-up failed: ${oneLine(ready.error?.ename, ready.error?.evalue)}`);
      options.onKernelReady?.();
    } catch (err) {
      result.status = "died";
      result.error = oneLine("KernelStartError", `the kernel did not get ready: ${(err as Error).message}`);
      return finish();
    }

    for (let i = 0; i < codeCells.length; i++) {
      if (options.signal?.aborted) {
        result.status = "interrupted";
        result.error = "KeyboardInterrupt: the run was stopped (Ctrl-C) before this cell";
        result.failedCell = codeCells[i].number;
        break;
      }
      const { cell, number } = codeCells[i];
      options.progress?.cellStart?.(i + 1, codeCells.length, number);
      const c0 = performance.now();
      const outcome = await runCell(kernel, cell, collector, options);
      result.executed++;
      const failed = outcome.status !== "ok";
      options.progress?.cellDone?.(i + 1, codeCells.length, failed ? "error" : "ok", (performance.now() - c0) / 1000, number);
      if (!failed) continue;
      const error = outcome.error ?? "error";
      result.errors.push({ cell: number, error });
      // With --allow-errors a cell error is recorded and the run goes on (as nbclient's
      // allow_errors); timeouts, interrupts and a dead kernel always end the run.
      if (outcome.status === "error" && options.allowErrors) continue;
      result.status = outcome.status;
      result.failedCell = number;
      result.error = error;
      break;
    }
  } finally {
    collector.finishCell();
    await kernel.close({ graceMs: 5000 });
  }
  return finish();
}

interface CellOutcome {
  status: "ok" | "error" | "timeout" | "interrupted" | "died";
  error?: string;
}

async function runCell(kernel: KernelClient, cell: CodeCell, collector: OutputCollector, options: RunOptions): Promise<CellOutcome> {
  collector.beginCell(cell);
  const timing: Record<string, string> = {};
  cell.metadata.execution = timing;
  const onIopub = (msg: IopubMessage) => {
    const type = msg.header.msg_type;
    if (type === "status") {
      const state = (msg.content as { execution_state?: string }).execution_state;
      if (state === "busy" || state === "idle") timing[`iopub.status.${state}`] = msg.header.date;
    } else if (type === "execute_input") timing["iopub.execute_input"] = msg.header.date;
    collector.handle(msg);
  };
  const request = kernel.executeRequest(joinText(cell.source), { stopOnError: !options.allowErrors });
  const running = kernel.executeMessage(request, { onIopub });
  running.catch(() => undefined); // observed below; never an unhandled rejection

  // Wait for the cell, a timeout, or an abort, whichever comes first.
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<"timeout" | "interrupted">((resolve) => {
    if (options.timeoutSeconds !== undefined && options.timeoutSeconds > 0) {
      timer = setTimeout(() => resolve("timeout"), options.timeoutSeconds * 1000);
    }
    if (options.signal) {
      onAbort = () => resolve("interrupted");
      if (options.signal.aborted) onAbort();
      else options.signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    const first = await Promise.race([running.then(() => "done" as const, () => "done" as const), stop]);
    if (first === "done") {
      try {
        const outcome = await running;
        timing["shell.execute_reply"] = outcome.reply.header.date;
        if (outcome.status === "ok") return { status: "ok" };
        if (outcome.error) return { status: "error", error: oneLine(outcome.error.ename, outcome.error.evalue) };
        // An error reply without an error output (or an "aborted" reply): record it in the cell.
        const reply = outcome.reply.content as { ename?: string; evalue?: string; traceback?: string[] };
        const ename = reply.ename ?? (outcome.status === "aborted" ? "Aborted" : "Error");
        const evalue = reply.evalue ?? `the kernel answered ${outcome.status}`;
        collector.addOutput({ output_type: "error", ename, evalue, traceback: reply.traceback ?? [`${ename}: ${evalue}`] });
        return { status: "error", error: oneLine(ename, evalue) };
      } catch (err) {
        return died(err, collector);
      }
    }
    // Timeout or Ctrl-C: interrupt the kernel and give it a moment to end the cell properly.
    const grace = options.interruptGraceMs ?? 10_000;
    let interruptProblem = "";
    try {
      await kernel.interrupt("message", Math.min(grace, 5000));
    } catch (err) {
      interruptProblem = ` (the interrupt failed: ${(err as Error).message})`;
    }
    let graceTimer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      running.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((r) => (graceTimer = setTimeout(() => r(false), grace))),
    ]);
    clearTimeout(graceTimer);
    const what =
      first === "timeout"
        ? `the cell ran longer than the ${options.timeoutSeconds} s timeout (--timeout) and was interrupted`
        : "the run was stopped (Ctrl-C) and the cell was interrupted";
    const tail = ended ? "" : `; the kernel did not stop the cell within ${grace / 1000} s of the interrupt and was shut down`;
    collector.addOutput(runnerError(first === "timeout" ? "CellTimeoutError" : "KeyboardInterrupt", what + interruptProblem + tail));
    return { status: first, error: oneLine(first === "timeout" ? "CellTimeoutError" : "KeyboardInterrupt", what) };
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
  }
}

function died(err: unknown, collector: OutputCollector): CellOutcome {
  if (!(err instanceof KernelDiedError)) {
    collector.addOutput(runnerError("RunnerError", (err as Error).message ?? String(err)));
    return { status: "died", error: oneLine("RunnerError", (err as Error).message) };
  }
  const how = err.signal ? `signal ${err.signal}` : `exit code ${err.exitCode}`;
  const evalue = `the kernel died while running this cell (${how})`;
  const tail = err.stderr.trim().split("\n").slice(-20);
  collector.addOutput({ output_type: "error", ename: "KernelDied", evalue, traceback: [`KernelDied: ${evalue}`, ...(tail.length && tail[0] ? ["", "the kernel's last output:", ...tail] : [])] });
  return { status: "died", error: oneLine("KernelDied", evalue) };
}

function runnerError(ename: string, evalue: string): ErrorOutput {
  return { output_type: "error", ename, evalue, traceback: [`${ename}: ${evalue}`] };
}

/** "ename: evalue" on one line, ANSI codes removed, at most 300 characters. */
export function oneLine(ename: string | undefined, evalue: string | undefined): string {
  const s = stripAnsi(`${ename ?? "Error"}${evalue ? `: ${evalue}` : ""}`).replace(/\s*\n\s*/g, " ").trim();
  return s.length > 300 ? s.slice(0, 297) + "..." : s;
}

/** The folder a notebook's kernel runs in: the notebook's own folder, as Jupyter does. */
export function notebookCwd(file: string): string {
  return path.dirname(path.resolve(file));
}
