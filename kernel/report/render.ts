/**
 * A notebook as ONE self-contained HTML file: markdown and KaTeX math rendered at build time, code
 * highlighted, outputs drawn with the richest MIME type Jupyter would pick, and plotly charts drawn
 * live by an embedded plotly.js. The page loads nothing from anywhere: fonts, styles and scripts
 * are inside it, and a Content-Security-Policy forbids every fetch to be sure.
 *
 * Safety: text that came from outputs (streams, text/plain, tracebacks, JSON) is escaped, so a
 * `<script>` in a stream shows as text. `text/html` outputs are kept as they are, as Jupyter does
 * for a trusted notebook; SVG is shown through `<img>`, where its scripts cannot run.
 */
import * as path from "node:path";
import { joinText, type Cell, type CodeCell, type NbMimeBundle, type Notebook, type Output } from "../nbformat/types";
import { gzipScriptData, RUN_GZIP_SCRIPT, scriptSafe } from "./inline-script";
import { highlightStylesheet, katexStylesheet, plotlyBundleGzipBase64, plotlyBundle, plotlyVersion } from "./assets";
import { highlightCode, renderLatex, renderMarkdown, svgDataUrl } from "./markdown";
import { BASE_CSS, REPORT_CSS, htmlHead } from "./style";
import { escapeHtml, stripAnsi, terminalTextToHtml } from "./text";
import { WIDGET_CSS, WIDGET_VIEW_MIME, storedWidgetState, viewModelId, widgetScripts } from "./widgets";

/** The plotly MIME type. */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/**
 * MIME types a report can draw, richest first: the order Jupyter front ends prefer
 * (plotly > html > svg > png > jpeg > markdown/latex > json > plain).
 */
export const MIME_PREFERENCE = [
  PLOTLY_MIME,
  "text/html",
  "image/svg+xml",
  "image/png",
  "image/jpeg",
  "image/gif",
  "text/markdown",
  "text/latex",
  "application/json",
  "text/plain",
] as const;

/** The MIME type a report shows for a bundle, or undefined when it holds none it can draw. */
export function pickMime(data: NbMimeBundle): string | undefined {
  return MIME_PREFERENCE.find((m) => data[m] !== undefined && data[m] !== null);
}

/** How plotly.js goes into the page. */
export type PlotlyEmbedding = "gzip" | "plain";

/** Options of `renderNotebookHtml`. */
export interface RenderOptions {
  /** Page title; default: notebook metadata.title, the first heading, or the file name. */
  title?: string;
  /** The notebook's file name, shown in the header and used for the default title. */
  fileName?: string;
  /**
   * "gzip" (default): plotly.js gzipped and base64-encoded (about 2.6 MB instead of 10 MB),
   * unpacked in the page by the browser's DecompressionStream. "plain": the script as is.
   */
  plotly?: PlotlyEmbedding;
  /** How html-manager's widget bundle goes in (only when the notebook has widgets): "gzip" (default) or "plain". */
  widgets?: PlotlyEmbedding;
}

/** What the runner records in `metadata.tsdl.run` and the report shows in its header. */
export interface RunSummary {
  status: "ok" | "error" | "timeout" | "interrupted" | "died";
  started?: string;
  duration_s?: number;
  /** 1-based number of the code cell that failed, among all cells. */
  failed_cell?: number;
  error?: string;
  /** Every cell that failed, including those `--allow-errors` ran past. */
  errors?: { cell: number; error: string }[];
}

class PageState {
  plotlyCount = 0;
  figureId = 0;
  /** Model ids in the notebook's stored widget state (a widget view of another model shows its fallback). */
  widgetModels = new Set<string>();
  widgetCount = 0;
}

