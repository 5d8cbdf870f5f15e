/**
 * `dl.summary(model)`: each layer with its output shape and parameter count, and the totals, as a
 * table that renders itself (text and HTML), like Keras's `model.summary()`.
 */
import type * as tf from "@tensorflow/tfjs";
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display";
import { Table, formatNumber } from "../plot/table";

/** One row of a model summary. */
export interface LayerSummary {
  name: string;
  /** The layer's class, e.g. "Dense". */
  type: string;
  /** Output shape with `null` for the batch dimension. */
  outputShape: (number | null)[] | (number | null)[][];
  params: number;
  trainable: boolean;
}

/** A model's layers and parameter counts; renders as a table. */
export class ModelSummary implements Displayable {
  constructor(
    readonly name: string,
    readonly layers: LayerSummary[],
    /** Parameters updated by training. */
    readonly trainableParams: number,
    /** Parameters training leaves alone (frozen layers, running statistics). */
    readonly nonTrainableParams: number,
  ) {}

  /** All parameters. */
  get totalParams(): number {
    return this.trainableParams + this.nonTrainableParams;
  }

  /** The summary as a `Table`. */
  table(): Table {
    const shape = (s: LayerSummary["outputShape"]) => JSON.stringify(s).replace(/,/g, ", ");
    return new Table(
      ["Layer", "Type", "Output shape", "Params"],
      this.layers.map((l) => [l.name, l.type, shape(l.outputShape), l.params]),
      {
        title: `Model: ${this.name}`,
        footer: [
          `Total params: ${formatNumber(this.totalParams)}`,
          `Trainable params: ${formatNumber(this.trainableParams)}`,
          `Non-trainable params: ${formatNumber(this.nonTrainableParams)}`,
        ],
      },
    );
  }

  toText(): string {
    return this.table().toText();
  }

  toHtml(): string {
    return this.table().toHtml();
  }

  toString(): string {
    return this.toText();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return { "text/html": this.toHtml(), "text/plain": this.toText() };
  }
}

function countOf(weights: tf.LayerVariable[]): number {
  return weights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

/**
 * A table of a model's layers, output shapes and parameter counts (the article's MLP has 235,146).
 * Introduced in notebook 05.
 */
export function summary(model: tf.LayersModel): ModelSummary {
  if (!model || !Array.isArray((model as { layers?: unknown }).layers)) {
    throw new Error(`summary: expected a tfjs LayersModel (from dl.models.mlp(), tf.sequential() or tf.model()), found ${model === null ? "null" : typeof model}`);
  }
  const layers = model.layers.map((l): LayerSummary => ({
    name: l.name,
    type: l.getClassName(),
    outputShape: l.outputShape as LayerSummary["outputShape"],
    params: l.countParams(),
    trainable: l.trainable,
  }));
  return new ModelSummary(model.name, layers, countOf(model.trainableWeights), countOf(model.nonTrainableWeights));
}
