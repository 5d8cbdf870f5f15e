/**
 * The kernel's I/O thread. It owns the sockets (the heartbeat's through a thread of its own,
 * `heartbeat-worker.ts`), so the heartbeat, the control channel and
 * kernel_info keep answering while the main thread is busy (loading TypeScript at start-up, or
 * running a `while (true) {}` cell). ipykernel has a control thread and an iopub thread for the
 * same reasons.
 *
 * - Every incoming message is verified and parsed here (by `Wire.decode`); a message that fails
 *   is logged in one line on stderr and dropped, and never reaches the main thread.
 * - kernel_info_request (shell or control), interrupt_request and shutdown_request are answered
 *   here. So are history, is_complete and comm_info until the main thread has started (see
 *   early.ts). Everything else goes to the main thread in arrival order.
 * - interrupt_request (and shutdown) is posted to the main thread, which abandons a pending await
 *   (or a cell still compiling); when a cell's synchronous code is running, SIGINT is raised too,
 *   and `vm`'s `breakOnSigint` stops it. (SIGINT is not raised otherwise: Node may lose it, or hold
 *   it for the next vm call, when it lands just as a vm call starts or ends; the main thread's
 *   SIGINT handler serves signals from outside.) While the main thread does not answer a ping:
 *   if it is in a cell's synchronous code, SIGINT is raised again; if the cell has returned to the
 *   event loop (so the main thread is stuck in a continuation no SIGINT reaches, e.g. a loop after
 *   an `await`), that JavaScript execution is terminated through the inspector protocol
 *   (`Runtime.terminateExecution`), which ends just that call stack.
 * - The main thread sends messages already serialized to JSON; they are signed and sent here.
 * - iopub is an XPUB socket: each client's subscription is answered here with `iopub_welcome`
 *   (JEP 65), so a client can tell that its subscription is in place.
 */
import { writeSync } from "node:fs";
import path from "node:path";
import { Worker, parentPort, workerData } from "node:worker_threads";
import * as zmq from "zeromq";
import { endpoint } from "./connection";
import { AWAITING, IDLE, IN_VM, STATE, TERMINATED, VM_CALLS } from "./busy";
import { EARLY_TYPES, earlyReply } from "./early";
import type { HeartbeatWorkerData } from "./heartbeat-worker";
import type { ConnectionInfo, Header, KernelInfoReply, Message, ShutdownRequest } from "./protocol";
import { MAX_REQUEST_BYTES, ReplayGuard, Wire, newMessage, serialize, type SerializedMessage } from "./wire";

/** What the main thread passes when it starts the I/O thread. */
export interface IoWorkerData {
  connection: ConnectionInfo;
  /** The kernel's session id (header.session of every message it sends). */
  session: string;
  kernelInfo: KernelInfoReply;
  /** What the main thread is doing (see busy.ts). */
  busy: Int32Array;
}

/** Messages the main thread sends to the I/O thread. */
export type ToIo =
  | { type: "send"; channel: "shell" | "control" | "stdin" | "iopub"; ids: Uint8Array[]; msg: SerializedMessage }
  | { type: "stream"; name: "stdout" | "stderr"; text: string; parent: Header }
  | { type: "kernel-info"; content: KernelInfoReply }
  | { type: "pong"; id: number }
  /** The main thread has started (preload done): from now on it answers every request. */
  | { type: "started" }
  /** The open comms and comm targets changed (comm_info_request is answered here from them). */
  | { type: "comms"; comms: Record<string, { target_name: string }>; targets: string[] }
  | { type: "close" };

/** Messages the I/O thread sends to the main thread. */
export type FromIo =
  | { type: "ready" }
  | { type: "fatal"; message: string }
  | { type: "request"; channel: "shell" | "control"; msg: Message; ids: Uint8Array[] }
  | { type: "stdin"; msg: Message }
  | { type: "ping"; id: number }
  | { type: "interrupt"; at: number }
  | { type: "shutdown"; restart: boolean }
  | { type: "closed" };

/** Write one line to the kernel's stderr (directly: the main thread captures process.stderr for cells). */
export function logLine(line: string): void {
  try {
    writeSync(2, `tsdl kernel: ${line}\n`);
  } catch {
    // stderr gone; nothing to do
  }
}

