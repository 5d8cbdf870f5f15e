/**
 * The Jupyter messaging protocol (version 5.3 and later), as typed interfaces keyed by `msg_type`.
 *
 * Field comments quote or closely paraphrase "Messaging in Jupyter"
 * (https://jupyter-client.readthedocs.io/en/latest/messaging.html). Both sides should allow
 * unexpected message types and extra fields in known ones ("so that additions to the protocol do
 * not break existing code"), so every content type here is open to extra keys at run time; the
 * wire layer (`wire.ts`) checks only the envelope.
 */

/** The protocol version this kernel and client speak. */
export const PROTOCOL_VERSION = "5.3";

/** The five channels: "shell" and "control" (requests/replies), "iopub" (broadcast side effects), "stdin" (kernel asks the front end for input), "hb" (heartbeat). */
export type Channel = "shell" | "control" | "iopub" | "stdin" | "hb";

/** The contents of a connection file, written by the front end and read by the kernel. */
export interface ConnectionInfo {
  /** "tcp" or "ipc". */
  transport: string;
  /** The address to bind, e.g. "127.0.0.1". */
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  /** "To disable authentication and signature checking, set the key field of a connection file to an empty string." */
  key: string;
  /** "hmac-sha256" by default: "By default, the hashing function used for computing these signatures is sha256." */
  signature_scheme: string;
  kernel_name?: string;
}

/** "The message header contains a pair of unique identifiers for the originating session and the actual message id, in addition to the username for the process that generated the message." */
export interface Header<T extends string = string> {
  /** "typically UUID, must be unique per message" */
  msg_id: string;
  /** "All recognized message type strings are listed below." */
  msg_type: T;
  /** "typically UUID, should be unique per session" */
  session: string;
  username: string;
  /** "ISO 8601 timestamp for when the message is created" */
  date: string;
  /** "the message protocol version" */
  version: string;
}

/** One message: "a dict of dicts" (header, parent_header, metadata, content) plus optional raw buffers. */
export interface Message<T extends string = string, C = Record<string, unknown>> {
  header: Header<T>;
  /** "In a chain of messages, the header from the parent is copied so that clients can track where messages come from." Empty object when there is no parent. */
  parent_header: Header | Record<string, never>;
  /** "Any metadata associated with the message." */
  metadata: Record<string, unknown>;
  /** "The actual content of the message must be a dict, whose structure depends on the message type." */
  content: C;
  /** "optional: buffers is a list of binary data buffers for implementations that support binary extensions to the protocol." */
  buffers: Uint8Array[];
}

/** A MIME bundle: MIME type to data. */
export type MimeData = Record<string, unknown>;

/** The error fields every failing reply and the iopub `error` message carry. */
export interface ErrorContent {
  /** "Exception name, as a string" */
  ename: string;
  /** "Exception value, as a string" */
  evalue: string;
  /** "traceback frames as strings" */
  traceback: string[];
}

/** "All reply messages have a 'status' field": ok, error (with ename/evalue/traceback), or aborted (deprecated since 5.1 but still what kernels send for requests they never ran). */
export type ReplyStatus = "ok" | "error" | "aborted";

/** A reply whose request failed. */
export interface ErrorReply extends ErrorContent {
  status: "error";
}

/** A reply to a request the kernel never processed (e.g. queued behind a failing cell). */
export interface AbortedReply {
  status: "aborted";
}

// ---------------------------------------------------------------------------------------------
// Shell and control requests and replies
// ---------------------------------------------------------------------------------------------

export interface ExecuteRequest {
  /** "Source code to be executed by the kernel, one or more lines." */
  code: string;
  /** "A boolean flag which, if True, signals the kernel to execute this code as quietly as possible. silent=True forces store_history to be False, and will not broadcast output on the IOPUB channel or have an execute_result." Default false. */
  silent?: boolean;
  /** "A boolean flag which, if True, signals the kernel to populate history. The default is True if silent is False." */
  store_history?: boolean;
  /** "A dict mapping names to expressions to be evaluated in the user's dict. The rich display-data representation of each will be evaluated after execution." */
  user_expressions?: Record<string, string>;
  /** "If this is true, code running in the kernel can prompt the user for input with an input_request message. If it is false, the kernel should not send these messages." */
  allow_stdin?: boolean;
  /** Whether an error in this cell aborts the execute requests queued behind it. Default true. */
  stop_on_error?: boolean;
}

