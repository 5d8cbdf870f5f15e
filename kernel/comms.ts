/**
 * Comms in the kernel: the `comm_open`, `comm_msg` and `comm_close` messages of the Jupyter
 * protocol ("Custom Messages"), in both directions, and `comm_info`. `kernel.ts` passes the
 * front end's comm messages here and registers `host()` for the library (`src/widgets/comm.ts`),
 * which opens comms and registers targets (`jupyter.widget`, `jupyter.widget.control`).
 *
 * - Front-end messages are handled as they arrive, in order, between cells or while a cell awaits
 *   (never queued behind a running cell: a slider moved during `await fit(...)` reaches its handler).
 * - A comm opened by the front end for an unknown target is closed at once, with a log line:
 *   "If the target_name key is not found on the receiving side, then it should immediately reply
 *   with a comm_close message to avoid an inconsistent state."
 * - A handler that throws (or rejects) is logged, and printed on stderr under the cell that made
 *   the comm; the kernel keeps serving.
 * - Malformed messages (no comm_id, unknown comm ids, data that is not an object) are dropped
 *   with a log line; no state changes.
 */
import type { Comm, CommData, CommHost, CommTargetHandler, CaptureSink, CapturedOutput } from "../src/widgets/comm";
import { randomUUID } from "node:crypto";
import type { CommMsgContent, CommOpenContent, Header, Message } from "./protocol";

/** What the comm layer needs from the kernel (injected, so tests can observe it). */
export interface CommsDeps {
  /** Publish a comm message on iopub under `parent`. */
  /** Publish a comm message on iopub under `parent`; `metadata` is the message's own metadata (where the widget protocol version goes). */
  publish(type: "comm_open" | "comm_msg" | "comm_close", content: object, buffers: Uint8Array[], parent: Header | undefined, metadata?: Record<string, unknown>): void;
  /** The header of the running (or last) cell's execute_request, if any. */
  cell(): Header | undefined;
  /** One line in the kernel's log. */
  log(line: string): void;
  /** Print text on stderr under `cell` (an execute_request header). */
  writeError(cell: Header | undefined, text: string): void;
  /** Tell the I/O thread which comms are open (it answers comm_info_request at once). */
  changed?(comms: Record<string, { target_name: string }>, targets: string[]): void;
}

interface Entry extends Comm {
  /** The cell that was running (or ran last) when the comm was made. */
  readonly cell: Header | undefined;
  deliver(data: CommData, buffers: Uint8Array[]): void;
  closedByFrontEnd(data: CommData): void;
}

/** The kernel's open comms and comm targets. */
export class Comms {
  private readonly targets = new Map<string, CommTargetHandler>();
  private readonly open = new Map<string, Entry>();
  private readonly sinks: CaptureSink[] = [];
  private readonly flushers = new Set<() => void>();
  /** The front-end message being handled now: kernel messages sent meanwhile are its children. */
  private current: Header | undefined;

  constructor(private readonly deps: CommsDeps) {}

  /** Open comms, as `comm_info_reply` lists them: "A dictionary of the comms, indexed by uuids", filtered by target. */
  info(targetName?: string): Record<string, { target_name: string }> {
    const out: Record<string, { target_name: string }> = {};
    for (const c of this.open.values()) {
      if (targetName === undefined || targetName === "" || c.target === targetName) out[c.id] = { target_name: c.target };
    }
    return out;
  }

