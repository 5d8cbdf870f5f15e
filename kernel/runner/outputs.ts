/**
 * Turning a cell's iopub messages into notebook outputs, the way Jupyter does (nbclient's
 * `process_message` / `output` / `clear_output` / `_update_display_id`, and JupyterLab's stream
 * merging):
 * - `stream`: appended to the cell's last output when that is a stream of the same name;
 * - `display_data`, `execute_result` (with its execution_count), `error`: appended;
 * - a `display_id` (in `transient`): every output in the notebook carrying that id, in any cell,
 *   takes the new data and metadata when an `update_display_data` arrives, or when a new output
 *   is displayed with the same id (as nbclient does);
 * - `clear_output`: empties the cell's outputs now, or with `wait: true` just before the next output.
 *
 * Stream text above `maxStreamChars` per output is truncated (its head and tail are kept, with a
 * line saying how much was dropped), so a cell that prints 50 MB cannot make a 50 MB notebook.
 * The same holds for the other outputs: an error's evalue and traceback lines are cut the same
 * way, and a display_data / execute_result (or the update of one) whose bundle is larger than
 * `maxOutputChars` is stored as a text/plain note saying what was dropped (half an HTML page or
 * half a PNG is worth nothing, so rich data is not cut).
 */
import type { IopubMessage } from "../protocol";
import type { CodeCell, DisplayDataOutput, ExecuteResultOutput, Output, StreamOutput } from "../nbformat/types";

/** Default cap on the text kept per stream output: 1,000,000 characters (head and tail halves). */
export const DEFAULT_MAX_STREAM_CHARS = 1_000_000;

/** Default cap on one display_data / execute_result bundle: 20,000,000 characters (all its MIME types together). */
export const DEFAULT_MAX_OUTPUT_CHARS = 20_000_000;

type DisplayOutput = DisplayDataOutput | ExecuteResultOutput;

interface StreamState {
  head: string;
  tail: string;
  dropped: number;
}

/** Collects outputs for the cells of one notebook run. One instance per notebook (display ids span cells). */
export class OutputCollector {
  private readonly displays = new Map<string, Set<DisplayOutput>>();
  private readonly streams = new Map<StreamOutput, StreamState>();
  private cell: CodeCell | undefined;
  private clearPending = false;

  constructor(
    readonly maxStreamChars = DEFAULT_MAX_STREAM_CHARS,
    readonly maxOutputChars = DEFAULT_MAX_OUTPUT_CHARS,
  ) {}

  /** Start collecting for `cell`: its outputs and execution count are reset, as for a fresh run. */
  beginCell(cell: CodeCell): void {
    this.finishCell();
    this.forgetCellDisplays(cell);
    cell.outputs = [];
    cell.execution_count = null;
    this.cell = cell;
    this.clearPending = false;
  }

  /** Apply one iopub message of the current cell. Messages that are not outputs are ignored. */
  handle(msg: IopubMessage): void {
    const cell = this.cell;
    if (!cell) throw new Error("OutputCollector.handle called before beginCell");
    const type = msg.header.msg_type;
    const content = msg.content as unknown as Record<string, unknown>;
    const displayId = (content.transient as { display_id?: unknown } | undefined)?.display_id;
    const id = typeof displayId === "string" && displayId !== "" ? displayId : undefined;

    if (typeof content.execution_count === "number" && (type === "execute_input" || type === "execute_result")) {
      cell.execution_count = content.execution_count;
    }
    switch (type) {
      case "stream":
        this.appendStream(cell, String(content.name ?? "stdout"), String(content.text ?? ""));
        return;
      case "display_data":
      case "execute_result": {
        const out: DisplayOutput =
          type === "execute_result"
            ? { output_type: "execute_result", execution_count: (content.execution_count as number | undefined) ?? cell.execution_count, data: this.capBundle(type, content.data), metadata: meta(content.metadata) }
            : { output_type: "display_data", data: this.capBundle(type, content.data), metadata: meta(content.metadata) };
        if (id) {
          this.updateDisplay(id, out.data, out.metadata);
          out.transient = { display_id: id };
        }
        this.append(cell, out);
        if (id) this.track(id, out);
        return;
      }
      case "update_display_data":
        if (id) this.updateDisplay(id, this.capBundle(type, content.data), meta(content.metadata));
        return;
      case "error":
        this.append(cell, {
          output_type: "error",
          ename: String(content.ename ?? "Error"),
          evalue: this.capText(String(content.evalue ?? ""), "evalue"),
          traceback: Array.isArray(content.traceback) ? this.capTraceback(content.traceback.map(String)) : [],
        });
        return;
      case "clear_output":
        if (content.wait) this.clearPending = true;
        else this.clear(cell);
        return;
      default:
        return; // status, execute_input, comm_*: not outputs
    }
  }