/** How long the main thread may ignore a ping after an interrupt before its execution is terminated. */
const ESCALATE_MS = 1500;
/** How long an interrupt waits for the main thread's answer before SIGINT. */
const SIGINT_AFTER_MS = 50;
/** How often an unanswered interrupt is checked on (and SIGINT raised again). */
const RETRY_MS = 400;
/** When to stop trying. */
const GIVE_UP_MS = 60_000;
/** How long sockets may take to flush after shutdown. */
const LINGER_MS = 1000;
/** How long stream text may wait to be batched with more. */
const STREAM_DELAY_MS = 10;
/** Stream text is sent at once when this much has gathered; longer writes are sent in pieces of this size. */
const STREAM_MAX_CHARS = 64 * 1024;
/**
 * libzmq's own cap on one inbound frame (ZMQ_MAXMSGSIZE), a backstop far above
 * MAX_REQUEST_BYTES: a peer sending a larger frame is disconnected by libzmq before the frame is
 * buffered, so no message can make the kernel hold gigabytes. Messages between the two limits are
 * received, then dropped by `Wire.decode` with a log line (libzmq's cut leaves no trace in the
 * kernel's log and resets the sender's connection, hence not the only check).
 */
const ZMQ_MAX_FRAME_BYTES = 256 * 1024 * 1024;