/** The result of one user expression: a display bundle, or an error. */
export type UserExpressionResult =
  | { status: "ok"; data: MimeData; metadata: Record<string, unknown> }
  | ErrorReply;

export type ExecuteReply =
  | {
      status: "ok";
      /** "The global kernel counter that increases by one with each request that stores history." */
      execution_count: number;
      /** "payloads are considered deprecated" */
      payload?: unknown[];
      /** "Results for the user_expressions." */
      user_expressions: Record<string, UserExpressionResult>;
    }
  | (ErrorReply & { execution_count: number })
  | (AbortedReply & { execution_count?: number });

export interface InspectRequest {
  /** "The code context in which introspection is requested; this may be up to an entire multiline cell." */
  code: string;
  /** "The cursor position within 'code' (in unicode characters) where inspection is requested" */
  cursor_pos: number;
  /** "The level of detail desired." 0 or 1. */
  detail_level?: 0 | 1;
}

export type InspectReply =
  | {
      status: "ok";
      /** "found should be true if an object was found, false otherwise" */
      found: boolean;
      /** A MIME bundle; "data can be empty if nothing is found" */
      data: MimeData;
      metadata: Record<string, unknown>;
    }
  | ErrorReply;

export interface CompleteRequest {
  /** "The code context in which completion is requested; this may be up to an entire multiline cell, such as 'foo = a.isal'" */
  code: string;
  /** "The cursor position within 'code' (in unicode characters) where completion is requested" */
  cursor_pos: number;
}

export type CompleteReply =
  | {
      status: "ok";
      /** "The list of all matches to the completion request" */
      matches: string[];
      /** "The range of text that should be replaced by the above matches when a completion is accepted." */
      cursor_start: number;
      cursor_end: number;
      /** "Information that frontend plugins might use for extra display information about completions." */
      metadata: Record<string, unknown>;
    }
  | ErrorReply;

export interface HistoryRequest {
  /** "If True, also return output history in the resulting dict." */
  output?: boolean;
  /** "If True, return the raw input history, else the transformed input." */
  raw?: boolean;
  /** "So far, this can be 'range', 'tail' or 'search'." */
  hist_access_type: "range" | "tail" | "search";
  /** "session is a number counting up each time the kernel starts; you can give a positive session number, or a negative number to count back from the current session." */
  session?: number;
  /** "start and stop are line (cell) numbers within that session." */
  start?: number;
  stop?: number;
  /** "If hist_access_type is 'tail' or 'search', get the last n cells." */
  n?: number;
  /** "If hist_access_type is 'search', get cells matching the specified glob pattern (with * and ? as wildcards)." */
  pattern?: string;
  /** "If hist_access_type is 'search' and unique is true, do not include duplicated history." */
  unique?: boolean;
}

/** "(session, line_number, input) or (session, line_number, (input, output)), depending on whether output was False or True" */
export type HistoryEntry = [number, number, string] | [number, number, [string, string | null]];

export type HistoryReply = { status: "ok"; history: HistoryEntry[] } | ErrorReply;

export interface IsCompleteRequest {
  /** "The code entered so far as a multiline string" */
  code: string;
}

export type IsCompleteReply =
  | {
      /** "One of 'complete', 'incomplete', 'invalid', 'unknown'" */
      status: "complete" | "invalid" | "unknown";
    }
  | {
      status: "incomplete";
      /** "If status is 'incomplete', indent should contain the characters to use to indent the next line." */
      indent: string;
    };

export interface CommInfoRequest {
  /** "Optional, the target name" */
  target_name?: string;
}

export interface CommInfoReply {
  status: "ok";
  /** "A dictionary of the comms, indexed by uuids." */
  comms: Record<string, { target_name: string }>;
}

export type KernelInfoRequest = Record<string, never>;

