/**
 * The heartbeat on a thread of its own, started by the I/O thread: it echoes every message on the
 * hb socket and does nothing else, so no burst of work on the I/O thread (50 MB of stdout to sign
 * and send, a 100 MB message to drop) delays it. ipykernel has a heartbeat thread for the same
 * reason. (libzmq's own echo, `zmq_proxy(hb, hb)`, would need no JavaScript at all, but
 * zeromq.js's Proxy crashes when given one socket for both ends.)
 *
 * Messages from the I/O thread: `{ type: "close" }`. To it: `{ type: "ready" }`,
 * `{ type: "fatal", message }` (bind failed), `{ type: "failed", message }` (the socket broke
 * later; logged), `{ type: "closed" }`.
 */
import { parentPort, workerData } from "node:worker_threads";
import * as zmq from "zeromq";

/** What the I/O thread passes: the endpoint to bind. */
export interface HeartbeatWorkerData {
  endpoint: string;
}

function main(): void {
  const port = parentPort!;
  const { endpoint } = workerData as HeartbeatWorkerData;
  const hb = new zmq.Reply({ linger: 0 });
  let closing = false;
  port.on("message", (m: { type: string }) => {
    if (m.type !== "close" || closing) return;
    closing = true;
    hb.close();
    port.postMessage({ type: "closed" });
    // Nothing left to keep this thread alive: it ends by itself (terminating a thread that holds
    // zeromq state aborts the process).
    port.close();
  });
  hb.bind(endpoint).then(
    async () => {
      port.postMessage({ type: "ready" });
      try {
        for await (const frames of hb) await hb.send(frames);
      } catch (err) {
        if (!closing) port.postMessage({ type: "failed", message: `heartbeat socket failed: ${(err as Error).message}` });
      }
    },
    (err: Error) => {
      if (closing) return;
      closing = true;
      hb.close();
      port.postMessage({ type: "fatal", message: `cannot bind the heartbeat address ${endpoint}: ${err.message}` });
      port.close();
    },
  );
}

if (parentPort) main();
