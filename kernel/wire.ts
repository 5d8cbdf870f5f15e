/**
 * The Jupyter wire protocol: the one place that signs, verifies, parses and frames messages, for
 * both the kernel and the client.
 *
 * A message on the wire is `[...identities, "<IDS|MSG>", signature, header, parent_header,
 * metadata, content, ...buffers]`; the signature is the HMAC hex digest (connection file
 * `signature_scheme`, keyed with `key`) of the four serialized dicts.
 *
 * `decode` NEVER throws on bad input: whatever arrives from the network, it returns either a
 * message or a one-line reason to log. Signatures are checked before any JSON is parsed, with a
 * constant-time compare, so an unsigned message is never even parsed, let alone run.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { userInfo } from "node:os";
import { PROTOCOL_VERSION, type Header, type Message } from "./protocol";

/** The frame that separates routing identities from the message. */
export const DELIMITER = Buffer.from("<IDS|MSG>");

/** What `decode` returns: a message with the routing identities it came with, or why it was dropped. */
export type DecodeResult =
  | { ok: true; msg: Message; identities: Buffer[]; signature: string }
  | { ok: false; reason: string };

/** Options of a `Wire`. */
export interface WireOptions {
  /**
   * Messages larger than this (all frames together, in bytes) are refused by `decode` before
   * their signature is computed or any JSON is parsed. Default: no limit (the client side, which
   * must accept a cell's large outputs). The kernel sets `MAX_REQUEST_BYTES`.
   */
  maxMessageBytes?: number;
}

/**
 * The largest message the kernel accepts on shell, control and stdin: 16 MiB. Requests are code
 * and small dicts (a 16 MiB cell is far beyond any notebook); anything larger is a bug or an
 * attack, and is dropped unread, with one log line.
 */
export const MAX_REQUEST_BYTES = 16 * 1024 * 1024;

/**
 * Remembers the signatures of recent messages, so a message replayed byte for byte (same
 * signature, same msg_id) is refused, as jupyter_client's `Session.digest_history` does. Bounded:
 * the oldest entries are forgotten past `capacity` (jupyter_client keeps 2^16 too).
 */
export class ReplayGuard {
  private readonly seen = new Set<string>();
  constructor(readonly capacity = 65536) {}

  /** True the first time `key` is seen, false for a replay. */
  fresh(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    if (this.seen.size > this.capacity) {
      // A Set iterates in insertion order: drop the oldest tenth at once, as jupyter_client does.
      let drop = Math.ceil(this.capacity / 10);
      for (const k of this.seen) {
        if (drop-- <= 0) break;
        this.seen.delete(k);
      }
    }
    return true;
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.seen.size;
  }
}

/** A message serialized to its four JSON strings, ready to sign (what the kernel's main thread hands its I/O thread). */
export interface SerializedMessage {
  header: string;
  parent_header: string;
  metadata: string;
  content: string;
  buffers: Uint8Array[];
}

/** Signature schemes the connection file may name, mapped to node:crypto digests. */
const SCHEMES: Record<string, string> = {
  "hmac-sha256": "sha256",
  "hmac-sha1": "sha1",
  "hmac-sha224": "sha224",
  "hmac-sha384": "sha384",
  "hmac-sha512": "sha512",
  "hmac-md5": "md5",
};

/** Signs and verifies messages for one connection (one key). */
export class Wire {
  private readonly key: Buffer;
  private readonly digest: string;

  private readonly maxBytes: number;

  /** Throws if the signature scheme is unknown (a bad connection file, not bad wire input). */
  constructor(key: string, signatureScheme = "hmac-sha256", options: WireOptions = {}) {
    this.maxBytes = options.maxMessageBytes ?? Infinity;
    const digest = SCHEMES[signatureScheme];
    if (!digest) {
      throw new Error(
        `signature_scheme ${JSON.stringify(signatureScheme)} is not supported; expected one of ${Object.keys(SCHEMES).join(", ")}`,
      );
    }
    this.key = Buffer.from(key, "utf8");
    this.digest = digest;
  }

  /** True when the key is empty, which per the spec turns signing and checking off. */
  get unsigned(): boolean {
    return this.key.length === 0;
  }

  /** The hex HMAC of the four serialized dicts ("" when the key is empty). */
  sign(parts: readonly (string | Uint8Array)[]): string {
    if (this.unsigned) return "";
    const h = createHmac(this.digest, this.key);
    for (const p of parts) h.update(p);
    return h.digest("hex");
  }

  /** Frames for a serialized message, signed, behind the given routing identities. */
  frame(s: SerializedMessage, identities: readonly Uint8Array[] = []): (Buffer | Uint8Array | string)[] {
    const parts = [s.header, s.parent_header, s.metadata, s.content];
    return [...identities, DELIMITER, this.sign(parts), ...parts, ...s.buffers];
  }

  /** Serialize, sign and frame a message. Throws only if the message itself cannot become JSON. */
  encode(msg: Message, identities: readonly Uint8Array[] = []): (Buffer | Uint8Array | string)[] {
    return this.frame(serialize(msg), identities);
  }

