/**
 * The tsdl kernel's main thread: it runs cells and answers shell requests, while the I/O thread
 * (`io-worker.ts`) owns the sockets.
 *
 * Why not tslab's own server and executor (`tslab/dist/jupyter.js`, `executor.js`)? Its server
 * compares HMACs with `==` (not constant-time), throws on malformed frames, sends no
 * execute_input, has no stdin, no interrupt_request and no history, and serves control and
 * heartbeat on the main thread, so a `while (true) {}` cell cannot be interrupted; its executor
 * prints errors and results with console.log instead of sending `error` and `execute_result`.
 * We keep tslab's converter (TypeScript in, CommonJS out, with types carried from cell to cell)
 * and write the protocol layer and executor here.
 *
 * Start-up: the I/O thread binds and answers kernel_info at once; meanwhile this thread picks the
 * TensorFlow.js backend, loads TypeScript and runs a hidden preload cell
 * (`import * as tf from "@tensorflow/tfjs"; import * as dl from "tsdl"; const display = dl.display`),
 * so `tf`, `dl` and `display` are in scope, with types, in the first cell. Requests that need it
 * wait in the queue until then.
 */
import { randomUUID } from "node:crypto";
import Module from "node:module";
import path from "node:path";
import { inspect } from "node:util";
import { Worker } from "node:worker_threads";
import { isDisplayHandle, registerHost, toBundle, type MimeBundle, type NotebookHost } from "../src/display";
import { registerCommHost } from "../src/widgets/comm";
import { SLOTS } from "./busy";
import { Comms } from "./comms";
import { readConnectionFile } from "./connection";
import { Executor, codePointsToUtf16, utf16ToCodePoints, type CellOutcome } from "./executor";
import type { FromIo, IoWorkerData, ToIo } from "./io-worker";
import { logLine } from "./io-worker";
import { LIBRARY_ENTRY, PACKAGE_ROOT } from "./paths";
import {
  PROTOCOL_VERSION,
  type CommInfoRequest,
  type CompleteRequest,
  type ErrorContent,
  type ExecuteRequest,
  type Header,
  type HistoryEntry,
  type HistoryRequest,
  type InputReplyContent,
  type InspectRequest,
  type IsCompleteRequest,
  type KernelInfoReply,
  type Message,
  type PagePayload,
  type UserExpressionResult,
} from "./protocol";
import { newMessage, serialize } from "./wire";
import { declarationsRead, requestBuild, snapshotOff, snapshotStartedAt, snapshotState, snapshotUse, snapshotWorthy, typescriptPath } from "./snapshot";

/**
 * The real `process.exit`, kept for the kernel itself: cells get a `process.exit` that throws
 * (see `installProcessHooks`), so a cell cannot end the kernel and lose the session by accident.
 */
const exitProcess: (code?: number) => never = process.exit.bind(process);

/** What a cell's `process.exit()` throws: the cell fails, the kernel and its variables stay. */
export class ProcessExitError extends Error {
  constructor(readonly code: number | string | null | undefined) {
    super(
      `process.exit(${code === undefined ? "" : JSON.stringify(code)}) was called in a cell; the kernel keeps running with its variables ` +
        "(to end it, shut down or restart the kernel from the notebook)",
    );
    this.name = "ProcessExitError";
  }
}

/** The hidden first cell: what every notebook has in scope. */
export const PRELOAD = [
  'import * as tf from "@tensorflow/tfjs";',
  'import * as dl from "tsdl";',
  // Annotated, so the declaration emit copies `typeof dl.display` instead of writing out the
  // inferred type of the whole display API (a quarter second of the start-up, by a CPU profile).
  "const display: typeof dl.display = dl.display;",
].join("\n");

const TSDL_VERSION = (require(path.join(PACKAGE_ROOT, "package.json")) as { version: string }).version;
const TFJS_VERSION = (require("@tensorflow/tfjs/package.json") as { version: string }).version;
// The TypeScript that compiles cells is tslab's own dependency: resolve it from there.
const TS_VERSION = (
  Module.createRequire(require.resolve("tslab/dist/converter"))("@tslab/typescript-for-tslab/package.json") as { version: string }
).version;

