/**
 * Reliability benchmark (issue 9): the memory figures the load tests bound, and the costs of the
 * defences, each beside a reference measured in the same script:
 * - 5,000 small cells: cells/s (with one request in flight, and with 4), and kernel RSS, V8 heap
 *   and tf.memory() after 1,000 and after 5,000 cells (after a full GC);
 * - 200 display.update calls on one id, twice: memory before and after;
 * - 10 epochs of a small fit with the live chart, twice: tensors, tf bytes, RSS;
 * - dropping a 100 MB message: the time until the next kernel_info_reply, against a plain one;
 * - heartbeat round trip: idle, during a busy synchronous cell, during 50 MB of stdout.
 * Prints figures; asserts nothing. `TSDL_QUICK=1` runs 1,000 cells instead of 5,000.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { KernelClient } from "../../kernel/client";
import { newMessage } from "../../kernel/wire";
import { kernelMemory, runSmallCells, type KernelMemory } from "../helpers/load";
import { loadLine, median, table } from "../helpers/bench-util";

const CELLS = process.env.TSDL_QUICK === "1" ? 1000 : 5000;
/** Memory is compared between this many cells and the end (the test does 1,000 → 5,000). */
const FIRST = CELLS / 5;
const MB = 1e6;
const mem = (m: KernelMemory) => [`${(m.rss / MB).toFixed(0)} MB`, `${(m.heapUsed / MB).toFixed(0)} MB`, String(m.numTensors), String(m.numBytes)];

