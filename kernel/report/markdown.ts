/**
 * Markdown, LaTeX and code for reports: markdown-it (CommonMark plus tables and strikethrough, as
 * in Jupyter), KaTeX through @vscode/markdown-it-katex for `$…$` and `$$…$$`, and highlight.js for
 * code. These are the maintained libraries for each job; none of it is done by hand here.
 */
import MarkdownIt from "markdown-it";
import markdownItKatex from "@vscode/markdown-it-katex";
import katex from "katex";
import hljs from "highlight.js/lib/core";
import typescript from "highlight.js/lib/languages/typescript";
import javascript from "highlight.js/lib/languages/javascript";
import json from "highlight.js/lib/languages/json";
import bash from "highlight.js/lib/languages/bash";
import python from "highlight.js/lib/languages/python";
import plaintext from "highlight.js/lib/languages/plaintext";
import { escapeHtml } from "./text";
import type { NbMimeBundle } from "../nbformat/types";

hljs.registerLanguage("typescript", typescript);
hljs.registerLanguage("javascript", javascript);
hljs.registerLanguage("json", json);
hljs.registerLanguage("bash", bash);
hljs.registerLanguage("python", python);
hljs.registerLanguage("plaintext", plaintext);

/** Code as highlighted HTML (escaped by highlight.js); unknown languages are escaped plain text. */
export function highlightCode(code: string, language = "typescript"): string {
  const lang = hljs.getLanguage(language) ? language : "plaintext";
  return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
}

/** What a markdown render needs besides the text: the cell's attachments (`attachment:NAME` images). */
export interface MarkdownEnv {
  attachments?: Record<string, NbMimeBundle>;
  [key: string]: unknown;
}

function createRenderer() {
  const md = new MarkdownIt({
    // Markdown cells are the notebook author's text, and Jupyter renders their HTML; outputs
    // (where untrusted text comes from) never go through this renderer as raw HTML.
    html: true,
    linkify: false,
    typographer: false,
    highlight: (code, info) => {
      const lang = info.trim().split(/\s+/)[0] || "plaintext";
      return `<pre class="hljs"><code class="language-${escapeHtml(lang)}">${highlightCode(code, lang)}</code></pre>`;
    },
  });
  md.use(markdownItKatex, { throwOnError: false, enableFencedBlocks: true });
  // Images written as `![](attachment:name.png)` come from the cell's attachments: inline them.
  const defaultImage = md.renderer.rules.image!;
  md.renderer.rules.image = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    const src = String(token.attrGet("src") ?? "");
    const attachments = (env as MarkdownEnv | undefined)?.attachments;
    if (src.startsWith("attachment:")) {
      const bundle = attachments?.[decodeURIComponent(src.slice("attachment:".length))];
      const mime = bundle && ["image/png", "image/jpeg", "image/gif", "image/svg+xml"].find((m) => typeof bundle[m] === "string");
      if (bundle && mime) {
        const data = String(bundle[mime]);
        token.attrSet("src", mime === "image/svg+xml" && !/^[A-Za-z0-9+/=\s]+$/.test(data) ? svgDataUrl(data) : `data:${mime};base64,${data.replace(/\s+/g, "")}`);
      }
    }
    return defaultImage(tokens, idx, options, env, self);
  };
  return md;
}

let renderer: ReturnType<typeof createRenderer> | undefined;

/** Markdown (with `$…$` / `$$…$$` math) to HTML. */
export function renderMarkdown(source: string, env: MarkdownEnv = {}): string {
  renderer ??= createRenderer();
  return renderer.render(source, env as Record<string | symbol, unknown>);
}

/** A `text/latex` output typeset with KaTeX (display style); `$$…$$` or `$…$` around it are optional. */
export function renderLatex(source: string): string {
  const m = /^\s*\$\$([\s\S]*)\$\$\s*$/.exec(source) ?? /^\s*\$([\s\S]*)\$\s*$/.exec(source);
  const tex = m ? m[1] : source;
  return katex.renderToString(tex, { displayMode: true, throwOnError: false, output: "htmlAndMathml" });
}

/** An SVG document as a data URL (percent-encoded, so any text is safe inside the attribute). */
export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}