/** The kernel_info_reply content; `backend` is filled in once the backend is chosen. */
export function kernelInfo(backend?: string): KernelInfoReply {
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "tsdl",
    implementation_version: TSDL_VERSION,
    language_info: {
      name: "typescript",
      version: TS_VERSION,
      mimetype: "text/typescript",
      file_extension: ".ts",
      pygments_lexer: "typescript",
      // As tslab does: mode "typescript" for JupyterLab; name/typescript for the classic notebook.
      codemirror_mode: { name: "javascript", mode: "typescript", typescript: true },
      nbconvert_exporter: "script",
    },
    banner:
      `tsdl ${TSDL_VERSION}: TypeScript ${TS_VERSION} with TensorFlow.js ${TFJS_VERSION} (tf) and the tsdl library (dl) preloaded\n` +
      `backend: ${backend ?? "being chosen (see dl.backendInfo())"}`,
    help_links: [{ text: "TensorFlow.js API", url: "https://js.tensorflow.org/api/latest/" }],
  };
}

/** How `tsdl kernel` started this kernel. */
export interface StartOptions {
  /** Why the start-up snapshot was not used (unset: it was, or this kernel runs from it). */
  snapshotNotUsed?: string;
}

interface Request {
  channel: "shell" | "control";
  msg: Message;
  ids: Uint8Array[];
}

interface OutputTarget {
  header: Header;
  ids: Uint8Array[];
  allowStdin: boolean;
  silent: boolean;
}

/** Start the kernel on a connection file; resolves when it has shut down. */
export async function runKernel(connectionFile: string, options: StartOptions = {}): Promise<void> {
  const info = readConnectionFile(connectionFile);
  if (info.key === "") logLine("the connection file has an empty key: message signing is off");
  const kernel = new Kernel(info, options);
  await kernel.run();
}

class Kernel {
  private readonly session = randomUUID();
  private readonly busy = new Int32Array(new SharedArrayBuffer(4 * SLOTS));
  private readonly worker: Worker;
  private executor: Executor | undefined;
  private readonly ready: Promise<void>;
  private readyDone = false;
  private readonly queue: Request[] = [];
  private pumping = false;
  private executionCount = 0;
  private readonly history: { count: number; code: string; output: string | null }[] = [];
  /** Where cell output goes: the running execute_request, else the last one. */
  private target: OutputTarget | undefined;
  private readonly inputs = new Map<string, { resolve(v: string): void; reject(e: Error): void }>();
  private shuttingDown = false;
  private finished!: () => void;
  private readonly done = new Promise<void>((r) => (this.finished = r));
  private preloadError: ErrorContent | undefined;
  /** Open comms and comm targets (widgets); see comms.ts. */
  private readonly comms: Comms = new Comms({
    publish: (type, content, buffers, parent, metadata) => {
      const msg = newMessage(type, content, this.session, parent, metadata) as Message;
      msg.buffers = buffers;
      this.send("iopub", [], msg);
    },
    cell: () => this.target?.header,
    log: logLine,
    writeError: (cell, text) => {
      if (cell) this.toIo({ type: "stream", name: "stderr", text, parent: cell });
    },
    changed: (comms, targets) => this.toIo({ type: "comms", comms, targets }),
  });

