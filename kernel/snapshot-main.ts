/**
 * Where a kernel started from the start-up snapshot begins (the builder's deserialize-main
 * function loads this file with `Module.createRequire`, the only way a snapshot reaches user-land
 * modules): it adopts the snapshot's TypeScript and bound declaration files, tells the launcher
 * it is up, leaves when the launcher is gone, and runs `tsdl kernel ARGS` as usual.
 */
import { adoptSnapshot, type SnapshotState } from "./snapshot";
import { logLine } from "./io-worker";

/** Run the command line of this process (`node --snapshot-blob BLOB kernel --connection-file F`) with the snapshot's state. */
export function runFromSnapshot(state: SnapshotState): void {
  adoptSnapshot(state);
  if (process.send) {
    process.send({ type: "up" });
    // The launcher holds the other end: when it dies (even by SIGKILL) the channel closes, and the
    // kernel goes the way a SIGTERM to it would take it.
    process.on("disconnect", () => {
      logLine("the launcher (tsdl kernel) is gone; exiting");
      process.kill(process.pid, "SIGTERM");
    });
    (process as unknown as { channel?: { unref(): void } }).channel?.unref();
  }
  void (require("./cli") as typeof import("./cli")).main(process.argv.slice(1));
}
