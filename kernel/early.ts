/**
 * Requests the I/O thread answers by itself while the main thread is still starting (loading
 * TypeScript and running the preload cell, seconds on a busy machine), so a front end that asks
 * them right after start-up is not kept waiting.
 *
 * Why: Debian's `jupyter console` sends `history_request` as soon as the kernel is up, then an
 * `is_complete_request` for the first line typed. When the history reply came seconds late, after
 * the is_complete reply was due, the console took it for the is_complete reply and dropped the
 * line. ipykernel answers both at once.
 *
 * Only requests whose answer cannot depend on the preload are answered here, and only until the
 * first request that must go to the main thread (an execute, complete, inspect or comm message):
 * from then on everything goes to the main thread, which answers in arrival order. Before the
 * main thread has started, no cell has run and no comm is open, so these answers are exactly what
 * the main thread would give.
 */
import path from "node:path";
import { requireWithCodeCache } from "./code-cache";
import { isComplete, type TsParser } from "./is-complete";
import type { HistoryRequest, IsCompleteReply, IsCompleteRequest, Message } from "./protocol";

/** The msg_types `earlyReply` can answer (kernel_info, comm_info, interrupt and shutdown are always answered by the I/O thread). */
export const EARLY_TYPES: ReadonlySet<string> = new Set(["history_request", "is_complete_request"]);

/**
 * The reply content for `msg` while no cell has run and no comm is open, or undefined when the
 * main thread must answer it (another msg_type, or a request the main thread answers with an error).
 */
export function earlyReply(msg: Message): object | undefined {
  const content = msg.content as Record<string, unknown>;
  switch (msg.header.msg_type) {
    case "history_request": {
      const access = (content as Partial<HistoryRequest>).hist_access_type;
      // No cell has run yet: every tail, range and search is empty. Other values get the main thread's error.
      if (access !== "tail" && access !== "range" && access !== "search") return undefined;
      return { status: "ok", history: [] };
    }
    case "is_complete_request":
      return isCompleteReply(String((content as Partial<IsCompleteRequest>).code ?? ""));
    default:
      return undefined;
  }
}

let ts: TsParser | undefined;

/**
 * The is_complete_reply for `code`: the same parser-based `isComplete` (kernel/is-complete.ts)
 * that the main thread's `Executor.isComplete` calls, so early and later answers agree. Loads
 * TypeScript in this thread on first use (a few hundred ms, on a core the main thread is not using).
 */
export function isCompleteReply(code: string): IsCompleteReply {
  // The same TypeScript the main thread compiles cells with, from its V8 code cache when there is one.
  ts ??= requireWithCodeCache(require.resolve("@tslab/typescript-for-tslab", { paths: [path.dirname(require.resolve("tslab/dist/converter"))] })).exports as TsParser;
  const r = isComplete(ts, code);
  return r.status === "incomplete" ? { status: "incomplete", indent: r.indent } : { status: r.status };
}