  constructor(
    info: ReturnType<typeof readConnectionFile>,
    private readonly startOptions: StartOptions = {},
  ) {
    const data: IoWorkerData = { connection: info, session: this.session, kernelInfo: kernelInfo(), busy: this.busy };
    this.worker = new Worker(path.join(__dirname, "io-worker.js"), { workerData: data });
    this.worker.on("message", (m: FromIo) => this.onIo(m));
    this.worker.on("error", (err) => {
      logLine(`the I/O thread failed: ${err.stack ?? err.message}`);
      exitProcess(1);
    });
    this.worker.on("exit", (code) => {
      if (!this.shuttingDown) {
        logLine(`the I/O thread exited unexpectedly (code ${code})`);
        exitProcess(1);
      }
    });
    this.ready = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.start())
      .catch((err: Error) => {
        logLine(`start-up failed: ${err.stack ?? err.message}`);
        exitProcess(1);
      });
  }

  async run(): Promise<void> {
    this.installProcessHooks();
    // Close the sockets in order (I/O thread, heartbeat thread) before exiting: exiting with a
    // zeromq socket still open in a thread aborts the process (Napi::Error).
    watchParent(() => void this.shutdown(false));
    await this.done;
  }

  private toIo(m: ToIo): void {
    this.worker.postMessage(m);
  }

  // ---- start-up ------------------------------------------------------------------------------

  private async start(): Promise<void> {
    const t0 = Date.now();
    // Each start-up phase's duration goes into the "ready" log line (what a profile is read against).
    const phases: string[] = [];
    let last = t0;
    const phase = (name: string) => {
      const now = Date.now();
      phases.push(`${name} ${now - last}`);
      last = now;
    };
    // Start choosing the backend (WebAssembly compiles on V8's background threads) while this
    // thread builds the TypeScript converter.
    const dl = require(LIBRARY_ENTRY) as typeof import("../src/index");
    phase("library");
    const backend = dl.initBackend().then(
      (info) => this.toIo({ type: "kernel-info", content: kernelInfo(info.active) }),
      (err: Error) => logLine(`no TensorFlow.js backend: ${err.message}`),
    );
    registerHost(this.host());
    registerCommHost(this.comms.host());
    // The widget targets (jupyter.widget, jupyter.widget.control) exist before the first cell.
    dl.widgets.ensureTargets();
    this.executor = new Executor({ cwd: process.cwd(), root: PACKAGE_ROOT, libraryEntry: LIBRARY_ENTRY, busyFlag: this.busy });
    phase("typescript+converter");
    // Choosing the wasm backend is half waiting (its module compiles and its threads start in the
    // background) and half work on this thread, in steps that run only when this thread is free.
    // Give the steps due now a turn, then run the preload (it only type-checks and requires
    // modules) while the background work goes on, and wait for the backend last.
    await new Promise((r) => setImmediate(r));
    phase("backend steps");
    const outcome = await this.executor.execute(PRELOAD, "<preload>");
    if (outcome.status === "error") {
      this.preloadError = outcome.error;
      logLine(`the preload cell failed: ${outcome.error.evalue}`);
    }
    prettyTensors(this.executor.require("@tensorflow/tfjs") as typeof import("@tensorflow/tfjs"));
    prettyModels(this.executor.require("@tensorflow/tfjs") as typeof import("@tensorflow/tfjs"), dl);
    phase("preload");
    await backend;
    phase("backend wait");
    logLine(`ready in ${Date.now() - t0} ms (${process.cwd()}); ms per phase: ${phases.join(", ")}; since process start ${Math.round(performance.now())} ms`);
    this.readyDone = true;
    this.toIo({ type: "started" });
    // After the first requests (a cell sent at start-up runs first): a few ms, or ~100 ms to write it once.
    setImmediate(() => {
      if (!snapshotState()) logLine(this.executor!.saveCodeCache());
      logLine(this.snapshotNote());
    });
  }

  /** What the log says of the start-up snapshot; starts its background build when there is none fit to use. */
  private snapshotNote(): string {
    const used = snapshotState();
    if (used) {
      const { hits, misses } = snapshotUse();
      return (
        `started from the start-up snapshot ${process.env.TSDL_SNAPSHOT_BLOB ?? ""} (deserialized by ${Math.round(snapshotStartedAt())} ms since process start): ` +
        `${hits} declaration files taken from it, ${misses} changed since and parsed again`
      );
    }
    const reason = this.startOptions.snapshotNotUsed ?? "not started by tsdl kernel";
    const off = snapshotOff();
    if (off) return `start-up snapshot not used: ${off}`;
    const root = PACKAGE_ROOT;
    const tsPath = typescriptPath();
    const read = declarationsRead();
    const files = read.files.filter((f) => snapshotWorthy(f, path.dirname(tsPath), root));
    try {
      return `start-up snapshot not used: ${reason}; ${requestBuild({ tsPath, files, options: read.options })}`;
    } catch (err) {
      return `start-up snapshot not used: ${reason}; could not start its build: ${(err as Error).message}`;
    }
  }

  // ---- messages from the I/O thread -----------------------------------------------------------------

  private onIo(m: FromIo): void {
    switch (m.type) {
      case "ready":
        return;
      case "fatal":
        logLine(m.message);
        exitProcess(1);
        return;
      case "ping":
        this.toIo({ type: "pong", id: m.id });
        return;
      case "interrupt":
        this.executor?.interruptIfStartedBy(m.at);
        return;
      case "request":
        this.onRequest({ channel: m.channel, msg: m.msg, ids: m.ids });
        return;
      case "stdin":
        this.onStdin(m.msg);
        return;
      case "shutdown":
        void this.shutdown(m.restart);
        return;
      case "closed":
        return;
    }
  }

  private onRequest(r: Request): void {
    if (this.shuttingDown) return;
    if (this.readyDone && r.channel === "shell" && r.msg.header.msg_type.startsWith("comm_") && r.msg.header.msg_type !== "comm_info_request") {
      // Comm messages do not wait behind a cell: a widget moved while a cell awaits reaches its
      // handler at once (still in arrival order: the I/O thread posts them in order).
      this.handleComm(r);
      return;
    }
    if (r.channel === "control" && r.msg.header.msg_type !== "execute_request") {
      // Control requests do not wait behind cells (cells always run one at a time, in order).
      void this.handle(r);
      return;
    }
    this.queue.push(r);
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.shuttingDown) {
        if (!this.readyDone) await this.ready;
        const r = this.queue.shift()!;
        await this.handle(r);
      }
    } finally {
      this.pumping = false;
    }
  }

  private async handle(r: Request): Promise<void> {
    const { msg } = r;
    if (!this.readyDone) await this.ready;
    this.publish("status", { execution_state: "busy" }, msg.header);
    try {
      const content = msg.content;
      switch (msg.header.msg_type) {
        case "execute_request":
          await this.execute(r, content as unknown as ExecuteRequest);
          break;
        case "complete_request":
          this.reply(r, this.complete(content as unknown as CompleteRequest));
          break;
        case "inspect_request":
          this.reply(r, this.inspect(content as unknown as InspectRequest));
          break;
        case "is_complete_request":
          this.reply(r, this.isComplete(content as unknown as IsCompleteRequest));
          break;
        case "history_request":
          this.reply(r, this.historyReply(content as unknown as HistoryRequest));
          break;
        case "comm_info_request": {
          const target = (content as CommInfoRequest).target_name;
          this.reply(r, { status: "ok", comms: this.comms.info(typeof target === "string" ? target : undefined) });
          break;
        }
        case "comm_open":
        case "comm_msg":
        case "comm_close":
          this.comms.handle(msg);
          break;
        default:
          if (msg.header.msg_type.endsWith("_request")) {
            this.reply(r, {
              status: "error",
              ename: "UnknownMessageType",
              evalue: `the tsdl kernel does not handle ${msg.header.msg_type}`,
              traceback: [],
            });
          }
          logLine(`ignored ${msg.header.msg_type} on ${r.channel}`);
      }
    } catch (err) {
      logLine(`failed to handle ${msg.header.msg_type}: ${(err as Error).stack ?? err}`);
      this.reply(r, {
        status: "error",
        ename: "KernelError",
        evalue: `the kernel failed to handle ${msg.header.msg_type}: ${(err as Error).message}`,
        traceback: [String((err as Error).stack ?? err)],
      });
    } finally {
      this.publish("status", { execution_state: "idle" }, msg.header);
    }
  }

  /** A comm message that arrived after start-up: handled at once, with its busy/idle. */
  private handleComm(r: Request): void {
    this.publish("status", { execution_state: "busy" }, r.msg.header);
    try {
      this.comms.handle(r.msg);
    } finally {
      this.publish("status", { execution_state: "idle" }, r.msg.header);
    }
  }

  // ---- sending ---------------------------------------------------------------------------------

  private send(channel: "shell" | "control" | "stdin" | "iopub", ids: Uint8Array[], msg: Message): void {
    this.toIo({ type: "send", channel, ids, msg: serialize(msg) });
  }

  private reply(r: Request, content: object): void {
    const type = r.msg.header.msg_type.replace(/_request$/, "_reply");
    this.send(r.channel, r.ids, newMessage(type, content, this.session, r.msg.header) as Message);
  }

  /** Publish on iopub (the I/O thread sends stream text written before it first). */
  private publish(type: string, content: object, parent: Header): void {
    this.send("iopub", [], newMessage(type, content, this.session, parent) as Message);
  }

  // ---- output capture --------------------------------------------------------------------------

  /**
   * Cell output written to process.stdout/stderr becomes `stream` messages. Each write goes to the
   * I/O thread at once, which batches them: text printed just before a long synchronous
   * computation still reaches the notebook while the computation runs.
   */
  writeStream(name: "stdout" | "stderr", text: string): void {
    if (text !== "" && !this.target?.silent && this.comms.capture({ type: "stream", name, text })) return;
    const t = this.target;
    if (!t) {
      // Not in any cell yet (preload): keep it in the kernel's log.
      logLine(`[${name}] ${text.replace(/\n$/, "")}`);
      return;
    }
    if (t.silent || text === "") return;
    this.toIo({ type: "stream", name, text, parent: t.header });
  }

  private installProcessHooks(): void {
    const capture = (name: "stdout" | "stderr") =>
      function write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
        const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8");
        kernelRef.writeStream(name, text);
        const done = typeof encoding === "function" ? encoding : cb;
        if (typeof done === "function") process.nextTick(done as () => void);
        return true;
      };
    const kernelRef = this;
    process.stdout.write = capture("stdout") as typeof process.stdout.write;
    process.stderr.write = capture("stderr") as typeof process.stderr.write;
    // A cell (or a library it calls) that exits would take the session with it; make it a cell error.
    process.exit = ((code?: number | string | null) => {
      throw new ProcessExitError(code);
    }) as typeof process.exit;
    Error.stackTraceLimit = 50;
    process.on("SIGINT", () => this.executor?.interrupt());
    process.on("unhandledRejection", (reason) => {
      if (this.executor?.failActive("unhandled-rejection", reason)) return;
      logLine(`unhandled rejection outside a cell: ${describeThrown(reason).split("\n")[0]}`);
      this.writeStream("stderr", `Unhandled promise rejection (after its cell finished): ${describeThrown(reason)}\n`);
    });
    process.on("uncaughtException", (err) => {
      if (this.executor?.failActive("uncaught-exception", err)) return;
      logLine(`uncaught exception outside a cell: ${describeThrown(err).split("\n")[0]}`);
      this.writeStream("stderr", `Uncaught exception (after its cell finished): ${describeThrown(err)}\n`);
    });
  }

  // ---- the notebook host (display and input for the library) -------------------------------------

  private host(): NotebookHost {
    return {
      display: (bundle: MimeBundle, options: { displayId?: string; update?: boolean; metadata?: Record<string, unknown> }) => {
        const t = this.target;
        if (!t) throw new Error("display() was called outside any cell");
        if (t.silent) return;
        const content = {
          data: bundle,
          metadata: options.metadata ?? {},
          ...(options.displayId !== undefined ? { transient: { display_id: options.displayId } } : {}),
        };
        if (options.update && options.displayId === undefined) {
          throw new Error("display update needs a display id");
        }
        // Serialize here, so a bundle that is not JSON fails in the caller's cell with a clear error.
        const msg = newMessage(options.update ? "update_display_data" : "display_data", content, this.session, t.header);
        const serialized = serialize(msg as Message);
        // An Output widget that captures takes the display instead (see src/widgets/output.ts).
        if (this.comms.capture({ type: "display", bundle, displayId: options.displayId, update: options.update === true })) return;
        this.toIo({ type: "send", channel: "iopub", ids: [], msg: serialized });
      },
      clear: (wait: boolean) => {
        const t = this.target;
        if (!t) throw new Error("display.clear() was called outside any cell");
        if (t.silent) return;
        this.publish("clear_output", { wait }, t.header);
      },
      input: (prompt: string, options?: { password?: boolean }) => this.input(prompt, options?.password ?? false),
    };
  }

  private input(prompt: string, password: boolean): Promise<string> {
    const t = this.target;
    if (!t) return Promise.reject(new Error("input() was called outside any cell"));
    if (!t.allowStdin) {
      return Promise.reject(
        new Error("input() is not available: this front end does not accept input requests (its execute_request had allow_stdin: false)"),
      );
    }
    const msg = newMessage("input_request", { prompt, password }, this.session, t.header);
    return new Promise<string>((resolve, reject) => {
      this.inputs.set(msg.header.msg_id, { resolve, reject });
      this.send("stdin", t.ids, msg as Message);
    });
  }

  private onStdin(msg: Message): void {
    if (msg.header.msg_type !== "input_reply") {
      logLine(`ignored ${msg.header.msg_type} on stdin`);
      return;
    }
    let parentId = (msg.parent_header as Partial<Header> | undefined)?.msg_id ?? "";
    // jupyter_client's input() (so jupyter console) and the classic Notebook send the reply with
    // no or an empty parent_header; like ipykernel, take it as the answer to the one request
    // pending. Only a reply naming another request is ignored.
    if (parentId === "" && this.inputs.size === 1) parentId = this.inputs.keys().next().value as string;
    const waiter = this.inputs.get(parentId);
    if (!waiter) {
      logLine(
        parentId === ""
          ? `ignored an input_reply with no parent_header: ${this.inputs.size} input requests are pending, so it answers none of them for sure`
          : "ignored an input_reply that answers no pending input_request",
      );
      return;
    }
    this.inputs.delete(parentId);
    const value = (msg.content as Partial<InputReplyContent>).value;
    if (typeof value === "string") waiter.resolve(value);
    else waiter.reject(new Error(`input_reply content.value must be a string, found ${inspect(value)}`));
  }

  // ---- execute -------------------------------------------------------------------------------------

  private async execute(r: Request, c: ExecuteRequest): Promise<void> {
    if (typeof c.code !== "string") {
      this.reply(r, {
        status: "error",
        execution_count: this.executionCount,
        ename: "BadRequest",
        evalue: `execute_request content.code must be a string, found ${inspect(c.code)}`,
        traceback: [],
      });
      return;
    }
    const silent = c.silent === true;
    const storeHistory = silent ? false : c.store_history !== false;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    const previous = this.target;
    this.target = { header: r.msg.header, ids: r.ids, allowStdin: c.allow_stdin !== false, silent };
    try {
      await this.executeIn(r, c, count, silent, storeHistory);
    } finally {
      if (silent) this.target = previous;
      // An input request the cell left unanswered (it was interrupted, say) is void now.
      for (const w of this.inputs.values()) w.reject(new Error("the cell that asked for input has ended"));
      this.inputs.clear();
    }
  }

  private async executeIn(r: Request, c: ExecuteRequest, count: number, silent: boolean, storeHistory: boolean): Promise<void> {
    if (!silent) this.publish("execute_input", { code: c.code, execution_count: count }, r.msg.header);
    if (this.preloadError && count === 1) {
      this.writeStream("stderr", `tsdl: the preload cell failed, so tf and dl are not in scope: ${this.preloadError.evalue}\n`);
    }
    const query = pagerQuery(c.code);
    if (query !== undefined) return this.page(r, c.code, count, query, storeHistory);
    const filename = storeHistory ? `<cell ${count}>` : `<cell ${count}.${randomUUID().slice(0, 4)}>`;
    const outcome = await this.executor!.execute(c.code, filename);
    let output: string | null = null;
    let error: ErrorContent | undefined;
    // A display handle (a cell ending in `display(x)`) is no result: IPython's display returns None.
    if (outcome.status === "ok" && outcome.hasValue && !silent && !isDisplayHandle(outcome.value)) {
      const shown = this.showResult(outcome.value, count, r.msg.header);
      if ("error" in shown) error = shown.error;
      else output = shown.text;
    }
    if (outcome.status === "error") error = outcome.error;
    if (storeHistory) this.history.push({ count, code: c.code, output });
    // Widget updates the cell coalesced leave before its reply.
    this.comms.flush();
    if (error) {
      if (!silent) this.publish("error", error, r.msg.header);
      this.reply(r, { status: "error", execution_count: count, ...error });
      if (c.stop_on_error !== false) await this.abortQueued();
      return;
    }
    const userExpressions = await this.userExpressions(c.user_expressions);
    this.reply(r, { status: "ok", execution_count: count, payload: [], user_expressions: userExpressions });
  }

  /**
   * `?name` or `name?` (a cell of that line alone): answer with a `page` payload holding what
   * `inspect` gives for `name` (its type and docs), as IPython does; the cell does not run.
   */
  private page(r: Request, code: string, count: number, name: string, storeHistory: boolean): void {
    const info = this.executor!.inspect(name, name.length);
    if (storeHistory) this.history.push({ count, code, output: null });
    const payload: PagePayload[] = [];
    if (info) payload.push({ source: "page", data: { "text/plain": info.text }, start: 0 });
    else this.writeStream("stdout", `Object \`${name}\` not found.\n`);
    this.reply(r, { status: "ok", execution_count: count, payload, user_expressions: {} });
  }

  /** Send execute_result for a cell's value; returns its text/plain, or the error rendering failed with. */
  private showResult(value: unknown, count: number, parent: Header): { text: string | null } | { error: ErrorContent } {
    let bundle: MimeBundle;
    try {
      bundle = toBundle(value);
      this.publishChecked("execute_result", { execution_count: count, data: bundle, metadata: {} }, parent);
    } catch (err) {
      return {
        error: {
          ename: (err as Error).name ?? "Error",
          evalue: `the cell's value could not be shown: ${(err as Error).message}`,
          traceback: [String((err as Error).stack ?? err)],
        },
      };
    }
    const text = bundle["text/plain"];
    return { text: typeof text === "string" ? text : null };
  }

  /** Like publish, but serializes first so a bad bundle throws here. */
  private publishChecked(type: string, content: object, parent: Header): void {
    const s = serialize(newMessage(type, content, this.session, parent) as Message);
    this.toIo({ type: "send", channel: "iopub", ids: [], msg: s });
  }

  private async userExpressions(exprs: Record<string, string> | undefined): Promise<Record<string, UserExpressionResult>> {
    const out: Record<string, UserExpressionResult> = {};
    if (!exprs || typeof exprs !== "object") return out;
    for (const [name, expr] of Object.entries(exprs)) {
      if (typeof expr !== "string") {
        out[name] = { status: "error", ename: "BadRequest", evalue: "user expression must be a string", traceback: [] };
        continue;
      }
      const o: CellOutcome = await this.executor!.evaluate(expr);
      if (o.status === "error") {
        out[name] = { status: "error", ...o.error };
        continue;
      }
      try {
        const data = o.hasValue ? toBundle(o.value) : { "text/plain": "undefined" };
        JSON.stringify(data);
        out[name] = { status: "ok", data, metadata: {} };
      } catch (err) {
        out[name] = { status: "error", ename: "Error", evalue: (err as Error).message, traceback: [] };
      }
    }
    return out;
  }

  /** After a failing cell with stop_on_error: answer the execute requests queued behind it as aborted. */
  private async abortQueued(): Promise<void> {
    // Let requests already on their way from the I/O thread arrive first.
    await new Promise((r) => setImmediate(r));
    const keep: Request[] = [];
    for (const q of this.queue.splice(0)) {
      if (q.msg.header.msg_type !== "execute_request") {
        keep.push(q);
        continue;
      }
      this.publish("status", { execution_state: "busy" }, q.msg.header);
      this.reply(q, { status: "aborted", execution_count: this.executionCount });
      this.publish("status", { execution_state: "idle" }, q.msg.header);
    }
    this.queue.unshift(...keep);
  }

  // ---- introspection ----------------------------------------------------------------------------

  private complete(c: CompleteRequest): object {
    const code = String(c.code ?? "");
    const pos = codePointsToUtf16(code, Number(c.cursor_pos ?? code.length));
    const r = this.executor!.complete(code, pos);
    const start = utf16ToCodePoints(code, r.start);
    const end = utf16ToCodePoints(code, r.end);
    return {
      status: "ok",
      matches: r.matches,
      cursor_start: start,
      cursor_end: end,
      metadata: {
        // JupyterLab shows these kinds next to the matches.
        _jupyter_types_experimental: r.matches.map((text, i) => ({ start, end, text, type: r.kinds[i] })),
      },
    };
  }

  private inspect(c: InspectRequest): object {
    const code = String(c.code ?? "");
    const pos = codePointsToUtf16(code, Number(c.cursor_pos ?? code.length));
    const info = this.executor!.inspect(code, pos);
    if (!info) return { status: "ok", found: false, data: {}, metadata: {} };
    return { status: "ok", found: true, data: { "text/plain": info.text }, metadata: {} };
  }

  private isComplete(c: IsCompleteRequest): object {
    const r = this.executor!.isComplete(String(c.code ?? ""));
    return r.status === "incomplete" ? { status: "incomplete", indent: r.indent } : { status: r.status };
  }

  private historyReply(c: HistoryRequest): object {
    const SESSION = 1;
    const entry = (h: { count: number; code: string; output: string | null }): HistoryEntry =>
      c.output ? [SESSION, h.count, [h.code, h.output]] : [SESSION, h.count, h.code];
    let picked = this.history;
    switch (c.hist_access_type) {
      case "tail": {
        const n = Number(c.n ?? 10);
        picked = n > 0 ? this.history.slice(-n) : [];
        break;
      }
      case "range": {
        const session = Number(c.session ?? 0);
        if (session !== 0 && session !== SESSION) {
          picked = [];
          break;
        }
        const start = Number(c.start ?? 1);
        const stop = c.stop === undefined || c.stop === null ? Infinity : Number(c.stop);
        picked = this.history.filter((h) => h.count >= start && h.count < stop);
        break;
      }
      case "search": {
        const re = globToRegExp(String(c.pattern ?? "*"));
        picked = this.history.filter((h) => re.test(h.code));
        if (c.unique) {
          const seen = new Set<string>();
          picked = picked.filter((h) => (seen.has(h.code) ? false : (seen.add(h.code), true)));
        }
        const n = Number(c.n ?? 0);
        if (n > 0) picked = picked.slice(-n);
        break;
      }
      default:
        return { status: "error", ename: "BadRequest", evalue: `unknown hist_access_type ${inspect(c.hist_access_type)}`, traceback: [] };
    }
    return { status: "ok", history: picked.map(entry) };
  }

  // ---- shutdown ------------------------------------------------------------------------------------

  private async shutdown(restart: boolean): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    logLine(restart ? "shutting down for a restart" : "shutting down");
    this.executor?.interrupt();
    for (const w of this.inputs.values()) w.reject(new Error("the kernel is shutting down"));
    try {
      this.executor?.close();
    } catch (err) {
      logLine(`closing the compiler failed: ${(err as Error).message}`);
    }
    const closed = new Promise<void>((resolve) => {
      this.worker.once("message", (m: FromIo) => m.type === "closed" && resolve());
      setTimeout(resolve, 3000);
    });
    this.toIo({ type: "close" });
    await closed;
    await this.worker.terminate();
    this.finished();
    // Timers a cell left behind must not keep the process alive.
    exitProcess(0);
  }
}