async function heartbeats(kernel: KernelClient, whileRunning: Promise<unknown> | undefined, n: number): Promise<number[]> {
  const out: number[] = [];
  let running = true;
  void whileRunning?.finally(() => (running = false));
  for (let i = 0; i < n && (whileRunning === undefined || running); i++) {
    const t0 = performance.now();
    if (!(await kernel.heartbeat(10_000))) throw new Error("the heartbeat did not echo within 10 s");
    out.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  return out;
}

async function main(): Promise<void> {
  console.log(`${loadLine()}; wasm backend`);
  const cwd = mkdtempSync(path.join(os.tmpdir(), "tsdl-bench-rel-"));
  const kernel = await KernelClient.start({ cwd, env: { TSDL_BACKEND: "wasm" }, readyTimeoutMs: 120_000 });
  try {
    // ---- cells ----
    const one = await runSmallCells(kernel, 200, 0, 1);
    const first = await runSmallCells(kernel, FIRST, 200, 4);
    const atFirst = await kernelMemory(kernel);
    const rest = await runSmallCells(kernel, CELLS - FIRST, 200 + FIRST, 4);
    const atEnd = await kernelMemory(kernel);
    const serial = 200 / one.seconds;
    const piped = CELLS / (first.seconds + rest.seconds);
    console.log(`\nsmall cells (counter += i % 7): ${serial.toFixed(1)} cells/s one at a time, ${piped.toFixed(1)} cells/s with 4 in flight (×${(piped / serial).toFixed(2)})`);
    console.log(
      table(["after", "RSS", "heap", "tensors", "tf bytes"], [
        [`${(FIRST + 200).toLocaleString("en")} cells`, ...mem(atFirst)],
        [`${(CELLS + 200).toLocaleString("en")} cells`, ...mem(atEnd)],
      ]),
    );
    console.log(`growth over the last ${(CELLS - FIRST).toLocaleString("en")} cells: RSS ${((atEnd.rss - atFirst.rss) / MB).toFixed(1)} MB, heap ${((atEnd.heapUsed - atFirst.heapUsed) / MB).toFixed(1)} MB (load.test.ts bounds over 4,000 cells: RSS 150 MB, heap 40 MB)`);

    // ---- display updates ----
    const code = (v: string) =>
      `const ${v} = display(dl.plot.line({ signal: [0] }, { title: 'step 0' }), { id: true });\n` +
      `for (let i = 1; i <= 200; i++) ${v}.update(dl.plot.line({ signal: Array.from({ length: 50 }, (_, k) => Math.sin(k + i)) }, { title: \`step \${i}\` }));`;
    const d0 = await kernelMemory(kernel);
    const t0 = performance.now();
    await kernel.execute(code("b1"));
    const updateMs = (performance.now() - t0) / 200;
    await kernel.execute(code("b2"));
    const d1 = await kernelMemory(kernel);
    console.log(`\n200 display.update calls on one id (${updateMs.toFixed(2)} ms each), twice:`);
    console.log(table(["", "RSS", "heap", "tensors", "tf bytes"], [["before", ...mem(d0)], ["after", ...mem(d1)]]));

    // ---- fit ----
    await kernel.execute(
      "const xs = tf.randomNormal([512, 8], 0, 1, 'float32', 1);\nconst ys = tf.tidy(() => xs.sum(1).greater(0).cast('int32'));\n" +
        "const model = dl.models.mlp({ inputs: 8, hidden: [16], outputs: 2, dropout: 0, seed: 1 });",
    );
    const fit = (v: string) => `const ${v} = await dl.train.fit(model, { x: xs, y: ys }, { epochs: 10, batchSize: 32, validation: 0.25, seed: 1 });`;
    const f0 = await kernelMemory(kernel);
    const ft = performance.now();
    const r1 = await kernel.execute(fit("h1"));
    const fitSeconds = (performance.now() - ft) / 1000;
    const f1 = await kernelMemory(kernel);
    await kernel.execute(fit("h2"));
    const f2 = await kernelMemory(kernel);
    const counts = (kinds: string[]) => ["display_data", "update_display_data", "stream"].map((k) => `${kinds.filter((x) => x === k).length} ${k}`).join(", ");
    console.log(`\n10 epochs of fit with the live chart (${fitSeconds.toFixed(1)} s): ${counts(r1.iopub.map((m) => m.header.msg_type))}`);
    console.log(table(["", "RSS", "heap", "tensors", "tf bytes"], [["before", ...mem(f0)], ["after fit 1", ...mem(f1)], ["after fit 2", ...mem(f2)]]));

    // ---- oversized message ----
    const plain: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await kernel.request("shell", "kernel_info_request", {});
      plain.push(performance.now() - t);
    }
    const header = JSON.stringify(newMessage("execute_request", {}, kernel.session).header);
    const parts = [header, "{}", "{}", JSON.stringify({ code: "1", padding: "x".repeat(100 * 1024 * 1024) })];
    const frames = ["<IDS|MSG>", kernel.wire.sign(parts), ...parts];
    const before = await kernelMemory(kernel);
    const tb = performance.now();
    await kernel.sendFrames("shell", frames);
    await kernel.request("shell", "kernel_info_request", {});
    const bigMs = performance.now() - tb;
    const after = await kernelMemory(kernel);
    console.log(
      `\n100 MB message dropped: next kernel_info_reply after ${bigMs.toFixed(0)} ms (plain kernel_info ${median(plain).toFixed(1)} ms, ×${(bigMs / median(plain)).toFixed(0)}); ` +
        `kernel RSS ${(before.rss / MB).toFixed(0)} → ${(after.rss / MB).toFixed(0)} MB`,
    );

    // ---- heartbeat ----
    const idle = await heartbeats(kernel, undefined, 20);
    const busy = kernel.execute("const until = Date.now() + 3000;\nwhile (Date.now() < until) {}");
    await new Promise((r) => setTimeout(r, 200));
    const duringBusy = await heartbeats(kernel, busy, 1000);
    await busy;
    const flood = kernel.execute('const chunk = "x".repeat(99_999) + "\\n";\nfor (let i = 0; i < 500; i++) process.stdout.write(chunk);');
    const duringFlood = await heartbeats(kernel, flood, 1000);
    await flood;
    const row = (name: string, xs: number[]) => [name, String(xs.length), `${median(xs).toFixed(2)} ms`, `${Math.max(...xs).toFixed(2)} ms`, `×${(median(xs) / median(idle)).toFixed(1)}`];
    console.log("\nheartbeat round trip:");
    console.log(table(["", "echoes", "median", "max", "vs idle"], [row("idle", idle), row("3 s busy cell", duringBusy), row("50 MB stdout", duringFlood)]));
  } finally {
    await kernel.close();
    rmSync(cwd, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
