/**
 * A Jupyter client over ZeroMQ: starts a kernel process from a fresh connection file, talks to it
 * on all five channels, and never leaves the process behind.
 *
 * Used by the notebook runner (`tsdl run`), the tests, the benchmark and `npm start`.
 *
 * ```ts
 * const kernel = await KernelClient.start();
 * const run = await kernel.execute("1 + 1");
 * run.result?.data["text/plain"]; // "2"
 * await kernel.close();
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import * as zmq from "zeromq";
import { endpoint, newConnectionInfo, writeConnectionFile } from "./connection";
import { kernelArgv } from "./paths";
import type {
  ConnectionInfo,
  DisplayDataContent,
  ErrorContent,
  ExecuteRequest,
  ExecuteResultContent,
  Header,
  InputRequestContent,
  IopubMessage,
  Message,
  ReplyMessage,
  RequestContents,
  RequestType,
  StatusContent,
  StreamContent,
} from "./protocol";
import { Wire, newMessage } from "./wire";

/** The kernel process ended while something was waiting on it. */
export class KernelDiedError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "KernelDiedError";
  }
}

/** A wait on the kernel took longer than allowed. */
export class KernelTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelTimeoutError";
  }
}

/** How to start a kernel. */
export interface KernelStartOptions {
  /** The command; `{connection_file}` is replaced by the file's path. Default: the tsdl kernel. */
  argv?: string[];
  /** Working directory of the kernel (a notebook's folder). Default: this process's cwd. */
  cwd?: string;
  /** Extra environment variables for the kernel, over this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the first kernel_info_reply and iopub traffic. Default 60 s. */
  readyTimeoutMs?: number;
  /**
   * Default true. False: return right after spawning, before the kernel has bound its sockets
   * (requests sent meanwhile are queued by ZeroMQ), as a front end that talks at once does.
   */
  waitReady?: boolean;
  /** Kernel stderr: kept (the last 64 KiB, see `stderrTail`), passed through, or dropped. Default "pipe". */
  stderr?: "pipe" | "inherit" | "ignore";
  /** Address to bind; default 127.0.0.1. */
  ip?: string;
}

/** Options of one execute_request. */
export interface ExecuteOptions {
  silent?: boolean;
  storeHistory?: boolean;
  /** Default: true when `onInput` is given. */
  allowStdin?: boolean;
  /** Default true: a failing cell aborts the execute requests queued behind it. */
  stopOnError?: boolean;
  userExpressions?: Record<string, string>;
  /** Called for each iopub message of this execution, as it arrives. */
  onIopub?: (msg: IopubMessage) => void;
  /** Answers an input_request on stdin. */
  onInput?: (request: InputRequestContent) => string | Promise<string>;
  /** Reject with KernelTimeoutError after this long (the kernel keeps running; interrupt it if needed). */
  timeoutMs?: number;
  /** Channel to send on; default "shell". */
  channel?: "shell" | "control";
}

/** Everything one execute_request produced. */
export interface ExecuteOutcome {
  request: Message<"execute_request", ExecuteRequest>;
  reply: ReplyMessage<"execute_request">;
  /** Every iopub message whose parent is this request, in arrival order (status busy first, idle last). */
  iopub: IopubMessage[];
  status: "ok" | "error" | "aborted";
  executionCount: number | undefined;
  /** All stdout stream text, concatenated. */
  stdout: string;
  /** All stderr stream text, concatenated. */
  stderr: string;
  /** The execute_result, if any. */
  result: ExecuteResultContent | undefined;
  /** display_data and update_display_data contents, in order. */
  displays: (DisplayDataContent & { update: boolean })[];
  /** The iopub error output, if any. */
  error: ErrorContent | undefined;
}

interface Pending {
  resolve(msg: Message): void;
  reject(err: Error): void;
}

interface Collector {
  messages: IopubMessage[];
  onIopub?: (msg: IopubMessage) => void;
  idle: () => void;
  onInput?: ExecuteOptions["onInput"];
}

const live = new Set<KernelClient>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort: never leave a kernel behind when this process exits, however it exits normally.
  process.on("exit", () => {
    for (const k of live) k.killNow();
  });
}