/** Print tensors with their values (console.log and results), not tfjs's internal fields. */
function prettyTensors(tf: typeof import("@tensorflow/tfjs")): void {
  const custom = inspect.custom;
  Object.defineProperty(tf.Tensor.prototype, custom, {
    configurable: true,
    value(this: import("@tensorflow/tfjs").Tensor) {
      return this.isDisposed ? `Tensor (disposed, shape [${this.shape.join(", ")}])` : this.toString();
    },
  });
}

/**
 * A tfjs model shown as a cell's result, with display() or console.log shows its summary
 * (`dl.summary`: layers, output shapes, parameters), not 22 KB of LayersModel internals.
 */
function prettyModels(tf: typeof import("@tensorflow/tfjs"), dl: typeof import("../src/index")): void {
  const proto = tf.LayersModel.prototype as unknown as Record<PropertyKey, unknown>;
  type Model = import("@tensorflow/tfjs").LayersModel;
  // A model that cannot be summarised yet (no input shape) still gets one short line.
  const bundleOf = (model: Model): MimeBundle => {
    try {
      return dl.summary(model)[dl.JUPYTER_DISPLAY]();
    } catch (err) {
      return { "text/plain": `${model.getClassName()} "${model.name}" (no summary: ${(err as Error).message})` };
    }
  };
  Object.defineProperty(proto, dl.JUPYTER_DISPLAY, {
    configurable: true,
    value(this: Model) {
      return bundleOf(this);
    },
  });
  Object.defineProperty(proto, inspect.custom, {
    configurable: true,
    value(this: Model) {
      return String(bundleOf(this)["text/plain"]);
    },
  });
}