  /** Append an output the runner itself produced (a timeout, an interrupt, a dead kernel). */
  addOutput(output: Output): void {
    if (!this.cell) throw new Error("OutputCollector.addOutput called before beginCell");
    this.append(this.cell, output);
  }

  /** Write truncated streams' final text into their outputs (call before saving). Safe to call twice. */
  finishCell(): void {
    for (const [out, s] of this.streams) {
      if (s.dropped > 0) out.text = `${s.head}\n[... tsdl run dropped ${s.dropped} characters of ${out.name} here: the runner keeps at most ${this.maxStreamChars} characters per stream output ...]\n${s.tail}`;
    }
  }

  /** The bundle as stored: itself, or a text/plain note when it is over `maxOutputChars`. */
  private capBundle(type: string, data: unknown): Record<string, unknown> {
    const b = bundle(data);
    let size = 0;
    for (const v of Object.values(b)) size += typeof v === "string" ? v.length : (JSON.stringify(v) ?? "").length;
    if (size <= this.maxOutputChars) return b;
    return {
      "text/plain": `[tsdl run dropped this ${type} output: its ${size} characters (${Object.keys(b).join(", ")}) are over the runner's limit of ${this.maxOutputChars} characters per output]`,
    };
  }

  /** Error text over `maxStreamChars`: head and tail kept, as for streams. */
  private capText(text: string, what: string): string {
    if (text.length <= this.maxStreamChars) return text;
    const half = Math.floor(this.maxStreamChars / 2);
    return `${text.slice(0, half)}\n[... tsdl run dropped ${text.length - 2 * half} characters of this error's ${what} here: the runner keeps at most ${this.maxStreamChars} ...]\n${text.slice(text.length - half)}`;
  }

  private capTraceback(lines: string[]): string[] {
    let total = 0;
    for (const l of lines) total += l.length;
    if (total <= this.maxStreamChars) return lines;
    return this.capText(lines.join("\n"), "traceback").split("\n");
  }

  private append(cell: CodeCell, out: Output): void {
    if (this.clearPending) {
      this.clear(cell);
      this.clearPending = false;
    }
    cell.outputs.push(out);
  }

  private appendStream(cell: CodeCell, name: string, text: string): void {
    if (text === "") return;
    const last = this.clearPending ? undefined : cell.outputs[cell.outputs.length - 1];
    if (last && last.output_type === "stream" && last.name === name) {
      this.addStreamText(last, text);
      return;
    }
    const out: StreamOutput = { output_type: "stream", name, text: "" };
    this.append(cell, out);
    this.addStreamText(out, text);
  }

  private addStreamText(out: StreamOutput, text: string): void {
    const half = Math.floor(this.maxStreamChars / 2);
    const s = this.streams.get(out);
    const current = s ? undefined : (out.text as string);
    if (!s && current!.length + text.length <= this.maxStreamChars) {
      out.text = current + text;
      return;
    }
    // Over the limit: keep the first and the last half, count what falls between.
    const state = s ?? { head: current!.slice(0, half), tail: "", dropped: 0 };
    if (!s) {
      const rest = current!.slice(half);
      state.tail = rest;
      this.streams.set(out, state);
    }
    const tail = state.tail + text;
    if (tail.length > half) {
      state.dropped += tail.length - half;
      state.tail = tail.slice(tail.length - half);
    } else state.tail = tail;
    out.text = state.head + state.tail;
  }

  private clear(cell: CodeCell): void {
    this.forgetCellDisplays(cell);
    for (const o of cell.outputs) if (o.output_type === "stream") this.streams.delete(o);
    cell.outputs = [];
  }

  private forgetCellDisplays(cell: CodeCell): void {
    for (const set of this.displays.values()) {
      for (const o of cell.outputs ?? []) if (o.output_type === "display_data" || o.output_type === "execute_result") set.delete(o);
    }
  }

  private track(id: string, out: DisplayOutput): void {
    let set = this.displays.get(id);
    if (!set) this.displays.set(id, (set = new Set()));
    set.add(out);
  }

  private updateDisplay(id: string, data: Record<string, unknown>, metadata: Record<string, unknown>): void {
    for (const o of this.displays.get(id) ?? []) {
      o.data = data;
      o.metadata = metadata;
    }
  }
}

function bundle(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? { ...(v as Record<string, unknown>) } : {};
}

function meta(v: unknown): Record<string, unknown> {
  return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