const STDERR_KEEP = 64 * 1024;

/** A connection to one kernel, and (when it started it) the kernel process. */
export class KernelClient {
  /** This client's session id (also the routing identity of its shell and stdin sockets). */
  readonly session = randomUUID();
  readonly wire: Wire;
  /** Why each message that failed to verify or parse was dropped, in order (the last 100). */
  readonly dropped: string[] = [];

  private readonly shell: zmq.Dealer;
  private readonly control: zmq.Dealer;
  private readonly stdin: zmq.Dealer;
  private readonly iopub: zmq.Subscriber;
  private readonly hb: zmq.Dealer;
  private readonly pending = new Map<string, Pending>();
  private readonly collectors = new Map<string, Collector>();
  private readonly iopubListeners = new Set<(msg: IopubMessage) => void>();
  private readonly hbWaiters = new Map<string, () => void>();
  private readonly sendQueues = new Map<zmq.Socket, Promise<unknown>>();
  private child: ChildProcess | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private exitWaiters: (() => void)[] = [];
  private exitRejection: Promise<never> | undefined;
  private rejectExit: ((err: Error) => void) | undefined;
  private stderrBuf = "";
  private closed = false;
  private startOptions: KernelStartOptions = {};
  private spawnedAt = 0;
  /** Milliseconds from spawning the kernel process to its first kernel_info_reply, and to ready (reply and iopub seen). */
  readonly startup = { firstKernelInfoMs: NaN, readyMs: NaN };

  private constructor(
    readonly connection: ConnectionInfo,
    readonly connectionFile: string | undefined,
  ) {
    this.wire = new Wire(connection.key, connection.signature_scheme);
    const common = { linger: 0 };
    this.shell = new zmq.Dealer({ ...common, routingId: this.session });
    this.control = new zmq.Dealer({ ...common });
    this.stdin = new zmq.Dealer({ ...common, routingId: this.session });
    this.iopub = new zmq.Subscriber({ ...common });
    this.hb = new zmq.Dealer({ ...common });
    this.shell.connect(endpoint(connection, connection.shell_port));
    this.control.connect(endpoint(connection, connection.control_port));
    this.stdin.connect(endpoint(connection, connection.stdin_port));
    this.iopub.connect(endpoint(connection, connection.iopub_port));
    this.iopub.subscribe();
    this.hb.connect(endpoint(connection, connection.hb_port));
    void this.readLoop(this.shell, (m) => this.onReply(m));
    void this.readLoop(this.control, (m) => this.onReply(m));
    void this.readLoop(this.stdin, (m) => this.onStdin(m));
    void this.readLoop(this.iopub, (m) => this.onIopub(m as unknown as IopubMessage));
    void this.hbLoop();
  }

  /**
   * Start a kernel from a fresh connection file (free ports picked now, random key) and wait until
   * it answers kernel_info and its iopub messages arrive.
   */
  static async start(options: KernelStartOptions = {}): Promise<KernelClient> {
    installExitHook();
    for (let attempt = 1; ; attempt++) {
      const info = await newConnectionInfo(options.ip);
      const file = writeConnectionFile(info);
      const client = new KernelClient(info, file);
      client.startOptions = options;
      live.add(client);
      try {
        client.spawnKernel();
        if (options.waitReady === false) return client;
        await client.waitReady(options.readyTimeoutMs ?? 60_000);
        return client;
      } catch (err) {
        await client.close({ graceMs: 0 });
        // The ports were free when picked, but another process may take one before the kernel
        // binds it: try again with fresh ports.
        const raced = err instanceof KernelDiedError && /cannot bind|Address already in use/i.test(err.stderr);
        if (!raced || attempt >= 3) throw err;
      }
    }
  }

  /** Connect to a kernel that is already running (this client will not manage its process). */
  static async connect(info: ConnectionInfo, readyTimeoutMs = 30_000): Promise<KernelClient> {
    const client = new KernelClient(info, undefined);
    live.add(client);
    try {
      await client.waitReady(readyTimeoutMs);
    } catch (err) {
      await client.close();
      throw err;
    }
    return client;
  }