  /** Handle a comm_open, comm_msg or comm_close from the front end. Never throws. */
  handle(msg: Message): void {
    const type = msg.header.msg_type;
    const content = msg.content as Partial<CommOpenContent & CommMsgContent>;
    const id = content?.comm_id;
    if (typeof id !== "string" || id === "") {
      this.deps.log(`dropped ${type}: content.comm_id must be a non-empty string, found ${brief(id)}`);
      return;
    }
    const data = content.data === undefined ? {} : content.data;
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      this.deps.log(`dropped ${type} for comm ${id}: content.data must be an object, found ${brief(data)}`);
      return;
    }
    this.current = msg.header;
    try {
      if (type === "comm_open") this.frontEndOpen(id, content.target_name, data, msg.buffers ?? []);
      else if (type === "comm_msg") this.frontEndMessage(id, data, msg.buffers ?? []);
      else if (type === "comm_close") this.frontEndClose(id, data);
      this.flush();
    } finally {
      this.current = undefined;
    }
  }

  /** Hand `output` to the innermost capturing sink; false when none took it. */
  capture(output: CapturedOutput): boolean {
    for (let i = this.sinks.length - 1; i >= 0; i--) {
      try {
        if (this.sinks[i](output)) return true;
      } catch (err) {
        this.deps.log(`an output capture failed: ${(err as Error).message}`);
      }
    }
    return false;
  }

  /** Send every coalesced update now (before an execute_reply, after a comm message). */
  flush(): void {
    for (const f of this.flushers) {
      try {
        f();
      } catch (err) {
        this.deps.log(`a comm flush failed: ${(err as Error).message}`);
      }
    }
  }

  /** The host the library uses (registered with `registerCommHost`). */
  host(): CommHost {
    return {
      open: (target, data, options = {}) => {
        if (typeof target !== "string" || target === "") throw new TypeError(`a comm target must be a non-empty string, found ${brief(target)}`);
        const id = randomUUID().replace(/-/g, "");
        const entry = this.entry(id, target);
        this.deps.publish(
          "comm_open",
          { comm_id: id, target_name: target, data: data ?? {} },
          options.buffers ?? [],
          this.parent(),
          options.metadata,
        );
        this.open.set(id, entry);
        this.changed();
        return entry;
      },
      registerTarget: (target, handler) => {
        this.targets.set(target, handler);
        this.changed();
      },
      capture: (sink) => {
        this.sinks.push(sink);
        return () => {
          const i = this.sinks.lastIndexOf(sink);
          if (i >= 0) this.sinks.splice(i, 1);
        };
      },
      onFlush: (f) => void this.flushers.add(f),
      log: (line) => this.deps.log(line),
    };
  }

  // ---- from the front end -----------------------------------------------------------------------

  private frontEndOpen(id: string, target: unknown, data: CommData, buffers: Uint8Array[]): void {
    const handler = typeof target === "string" ? this.targets.get(target) : undefined;
    if (!handler || this.open.has(id)) {
      this.deps.log(
        this.open.has(id)
          ? `comm_open for comm ${id}, which is already open: closed it`
          : `comm_open for unknown target ${brief(target)} (comm ${id}): closed it; known targets: ${[...this.targets.keys()].join(", ") || "none"}`,
      );
      if (this.open.has(id)) this.open.get(id)!.closedByFrontEnd({});
      this.deps.publish("comm_close", { comm_id: id, data: {} }, [], this.current);
      this.changed();
      return;
    }
    const entry = this.entry(id, target as string);
    this.open.set(id, entry);
    this.changed();
    this.guard(entry, "its target's open handler", () => handler(entry, data, buffers));
  }

  private frontEndMessage(id: string, data: CommData, buffers: Uint8Array[]): void {
    const entry = this.open.get(id);
    if (!entry) {
      this.deps.log(`dropped comm_msg for unknown comm ${id} (open comms: ${this.open.size})`);
      return;
    }
    entry.deliver(data, buffers);
  }

  private frontEndClose(id: string, data: CommData): void {
    const entry = this.open.get(id);
    if (!entry) {
      this.deps.log(`dropped comm_close for unknown comm ${id}`);
      return;
    }
    this.open.delete(id);
    this.changed();
    entry.closedByFrontEnd(data);
  }

  // ---- one comm ---------------------------------------------------------------------------------

  private entry(id: string, target: string): Entry {
    const comms = this;
    const cell = this.deps.cell();
    let closed = false;
    let onMessage: ((data: CommData, buffers: Uint8Array[]) => void | Promise<void>) | undefined;
    let onClose: ((data: CommData) => void) | undefined;
    const entry: Entry = {
      id,
      target,
      cell,
      send(data, options = {}) {
        if (closed) return;
        comms.deps.publish("comm_msg", { comm_id: id, data }, options.buffers ?? [], comms.parent(), options.metadata);
      },
      close(data = {}) {
        if (closed) return;
        closed = true;
        comms.deps.publish("comm_close", { comm_id: id, data }, [], comms.parent());
        comms.open.delete(id);
        comms.changed();
      },
      onMessage(h) {
        onMessage = h;
      },
      onClose(h) {
        onClose = h;
      },
      currentMessageId() {
        return (comms.parent()?.msg_id as string | undefined) ?? "";
      },
      deliver(data, buffers) {
        if (closed) return;
        if (!onMessage) {
          comms.deps.log(`dropped comm_msg for comm ${id} (${target}): it has no message handler`);
          return;
        }
        const h = onMessage;
        comms.guard(entry, "its message handler", () => h(data, buffers));
      },
      closedByFrontEnd(data) {
        if (closed) return;
        closed = true;
        const h = onClose;
        if (h) comms.guard(entry, "its close handler", () => h(data));
      },
    };
    return entry;
  }

  /** Run a handler; a throw or a rejection is logged and printed under the comm's cell. */
  private guard(entry: Entry, what: string, f: () => void | Promise<void>): void {
    const fail = (err: unknown) => {
      const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
      this.deps.log(`comm ${entry.id} (${entry.target}): ${what} threw: ${text.split("\n")[0]}`);
      this.deps.writeError(entry.cell, `Error in a comm handler (comm ${entry.id}, target ${entry.target}, ${what}):\n${text}\n`);
    };
    try {
      const r = f();
      if (r && typeof (r as Promise<void>).then === "function") (r as Promise<void>).then(undefined, fail);
    } catch (err) {
      fail(err);
    }
  }

  private parent(): Header | undefined {
    return this.current ?? this.deps.cell();
  }

  private changed(): void {
    this.deps.changed?.(this.info(), [...this.targets.keys()]);
  }
}

function brief(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? v.slice(0, 60) + "…" : v);
  return typeof v === "object" ? "an object" : `${typeof v} ${String(v)}`;
}
