/**
 * How `fit` shows its progress. In a notebook: ONE plotly chart of loss and accuracy and one
 * progress line, each a display that is updated in place (`update_display_data`), never a new
 * output per epoch. In a terminal: a progress bar per epoch and one line per epoch. Reporters are
 * injectable, so tests observe them and `reporter: "none"` silences training.
 */
import { SingleBar } from "cli-progress";
import { display, escapeHtml, inNotebook, JUPYTER_DISPLAY, type DisplayHandle, type MimeBundle } from "../display";
import type { EpochLog, History } from "./history";

/** What a reporter learns when training starts. */
export interface FitStart {
  epochs: number;
  batchesPerEpoch: number;
  samples: number;
  valSamples: number;
  history: History;
}

/** Progress inside an epoch. */
export interface BatchProgress {
  /** 1-based. */
  epoch: number;
  epochs: number;
  /** Batches done in this epoch. */
  batch: number;
  batches: number;
  /** Running mean loss and accuracy over this epoch's batches so far. */
  loss: number;
  accuracy: number;
  /** Seconds since this epoch started. */
  elapsed: number;
}

/** Receives training progress from `fit`. */
export interface FitReporter {
  start(info: FitStart): void;
  /** Every `liveEvery` batches and after an epoch's last batch. */
  batch(progress: BatchProgress, history: History): void;
  /** After each epoch, once validation is done and the log is in `history`. */
  epoch(log: EpochLog, history: History): void;
  /** When training ends, normally or by early stopping. */
  end(history: History): void;
  /** When training stops on an error (the error is then thrown to the caller); stop bars, say where it stopped. */
  fail?(error: unknown, history: History): void;
}

/** A reporter that shows nothing (`reporter: "none"`). Introduced in notebook 05. */
export const silentReporter: FitReporter = { start() {}, batch() {}, epoch() {}, end() {} };

function pct(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "—" : `${(v * 100).toFixed(2)}%`;
}

function num(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(4);
}

/** One line per epoch: `epoch 3/10  loss 0.2140  acc 93.61%  …  11.2 s`. Introduced in notebook 05. */
export function formatEpoch(log: EpochLog, epochs: number): string {
  const parts = [
    `epoch ${String(log.epoch).padStart(String(epochs).length)}/${epochs}`,
    `loss ${num(log.loss)}`,
    `acc ${pct(log.accuracy)}`,
    `last batch loss ${num(log.lastBatchLoss)}`,
  ];
  if (log.valLoss !== undefined) parts.push(`val_loss ${num(log.valLoss)}`, `val_acc ${pct(log.valAccuracy)}`);
  parts.push(`${log.time.toFixed(1)} s`);
  return parts.join("  ");
}

/** The progress line of the notebook view, as a displayable (HTML progress bar and text). */
class ProgressLine {
  constructor(readonly text: string, readonly fraction: number) {}
  [JUPYTER_DISPLAY](): MimeBundle {
    const value = Math.round(Math.min(1, Math.max(0, this.fraction)) * 1000);
    return {
      "text/html": `<div class="tsdl-progress" style="font:13px monospace"><progress value="${value}" max="1000" style="width:200px;vertical-align:middle"></progress> ${escapeHtml(this.text)}</div>`,
      "text/plain": this.text,
    };
  }
}

function progressText(p: BatchProgress): string {
  const rate = p.elapsed > 0 ? p.batch / p.elapsed : 0;
  const eta = rate > 0 ? (p.batches - p.batch) / rate : NaN;
  return (
    `epoch ${p.epoch}/${p.epochs}  batch ${p.batch}/${p.batches}  loss ${num(p.loss)}  acc ${pct(p.accuracy)}  ` +
    `${p.elapsed.toFixed(1)} s` + (Number.isFinite(eta) ? `, epoch ends in ~${eta.toFixed(0)} s` : "")
  );
}

/**
 * The notebook view: one chart and one progress line, created at the start and then only updated
 * through their display ids. Introduced in notebook 05.
 */
