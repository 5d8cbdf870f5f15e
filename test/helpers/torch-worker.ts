/**
 * A PyTorch process (test/bench/torch-worker.py) that answers timing requests, so benchmarks can
 * interleave PyTorch rounds with tfjs ones in the same run. Uses Debian's python3-torch through
 * `pythonPath()` (/usr/bin/python3, or TSDL_PYTHON); `TorchWorker.available()` says whether it imports.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { pythonPath } from "./components";

const SCRIPT = path.join(__dirname, "..", "..", "..", "test", "bench", "torch-worker.py");

/** One running PyTorch worker. */
export class TorchWorker {
  private answers: ((line: string) => void)[] = [];
  private constructor(
    private proc: ChildProcessWithoutNullStreams,
    readonly label: string,
  ) {
    readline.createInterface({ input: proc.stdout }).on("line", (line) => this.answers.shift()?.(line));
  }

  /** The torch version if `import torch` works with `pythonPath()`, else null. */
  static available(): string | null {
    const r = spawnSync(pythonPath(), ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8", timeout: 60_000 });
    return r.status === 0 ? r.stdout.trim() : null;
  }

  /** Starts a worker with `threads` torch threads and extra environment variables. */
  static async start(label: string, threads: number, env: Record<string, string> = {}): Promise<TorchWorker> {
    // glibc malloc thresholds raised: see torch-worker.py.
    const malloc = { MALLOC_MMAP_THRESHOLD_: "67108864", MALLOC_TRIM_THRESHOLD_: "268435456" };
    const proc = spawn(pythonPath(), [SCRIPT, String(threads)], { env: { ...process.env, ...malloc, ...env } });
    let stderr = "";
    proc.stderr.on("data", (d) => (stderr += d));
    const worker = new TorchWorker(proc, label);
    const ready = await Promise.race([
      worker.next(),
      new Promise<never>((_, reject) => proc.on("exit", (code) => reject(new Error(`torch worker exited with ${code}: ${stderr}`)))),
    ]);
    if (!(ready as { ready?: boolean }).ready) throw new Error(`torch worker: ${JSON.stringify(ready)}`);
    return worker;
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.answers.push((line) => resolve(JSON.parse(line))));
  }

  /** Sends one command line; resolves with the worker's milliseconds. */
  async ms(command: string): Promise<number> {
    const answer = this.next();
    this.proc.stdin.write(command + "\n");
    const a = await answer;
    if (typeof a.ms !== "number") throw new Error(`torch worker: ${JSON.stringify(a)}`);
    return a.ms;
  }

  /** The worker's settings: torch version, threads, the BLAS libraries mapped into it, malloc thresholds, build config. */
  async config(): Promise<{ version: string; threads: number; blas: string[]; malloc: Record<string, string | null>; omp_wait_policy: string | null; show: string }> {
    const answer = this.next();
    this.proc.stdin.write("config\n");
    return (await answer) as never;
  }

  close(): void {
    this.proc.stdin.end("quit\n");
  }
}
