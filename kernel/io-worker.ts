/**
 * The kernel's I/O thread. It owns all five sockets, so the heartbeat, the control channel and
 * kernel_info keep answering while the main thread is busy (loading TypeScript at start-up, or
 * running a `while (true) {}` cell). ipykernel has a control thread and an iopub thread for the
 * same reasons.
 *
 * - Every incoming message is verified and parsed here (by `Wire.decode`); a message that fails
 *   is logged in one line on stderr and dropped, and never reaches the main thread.
 * - kernel_info_request (shell or control), interrupt_request and shutdown_request are answered
 *   here. Everything else goes to the main thread in arrival order.
 * - interrupt_request (and shutdown) raise SIGINT on this process: `vm`'s `breakOnSigint` stops a
 *   synchronous cell, and the main thread's SIGINT handler abandons a pending await. If the main
 *   thread still does not answer a ping (it is stuck in code no SIGINT reaches, e.g. a loop after an
 *   `await`) while a cell is running, its current JavaScript execution is terminated through the
 *   inspector protocol (`Runtime.terminateExecution`), which ends just that call stack.
 * - The main thread sends messages already serialized to JSON; they are signed and sent here.
 */
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import * as zmq from "zeromq";
import { endpoint } from "./connection";
import type { ConnectionInfo, KernelInfoReply, Message, ShutdownRequest } from "./protocol";
import { Wire, newMessage, serialize, type SerializedMessage } from "./wire";

/** What the main thread passes when it starts the I/O thread. */
export interface IoWorkerData {
  connection: ConnectionInfo;
  /** The kernel's session id (header.session of every message it sends). */
  session: string;
  kernelInfo: KernelInfoReply;
  /** Shared flag: index 0 is 1 while a cell's code may be running. */
  busy: Int32Array;
}

/** Messages the main thread sends to the I/O thread. */
export type ToIo =
  | { type: "send"; channel: "shell" | "control" | "stdin" | "iopub"; ids: Uint8Array[]; msg: SerializedMessage }
  | { type: "kernel-info"; content: KernelInfoReply }
  | { type: "pong"; id: number }
  | { type: "close" };

/** Messages the I/O thread sends to the main thread. */
export type FromIo =
  | { type: "ready" }
  | { type: "fatal"; message: string }
  | { type: "request"; channel: "shell" | "control"; msg: Message; ids: Uint8Array[] }
  | { type: "stdin"; msg: Message }
  | { type: "ping"; id: number }
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
/** How long sockets may take to flush after shutdown. */
const LINGER_MS = 1000;

