/** `tsdl report NOTEBOOK.ipynb [-o FILE.html]`: an executed notebook to one offline HTML file. */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { readNotebook } from "../nbformat/io";
import { defaultReportPath, notExecuted, writeReport } from "./index";
import type { PlotlyEmbedding } from "./render";

/** Usage text of `tsdl report`. */
export const REPORT_USAGE = `usage: tsdl report NOTEBOOK.ipynb [-o FILE.html] [--plotly gzip|plain]

Renders a notebook (with its outputs) as ONE self-contained HTML file that opens offline:
markdown, KaTeX math, highlighted code, images and interactive plotly charts.
  -o, --output FILE   where to write (default: NOTEBOOK.html beside the notebook)
  --plotly MODE       how plotly.js is embedded when a chart needs it: gzip (default, ~2.6 MB,
                      unpacked by the browser) or plain (~10 MB, for browsers without DecompressionStream)
`;

/** Runs `tsdl report` with the arguments after the sub-command; returns the exit code. */
export async function reportCommand(
  argv: string[],
  io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream } = { out: process.stdout, err: process.stderr },
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: "string", short: "o" },
        plotly: { type: "string", default: "gzip" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    io.err.write(`tsdl report: ${(err as Error).message}\n${REPORT_USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out.write(REPORT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    io.err.write(`tsdl report: expected one notebook, found ${positionals.length} (${positionals.join(" ") || "none"})\n${REPORT_USAGE}`);
    return 2;
  }
  if (values.plotly !== "gzip" && values.plotly !== "plain") {
    io.err.write(`tsdl report: --plotly expects gzip or plain, found ${JSON.stringify(values.plotly)}\n`);
    return 2;
  }
  const notebook = positionals[0];
  const out = values.output ?? defaultReportPath(notebook);
  try {
    const nb = readNotebook(notebook);
    const unexecuted = notExecuted(nb);
    if (unexecuted) io.err.write(`tsdl report: warning: ${notebook}: ${unexecuted}; run it first with tsdl run ${notebook} --html\n`);
    const bytes = writeReport(nb, out, { plotly: values.plotly as PlotlyEmbedding, fileName: path.basename(notebook) });
    io.out.write(`wrote ${out} (${(bytes / 1024).toFixed(0)} KiB)\n`);
    return 0;
  } catch (err) {
    io.err.write(`tsdl report: ${(err as Error).message}\n`);
    return 1;
  }
}