export interface LanguageInfo {
  /** "Name of the programming language that the kernel implements." */
  name: string;
  /** "Language version number." */
  version: string;
  /** "mimetype for script files in this language" */
  mimetype: string;
  /** "Extension including the dot, e.g. '.py'" */
  file_extension: string;
  /** "Pygments lexer, for highlighting. Only needed if it differs from the 'name' field." */
  pygments_lexer?: string;
  /** "Codemirror mode, for highlighting in the notebook. Only needed if it differs from the 'name' field." */
  codemirror_mode?: string | Record<string, unknown>;
  /** "Nbconvert exporter, if notebooks written with this kernel should be exported with something other than the general 'script' exporter." */
  nbconvert_exporter?: string;
}

export interface KernelInfoReply {
  status: "ok";
  /** "Version of messaging protocol." */
  protocol_version: string;
  /** "The kernel implementation name" */
  implementation: string;
  /** "Implementation version number." */
  implementation_version: string;
  /** "Information about the language of code for the kernel" */
  language_info: LanguageInfo;
  /** "A banner of information about the kernel, which may be displayed in console environments." */
  banner: string;
  /** "These will be displayed in the help menu in the notebook UI." */
  help_links?: { text: string; url: string }[];
}

export interface ShutdownRequest {
  /** "False if final shutdown, or True if shutdown precedes a restart" */
  restart: boolean;
}

export type ShutdownReply = { status: "ok"; restart: boolean } | ErrorReply;

/** interrupt_request (control channel, since 5.3): "Interrupt the kernel when interrupt_mode is 'message'." Empty content. */
export type InterruptRequest = Record<string, never>;

export type InterruptReply = { status: "ok" } | ErrorReply;

// ---------------------------------------------------------------------------------------------
// IOPub
// ---------------------------------------------------------------------------------------------

export interface StatusContent {
  /** "When the kernel starts to handle a message, it will enter the 'busy' state and when it finishes, it will enter the 'idle' state. The kernel will publish state 'starting' exactly once at process startup." */
  execution_state: "busy" | "idle" | "starting";
}

export interface StreamContent {
  /** "The name of the stream is one of 'stdout', 'stderr'" */
  name: "stdout" | "stderr";
  /** "The text is an arbitrary string to be written to that stream" */
  text: string;
}

export interface ExecuteInputContent {
  /** "Source code to be executed, one or more lines" */
  code: string;
  /** "The counter for this execution is also provided so that clients can display it, since IPython automatically creates variables called _iN (for input prompt In[N])." */
  execution_count: number;
}

export interface DisplayDataContent {
  /** "The data dict contains key/value pairs, where the keys are MIME types and the values are the raw data of the representation in that format." */
  data: MimeData;
  /** "Any metadata that describes the data" */
  metadata: Record<string, unknown>;
  /** "Optional transient data introduced in 5.1. Information not to be persisted to a notebook or other documents. Intended to live only during a live kernel session." */
  transient?: { display_id?: string };
}

export interface UpdateDisplayDataContent extends DisplayDataContent {
  /** "update_display_data messages must have a display_id" */
  transient: { display_id: string };
}

export interface ExecuteResultContent {
  /** "The counter for this execution is also provided so that clients can display it" */
  execution_count: number;
  /** "data and metadata are identical to a display_data message." */
  data: MimeData;
  metadata: Record<string, unknown>;
}

/** "When an error occurs during code execution" the kernel publishes ename, evalue and traceback. */
export type ErrorOutputContent = ErrorContent;

export interface ClearOutputContent {
  /** "Wait to clear the output until new output is available." */
  wait: boolean;
}

/**
 * JEP 65: "the kernel sends an iopub_welcome message as soon as it receives a subscription
 * request" on its XPUB iopub socket, so a client knows its subscription is in place.
 */
export interface IopubWelcomeContent {
  /** The topic the client subscribed to (the subscription message without its leading byte). */
  subscription: string;
}

/**
 * An execute_reply payload that opens the pager: "page: data is a mimebundle" to show in a
 * pager, "start is the line number to start from" (the spec's "Payloads (DEPRECATED)" section;
 * IPython still answers `name?` this way).
 */