function main(): void {
  const port = parentPort;
  if (!port) throw new Error("io-worker must run in a worker thread");
  const data = workerData as IoWorkerData;
  const info = data.connection;
  const wire = new Wire(info.key, info.signature_scheme);
  let kernelInfo = data.kernelInfo;
  const post = (m: FromIo, transfer?: Transferable[]) => port.postMessage(m, transfer as never);

  const opts = { linger: LINGER_MS };
  const shell = new zmq.Router(opts);
  const control = new zmq.Router(opts);
  const stdin = new zmq.Router(opts);
  const iopub = new zmq.Publisher(opts);
  const hb = new zmq.Reply(opts);
  const sockets = [shell, control, stdin, iopub, hb];
  const sendChains = new Map<zmq.Socket, Promise<void>>();
  let closing = false;

  const send = (sock: zmq.Socket & zmq.Writable, frames: (Buffer | Uint8Array | string)[]) => {
    const prev = sendChains.get(sock) ?? Promise.resolve();
    const next = prev
      .then(() => sock.send(frames))
      .catch((err: Error) => {
        if (!closing) logLine(`send failed: ${err.message}`);
      });
    sendChains.set(sock, next);
    return next;
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
      inspector!.post("Runtime.terminateExecution", (err) => {
        if (err) logLine(`could not stop the main thread: ${err.message}`);
      });
      logLine("the cell did not stop on SIGINT; terminated its JavaScript execution");
    } catch (err) {
      logLine(`could not stop the main thread: ${(err as Error).message}`);
    }
  };
  const interruptMain = () => {
    try {
      process.kill(process.pid, "SIGINT");
    } catch (err) {
      logLine(`could not raise SIGINT: ${(err as Error).message}`);
    }
    const id = ++pingSeq;
    post({ type: "ping", id });
    setTimeout(() => {
      if (closing || lastPong >= id) return;
      if (Atomics.load(data.busy, 0) !== 1) return;
      terminateMain();
    }, ESCALATE_MS);
  };

  // ---- requests answered here --------------------------------------------------------------------
  const answerHere = async (sock: zmq.Router, ids: Buffer[], msg: Message, channel: "shell" | "control"): Promise<boolean> => {
    switch (msg.header.msg_type) {
      case "kernel_info_request":
        publishStatus("busy", msg.header);
        await reply(sock, ids, msg, kernelInfo);
        publishStatus("idle", msg.header);
        return true;
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
        if (Atomics.load(data.busy, 0) === 1) interruptMain();
        return true;
      }
      default:
        return false;
    }
  };

  const serve = async (sock: zmq.Router, channel: "shell" | "control") => {
    try {
      for await (const frames of sock) {
        const r = wire.decode(frames);
        if (!r.ok) {
          logLine(`dropped a message on ${channel}: ${r.reason}`);
          continue;
        }
        try {
          if (await answerHere(sock, r.identities, r.msg, channel)) continue;
        } catch (err) {
          logLine(`failed to answer ${r.msg.header.msg_type}: ${(err as Error).message}`);
          continue;
        }
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
        if (!r.ok) {
          logLine(`dropped a message on stdin: ${r.reason}`);
          continue;
        }
        post({ type: "stdin", msg: r.msg });
      }
    } catch (err) {
      if (!closing) logLine(`stdin socket failed: ${(err as Error).message}`);
    }
  };

  const serveHeartbeat = async () => {
    try {
      for await (const frames of hb) await hb.send(frames);
    } catch (err) {
      if (!closing) logLine(`heartbeat socket failed: ${(err as Error).message}`);
    }
  };

  const close = async () => {
    if (closing) return;
    closing = true;
    await Promise.race([Promise.all([...sendChains.values()]), new Promise((r) => setTimeout(r, LINGER_MS))]);
    for (const s of sockets) s.close();
    post({ type: "closed" });
  };

  port.on("message", (m: ToIo) => {
    switch (m.type) {
      case "send": {
        if (closing) return;
        const ids = m.channel === "iopub" ? [Buffer.from(topicOf(m.msg))] : m.ids;
        void send(socketOf(m.channel), wire.frame(m.msg, ids));
        return;
      }
      case "kernel-info":
        kernelInfo = m.content;
        return;
      case "pong":
        lastPong = Math.max(lastPong, m.id);
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
      hb.bind(endpoint(info, info.hb_port)),
    ]);
  };
  bind().then(
    () => {
      void serve(shell, "shell");
      void serve(control, "control");
      void serveStdin();
      void serveHeartbeat();
      // "The kernel will publish state 'starting' exactly once at process startup."
      void send(iopub, wire.frame(serialize(newMessage("status", { execution_state: "starting" }, data.session) as Message), [Buffer.from("status")]));
      post({ type: "ready" });
    },
    (err: Error) => {
      closing = true;
      for (const s of sockets) s.close();
      post({ type: "fatal", message: `cannot bind the addresses in the connection file: ${err.message}` });
    },
  );
}

/** The iopub topic of a serialized message: its msg_type, as ipykernel does. */
function topicOf(s: SerializedMessage): string {
  const m = /"msg_type":"([^"]*)"/.exec(s.header);
  return m ? m[1] : "kernel";
}

if (parentPort) main();