/** Renders a notebook (in-memory or on-disk form) as one self-contained HTML page. */
export function renderNotebookHtml(nb: Notebook, options: RenderOptions = {}): string {
  const state = new PageState();
  const widgetState = storedWidgetState(nb.metadata as Record<string, unknown>);
  for (const id of Object.keys(widgetState?.state ?? {})) state.widgetModels.add(id);
  const cells = nb.cells.map((cell) => renderCell(cell, state)).join("\n");
  const title = options.title ?? notebookTitle(nb, options.fileName);
  const run = (nb.metadata.tsdl as { run?: RunSummary } | undefined)?.run;
  const kernel = nb.metadata.kernelspec?.display_name;
  const summary = [
    kernel ? `kernel ${escapeHtml(kernel)}` : "",
    run ? runSummaryHtml(run) : "",
  ]
    .filter(Boolean)
    .join(" · ");
  const plotly = state.plotlyCount > 0 ? plotlyScripts(options.plotly ?? "gzip") : "";
  const widgets = state.widgetCount > 0 && widgetState ? widgetScripts(jsonForScript(widgetState), options.widgets ?? "gzip") : "";
  return `${htmlHead({ title, csp: CSP, generator: "tsdl report" })}
<style>${BASE_CSS}${REPORT_CSS}</style>
<style>${katexStylesheet()}</style>
<style>${highlightStylesheet()}</style>
${widgets ? `<style>${WIDGET_CSS}</style>` : ""}
</head>
<body data-plotly-charts="${state.plotlyCount}" data-widget-views="${state.widgetCount}">
<main>
<header class="report"><div class="file">${escapeHtml(options.fileName ? path.basename(options.fileName) : title)}</div><div class="run-summary muted">${summary}</div></header>
${cells}
</main>
${plotly}
${widgets}
</body>
</html>
`;
}

// Nothing may be fetched: no connect/fetch, frames, objects or remote images, fonts or scripts.
// Inline scripts run (plotly and the chart loader; text/html outputs, as in Jupyter); images
// and fonts come from data: URLs; plotly's "download as PNG" makes a blob: URL.
const CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline' 'unsafe-eval'",
  "style-src 'unsafe-inline'",
  "img-src data: blob:",
  "font-src data:",
  "media-src data: blob:",
  "connect-src 'none'",
  "frame-src 'none'",
  "worker-src blob:",
  "form-action 'none'",
  "base-uri 'none'",
].join("; ");

function runSummaryHtml(run: RunSummary): string {
  const ok = run.status === "ok";
  const parts = [`<span class="${ok ? "status-ok" : "status-failed"}">${escapeHtml(run.status)}</span>`];
  if (run.duration_s !== undefined) parts.push(`ran in ${run.duration_s.toFixed(1)} s`);
  if (run.started) parts.push(`started ${escapeHtml(run.started)}`);
  if (run.failed_cell !== undefined) parts.push(`stopped at cell ${run.failed_cell}: ${escapeHtml(run.error ?? "")}`);
  else if (run.errors?.length) parts.push(`${run.errors.length} cell error${run.errors.length === 1 ? "" : "s"} allowed (cell ${run.errors.map((e) => e.cell).join(", ")})`);
  return parts.join(", ");
}

