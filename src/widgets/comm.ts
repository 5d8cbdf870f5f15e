/**
 * Comms: the two-way channels of the Jupyter protocol that widgets run on
 * (`comm_open`, `comm_msg`, `comm_close`). The library never imports the kernel: the tsdl kernel
 * registers a `CommHost` on start-up (as it registers the display host, see `../display.ts`), and
 * widgets made in a plain Node script simply have no comm.
 * Introduced in notebook 01.
 */
import type { MimeBundle } from "../display";

/** JSON data of a comm message (its `content.data`). */
export type CommData = Record<string, unknown>;

/** One open comm, seen from the kernel side. */
export interface Comm {
  /** "A unique uuid for the comm" (its `comm_id`). */
  readonly id: string;
  /** The target the comm was opened for, e.g. `jupyter.widget`. */
  readonly target: string;
  /** Send a `comm_msg` to the front end (buffers travel as extra binary frames). */
  send(data: CommData, options?: { metadata?: Record<string, unknown>; buffers?: Uint8Array[] }): void;
  /** Close the comm (sends `comm_close`); later sends are ignored. */
  close(data?: CommData): void;
  /** Called for each `comm_msg` from the front end, in the order they were sent. */
  onMessage(handler: (data: CommData, buffers: Uint8Array[]) => void | Promise<void>): void;
  /** Called once when the front end closes the comm. */
  onClose(handler: (data: CommData) => void): void;
  /** The `msg_id` of the message being handled right now (a front-end comm_msg or the running cell). */
  currentMessageId(): string;
}

/** What a comm target gets when the front end opens a comm for it. */
export type CommTargetHandler = (comm: Comm, data: CommData, buffers: Uint8Array[]) => void;

/** Cell output that an Output widget may take instead of the notebook (see `CommHost.capture`). */
export type CapturedOutput =
  | { type: "stream"; name: "stdout" | "stderr"; text: string }
  | { type: "display"; bundle: MimeBundle; displayId?: string; update: boolean };

/** A taker of captured output: returns true when it took it. */
export type CaptureSink = (output: CapturedOutput) => boolean;

/** What the kernel offers the library for comms. Implemented by the tsdl kernel. */
export interface CommHost {
  /** Open a comm from the kernel side (sends `comm_open`). */
  open(target: string, data: CommData, options?: { metadata?: Record<string, unknown>; buffers?: Uint8Array[] }): Comm;
  /** Handle comms the front end opens for `target`. */
  registerTarget(target: string, handler: CommTargetHandler): void;
  /** Route the kernel's cell output (console and displays) to `sink` until the returned function is called. */
  capture(sink: CaptureSink): () => void;
  /** Run `flush` before each execute_reply and after each comm message, so coalesced updates leave in time. */
  onFlush(flush: () => void): void;
  /** One line in the kernel's log (stderr of the kernel process), for messages the library drops. */
  log(line: string): void;
}

const COMM_HOST_KEY = Symbol.for("tsdl.comm.host");

type CommHostSlot = { [COMM_HOST_KEY]?: CommHost };

/** Called by the kernel. Registering `undefined` returns the library to script mode (no comms). */
export function registerCommHost(host: CommHost | undefined): void {
  (globalThis as CommHostSlot)[COMM_HOST_KEY] = host;
}

/** The registered comm host, or undefined in a plain Node script. */
export function currentCommHost(): CommHost | undefined {
  return (globalThis as CommHostSlot)[COMM_HOST_KEY];
}