  /** The kernel's process id, while this client manages a running process. */
  get pid(): number | undefined {
    return this.child && !this.exitInfo ? this.child.pid : undefined;
  }

  /** How the kernel process ended, if it has. */
  get exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /** The last 64 KiB the kernel wrote on stderr (with the default `stderr: "pipe"`). */
  get stderrTail(): string {
    return this.stderrBuf;
  }

  private spawnKernel(): void {
    const o = this.startOptions;
    const argv = (o.argv ?? kernelArgv()).map((a) => a.replace("{connection_file}", this.connectionFile!));
    this.exitInfo = undefined;
    this.exitRejection = new Promise<never>((_, reject) => (this.rejectExit = reject));
    this.exitRejection.catch(() => undefined);
    const child = spawn(argv[0], argv.slice(1), {
      cwd: o.cwd,
      env: { ...process.env, ...o.env, JPY_PARENT_PID: String(process.pid) },
      stdio: ["ignore", "pipe", o.stderr === "inherit" ? "inherit" : o.stderr === "ignore" ? "ignore" : "pipe"],
    });
    this.child = child;
    this.spawnedAt = performance.now();
    // The kernel's own stdout is not cell output (that goes to iopub); keep it with stderr.
    const keep = (chunk: Buffer) => {
      this.stderrBuf = (this.stderrBuf + chunk.toString("utf8")).slice(-STDERR_KEEP);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("error", (err) => {
      this.stderrBuf += `\n[spawn ${argv[0]}: ${err.message}]`;
      this.onExit(child, null, null);
    });
    child.on("exit", (code, signal) => this.onExit(child, code, signal));
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child || this.exitInfo) return;
    this.exitInfo = { code, signal };
    const err = this.diedError("the kernel exited");
    this.rejectExit?.(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    const waiters = this.exitWaiters;
    this.exitWaiters = [];
    for (const w of waiters) w();
  }

  private diedError(what: string): KernelDiedError {
    const e = this.exitInfo;
    const how = e ? (e.signal ? `signal ${e.signal}` : `exit code ${e.code}`) : "unknown cause";
    const tail = this.stderrBuf.trim().split("\n").slice(-20).join("\n");
    return new KernelDiedError(
      `${what} (${how})${tail ? `; its last output:\n${tail}` : ""}`,
      e?.code ?? null,
      e?.signal ?? null,
      this.stderrBuf,
    );
  }

  private async readLoop(sock: zmq.Socket & AsyncIterable<Buffer[]>, handle: (m: Message) => void): Promise<void> {
    try {
      for await (const frames of sock) {
        const r = this.wire.decode(frames);
        if (!r.ok) {
          this.noteDropped(r.reason);
          continue;
        }
        try {
          handle(r.msg);
        } catch (err) {
          this.noteDropped(`handler failed: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      if (!this.closed) this.noteDropped(`socket read failed: ${(err as Error).message}`);
    }
  }

  private async hbLoop(): Promise<void> {
    try {
      for await (const frames of this.hb) {
        const payload = Buffer.from(frames[frames.length - 1]).toString("utf8");
        const w = this.hbWaiters.get(payload);
        if (w) {
          this.hbWaiters.delete(payload);
          w();
        }
      }
    } catch {
      // closed
    }
  }

  private noteDropped(reason: string): void {
    this.dropped.push(reason);
    if (this.dropped.length > 100) this.dropped.splice(0, this.dropped.length - 100);
  }

  private onReply(msg: Message): void {
    const parentId = (msg.parent_header as Partial<Header>).msg_id;
    if (!parentId) return;
    const p = this.pending.get(parentId);
    if (p) {
      this.pending.delete(parentId);
      p.resolve(msg);
    }
  }

  private onIopub(msg: IopubMessage): void {
    for (const l of this.iopubListeners) {
      try {
        l(msg);
      } catch {
        // a listener's failure is its own
      }
    }
    const parentId = (msg.parent_header as Partial<Header>).msg_id;
    const c = parentId ? this.collectors.get(parentId) : undefined;
    if (!c) return;
    c.messages.push(msg);
    c.onIopub?.(msg);
    if (msg.header.msg_type === "status" && (msg.content as StatusContent).execution_state === "idle") c.idle();
  }

  private onStdin(msg: Message): void {
    if (msg.header.msg_type !== "input_request") return;
    const parentId = (msg.parent_header as Partial<Header>).msg_id;
    const c = parentId ? this.collectors.get(parentId) : undefined;
    const content = msg.content as unknown as InputRequestContent;
    const answer = async () => {
      let value = "";
      if (c?.onInput) value = String(await c.onInput(content));
      await this.sendMessage(this.stdin, newMessage("input_reply", { value }, this.session, msg.header));
    };
    answer().catch((err) => this.noteDropped(`input reply failed: ${(err as Error).message}`));
  }

  private send(sock: zmq.Dealer, frames: (Buffer | Uint8Array | string)[]): Promise<void> {
    // zeromq allows one pending send per socket; chain them.
    const prev = this.sendQueues.get(sock) ?? Promise.resolve();
    const next = prev.then(() => sock.send(frames));
    this.sendQueues.set(sock, next.catch(() => undefined));
    return next;
  }

  private sendMessage(sock: zmq.Dealer, msg: Message): Promise<void> {
    return this.send(sock, this.wire.encode(msg));
  }

  private socketFor(channel: "shell" | "control" | "stdin"): zmq.Dealer {
    return channel === "shell" ? this.shell : channel === "control" ? this.control : this.stdin;
  }

  /** Send raw frames on a channel (tests use this to send forged or malformed messages). */
  sendFrames(channel: "shell" | "control" | "stdin", frames: (Buffer | Uint8Array | string)[]): Promise<void> {
    return this.send(this.socketFor(channel), frames);
  }

  /**
   * Send a message that has no reply on shell (comm_open, comm_msg, comm_close, as a front end
   * does), its `buffers` as extra binary frames. Returns the message, so its msg_id is known.
   */
  async sendShell<T extends string, C>(msgType: T, content: C, buffers: Uint8Array[] = []): Promise<Message<T, C>> {
    this.assertUsable();
    const msg = newMessage(msgType, content, this.session);
    msg.buffers = buffers;
    await this.sendMessage(this.shell, msg as unknown as Message);
    return msg;
  }

  /** Send any message on shell or control and wait for the message whose parent it is on that channel. */
  async requestMessage(
    channel: "shell" | "control",
    msg: Message,
    timeoutMs?: number,
  ): Promise<Message> {
    this.assertUsable();
    const id = msg.header.msg_id;
    const reply = new Promise<Message>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    await this.sendMessage(this.socketFor(channel), msg);
    return this.withTimeout(reply, timeoutMs, `${msg.header.msg_type} on ${channel}`, () => this.pending.delete(id));
  }

  /** Send a request and wait for its reply. */
  request<T extends RequestType>(
    channel: "shell" | "control",
    msgType: T,
    content: RequestContents[T],
    options: { timeoutMs?: number } = {},
  ): Promise<ReplyMessage<T>> {
    const msg = newMessage(msgType, content, this.session);
    return this.requestMessage(channel, msg as Message, options.timeoutMs) as Promise<ReplyMessage<T>>;
  }

  /** Build an execute_request (exposed so callers can know its msg_id before sending). */
  executeRequest(code: string, options: ExecuteOptions = {}): Message<"execute_request", ExecuteRequest> {
    const content: ExecuteRequest = {
      code,
      silent: options.silent ?? false,
      store_history: options.storeHistory ?? !(options.silent ?? false),
      user_expressions: options.userExpressions ?? {},
      allow_stdin: options.allowStdin ?? options.onInput !== undefined,
      stop_on_error: options.stopOnError ?? true,
    };
    return newMessage("execute_request", content, this.session);
  }

  /**
   * Run code and collect everything it produced: the execute_reply and every iopub message with
   * this request as parent, up to and including status idle.
   */
  async execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteOutcome> {
    return this.executeMessage(this.executeRequest(code, options), options);
  }

  /** Like `execute`, for a request built with `executeRequest`. */
  async executeMessage(
    request: Message<"execute_request", ExecuteRequest>,
    options: ExecuteOptions = {},
  ): Promise<ExecuteOutcome> {
    this.assertUsable();
    const id = request.header.msg_id;
    let idle!: () => void;
    const idleSeen = new Promise<void>((resolve) => (idle = resolve));
    const collector: Collector = { messages: [], onIopub: options.onIopub, idle, onInput: options.onInput };
    this.collectors.set(id, collector);
    try {
      const replyP = this.requestMessage(options.channel ?? "shell", request as unknown as Message);
      // Status idle never comes from a dead kernel: stop waiting when the process exits.
      const both = Promise.race([Promise.all([replyP, idleSeen]), this.untilExit()]);
      const [reply] = await this.withTimeout(both, options.timeoutMs, `execute_request`, () => this.pending.delete(id));
      return summarize(request, reply as ReplyMessage<"execute_request">, collector.messages);
    } finally {
      this.collectors.delete(id);
    }
  }

  /** Subscribe to every iopub message (any parent). Returns the unsubscribe function. */
  onIopubMessage(listener: (msg: IopubMessage) => void): () => void {
    this.iopubListeners.add(listener);
    return () => this.iopubListeners.delete(listener);
  }

  /** Ask the kernel to interrupt the running cell: an interrupt_request on control, or SIGINT to its process. */
  async interrupt(mode: "message" | "signal" = "message", timeoutMs = 10_000): Promise<void> {
    if (mode === "signal") {
      if (!this.child || this.exitInfo) throw new Error("interrupt by signal needs a kernel process this client started");
      this.child.kill("SIGINT");
      return;
    }
    const reply = await this.request("control", "interrupt_request", {}, { timeoutMs });
    if (reply.content.status !== "ok") {
      throw new Error(`interrupt_request failed: ${JSON.stringify(reply.content)}`);
    }
  }

  /** True if the heartbeat channel echoes within `timeoutMs`. */
  async heartbeat(timeoutMs = 2000): Promise<boolean> {
    this.assertUsable();
    const payload = randomUUID();
    const echoed = new Promise<boolean>((resolve) => this.hbWaiters.set(payload, () => resolve(true)));
    await this.send(this.hb, ["", payload]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const ok = await Promise.race([echoed, timeout]);
    clearTimeout(timer);
    this.hbWaiters.delete(payload);
    return ok;
  }

  /** A promise that rejects with KernelDiedError when the managed kernel process exits (never settles otherwise). */
  private untilExit(): Promise<never> {
    return this.exitRejection ?? new Promise<never>(() => undefined);
  }

  /** Wait until the kernel process exits; false if it did not within `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<boolean> {
    if (!this.child || this.exitInfo) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.exitWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Send shutdown_request on control and wait for the reply (and, for a kernel this client started, its exit). */
  async shutdown(options: { restart?: boolean; timeoutMs?: number } = {}): Promise<ReplyMessage<"shutdown_request">> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const reply = await this.request("control", "shutdown_request", { restart: options.restart ?? false }, { timeoutMs });
    if (this.child && !(await this.waitForExit(timeoutMs))) {
      throw new KernelTimeoutError(`the kernel answered shutdown_request but did not exit within ${timeoutMs} ms`);
    }
    return reply;
  }

  /**
   * Restart the kernel this client started, as Jupyter does: shutdown_request with restart: true,
   * then a new process on the same connection file; waits until it is ready.
   */
  async restart(options: { timeoutMs?: number } = {}): Promise<void> {
    if (!this.connectionFile) throw new Error("restart needs a kernel process this client started");
    const timeoutMs = options.timeoutMs ?? 60_000;
    if (this.child && !this.exitInfo) {
      try {
        await this.shutdown({ restart: true, timeoutMs: 10_000 });
      } catch {
        await this.terminate(2000);
      }
    }
    for (const c of this.collectors.values()) c.idle();
    this.spawnKernel();
    await this.waitReady(timeoutMs);
  }

  /**
   * Wait until the kernel answers kernel_info_request AND one of its iopub messages arrives (so no
   * output of the next request is lost to a subscription that is not yet connected).
   */
  async waitReady(timeoutMs: number): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    let reply: Message | undefined;
    let iopubSeen = false;
    const ids = new Set<string>();
    const unsubscribe = this.onIopubMessage((m) => {
      const pid = (m.parent_header as Partial<Header>).msg_id;
      if (pid && ids.has(pid)) iopubSeen = true;
    });
    try {
      while (!(reply && iopubSeen)) {
        if (this.exitInfo) throw this.diedError("the kernel exited before it was ready");
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new KernelTimeoutError(
            `the kernel did not become ready within ${timeoutMs} ms${this.stderrBuf ? `; its output:\n${this.stderrBuf.slice(-4000)}` : ""}`,
          );
        }
        const msg = newMessage("kernel_info_request", {}, this.session);
        ids.add(msg.header.msg_id);
        try {
          const r = await this.requestMessage("shell", msg as Message, Math.min(left, reply ? 250 : 1000));
          if (!reply && this.spawnedAt) this.startup.firstKernelInfoMs = performance.now() - this.spawnedAt;
          reply = r;
        } catch (err) {
          if (err instanceof KernelDiedError) throw err;
          // no answer yet: ask again
        }
        if (reply && !iopubSeen) await new Promise((r) => setTimeout(r, 50));
      }
      if (this.spawnedAt) this.startup.readyMs = performance.now() - this.spawnedAt;
      return reply;
    } finally {
      unsubscribe();
    }
  }

  private assertUsable(): void {
    if (this.closed) throw new Error("this kernel client is closed");
    if (this.child && this.exitInfo) throw this.diedError("the kernel is not running");
  }

  private async withTimeout<T>(p: Promise<T>, timeoutMs: number | undefined, what: string, onTimeout: () => void): Promise<T> {
    if (timeoutMs === undefined) return p;
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout();
        reject(new KernelTimeoutError(`no answer to ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      return await Promise.race([p, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async terminate(graceMs: number): Promise<void> {
    if (!this.child || this.exitInfo) return;
    this.child.kill("SIGTERM");
    if (!(await this.waitForExit(graceMs))) {
      this.child.kill("SIGKILL");
      await this.waitForExit(5000);
    }
  }

  /** Kill the kernel process at once (synchronous; used at process exit). */
  killNow(): void {
    if (this.child && !this.exitInfo) {
      try {
        this.child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  /**
   * Stop the kernel (shutdown_request, then SIGTERM, then SIGKILL), close the sockets and delete
   * the connection file. Safe to call twice.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    if (this.closed) return;
    const graceMs = options.graceMs ?? 3000;
    if (this.child && !this.exitInfo) {
      if (graceMs > 0) {
        try {
          await this.shutdown({ timeoutMs: graceMs });
        } catch {
          // fall through to signals
        }
      }
      await this.terminate(1000);
    }
    this.closed = true;
    const err = new Error("the kernel client was closed");
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s.close();
    if (this.connectionFile) rmSync(this.connectionFile, { force: true });
    live.delete(this);
  }
}

function summarize(
  request: Message<"execute_request", ExecuteRequest>,
  reply: ReplyMessage<"execute_request">,
  iopub: IopubMessage[],
): ExecuteOutcome {
  let stdout = "";
  let stderr = "";
  let result: ExecuteResultContent | undefined;
  let error: ErrorContent | undefined;
  const displays: (DisplayDataContent & { update: boolean })[] = [];
  for (const m of iopub) {
    const c = m.content;
    switch (m.header.msg_type) {
      case "stream": {
        const s = c as StreamContent;
        if (s.name === "stdout") stdout += s.text;
        else stderr += s.text;
        break;
      }
      case "execute_result":
        result = c as ExecuteResultContent;
        break;
      case "display_data":
        displays.push({ ...(c as DisplayDataContent), update: false });
        break;
      case "update_display_data":
        displays.push({ ...(c as DisplayDataContent), update: true });
        break;
      case "error":
        error = c as ErrorContent;
        break;
    }
  }
  const content = reply.content;
  return {
    request,
    reply,
    iopub,
    status: content.status,
    executionCount: content.execution_count,
    stdout,
    stderr,
    result,
    displays,
    error,
  };
}
