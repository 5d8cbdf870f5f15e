/** The report renderer: executed notebooks to self-contained offline HTML, and the reports index. */
import * as path from "node:path";
import { writeFileAtomicSync } from "../atomic-write";
import { readNotebook } from "../nbformat/io";
import type { Notebook } from "../nbformat/types";
import { renderNotebookHtml, type RenderOptions } from "./render";

export { renderNotebookHtml, notebookTitle, pickMime, jsonForScript, MIME_PREFERENCE, PLOTLY_MIME } from "./render";
export type { RenderOptions, RunSummary, PlotlyEmbedding } from "./render";
export { renderIndexHtml, type IndexEntry } from "./index-page";
export { escapeHtml, terminalTextToHtml, stripAnsi } from "./text";

/** The default report path for a notebook: the same name with `.html`. */
export function defaultReportPath(notebookFile: string): string {
  return notebookFile.replace(/\.ipynb$/i, "") + ".html";
}

/**
 * Why a notebook looks unexecuted (code cells, none with an output or an execution count), or
 * undefined. `tsdl report` warns with this: its report would show code and no results.
 */
export function notExecuted(nb: Notebook): string | undefined {
  const code = nb.cells.filter((c) => c.cell_type === "code" && (Array.isArray(c.source) ? c.source.join("") : c.source).trim() !== "");
  if (code.length === 0) return undefined;
  const ran = code.some((c) => c.cell_type === "code" && (c.execution_count != null || (c.outputs ?? []).length > 0));
  if (ran) return undefined;
  return `none of its ${code.length} code cell${code.length === 1 ? "" : "s"} has an output or an execution count: it was not executed, so the report shows code without results`;
}

/** Renders `nb` (or the notebook file) to `outFile` atomically; returns the file's size in bytes. */
export function writeReport(source: Notebook | string, outFile: string, options: RenderOptions = {}): number {
  const nb = typeof source === "string" ? readNotebook(source) : source;
  const fileName = options.fileName ?? (typeof source === "string" ? path.basename(source) : undefined);
  const html = renderNotebookHtml(nb, { ...options, fileName });
  writeFileAtomicSync(outFile, html);
  return Buffer.byteLength(html);
}
