/** The report's own stylesheet (layout, prompts, outputs, ANSI colours) and the index page's. */
import { escapeHtml } from "./text";

/**
 * The start of every page tsdl writes, up to its `<style>` elements: the document type, charset,
 * viewport, the Content-Security-Policy that keeps the page offline, and the title.
 */
export function htmlHead(page: { title: string; csp: string; generator?: string }): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${page.csp}">
${page.generator ? `<meta name="generator" content="${escapeHtml(page.generator)}">\n` : ""}<title>${escapeHtml(page.title)}</title>`;
}

/** Styles shared by notebook reports and the index page. */
export const BASE_CSS = `
:root { --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --code-bg: #f6f8fa; --err-bg: #fff0f0; --err: #b3261e; --ok: #1a7f37; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 24px 64px; }
a { color: #0969da; }
pre, code { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13.5px; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--border); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--code-bg); }
.muted { color: var(--muted); }
.status-ok { color: var(--ok); font-weight: 600; }
.status-failed { color: var(--err); font-weight: 600; }
`;

/** Styles of a notebook report. */
export const REPORT_CSS = `
header.report { border-bottom: 1px solid var(--border); margin-bottom: 16px; padding-bottom: 8px; }
header.report .file { font-weight: 600; }
.run-summary { font-size: 14px; }
.cell { display: grid; grid-template-columns: 72px minmax(0, 1fr); gap: 0 8px; margin: 10px 0; }
.prompt { grid-column: 1; text-align: right; font: 12.5px/1.9 ui-monospace, SFMono-Regular, "DejaVu Sans Mono", monospace; color: var(--muted); padding-top: 6px; white-space: nowrap; }
.prompt.in { color: #303f9f; }
.prompt.out { color: #d84315; }
.cell > .body { grid-column: 2; min-width: 0; }
.cell.markdown > .body { grid-column: 1 / span 2; padding: 0 0 0 80px; }
.input pre { margin: 0; padding: 8px 12px; background: var(--code-bg); border: 1px solid var(--border); border-radius: 4px; overflow-x: auto; }
.input pre code.hljs { padding: 0; background: transparent; }
.output-row { display: contents; }
.output { grid-column: 2; min-width: 0; margin-top: 4px; overflow-x: auto; }
.output pre { margin: 0; padding: 4px 0; white-space: pre-wrap; word-break: break-word; }
.output.stderr pre { background: #fff8e5; padding: 4px 8px; }
.output.error pre { background: var(--err-bg); padding: 6px 8px; border-left: 3px solid var(--err); }
.output.error .ename { color: var(--err); font-weight: 700; }
.output img { max-width: 100%; height: auto; }
.output .tsdl-plotly { width: 100%; min-height: 360px; }
.output .unsupported { color: var(--muted); font-style: italic; }
.markdown-body h1, .markdown-body h2, .markdown-body h3 { line-height: 1.25; margin: 1em 0 0.5em; }
.markdown-body pre.hljs { padding: 8px 12px; background: var(--code-bg); border-radius: 4px; overflow-x: auto; }
.markdown-body code { background: var(--code-bg); padding: 0.1em 0.3em; border-radius: 3px; }
.markdown-body pre code { padding: 0; background: none; }
.markdown-body img { max-width: 100%; }
.katex-display { overflow-x: auto; overflow-y: hidden; padding: 2px 0; }
.ansi-black-fg { color: #3e424d; } .ansi-red-fg { color: #e75c58; } .ansi-green-fg { color: #00a250; }
.ansi-yellow-fg { color: #ddb62b; } .ansi-blue-fg { color: #208ffb; } .ansi-magenta-fg { color: #d160c4; }
.ansi-cyan-fg { color: #60c6c8; } .ansi-white-fg { color: #c5c1b4; }
.ansi-bright-black-fg { color: #282c36; } .ansi-bright-red-fg { color: #b22b31; } .ansi-bright-green-fg { color: #007427; }
.ansi-bright-yellow-fg { color: #b27d12; } .ansi-bright-blue-fg { color: #0065ca; } .ansi-bright-magenta-fg { color: #a03196; }
.ansi-bright-cyan-fg { color: #258f8f; } .ansi-bright-white-fg { color: #a1a6b2; }
.ansi-black-bg { background: #3e424d; } .ansi-red-bg { background: #e75c58; } .ansi-green-bg { background: #00a250; }
.ansi-yellow-bg { background: #ddb62b; } .ansi-blue-bg { background: #208ffb; } .ansi-magenta-bg { background: #d160c4; }
.ansi-cyan-bg { background: #60c6c8; } .ansi-white-bg { background: #c5c1b4; }
.ansi-bold { font-weight: 700; } .ansi-dim { opacity: 0.7; } .ansi-italic { font-style: italic; }
.ansi-underline { text-decoration: underline; } .ansi-strikethrough { text-decoration: line-through; }
@media print { .cell { break-inside: avoid; } main { max-width: none; } }
`;
