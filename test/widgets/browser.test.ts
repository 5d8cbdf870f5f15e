/**
 * A real widget front end: @jupyter-widgets/html-manager in Chromium, connected live to a tsdl
 * kernel through Debian's classic Notebook server with @jupyterlab/services (as Voilà does), the
 * page bundled with esbuild (test/fixtures/widget-page/page.js). The test drags a slider with the
 * mouse, checks that the kernel-side value changed and the Output area redrew, and measures the
 * round trip of a slider change: front end → kernel → redrawn output (printed, never asserted).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { PACKAGE_ROOT } from "../../kernel/paths";
import { chromiumPath, pythonPath, requires } from "../helpers/components";

const skip = requires("chromium", "notebook-server");
const PAGE_DIR = path.join(PACKAGE_ROOT, "test", "fixtures", "widget-page");

let dir = "";
let server: ChildProcess | undefined;
let serverLog = "";
let browser: Browser | undefined;
let page: Page | undefined;
let base = "";
const token = randomBytes(16).toString("hex");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

before(async () => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-live-widgets-"));
  const root = path.join(dir, "root");
  fs.mkdirSync(root);
  // The tsdl kernelspec in a private prefix, found through JUPYTER_PATH only (never the system's).
  const install = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, "kernel", "bin", "tsdl.js"), "kernel", "install", "--prefix", path.join(dir, "prefix")], { encoding: "utf8" });
  assert.equal(install.status, 0, install.stderr);
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [path.join(PAGE_DIR, "page.js")],
    bundle: true,
    outdir: root,
    format: "iife",
    loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".eot": "dataurl", ".svg": "dataurl" },
    define: { "process.env.NODE_ENV": '"production"' },
    // Some of the widget packages are written for webpack and read its public path.
    banner: { js: 'var __webpack_public_path__ = "";' },
    logLevel: "error",
  });
  fs.copyFileSync(path.join(PAGE_DIR, "page.html"), path.join(root, "page.html"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    JUPYTER_PATH: path.join(dir, "prefix", "share", "jupyter"),
    JUPYTER_CONFIG_DIR: path.join(dir, "config"),
    JUPYTER_DATA_DIR: path.join(dir, "data"),
    JUPYTER_RUNTIME_DIR: path.join(dir, "runtime"),
    TSDL_BACKEND: "cpu",
  };
  server = spawn(
    pythonPath(),
    ["-m", "notebook", "--no-browser", ...(process.getuid?.() === 0 ? ["--allow-root"] : []), "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0", `--NotebookApp.token=${token}`, `--notebook-dir=${root}`,
      // The server serves /files/ sandboxed (origin "null"), so the page's API calls are cross-origin.
      "--NotebookApp.allow_origin=*"],
    { env, stdio: ["ignore", "pipe", "pipe"] },
  );
  server.stdout!.on("data", (d) => (serverLog += d));
  server.stderr!.on("data", (d) => (serverLog += d));
  const t0 = Date.now();
  for (;;) {
    try {
      const r = await fetch(`${base}/api/status?token=${token}`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 60_000 || server.exitCode !== null) assert.fail(`the notebook server did not start:\n${serverLog.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  // The token as a header on every request (page, scripts, REST); @jupyterlab/services adds it to its own.
  page = await browser.newPage({ viewport: { width: 1000, height: 700 }, extraHTTPHeaders: { Authorization: `token ${token}` } });
  page.on("pageerror", (e) => (serverLog += `\n[page error] ${e.message}`));
  page.on("console", (m) => (serverLog += `\n[page ${m.type()}] ${m.text()}`));
  page.on("requestfailed", (r) => (serverLog += `\n[page request failed] ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(`${base}/files/page.html?token=${token}`);
  await page.waitForFunction(() => document.body.hasAttribute("data-ready"), null, { timeout: 60_000 }).catch((err: Error) => assert.fail(`${err.message}\n${serverLog.slice(-4000)}`));
  assert.equal(await page.getAttribute("body", "data-ready"), "yes", serverLog.slice(-3000));
});

after(async () => {
  try {
    await page?.evaluate(() => (window as unknown as { tsdl: { kernel: { shutdown(): Promise<void> } } }).tsdl.kernel.shutdown()).catch(() => undefined);
    await browser?.close();
  } finally {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once("exit", r));
      server.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
});

type RunResult = { status: string; text: string };
const run = (code: string) => page!.evaluate((c) => (window as unknown as { tsdl: { run(c: string): Promise<RunResult> } }).tsdl.run(c), code);

test("a slider dragged with the mouse changes the kernel-side value and the Output area redraws; round-trip latency printed", { skip, timeout: 240_000 }, async () => {
  const setup = await run(`
    const lr = new dl.widgets.FloatSlider({ min: 0, max: 1, step: 0.01, value: 0.2, description: "lr", readout_format: ".2f" });
    const out = new dl.widgets.Output();
    const show = (v: number) => { out.clear(); out.capture(() => console.log("kernel saw lr = " + v.toFixed(2))); };
    lr.observe(({ new: v }) => show(v as number), "value");
    show(lr.value);
    display(lr); display(out);
    console.log(lr.id);`);
  assert.equal(setup.status, "ok", setup.text);
  const sliderId = setup.text.trim();
  const output = page!.locator(".widget-output");
  await output.first().waitFor();
  await page!.waitForFunction(() => /kernel saw lr = 0\.20/.test(document.querySelector(".widget-output")?.textContent ?? ""), null, { timeout: 30_000 });

  // Drag the handle with the mouse, to the right.
  const handle = page!.locator(".widget-slider .noUi-handle").first();
  const box = (await handle.boundingBox())!;
  await page!.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page!.mouse.down();
  for (let i = 1; i <= 10; i++) await page!.mouse.move(box.x + box.width / 2 + i * 8, box.y + box.height / 2);
  await page!.mouse.up();
  const readout = (await page!.locator(".widget-readout").first().textContent())!.trim();
  assert.notEqual(readout, "0.20", "the slider moved");
  await page!.waitForFunction((r) => (document.querySelector(".widget-output")?.textContent ?? "").includes(`kernel saw lr = ${r}`), readout, { timeout: 30_000 });
  const kernelSide = await run(`console.log(lr.value.toFixed(2))`);
  assert.equal(kernelSide.text.trim(), readout, "the kernel's value is the one the slider shows");

  // Round trip: set the model's value in the front end (as a drag does), until the output shows it.
  const times = await page!.evaluate(async (id) => {
    const w = window as unknown as { tsdl: { manager: { get_model(id: string): Promise<{ set(k: string, v: unknown): void; save_changes(): void }> } } };
    const model = await w.tsdl.manager.get_model(id);
    const out: number[] = [];
    for (let i = 0; i < 25; i++) {
      // On the slider's step (0.01): the view snaps other values, which is a change of its own.
      const v = Math.round(((i % 2 === 0 ? 0.3 : 0.7) + i / 100) * 100) / 100;
      const want = `kernel saw lr = ${v.toFixed(2)}`;
      const t0 = performance.now();
      model.set("value", v);
      model.save_changes();
      await new Promise<void>((resolve, reject) => {
        const el = document.querySelector(".widget-output")!;
        const check = () => (el.textContent ?? "").includes(want);
        if (check()) return resolve();
        const obs = new MutationObserver(() => {
          if (check()) {
            obs.disconnect();
            resolve();
          }
        });
        obs.observe(el, { subtree: true, childList: true, characterData: true });
        setTimeout(() => {
          const m = model as unknown as { _pending_msgs: number; _msg_buffer: unknown; get(k: string): unknown };
          reject(new Error(`no redraw showing ${want} within 10 s (output: ${el.textContent}; model value ${m.get("value")}, pending ${m._pending_msgs}, buffer ${JSON.stringify(m._msg_buffer)}, round ${i})`));
        }, 10_000);
      });
      out.push(performance.now() - t0);
    }
    return out;
  }, sliderId).catch((err: Error) => assert.fail(`${err.message}\n${serverLog.split("\n").filter((l) => !/NotebookApp\] (20\d|101) /.test(l)).slice(-40).join("\n")}`));
  const sorted = [...times].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  console.log(`slider change round trip (front end → kernel → redrawn Output), ${times.length} changes: median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms, min ${sorted[0].toFixed(1)} ms; load average ${os.loadavg()[0].toFixed(2)}`);
  const last = await run(`console.log(lr.value.toFixed(2))`);
  assert.equal(last.text.trim(), "0.54", "the last change (0.3 + 24/100) reached the kernel");
});
