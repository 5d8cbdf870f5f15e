/**
 * A figure that renders itself: plotly JSON for notebooks and reports, a static SVG as the
 * offline `text/html` fallback (what nbconvert and plain Jupyter show without a plotly
 * extension), a short text summary, and a standalone offline HTML page.
 *
 * Introduced in notebook 01.
 */
import { JUPYTER_DISPLAY, type Displayable, type MimeBundle } from "../display";
import { renderSvg } from "./svg";

/** One plotly trace. Only the fields tsdl uses are typed; plotly accepts many more. */
export interface Trace {
  type: "scatter" | "bar" | "heatmap";
  name?: string;
  x?: (number | string)[];
  y?: (number | string)[];
  z?: number[][];
  mode?: "lines" | "markers" | "lines+markers";
  text?: string[] | string[][];
  xaxis?: string;
  yaxis?: string;
  showlegend?: boolean;
  showscale?: boolean;
  colorscale?: string | [number, string][];
  zmin?: number;
  zmax?: number;
  line?: { color?: string; width?: number; dash?: string };
  marker?: { color?: string | string[] | number[]; size?: number; symbol?: string | string[]; line?: { color?: string; width?: number } };
  [key: string]: unknown;
}

/** A plotly layout. */
export interface Layout {
  title?: { text: string };
  width?: number;
  height?: number;
  [key: string]: unknown;
}

/** The plotly MIME type, as JupyterLab, VS Code and our reports know it. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** A plotly figure with its own text summary. */
export class Figure implements Displayable {
  constructor(
    readonly data: Trace[],
    readonly layout: Layout = {},
    /** One or a few lines describing the figure in words and numbers. */
    readonly summary: string = "",
  ) {}

  /** The plotly JSON: `{ data, layout }`. */
  toJSON(): { data: Trace[]; layout: Layout } {
    return { data: this.data, layout: this.layout };
  }

  /** A static SVG rendering (no JavaScript), used as the offline fallback. */
  toSvg(): string {
    return renderSvg(this);
  }

  /** The text summary, with the title first. */
  toText(): string {
    const title = this.layout.title?.text;
    return [title ? `Figure: ${title}` : "Figure", this.summary].filter((s) => s).join("\n");
  }

  /**
   * A standalone HTML page with plotly.js embedded, so it opens offline. Large (plotly.js is
   * several MB): use it to save one chart, not inside notebooks.
   */
  toHtml(): string {
    // Lazy: only this method needs the file system and plotly.js.
    const { standaloneHtml } = require("./html") as typeof import("./html");
    return standaloneHtml(this);
  }

  /** Write `toHtml()` to a file. */
  save(file: string): void {
    const fs = require("node:fs") as typeof import("node:fs");
    fs.writeFileSync(file, this.toHtml());
  }

  /** The same text as its `text/plain` (so `String(x)` and a template literal print it). */
  toString(): string {
    return this.toText();
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return {
      [PLOTLY_MIME]: this.toJSON(),
      "text/html": this.toSvg(),
      "text/plain": this.toText(),
    };
  }
}