export interface PagePayload {
  source: "page";
  data: MimeData;
  start: number;
}

// ---------------------------------------------------------------------------------------------
// stdin
// ---------------------------------------------------------------------------------------------

export interface InputRequestContent {
  /** "the text to show at the prompt" */
  prompt: string;
  /** "Is the request for a password? If so, the frontend shouldn't echo input." */
  password: boolean;
}

export interface InputReplyContent {
  /** "the text entered by the user" */
  value: string;
}

// ---------------------------------------------------------------------------------------------
// Comms ("Custom Messages"; kernel/comms.ts). Either side may send each of the three.
// ---------------------------------------------------------------------------------------------

/** comm_open: "The comm_id must be a uuid" ... "target_name is the name of the comm target". */
export interface CommOpenContent {
  /** "A unique uuid for the comm" */
  comm_id: string;
  /** "The target_name key is used to select a handler"; an unknown target is answered by comm_close. */
  target_name: string;
  /** "The data key is always a dict and can be any extra JSON information used in initialization of the comm." */
  data: Record<string, unknown>;
  /** "The optional target_module key is used to select a module that is responsible for handling the target_name." */
  target_module?: string;
}

/** comm_msg: "Comm messages are one-way communications to update comm state, used for synchronizing widget state, or simply requesting actions of a comm's counterpart." */
export interface CommMsgContent {
  /** The comm the message belongs to. */
  comm_id: string;
  /** "Essentially, each comm pair defines their own message specification implemented inside the data dict." */
  data: Record<string, unknown>;
}

/** comm_close: "Since comms live on both sides, when a comm is destroyed the other side must be notified." */
export interface CommCloseContent {
  comm_id: string;
  /** "Like comm_open, comm_close may carry extra data." */
  data: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Maps from msg_type to content
// ---------------------------------------------------------------------------------------------

/** Requests a client sends on shell or control, with the content of each. */
export interface RequestContents {
  execute_request: ExecuteRequest;
  inspect_request: InspectRequest;
  complete_request: CompleteRequest;
  history_request: HistoryRequest;
  is_complete_request: IsCompleteRequest;
  comm_info_request: CommInfoRequest;
  kernel_info_request: KernelInfoRequest;
  shutdown_request: ShutdownRequest;
  interrupt_request: InterruptRequest;
}

/** Replies the kernel sends, keyed by the request type they answer. */
export interface ReplyContents {
  execute_request: ExecuteReply;
  inspect_request: InspectReply;
  complete_request: CompleteReply;
  history_request: HistoryReply;
  is_complete_request: IsCompleteReply;
  comm_info_request: CommInfoReply;
  kernel_info_request: KernelInfoReply;
  shutdown_request: ShutdownReply;
  interrupt_request: InterruptReply;
}

export type RequestType = keyof RequestContents;

/** The reply msg_type for a request msg_type: `execute_request` → `execute_reply`. */
export type ReplyType<T extends RequestType> = T extends `${infer P}_request` ? `${P}_reply` : never;

/** Messages the kernel publishes on iopub, keyed by msg_type. */
export interface IopubContents {
  status: StatusContent;
  stream: StreamContent;
  execute_input: ExecuteInputContent;
  display_data: DisplayDataContent;
  update_display_data: UpdateDisplayDataContent;
  execute_result: ExecuteResultContent;
  error: ErrorOutputContent;
  clear_output: ClearOutputContent;
  comm_open: CommOpenContent;
  comm_msg: CommMsgContent;
  comm_close: CommCloseContent;
  iopub_welcome: IopubWelcomeContent;
}

export type IopubType = keyof IopubContents;

/** An iopub message, discriminated by msg_type. */
export type IopubMessage = {
  [T in IopubType]: Message<T, IopubContents[T]>;
}[IopubType];

/** The reply message to a request of type T. */
export type ReplyMessage<T extends RequestType> = Message<ReplyType<T>, ReplyContents[T]>;

/** The reply msg_type for a request msg_type, at run time. */
export function replyTypeOf(requestType: string): string {
  return requestType.endsWith("_request")
    ? requestType.slice(0, -"_request".length) + "_reply"
    : requestType + "_reply";
}