function main(): void {
  const port = parentPort;
  if (!port) throw new Error("io-worker must run in a worker thread");
  const data = workerData as IoWorkerData;
  const info = data.connection;
  // Inbound messages over MAX_REQUEST_BYTES are dropped before their HMAC or JSON is touched.
  const wire = new Wire(info.key, info.signature_scheme, { maxMessageBytes: MAX_REQUEST_BYTES });
  // One history for shell, control and stdin, as one jupyter_client Session has.
  const replays = new ReplayGuard();
  /** Null when `r` may be handled; else why it is dropped (a replay of a message already seen). */
  const replayed = (r: { msg: Message; signature: string }): string | null => {
    // Signed: the signature (which covers msg_id) identifies the message; unsigned: only msg_id can.
    const key = r.signature !== "" ? `s:${r.signature}` : `m:${r.msg.header.msg_id}`;
    if (replays.fresh(key)) return null;
    return `a replay (${r.signature !== "" ? "its signature was" : "its msg_id was"} already seen; msg_id ${JSON.stringify(r.msg.header.msg_id).slice(0, 80)}, ${r.msg.header.msg_type.slice(0, 80)})`;
  };
  let kernelInfo = data.kernelInfo;
  // The open comms, as the main thread last reported them, so comm_info_request is answered at
  // once, also during start-up and while a cell runs. A front-end comm_open for a registered
  // target counts at once (the main thread may not have handled it yet); comm_close likewise.
  let comms: Record<string, { target_name: string }> = {};
  let commTargets = new Set<string>();
  const noteComm = (msg: Message) => {
    const c = msg.content as { comm_id?: unknown; target_name?: unknown };
    if (typeof c?.comm_id !== "string") return;
    if (msg.header.msg_type === "comm_open" && typeof c.target_name === "string" && commTargets.has(c.target_name) && !(c.comm_id in comms)) {
      comms = { ...comms, [c.comm_id]: { target_name: c.target_name } };
    } else if (msg.header.msg_type === "comm_close" && c.comm_id in comms) {
      comms = { ...comms };
      delete comms[c.comm_id];
    }
  };
  const post = (m: FromIo, transfer?: Transferable[]) => port.postMessage(m, transfer as never);

  const opts = { linger: LINGER_MS };
  const inbound = { ...opts, maxMessageSize: ZMQ_MAX_FRAME_BYTES };
  const shell = new zmq.Router(inbound);
  const control = new zmq.Router(inbound);
  const stdin = new zmq.Router(inbound);
  // noDrop: at the high-water mark (1000 messages queued for a subscriber) a send waits (see
  // sendPaced) instead of dropping silently. Dropping lost the closing `status: idle` of a cell
  // that printed a few hundred MB, and the client then waited forever; waiting paces the output
  // to the reader (a subscriber that never reads makes iopub messages queue here).
  // An XPUB socket (JEP 65, as ipykernel 7 has) reports each subscription, answered with
  // `iopub_welcome` (see serveSubscriptions); "allSubs" reports a topic again for every client
  // that subscribes to it, not only for the first.
  const iopub = new zmq.XPublisher({ ...opts, noDrop: true });
  iopub.verbosity = "allSubs";
  const sockets = [shell, control, stdin, iopub];
  // The heartbeat gets a thread of its own (see heartbeat-worker.ts): this thread can be busy for
  // a second signing 50 MB of stdout, and the heartbeat must not wait for it.
  let hbWorker: Worker | undefined;
  const startHeartbeat = () =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(path.join(__dirname, "heartbeat-worker.js"), { workerData: { endpoint: endpoint(info, info.hb_port) } satisfies HeartbeatWorkerData });
      hbWorker = w;
      w.on("message", (m: { type: string; message?: string }) => {
        if (m.type === "ready") resolve();
        else if (m.type === "fatal") reject(new Error(m.message));
        else if (m.type === "failed" && !closing) logLine(m.message ?? "the heartbeat socket failed");
      });
      w.on("error", (err) => {
        reject(err);
        if (!closing) logLine(`the heartbeat thread failed: ${err.message}`);
      });
    });
  const stopHeartbeat = async () => {
    const w = hbWorker;
    if (!w) return;
    hbWorker = undefined;
    const exited = new Promise<boolean>((r) => {
      w.once("exit", () => r(true));
      setTimeout(() => r(false), LINGER_MS).unref();
    });
    w.postMessage({ type: "close" });
    // It closes its socket and ends by itself; terminate() only if it hangs.
    if (!(await exited)) await w.terminate();
  };
  const sendChains = new Map<zmq.Socket, Promise<void>>();
  let closing = false;

  const send = (sock: zmq.Socket & zmq.Writable, frames: (Buffer | Uint8Array | string)[]) => {
    const prev = sendChains.get(sock) ?? Promise.resolve();
    const next = prev
      .then(() => sendPaced(sock, frames))
      .catch((err: Error) => {
        if (!closing) logLine(`send failed: ${err.message}`);
      });
    sendChains.set(sock, next);
    return next;
  };
  // iopub is noDrop: at the high-water mark its send fails at once with EAGAIN (a Publisher never
  // waits). Try again shortly, so output is paced to the slowest subscriber instead of lost.
  const sendPaced = async (sock: zmq.Socket & zmq.Writable, frames: (Buffer | Uint8Array | string)[]): Promise<void> => {
    for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
      try {
        await sock.send(frames);
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== "EAGAIN" || closing) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
  const socketOf = (channel: "shell" | "control" | "stdin" | "iopub") =>
    channel === "shell" ? shell : channel === "control" ? control : channel === "stdin" ? stdin : iopub;

  const publishStatus = (state: "busy" | "idle", parent: Message["header"]) => {
    const msg = newMessage("status", { execution_state: state }, data.session, parent);
    void send(iopub, wire.encode(msg as Message, [Buffer.from("status")]));
  };
  const reply = (sock: zmq.Router, ids: Buffer[], parent: Message, content: object) => {
    const type = parent.header.msg_type.replace(/_request$/, "_reply");
    const msg = newMessage(type, content, data.session, parent.header);
    return send(sock, wire.encode(msg as Message, ids));
  };

  // ---- interrupt -------------------------------------------------------------------------------
  let pingSeq = 0;
  let lastPong = 0;
  let inspector: { post(method: string, cb?: (err: Error | null) => void): void } | undefined;
  const terminateMain = () => {
    try {
      if (!inspector) {
        // eslint-disable-next-line @typescript-eslint/no-var-requires
        const { Session } = require("node:inspector") as typeof import("node:inspector");
        const s = new Session();
        s.connectToMainThread();
        inspector = s as unknown as typeof inspector;
      }
      Atomics.store(data.busy, TERMINATED, 1);
      inspector!.post("Runtime.terminateExecution", (err) => {
        if (err) logLine(`could not stop the main thread: ${err.message}`);
      });
      logLine("the cell did not stop (stuck outside vm, where SIGINT cannot reach); terminated its JavaScript execution");
    } catch (err) {
      logLine(`could not stop the main thread: ${(err as Error).message}`);
    }
  };
  const raiseSigint = () => {
    try {
      process.kill(process.pid, "SIGINT");
    } catch (err) {
      logLine(`could not raise SIGINT: ${(err as Error).message}`);
    }
  };
  const interruptMain = () => {
    const at = Date.now();
    // The message reaches the main thread whenever it is free: it abandons an awaiting cell, or
    // one still compiling. SIGINT is for a cell's synchronous code, and is raised only once the
    // same vm call has run for a while: Node may lose a SIGINT, or hold it for the NEXT vm call,
    // when it lands just as a vm call starts or ends.
    post({ type: "interrupt", at });
    const id = ++pingSeq;
    post({ type: "ping", id });
    const firstCall = Atomics.load(data.busy, VM_CALLS);
    let terminated = false;
    const check = () => {
      if (closing || lastPong >= id) return;
      const state = Atomics.load(data.busy, STATE);
      if (state === IDLE) {
        // kernel work (compiling); the message will do, but look again
      } else if (state === IN_VM) {
        if (Atomics.load(data.busy, VM_CALLS) === firstCall || Date.now() - at >= RETRY_MS) raiseSigint();
      } else if (state === AWAITING && Date.now() - at >= ESCALATE_MS && !terminated) {
        terminated = true;
        terminateMain();
      }
      if (Date.now() - at < GIVE_UP_MS) setTimeout(check, RETRY_MS);
    };
    setTimeout(check, SIGINT_AFTER_MS);
  };

  // ---- requests answered here --------------------------------------------------------------------
  const answerHere = async (sock: zmq.Router, ids: Buffer[], msg: Message, channel: "shell" | "control"): Promise<boolean> => {
    switch (msg.header.msg_type) {
      case "kernel_info_request":
        publishStatus("busy", msg.header);
        await reply(sock, ids, msg, kernelInfo);
        publishStatus("idle", msg.header);
        return true;
      case "comm_info_request": {
        // "Optional, the target name": only comms of that target when given.
        const target = (msg.content as { target_name?: unknown }).target_name;
        const listed = Object.fromEntries(
          Object.entries(comms).filter(([, c]) => typeof target !== "string" || target === "" || c.target_name === target),
        );
        publishStatus("busy", msg.header);
        await reply(sock, ids, msg, { status: "ok", comms: listed });
        publishStatus("idle", msg.header);
        return true;
      }
      case "interrupt_request":
        publishStatus("busy", msg.header);
        interruptMain();
        await reply(sock, ids, msg, { status: "ok" });
        publishStatus("idle", msg.header);
        return true;
      case "shutdown_request": {
        const restart = (msg.content as Partial<ShutdownRequest>).restart === true;
        publishStatus("busy", msg.header);
        await reply(sock, ids, msg, { status: "ok", restart });
        publishStatus("idle", msg.header);
        logLine(`shutdown_request on ${channel} (restart: ${restart})`);
        post({ type: "shutdown", restart });
        // Stop a running cell so the main thread can clean up and exit.
        if (Atomics.load(data.busy, STATE) !== IDLE) interruptMain();
        return true;
      }
      default:
        return false;
    }
  };

  // ---- requests answered here during start-up (see early.ts) ------------------------------------
  let mainStarted = false;
  /** Set once a shell request went to the main thread: later ones follow it, so replies stay in order. */
  let shellForwarded = false;
  const answerEarly = async (sock: zmq.Router, ids: Buffer[], msg: Message, channel: "shell" | "control"): Promise<boolean> => {
    if (mainStarted || (channel === "shell" && shellForwarded) || !EARLY_TYPES.has(msg.header.msg_type)) return false;
    publishStatus("busy", msg.header);
    let content: object | undefined;
    try {
      content = earlyReply(msg);
    } catch (err) {
      logLine(`could not answer ${msg.header.msg_type} during start-up (the main thread will): ${(err as Error).message}`);
    }
    if (content) await reply(sock, ids, msg, content);
    publishStatus("idle", msg.header);
    return content !== undefined;
  };

  const serve = async (sock: zmq.Router, channel: "shell" | "control") => {
    try {
      for await (const frames of sock) {
        const r = wire.decode(frames);
        if (!r.ok) {
          logLine(`dropped a message on ${channel}: ${r.reason}`);
          continue;
        }
        const replay = replayed(r);
        if (replay) {
          logLine(`dropped a message on ${channel}: ${replay}`);
          continue;
        }
        try {
          if (await answerHere(sock, r.identities, r.msg, channel)) continue;
          if (await answerEarly(sock, r.identities, r.msg, channel)) continue;
        } catch (err) {
          logLine(`failed to answer ${r.msg.header.msg_type}: ${(err as Error).message}`);
          continue;
        }
        if (channel === "shell") shellForwarded = true;
        if (r.msg.header.msg_type === "comm_open" || r.msg.header.msg_type === "comm_close") noteComm(r.msg);
        post({ type: "request", channel, msg: r.msg, ids: r.identities });
      }
    } catch (err) {
      if (!closing) logLine(`${channel} socket failed: ${(err as Error).message}`);
    }
  };

  const serveStdin = async () => {
    try {
      for await (const frames of stdin) {
        const r = wire.decode(frames);
        const why = r.ok ? replayed(r) : r.reason;
        if (!r.ok || why) {
          logLine(`dropped a message on stdin: ${why}`);
          continue;
        }
        post({ type: "stdin", msg: r.msg });
      }
    } catch (err) {
      if (!closing) logLine(`stdin socket failed: ${(err as Error).message}`);
    }
  };

  /**
   * JEP 65: on each subscription (frame: byte 1, then the topic) publish `iopub_welcome` with
   * `subscription` = the topic, under that topic, so the new subscriber receives it and knows
   * its iopub connection is in place. Unsubscriptions (byte 0) need no answer.
   */
  const serveSubscriptions = async () => {
    try {
      for await (const [frame] of iopub) {
        if (!frame || frame.length === 0 || frame[0] !== 1) continue;
        const topic = frame.subarray(1);
        const msg = newMessage("iopub_welcome", { subscription: topic.toString("utf8") }, data.session);
        void send(iopub, wire.encode(msg as Message, [Buffer.from(topic)]));
      }
    } catch (err) {
      if (!closing) logLine(`iopub subscription reader failed: ${(err as Error).message}`);
    }
  };

  const close = async () => {
    if (closing) return;
    flushStream();
    closing = true;
    await Promise.race([Promise.all([...sendChains.values()]), new Promise((r) => setTimeout(r, LINGER_MS))]);
    for (const s of sockets) s.close();
    await stopHeartbeat();
    post({ type: "closed" });
  };

  // ---- stream batching ----------------------------------------------------------------------------
  // Consecutive writes to one stream for one request become one `stream` message, sent within
  // STREAM_DELAY_MS (this thread's timers run even while the main thread computes).
  let pending: { parent: Header; name: "stdout" | "stderr"; text: string } | undefined;
  let streamTimer: NodeJS.Timeout | undefined;
  const flushStream = () => {
    if (streamTimer) clearTimeout(streamTimer);
    streamTimer = undefined;
    if (!pending) return;
    const { parent, name, text } = pending;
    pending = undefined;
    // One huge write (50 MB printed at once) goes out in pieces, so no front end gets one
    // message of that size.
    for (let i = 0; i < text.length; ) {
      let j = Math.min(i + STREAM_MAX_CHARS, text.length);
      // Never split a surrogate pair between two messages.
      if (j < text.length && j - i > 1 && isHighSurrogate(text.charCodeAt(j - 1))) j--;
      const msg = newMessage("stream", { name, text: text.slice(i, j) }, data.session, parent);
      void send(iopub, wire.encode(msg as Message, [Buffer.from(`stream.${name}`)]));
      i = j;
    }
  };
  const addStream = (parent: Header, name: "stdout" | "stderr", text: string) => {
    if (pending && (pending.parent.msg_id !== parent.msg_id || pending.name !== name)) flushStream();
    if (pending) pending.text += text;
    else pending = { parent, name, text };
    if (pending.text.length >= STREAM_MAX_CHARS) flushStream();
    else streamTimer ??= setTimeout(flushStream, STREAM_DELAY_MS);
  };

  port.on("message", (m: ToIo) => {
    switch (m.type) {
      case "send": {
        if (closing) return;
        if (m.channel === "iopub") flushStream();
        const ids = m.channel === "iopub" ? [Buffer.from(topicOf(m.msg))] : m.ids;
        void send(socketOf(m.channel), wire.frame(m.msg, ids));
        return;
      }
      case "stream":
        if (!closing) addStream(m.parent, m.name, m.text);
        return;
      case "kernel-info":
        kernelInfo = m.content;
        return;
      case "pong":
        lastPong = Math.max(lastPong, m.id);
        return;
      case "started":
        mainStarted = true;
        return;
      case "comms":
        comms = m.comms;
        commTargets = new Set(m.targets);
        return;
      case "close":
        void close();
        return;
    }
  });

  const bind = async () => {
    await Promise.all([
      shell.bind(endpoint(info, info.shell_port)),
      control.bind(endpoint(info, info.control_port)),
      stdin.bind(endpoint(info, info.stdin_port)),
      iopub.bind(endpoint(info, info.iopub_port)),
      startHeartbeat(),
    ]);
  };
  bind().then(
    () => {
      void serve(shell, "shell");
      void serve(control, "control");
      void serveStdin();
      void serveSubscriptions();
      // "The kernel will publish state 'starting' exactly once at process startup."
      void send(iopub, wire.frame(serialize(newMessage("status", { execution_state: "starting" }, data.session) as Message), [Buffer.from("status")]));
      post({ type: "ready" });
    },
    async (err: Error) => {
      closing = true;
      for (const s of sockets) s.close();
      // The heartbeat thread must be gone before the main thread exits: a zeromq socket still
      // open in another thread makes the exit abort.
      await stopHeartbeat();
      post({ type: "fatal", message: `cannot bind the addresses in the connection file: ${err.message}` });
    },
  );
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The iopub topic of a serialized message: its msg_type, as ipykernel does. */
function topicOf(s: SerializedMessage): string {
  const m = /"msg_type":"([^"]*)"/.exec(s.header);
  return m ? m[1] : "kernel";
}

if (parentPort) main();
