/**
 * The training chart: loss and accuracy side by side, training and validation curves in each, as
 * one figure. `dl.train.fit` redraws it in place while it trains; a `History` draws it at the end.
 */
import type { Figure } from "./figure";
import { line, subplots, type Series } from "./builders";

/** Per-epoch curves; validation values may be missing (no validation set). */
export interface TrainingCurves {
  loss: ArrayLike<number>;
  accuracy?: ArrayLike<number>;
  valLoss?: ArrayLike<number>;
  valAccuracy?: ArrayLike<number>;
}

/** Options of `trainingChart`. */
export interface TrainingChartOptions {
  /** The planned number of epochs: the x axis spans 0..epochs from the start, so it never rescales. */
  epochs?: number;
  /** The epoch in progress: its running training loss and accuracy, drawn at a fractional epoch. */
  partial?: { epoch: number; loss: number; accuracy?: number };
  title?: string;
  width?: number;
  height?: number;
}

/**
 * Loss and accuracy per epoch, training and validation, in two panels:
 * `plot.trainingChart({ loss, accuracy, valLoss, valAccuracy })`.
 * Introduced in notebook 05.
 */
export function trainingChart(curves: TrainingCurves, options: TrainingChartOptions = {}): Figure {
  const n = curves.loss.length;
  const epochsX = Array.from({ length: n }, (_, i) => i + 1);
  const xRange: [number, number] | undefined = options.epochs ? [0, Math.max(options.epochs, n)] : undefined;
  const mode = "lines+markers" as const;
  const panel = (title: string, train: ArrayLike<number> | undefined, val: ArrayLike<number> | undefined, partial: number | undefined): Figure | undefined => {
    if (!train && !val) return undefined;
    const series: Series[] = [];
    const tx = [...epochsX];
    const ty = Array.from(train ?? [], Number);
    if (partial !== undefined && options.partial && Number.isFinite(partial)) {
      tx.push(options.partial.epoch);
      ty.push(partial);
    }
    series.push({ name: "train", x: tx, y: ty, mode });
    if (val && val.length > 0) {
      series.push({ name: "validation", x: epochsX.slice(0, val.length), y: Array.from(val, Number), mode });
    }
    return line(series, { title, xLabel: "epoch", xRange });
  };
  const panels = [
    panel("loss", curves.loss, curves.valLoss, options.partial?.loss),
    panel("accuracy", curves.accuracy, curves.valAccuracy, options.partial?.accuracy),
  ].filter((p): p is Figure => p !== undefined);
  return subplots(panels, { cols: 2, title: options.title, width: options.width, height: options.height ?? 340 });
}