export function notebookReporter(options: { display?: typeof display } = {}): FitReporter {
  const show = options.display ?? display;
  let chart: DisplayHandle | undefined;
  let progress: DisplayHandle | undefined;
  let epochs = 0;
  return {
    start(info) {
      epochs = info.epochs;
      chart = show(info.history.chart(), { id: true });
      progress = show(new ProgressLine(`training: ${info.epochs} epochs of ${info.batchesPerEpoch} batches (${info.samples} examples${info.valSamples ? `, ${info.valSamples} for validation` : ""})`, 0), { id: true });
    },
    batch(p, history) {
      chart?.update(history.chart({ partial: { epoch: p.epoch - 1 + p.batch / p.batches, loss: p.loss, accuracy: p.accuracy } }));
      progress?.update(new ProgressLine(progressText(p), (p.epoch - 1 + p.batch / p.batches) / p.epochs));
    },
    epoch(log, history) {
      chart?.update(history.chart());
      progress?.update(new ProgressLine(formatEpoch(log, epochs), log.epoch / epochs));
    },
    end(history) {
      const last = history.last;
      const stop = history.stoppedEpoch !== undefined ? `, early stopping after epoch ${history.stoppedEpoch}` + (history.restoredEpoch !== undefined ? ` (weights of epoch ${history.restoredEpoch} restored)` : "") : "";
      const text = last
        ? `done: ${history.epochs.length} epochs in ${history.totalTime.toFixed(1)} s${stop}; last ${formatEpoch(last, epochs)}`
        : "done: no epochs";
      chart?.update(history.chart());
      progress?.update(new ProgressLine(text, 1));
    },
    fail(error, history) {
      const done = history.epochs.length;
      const msg = error instanceof Error ? error.message : String(error);
      progress?.update(new ProgressLine(`stopped after ${done} of ${epochs} epochs: ${msg}`, done / Math.max(1, epochs)));
    },
  };
}

/** Options of `terminalReporter`. */
export interface TerminalReporterOptions {
  /** Where the bar is drawn (default stderr); the bar is drawn only on a TTY. */
  stream?: NodeJS.WritableStream;
  /** Where the per-epoch lines go (default console.log). */
  log?: (line: string) => void;
}

/**
 * The terminal view: a progress bar during each epoch (drawn by cli-progress, a well-kept library
 * that handles TTY detection, redraw throttling and terminal width, so we do not hand-write ANSI
 * cursor control) and one line per epoch. Introduced in notebook 05 (for scripts).
 */
export function terminalReporter(options: TerminalReporterOptions = {}): FitReporter {
  const log = options.log ?? ((line: string) => console.log(line));
  const stream = options.stream ?? process.stderr;
  let bar: SingleBar | undefined;
  let epochs = 0;
  let batches = 0;
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    start(info) {
      epochs = info.epochs;
      batches = info.batchesPerEpoch;
    },
    batch(p) {
      if (!bar) {
        bar = new SingleBar({
          stream,
          format: `epoch ${p.epoch}/${p.epochs} [{bar}] {value}/{total} batches | loss {loss} | acc {acc} | {duration}s`,
          hideCursor: false,
          clearOnComplete: true,
          barsize: 24,
        });
        bar.start(batches, 0, { loss: "—", acc: "—" });
      }
      bar.update(p.batch, { loss: num(p.loss), acc: pct(p.accuracy) });
    },
    epoch(logLine) {
      stopBar();
      log(formatEpoch(logLine, epochs));
    },
    fail() {
      stopBar();
    },
    end(history) {
      stopBar();
      if (history.stoppedEpoch !== undefined) {
        log(`early stopping after epoch ${history.stoppedEpoch}` + (history.restoredEpoch !== undefined ? `; weights restored from epoch ${history.restoredEpoch}` : ""));
      }
    },
  };
}

/** The reporter `fit` uses by default: the notebook view inside the tsdl kernel, else the terminal one. Introduced in notebook 05. */
export function autoReporter(): FitReporter {
  return inNotebook() ? notebookReporter() : terminalReporter();
}
