/**
 * The Output widget: an output area inside a widget layout. `out.capture(fn)` routes what `fn`
 * prints and displays (console, `display()`, a chart that `dl.train.fit` redraws live) into the
 * widget's `outputs` instead of the cell, through the kernel's capture hook.
 *
 * Capture is kernel-side: the outputs are kept in the model's `outputs` state (as ipywidgets'
 * `Output.append_display_data` does), not routed by `msg_id` in the front end. The state is then
 * the same everywhere: in a live front end, in the headless runner (which stores it in the
 * notebook) and in a report; and a chart updated hundreds of times is coalesced to what the front
 * end can draw (see UPDATE_INTERVAL_MS in widget.ts).
 * Introduced in notebook 01.
 */
import { currentCommHost, type CapturedOutput } from "./comm";
import { attrs, type ControlOptions } from "./controls";
import { Widget } from "./widget";

/** One output in nbformat's shape (a stream or a display). */
export type OutputJson =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: string }
  | { output_type: "display_data"; data: Record<string, unknown>; metadata: Record<string, unknown> };

/** An output area that a cell, `interact` or a callback can print and display into. */
export class Output extends Widget {
  private readonly displayIndex = new Map<string, number>();

  constructor(options: { layout?: ControlOptions["layout"] } = {}) {
    super("Output", attrs("Output", options as never));
  }

  /** What the area shows now. */
  get outputs(): OutputJson[] {
    return [...(this.get("outputs") as OutputJson[])];
  }

  /** Empty the area. */
  clear(): void {
    this.displayIndex.clear();
    this.set({ outputs: [] });
  }

  /** Add text as if printed to stdout (or stderr). */
  appendStream(text: string, name: "stdout" | "stderr" = "stdout"): void {
    this.take({ type: "stream", name, text });
  }

  /**
   * Run `fn`, showing its console output and displays here. For an async `fn`, capture lasts
   * until its promise settles (output of other cells running meanwhile lands here too).
   */
  capture<T>(fn: () => T): T {
    const host = currentCommHost();
    if (!host) return fn();
    const release = host.capture((o) => this.take(o));
    let result: T;
    try {
      result = fn();
    } catch (err) {
      release();
      throw err;
    }
    if (result && typeof (result as { then?: unknown }).then === "function") {
      return (result as unknown as Promise<unknown>).finally(release) as T;
    }
    release();
    return result;
  }

  private take(o: CapturedOutput): boolean {
    const outputs = this.outputs;
    if (o.type === "stream") {
      const last = outputs[outputs.length - 1];
      if (last?.output_type === "stream" && last.name === o.name) outputs[outputs.length - 1] = { ...last, text: last.text + o.text };
      else outputs.push({ output_type: "stream", name: o.name, text: o.text });
    } else if (o.update) {
      const i = o.displayId === undefined ? undefined : this.displayIndex.get(o.displayId);
      // A display that is not in this area is updated wherever it is.
      if (i === undefined) return false;
      outputs[i] = { output_type: "display_data", data: o.bundle, metadata: {} };
    } else {
      if (o.displayId !== undefined) this.displayIndex.set(o.displayId, outputs.length);
      outputs.push({ output_type: "display_data", data: o.bundle, metadata: {} });
    }
    this.set({ outputs });
    return true;
  }
}
