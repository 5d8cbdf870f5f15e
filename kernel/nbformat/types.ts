/**
 * Jupyter notebook format 4 (nbformat v4.5), as TypeScript types.
 *
 * The field comments quote the official schema (nbformat.v4.schema.json beside this file).
 * On disk, text may be stored either as one string or as a list of lines ("multiline_string");
 * in memory the runner and the report always work on joined strings (`joinText`), and
 * `toDiskForm` splits them back into lines, as Jupyter's own writer does, for line-based diffs.
 */

/** "multiline_string": one string, or a list of lines each keeping its newline. */
export type MultilineString = string | string[];

/** A MIME bundle: "A mime-type keyed dictionary of data". Text types hold (multiline) strings; JSON types hold JSON values. */
export type NbMimeBundle = Record<string, unknown>;

/** "Kernel information." */
export interface KernelSpecInfo {
  /** "Name of the kernel specification." */
  name: string;
  /** "Name to display in UI." */
  display_name: string;
  [key: string]: unknown;
}

/** "Kernel information." about the language. */
export interface LanguageInfo {
  /** "The programming language which this kernel runs." */
  name: string;
  version?: string;
  mimetype?: string;
  file_extension?: string;
  pygments_lexer?: string;
  codemirror_mode?: string | Record<string, unknown>;
  [key: string]: unknown;
}

/** "Notebook root-level metadata." */
export interface NotebookMetadata {
  kernelspec?: KernelSpecInfo;
  language_info?: LanguageInfo;
  title?: string;
  [key: string]: unknown;
}

/** "Execution time for the code in the cell": ISO 8601 `header.date`s of the messages that frame an execution. */
export interface ExecutionTiming {
  "iopub.status.busy"?: string;
  "iopub.execute_input"?: string;
  "shell.execute_reply"?: string;
  "iopub.status.idle"?: string;
  [key: string]: string | undefined;
}

/** Cell-level metadata. */
export interface CellMetadata {
  execution?: ExecutionTiming;
  tags?: string[];
  [key: string]: unknown;
}

/** "Stream output from a code cell." */
export interface StreamOutput {
  output_type: "stream";
  /** "The name of the stream (stdout, stderr)." */
  name: "stdout" | "stderr" | string;
  /** "The stream's text output, represented as an array of strings." */
  text: MultilineString;
}

/** "Data displayed as a result of code cell execution." */
export interface DisplayDataOutput {
  output_type: "display_data";
  data: NbMimeBundle;
  metadata: Record<string, unknown>;
  /** Not stored on disk: the display id the runner uses to apply update_display_data (nbformat keeps it in `transient`). */
  transient?: { display_id?: string };
}

/** "Result of executing a code cell." */
export interface ExecuteResultOutput {
  output_type: "execute_result";
  /** "A result's prompt number." */
  execution_count: number | null;
  data: NbMimeBundle;
  metadata: Record<string, unknown>;
  transient?: { display_id?: string };
}

/** "Output of an error that occurred during code cell execution." */
export interface ErrorOutput {
  output_type: "error";
  /** "The name of the error." */
  ename: string;
  /** "The value, or message, of the error." */
  evalue: string;
  /** "The error's traceback, represented as an array of strings." */
  traceback: string[];
}

/** Any code-cell output. */
export type Output = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

/** "Notebook code cell." */
export interface CodeCell {
  cell_type: "code";
  /** "A string field representing the identifier of this particular cell." (required from nbformat 4.5) */
  id?: string;
  metadata: CellMetadata;
  source: MultilineString;
  /** "Execution, display, or stream outputs." */
  outputs: Output[];
  /** "The code cell's prompt number. Will be null if the cell has not been run." */
  execution_count: number | null;
}

/** "Notebook markdown cell." */
export interface MarkdownCell {
  cell_type: "markdown";
  id?: string;
  metadata: CellMetadata;
  source: MultilineString;
  /** "Media attachments (e.g. inline images), stored as mimebundle keyed by filename." */
  attachments?: Record<string, NbMimeBundle>;
}

/** "Notebook raw nbconvert cell." */
export interface RawCell {
  cell_type: "raw";
  id?: string;
  metadata: CellMetadata & { format?: string };
  source: MultilineString;
  attachments?: Record<string, NbMimeBundle>;
}

/** Any notebook cell. */
export type Cell = CodeCell | MarkdownCell | RawCell;

/** "Jupyter Notebook v4.5 JSON schema." root object. */
export interface Notebook {
  nbformat: 4;
  /** "Notebook format (minor number). Incremented for backward compatible changes to the notebook format." */
  nbformat_minor: number;
  metadata: NotebookMetadata;
  cells: Cell[];
}

/** A multiline string joined into one string. */
export function joinText(text: MultilineString | undefined | null): string {
  if (text === undefined || text === null) return "";
  return Array.isArray(text) ? text.join("") : text;
}

/** Splits text into lines that keep their "\n", the way Python's `str.splitlines(True)` does for "\n". */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/(?<=\n)/);
  return lines;
}

/** True for JSON MIME types, which nbformat stores as JSON values rather than strings. */
export function isJsonMime(mime: string): boolean {
  return mime === "application/json" || (mime.startsWith("application/") && mime.endsWith("+json"));
}