  /** Verify and parse frames from a socket. Never throws: bad input gives `{ ok: false, reason }`. */
  decode(frames: readonly Uint8Array[]): DecodeResult {
    try {
      return this.decodeUnsafe(frames);
    } catch (err) {
      // Nothing below should throw, but a reason is better than a crash whatever happens.
      return { ok: false, reason: `could not decode message: ${(err as Error)?.message ?? err}` };
    }
  }

  private decodeUnsafe(frames: readonly Uint8Array[]): DecodeResult {
    if (!Array.isArray(frames) || frames.length === 0) return { ok: false, reason: "empty message" };
    if (this.maxBytes !== Infinity) {
      let bytes = 0;
      for (const f of frames) bytes += f.length;
      if (bytes > this.maxBytes) {
        return { ok: false, reason: `the message is ${bytes} bytes, over the ${this.maxBytes}-byte limit; dropped unread` };
      }
    }
    let d = -1;
    for (let i = 0; i < frames.length; i++) {
      if (DELIMITER.equals(frames[i])) {
        d = i;
        break;
      }
    }
    if (d < 0) return { ok: false, reason: `no <IDS|MSG> delimiter among ${frames.length} frames` };
    if (frames.length < d + 6) {
      return {
        ok: false,
        reason: `expected a signature and 4 dicts after <IDS|MSG>, found ${frames.length - d - 1} frames`,
      };
    }
    const identities = frames.slice(0, d).map((f) => Buffer.from(f));
    const signature = Buffer.from(frames[d + 1]);
    const parts = frames.slice(d + 2, d + 6);
    if (!this.unsigned) {
      if (signature.length === 0) return { ok: false, reason: "missing signature" };
      const expected = Buffer.from(this.sign(parts), "latin1");
      // Lengths are public (hex of a fixed-size digest); only equal-length buffers go to the
      // constant-time compare, as timingSafeEqual requires.
      if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
        return { ok: false, reason: "bad signature" };
      }
    }
    const names = ["header", "parent_header", "metadata", "content"] as const;
    const dicts: Record<string, unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      const text = Buffer.from(parts[i]).toString("utf8");
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        return { ok: false, reason: `${names[i]} is not JSON: ${(err as Error).message}` };
      }
      if (value === null && (i === 1 || i === 2)) value = {};
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return { ok: false, reason: `${names[i]} must be a JSON object, found ${describe(value)}` };
      }
      dicts.push(value as Record<string, unknown>);
    }
    const header = dicts[0];
    for (const field of ["msg_id", "msg_type"] as const) {
      if (typeof header[field] !== "string" || header[field] === "") {
        return { ok: false, reason: `header.${field} must be a non-empty string, found ${describe(header[field])}` };
      }
    }
    const msg: Message = {
      header: {
        ...header,
        msg_id: header.msg_id as string,
        msg_type: header.msg_type as string,
        session: typeof header.session === "string" ? header.session : "",
        username: typeof header.username === "string" ? header.username : "",
        date: typeof header.date === "string" ? header.date : "",
        version: typeof header.version === "string" ? header.version : "",
      } as Header,
      parent_header: dicts[1] as Message["parent_header"],
      metadata: dicts[2],
      content: dicts[3],
      buffers: frames.slice(d + 6).map((f) => Buffer.from(f)),
    };
    return { ok: true, msg, identities, signature: signature.toString("latin1") };
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "string") return v === "" ? "an empty string" : "a string";
  return `a ${typeof v}`;
}

/** Serialize a message to its four JSON strings. Throws a clear error if a dict cannot be JSON. */
export function serialize(msg: Message): SerializedMessage {
  const part = (name: string, value: unknown): string => {
    try {
      const s = JSON.stringify(value);
      if (typeof s !== "string") throw new Error("it serializes to nothing");
      return s;
    } catch (err) {
      throw new TypeError(
        `${msg.header.msg_type} ${name} cannot be sent as JSON: ${(err as Error).message}`,
      );
    }
  };
  return {
    header: part("header", msg.header),
    parent_header: part("parent_header", msg.parent_header),
    metadata: part("metadata", msg.metadata),
    content: part("content", msg.content),
    buffers: msg.buffers,
  };
}

let cachedUser: string | undefined;
function username(): string {
  if (cachedUser === undefined) {
    try {
      cachedUser = userInfo().username;
    } catch {
      cachedUser = "tsdl";
    }
  }
  return cachedUser;
}

/** A fresh header for a new message in `session`. */
export function newHeader<T extends string>(msgType: T, session: string): Header<T> {
  return {
    msg_id: randomUUID(),
    msg_type: msgType,
    session,
    username: username(),
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
}

/** A new message of `msgType`, optionally in reply to (or caused by) `parent`. */
export function newMessage<T extends string, C>(
  msgType: T,
  content: C,
  session: string,
  parent?: Header | Record<string, never>,
  metadata: Record<string, unknown> = {},
): Message<T, C> {
  return {
    header: newHeader(msgType, session),
    parent_header: parent ?? {},
    metadata,
    content,
    buffers: [],
  };
}
