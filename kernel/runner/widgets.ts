/**
 * The widget state of a headless run, kept as nbclient keeps it: every `jupyter.widget` comm the
 * kernel opens is followed on iopub (comm_open, then `update` and `echo_update` messages, then
 * comm_close), whatever cell or callback sent them, and at the end the live models go into the
 * notebook's `metadata.widgets["application/vnd.jupyter.widget-state+json"]` (widget state schema
 * 2.0), binary buffers as base64. A report renders the widgets from that state.
 *
 * Followed from iopub rather than asked for at the end (`request_states`), so a run whose kernel
 * died still stores what its widgets showed.
 */
import type { IopubMessage, Message } from "../protocol";
import { WIDGET_STATE_MIME } from "../nbformat/validate";

/** One model in the stored state. */
export interface StoredModel {
  model_name: string;
  model_module: string;
  model_module_version: string;
  state: Record<string, unknown>;
  buffers?: { path: (string | number)[]; data: string; encoding: "base64" }[];
}

/** The stored widget state (version 2.0 of the schema). */
export interface WidgetStateDocument {
  version_major: 2;
  version_minor: 0;
  state: Record<string, StoredModel>;
}

interface Model {
  state: Record<string, unknown>;
  buffers: Map<string, { path: (string | number)[]; data: Uint8Array }>;
}

/** Follows the kernel's widget comms on iopub. */
export class WidgetStateCollector {
  private readonly models = new Map<string, Model>();
  /** Comm ids of other targets (ignored). */
  private readonly others = new Set<string>();

  /** Feed every iopub message (any parent). */
  handle(msg: IopubMessage | Message): void {
    const type = msg.header.msg_type;
    if (type !== "comm_open" && type !== "comm_msg" && type !== "comm_close") return;
    const content = msg.content as { comm_id?: unknown; target_name?: unknown; data?: { method?: unknown; state?: unknown; buffer_paths?: unknown } };
    const id = content.comm_id;
    if (typeof id !== "string") return;
    if (type === "comm_close") {
      this.models.delete(id);
      return;
    }
    if (type === "comm_open" && content.target_name !== "jupyter.widget") {
      this.others.add(id);
      return;
    }
    if (this.others.has(id)) return;
    const data = content.data ?? {};
    if (type === "comm_open") this.models.set(id, { state: {}, buffers: new Map() });
    else if (data.method !== "update" && data.method !== "echo_update") return;
    const model = this.models.get(id);
    if (!model || data.state === null || typeof data.state !== "object") return;
    Object.assign(model.state, data.state);
    const paths = Array.isArray(data.buffer_paths) ? (data.buffer_paths as (string | number)[][]) : [];
    const buffers = (msg as Message).buffers ?? [];
    paths.forEach((p, i) => {
      if (Array.isArray(p) && buffers[i]) model.buffers.set(JSON.stringify(p), { path: p, data: buffers[i] });
    });
    // A key set again without a buffer is no longer binary.
    for (const key of Object.keys(data.state)) {
      for (const [k, b] of model.buffers) if (b.path[0] === key && !paths.some((p) => JSON.stringify(p) === k)) model.buffers.delete(k);
    }
  }

  /** How many widget models are alive. */
  get size(): number {
    return this.models.size;
  }

  /** The state document for `metadata.widgets`, or undefined when no widget is alive. */
  document(): WidgetStateDocument | undefined {
    if (this.models.size === 0) return undefined;
    const state: Record<string, StoredModel> = {};
    for (const [id, m] of this.models) {
      const s = m.state;
      const stored: StoredModel = {
        model_name: String(s._model_name ?? ""),
        model_module: String(s._model_module ?? ""),
        model_module_version: String(s._model_module_version ?? ""),
        state: structuredClone(s),
      };
      if (m.buffers.size > 0) {
        stored.buffers = [...m.buffers.values()].map((b) => ({ path: b.path, data: Buffer.from(b.data).toString("base64"), encoding: "base64" }));
      }
      state[id] = stored;
    }
    return { version_major: 2, version_minor: 0, state };
  }

  /** Put the state into (or, with no widgets, take it out of) a notebook's metadata. */
  store(metadata: Record<string, unknown>): void {
    const doc = this.document();
    if (doc) metadata.widgets = { [WIDGET_STATE_MIME]: doc };
    else delete metadata.widgets;
  }
}