function describeThrown(v: unknown): string {
  if (v instanceof Error) return v.stack ?? `${v.name}: ${v.message}`;
  return inspect(v);
}

/** The name a pager request asks about: `?a.b` or `a.b?` (or `??`) alone in the cell; else undefined. */
export function pagerQuery(code: string): string | undefined {
  const NAME = "[A-Za-z_$][\\w$]*(?:\\.[A-Za-z_$][\\w$]*)*";
  const m = new RegExp(`^\\s*(?:\\?{1,2}\\s*(${NAME})|(${NAME})\\?{1,2})\\s*$`).exec(code);
  return m ? (m[1] ?? m[2]) : undefined;
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[\\s\\S]*").replace(/\?/g, "[\\s\\S]");
  return new RegExp(`^${body}$`);
}

/**
 * Shut down when the process that started us is gone (JPY_PARENT_PID, as ipykernel's parent
 * poller does): `shutdown` closes the sockets and exits with status 0.
 */
function watchParent(shutdown: () => void): void {
  const pid = Number(process.env.JPY_PARENT_PID);
  if (!Number.isInteger(pid) || pid <= 1) return;
  const timer = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch {
      clearInterval(timer);
      logLine(`parent process ${pid} is gone; exiting`);
      shutdown();
      // If the orderly shutdown hangs, still go.
      setTimeout(() => exitProcess(0), 10_000).unref();
    }
  }, 2000);
  timer.unref();
}