/** The title a report uses: metadata.title, else the first markdown heading, else the file name. */
export function notebookTitle(nb: Notebook, fileName?: string): string {
  if (typeof nb.metadata.title === "string" && nb.metadata.title.trim()) return nb.metadata.title.trim();
  for (const cell of nb.cells) {
    if (cell.cell_type !== "markdown") continue;
    const m = /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/m.exec(joinText(cell.source));
    if (m) return stripAnsi(m[1].replace(/[*_`$]/g, ""));
  }
  return fileName ? path.basename(fileName).replace(/\.ipynb$/i, "") : "Notebook";
}

function renderCell(cell: Cell, state: PageState): string {
  const source = joinText(cell.source);
  const id = cell.id ? ` id="cell-${escapeHtml(cell.id)}"` : "";
  if (cell.cell_type === "markdown") {
    return `<section class="cell markdown"${id}><div class="body markdown-body">${renderMarkdown(source, { attachments: cell.attachments })}</div></section>`;
  }
  if (cell.cell_type === "raw") {
    const format = typeof cell.metadata.format === "string" ? cell.metadata.format : "";
    const body = format === "text/html" ? source : `<pre>${escapeHtml(source)}</pre>`;
    return `<section class="cell raw"${id}><div class="prompt"></div><div class="body">${body}</div></section>`;
  }
  return renderCodeCell(cell, state, id);
}

function promptText(kind: "In" | "Out", count: number | null | undefined): string {
  return `${kind}&nbsp;[${count === null || count === undefined ? "&nbsp;" : String(count)}]:`;
}

function renderCodeCell(cell: CodeCell, state: PageState, id: string): string {
  const source = joinText(cell.source);
  const parts = [
    `<div class="prompt in">${promptText("In", cell.execution_count)}</div>`,
    `<div class="body input"><pre><code class="hljs language-typescript">${highlightCode(source)}</code></pre></div>`,
  ];
  for (const output of cell.outputs ?? []) {
    const prompt = output.output_type === "execute_result" ? `<div class="prompt out">${promptText("Out", output.execution_count)}</div>` : `<div class="prompt"></div>`;
    parts.push(`<div class="output-row">${prompt}${renderOutput(output, state)}</div>`);
  }
  return `<section class="cell code"${id} data-execution-count="${cell.execution_count ?? ""}">${parts.join("")}</section>`;
}

function renderOutput(output: Output, state: PageState): string {
  switch (output.output_type) {
    case "stream": {
      const name = output.name === "stderr" ? "stderr" : "stdout";
      return `<div class="output stream ${name}"><pre>${terminalTextToHtml(joinText(output.text))}</pre></div>`;
    }
    case "error":
      return renderError(output.ename, output.evalue, output.traceback ?? []);
    case "display_data":
    case "execute_result":
      return renderBundle(output.data ?? {}, output.metadata ?? {}, state, output.output_type);
    default: {
      const unknown = output as { output_type?: unknown };
      return `<div class="output"><p class="unsupported">[output of type ${escapeHtml(String(unknown.output_type))} not shown]</p></div>`;
    }
  }
}

function renderError(ename: string, evalue: string, traceback: string[]): string {
  const tb = traceback.map((l) => String(l)).join("\n");
  const plainTb = stripAnsi(tb);
  // Many kernels put "ename: evalue" in the traceback; add it when this one did not.
  const head = plainTb.includes(evalue) ? "" : `<span class="ename">${escapeHtml(ename)}</span>: ${escapeHtml(evalue)}${tb ? "\n" : ""}`;
  return `<div class="output error" data-ename="${escapeHtml(ename)}"><pre>${head}${terminalTextToHtml(tb)}</pre></div>`;
}

function imageSize(metadata: Record<string, unknown>, mime: string): string {
  const m = metadata[mime] as { width?: unknown; height?: unknown } | undefined;
  let attrs = "";
  if (m && typeof m === "object") {
    if (typeof m.width === "number") attrs += ` width="${Math.round(m.width)}"`;
    if (typeof m.height === "number") attrs += ` height="${Math.round(m.height)}"`;
  }
  return attrs;
}

function renderBundle(data: NbMimeBundle, metadata: Record<string, unknown>, state: PageState, kind: string): string {
  const cls = `output ${kind === "execute_result" ? "execute-result" : "display-data"}`;
  const modelId = viewModelId(data[WIDGET_VIEW_MIME]);
  if (modelId !== undefined && state.widgetModels.has(modelId)) {
    // Drawn by html-manager from the stored state; the rest of the bundle shows until then.
    state.widgetCount++;
    const { [WIDGET_VIEW_MIME]: view, ...rest } = data;
    const fallback = pickMime(rest) ? renderBundle(rest, metadata, state, kind) : "";
    return `<div class="${cls} tsdl-widget"><script type="${WIDGET_VIEW_MIME}">${jsonForScript(view)}</script><div class="tsdl-widget-fallback">${fallback}</div></div>`;
  }
  const mime = pickMime(data);
  if (mime === undefined) {
    return `<div class="${cls}"><p class="unsupported">[no displayable MIME type: ${escapeHtml(Object.keys(data).join(", ") || "empty bundle")}]</p></div>`;
  }
  const value = data[mime];
  const text = typeof value === "string" || Array.isArray(value) ? joinText(value as string | string[]) : "";
  switch (mime) {
    case PLOTLY_MIME: {
      state.plotlyCount++;
      const figureId = `tsdl-figure-${++state.figureId}`;
      // Until plotly has drawn (or if it cannot), the chart shows the bundle's next-best form.
      const { [PLOTLY_MIME]: _figure, ...rest } = data;
      const fallback = pickMime(rest) ? renderBundle(rest, metadata, state, kind) : "";
      return (
        `<div class="${cls} plotly"><div class="tsdl-plotly" data-figure="${figureId}">${fallback}</div>` +
        `<script type="application/json" id="${figureId}">${jsonForScript(value)}</script></div>`
      );
    }
    case "text/html":
      return `<div class="${cls} html">${text}</div>`;
    case "image/svg+xml":
      return `<div class="${cls} image"><img alt="SVG output" src="${escapeHtml(svgDataUrl(text))}"${imageSize(metadata, mime)}></div>`;
    case "image/png":
    case "image/jpeg":
    case "image/gif":
      return `<div class="${cls} image"><img alt="${mime.slice(6).toUpperCase()} output" src="data:${mime};base64,${escapeHtml(text.replace(/\s+/g, ""))}"${imageSize(metadata, mime)}></div>`;
    case "text/markdown":
      return `<div class="${cls} markdown-body">${renderMarkdown(text)}</div>`;
    case "text/latex":
      return `<div class="${cls} latex">${renderLatex(text)}</div>`;
    case "application/json":
      return `<div class="${cls} json"><pre>${escapeHtml(JSON.stringify(value, null, 2) ?? "null")}</pre></div>`;
    default:
      return `<div class="${cls} text"><pre>${terminalTextToHtml(text)}</pre></div>`;
  }
}

/**
 * JSON that is safe inside `<script type="application/json">`: `<`, `>` and `&` become `\u003c`
 * etc., so no `</script>` or `<!--` can end or alter the element; JSON.parse reads it back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return (JSON.stringify(value) ?? "null")
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

// Draws every chart once plotly.js is available. Reads each figure from its JSON script element.
// Sets body[data-plotly] to "drawn" or "failed: …" so a reader (or a test) knows the outcome.
const DRAW_CHARTS = `
function tsdlDrawCharts() {
  var charts = document.querySelectorAll("div.tsdl-plotly");
  var jobs = [];
  for (var i = 0; i < charts.length; i++) {
    var el = charts[i];
    var fig = JSON.parse(document.getElementById(el.getAttribute("data-figure")).textContent);
    el.textContent = "";
    var config = Object.assign({ responsive: true, displaylogo: false }, fig.config || {});
    jobs.push(Plotly.newPlot(el, { data: fig.data || [], layout: fig.layout || {}, frames: fig.frames, config: config }));
  }
  return Promise.all(jobs);
}
function tsdlChartsFailed(err) {
  document.body.setAttribute("data-plotly", "failed: " + (err && err.message || err));
  var charts = document.querySelectorAll("div.tsdl-plotly");
  for (var i = 0; i < charts.length; i++) {
    var p = document.createElement("p");
    p.className = "unsupported";
    p.textContent = "[interactive chart could not be drawn: " + (err && err.message || err) + "]";
    charts[i].appendChild(p);
  }
}
function tsdlChartsDone() { document.body.setAttribute("data-plotly", "drawn"); }
`;

function plotlyScripts(embedding: PlotlyEmbedding): string {
  const version = escapeHtml(plotlyVersion());
  if (embedding === "plain") {
    return `<script data-plotly-version="${version}">${scriptSafe(plotlyBundle())}</script>
<script>${DRAW_CHARTS}
try { tsdlDrawCharts().then(tsdlChartsDone, tsdlChartsFailed); } catch (e) { tsdlChartsFailed(e); }
</script>`;
  }
  return `${gzipScriptData("tsdl-plotly-js", plotlyBundleGzipBase64(), `data-plotly-version="${version}"`)}
<script>${DRAW_CHARTS}${RUN_GZIP_SCRIPT}
tsdlRunGzipScript("tsdl-plotly-js").then(function () {
  if (typeof Plotly === "undefined") throw new Error("plotly.js did not load");
  return tsdlDrawCharts();
}).then(tsdlChartsDone, tsdlChartsFailed);
</script>`;
}
