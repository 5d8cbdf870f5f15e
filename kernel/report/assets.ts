/**
 * The files a report embeds so that it opens offline: KaTeX's CSS with its fonts as data URLs,
 * highlight.js's theme, and plotly.js. Each is read from node_modules once per process.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { gzipSync } from "node:zlib";

function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

let katexCss: string | undefined;

/**
 * KaTeX's stylesheet with every `@font-face` source replaced by the woff2 font as a base64 data
 * URL (all current browsers read woff2; the woff/ttf fallbacks would triple the size).
 */
export function katexStylesheet(): string {
  if (katexCss !== undefined) return katexCss;
  const dist = path.join(packageDir("katex"), "dist");
  const css = fs.readFileSync(path.join(dist, "katex.min.css"), "utf8");
  const out = css.replace(
    /src:\s*url\(fonts\/([\w-]+\.woff2)\)\s*format\("woff2"\)(?:\s*,\s*url\([^)]*\)\s*format\("[^"]*"\))*/g,
    (_m, file: string) => {
      const b64 = fs.readFileSync(path.join(dist, "fonts", file)).toString("base64");
      return `src:url(data:font/woff2;base64,${b64}) format("woff2")`;
    },
  );
  if (/url\((?!data:)/.test(out)) {
    throw new Error(`katex.min.css: a font URL was left unembedded (the KaTeX CSS layout changed); the report would load it from the network`);
  }
  katexCss = out;
  return out;
}

let hljsCss: string | undefined;

/** highlight.js's "github" theme (light, readable in print). */
export function highlightStylesheet(): string {
  hljsCss ??= fs.readFileSync(path.join(packageDir("highlight.js"), "styles", "github.min.css"), "utf8");
  return hljsCss;
}

let plotlySource: string | undefined;
let plotlyGzip: string | undefined;

/** The plotly.js-dist bundle's source text (about 10 MB, unminified: it is the only build the package ships). */
export function plotlyBundle(): string {
  plotlySource ??= fs.readFileSync(path.join(packageDir("plotly.js-dist"), "plotly.js"), "utf8");
  return plotlySource;
}

/** The plotly.js-dist bundle gzipped and base64-encoded (about 2.6 MB), for `DecompressionStream` in the page. */
export function plotlyBundleGzipBase64(): string {
  plotlyGzip ??= gzipSync(Buffer.from(plotlyBundle(), "utf8"), { level: 9 }).toString("base64");
  return plotlyGzip;
}

/** The version of plotly.js-dist that reports embed. */
export function plotlyVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageDir("plotly.js-dist"), "package.json"), "utf8")) as { version: string }).version;
}
