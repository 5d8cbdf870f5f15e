/**
 * The record of a training run: one entry per epoch (loss, accuracy, validation loss and accuracy,
 * time), how it ended (early stopping, best epoch) and what it needs to be repeated (seed,
 * backend). It renders itself as the training chart and a table.
 */
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display";
import type { Figure } from "../plot/figure";
import { Table } from "../plot/table";
import { trainingChart } from "../plot/training";

/** The figures of one epoch. */
export interface EpochLog {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch's batches (dropout active, weights changing), as PyTorch and Keras report it. */
  loss: number;
  /** Training accuracy over the epoch's batches, measured in the same forward passes. */
  accuracy: number;
  /** The loss of the epoch's last batch (what the article's program prints). */
  lastBatchLoss: number;
  /** Loss on the validation set after the epoch, in inference mode (no dropout). */
  valLoss?: number;
  valAccuracy?: number;
  /** Seconds the epoch took, validation included. */
  time: number;
  /** Examples seen in the epoch. */
  samples: number;
}

/** The metrics early stopping and checkpoints can watch. */
export type Monitor = "loss" | "accuracy" | "val_loss" | "val_accuracy";

/** The value of `monitor` in one epoch's log. Introduced in notebook 06 (early stopping). */
export function monitored(log: EpochLog, monitor: Monitor): number | undefined {
  switch (monitor) {
    case "loss": return log.loss;
    case "accuracy": return log.accuracy;
    case "val_loss": return log.valLoss;
    case "val_accuracy": return log.valAccuracy;
  }
}

/** What a `History` knows besides its epochs. */
export interface HistoryInfo {
  /** The seed that shuffled the batches and drew the dropout masks: pass it again to repeat the run. */
  seed: number;
  epochsPlanned: number;
  batchSize: number;
  optimizer: string;
  learningRate: number;
  loss: string;
  /** The tfjs backend that ran it (seeded runs repeat exactly on the same backend). */
  backend: string;
}

/** A training run's per-epoch figures; renders as a chart and a table. Introduced in notebook 05. */
export class History implements Displayable {
  readonly epochs: EpochLog[] = [];
  /** Set when early stopping ended the run: the epoch after which it stopped. */
  stoppedEpoch: number | undefined;
  /** The epoch whose weights the model holds at the end when early stopping restored the best ones. */
  restoredEpoch: number | undefined;
  /** The best epoch by the early-stopping monitor, if one was watched. */
  bestEpoch: number | undefined;

  constructor(readonly info: HistoryInfo) {}

  /** Per-epoch training loss. */
  get loss(): number[] {
    return this.epochs.map((e) => e.loss);
  }
  get accuracy(): number[] {
    return this.epochs.map((e) => e.accuracy);
  }
  /** Per-epoch validation loss (empty without a validation set). */
  get valLoss(): number[] {
    return this.epochs.filter((e) => e.valLoss !== undefined).map((e) => e.valLoss!);
  }
  get valAccuracy(): number[] {
    return this.epochs.filter((e) => e.valAccuracy !== undefined).map((e) => e.valAccuracy!);
  }
  /** Per-epoch seconds. */
  get time(): number[] {
    return this.epochs.map((e) => e.time);
  }
  /** Total seconds. */
  get totalTime(): number {
    return this.time.reduce((a, b) => a + b, 0);
  }

  /** The last epoch's figures. */
  get last(): EpochLog | undefined {
    return this.epochs[this.epochs.length - 1];
  }

  /** The loss and accuracy chart (plotly, with an SVG fallback). */
  chart(options: { partial?: { epoch: number; loss: number; accuracy?: number }; title?: string } = {}): Figure {
    return trainingChart(
      { loss: this.loss, accuracy: this.accuracy, valLoss: this.valLoss, valAccuracy: this.valAccuracy },
      { epochs: this.info.epochsPlanned, partial: options.partial, title: options.title },
    );
  }

  /** One row per epoch. */
  table(): Table {
    const hasVal = this.epochs.some((e) => e.valLoss !== undefined);
    const f4 = (v: number) => v.toFixed(4);
    const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
    const columns = [
      { title: "epoch" },
      { title: "loss", format: f4 },
      { title: "accuracy", format: pct },
      ...(hasVal ? [{ title: "val loss", format: f4 }, { title: "val accuracy", format: pct }] : []),
      { title: "time", format: (v: number) => `${v.toFixed(1)} s` },
    ];
    const rows = this.epochs.map((e) => [
      e.epoch, e.loss, e.accuracy, ...(hasVal ? [e.valLoss, e.valAccuracy] : []), e.time,
    ]);
    const footer = [
      `${this.info.optimizer} lr ${this.info.learningRate}, batch ${this.info.batchSize}, ${this.info.loss}, seed ${this.info.seed}, backend ${this.info.backend}, ${this.totalTime.toFixed(1)} s in all`,
    ];
    if (this.stoppedEpoch !== undefined) {
      footer.push(`early stopping after epoch ${this.stoppedEpoch}` + (this.restoredEpoch !== undefined ? `; weights restored from epoch ${this.restoredEpoch}` : ""));
    }
    return new Table(columns, rows, { footer });
  }

  /** The epochs as plain objects (for JSON). */
  toJSON(): { info: HistoryInfo; epochs: EpochLog[]; stoppedEpoch?: number; restoredEpoch?: number; bestEpoch?: number } {
    return { info: this.info, epochs: this.epochs, stoppedEpoch: this.stoppedEpoch, restoredEpoch: this.restoredEpoch, bestEpoch: this.bestEpoch };
  }

  toString(): string {
    return this.table().toText();
  }

  /**
   * The chart (static SVG) above the table, as HTML; the table as text. The live plotly chart is
   * the one `fit` drew while training; `history.chart()` gives a plotly one again.
   */
  [JUPYTER_DISPLAY](): MimeBundle {
    const chart = this.epochs.length > 0 ? this.chart().toSvg() : "";
    return { "text/html": `<div class="tsdl-history">${chart}${this.table().toHtml()}</div>`, "text/plain": this.table().toText() };
  }
}
