/**
 * Progress of a notebook run: a cli-progress bar on a terminal (cell n of N, elapsed time),
 * plain lines when the output is not a terminal (CI logs, pipes). cli-progress is a maintained
 * library for the terminal part (redraws, cursor, width), which is easy to get subtly wrong.
 */
import { SingleBar, Presets } from "cli-progress";
import type { RunProgress } from "./run";

/** A progress reporter for one notebook at a time. */
export interface NotebookProgress extends RunProgress {
  /** Call once the notebook's run is over (stops a bar). */
  end(status: string, seconds: number): void;
}

/** Picks the bar on a TTY, lines otherwise. */
export function createProgress(name: string, stream: NodeJS.WriteStream | NodeJS.WritableStream = process.stderr): NotebookProgress {
  return (stream as NodeJS.WriteStream).isTTY ? barProgress(name, stream as NodeJS.WriteStream) : lineProgress(name, stream);
}

/**
 * Plain lines: one when the kernel starts, one per cell, none at the end (the caller prints the
 * result). A cell is named by its number among all cells, as the error line names it ("cell 8"),
 * followed by its place among the code cells that run ("code cell 6 of 7").
 */
export function lineProgress(name: string, stream: NodeJS.WritableStream): NotebookProgress {
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  return {
    starting(total) {
      stream.write(`${name}: starting the kernel, ${total} code cell${total === 1 ? "" : "s"} to run\n`);
    },
    cellDone(index, total, status, seconds, cellNumber) {
      stream.write(`${name}: cell ${cellNumber} ${status} in ${seconds.toFixed(1)} s (code cell ${index} of ${total}, elapsed ${elapsed()})\n`);
    },
    end() {},
  };
}

/** A cli-progress bar: "NAME [=====-----] code cell 3/12 | elapsed 0:14 (running cell 5)"; notes name cells as error lines do. */
export function barProgress(name: string, stream: NodeJS.WriteStream): NotebookProgress {
  const bar = new SingleBar(
    {
      format: `${name} [{bar}] code cell {value}/{total} | elapsed {duration_formatted} {note}`,
      stream,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      // Redraw the elapsed time while a long cell runs.
      fps: 2,
    },
    Presets.legacy,
  );
  let started = false;
  return {
    starting(total) {
      bar.start(total, 0, { note: "(starting the kernel)" });
      started = true;
    },
    cellStart(index, _total, cellNumber) {
      bar.update(index - 1, { note: `(running cell ${cellNumber})` });
    },
    cellDone(index, _total, status, _seconds, cellNumber) {
      bar.update(index, { note: status === "ok" ? "" : `(cell ${cellNumber}: ${status})` });
    },
    end(status) {
      if (!started) return;
      bar.update({ note: status === "ok" ? "" : `(${status})` });
      bar.stop();
    },
  };
}
