/**
 * stdin in the classic Notebook 6.4 page (Debian's python3-notebook) in Chromium: a cell calls
 * `await dl.input("Name? ")`, the page shows its input box, we type into it and press Enter, and
 * the cell goes on with the value. The page's input_reply carries an empty parent_header, which
 * the kernel used to ignore (the cell then hung forever).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { launchBrowser } from "../helpers/browser";
import { pythonPath, requires } from "../helpers/components";
import { isolatedJupyter } from "../helpers/jupyter-env";

const tmp = mkdtempSync(path.join(os.tmpdir(), "tsdl-notebook-stdin-"));
let server: ChildProcess | undefined;
after(() => {
  server?.kill("SIGTERM");
  rmSync(tmp, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const NOTEBOOK = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: "tsdl", display_name: "TypeScript (tsdl)", language: "typescript" } },
  cells: [
    {
      id: "ask",
      cell_type: "code",
      metadata: {},
      execution_count: null,
      outputs: [],
      source: 'const name = await dl.input("Name? ");\nconsole.log(`hello ${name}, ${name.length} letters`);',
    },
  ],
};

test("typing into the classic Notebook's input box answers dl.input()", { skip: requires("notebook-server", "chromium"), timeout: 300_000 }, async () => {
  const { env } = isolatedJupyter(tmp);
  const root = path.join(tmp, "notebooks");
  mkdirSync(root);
  writeFileSync(path.join(root, "ask.ipynb"), JSON.stringify(NOTEBOOK));
  const port = await freePort();
  const token = "tsdl-test-token";
  server = spawn(
    pythonPath(),
    ["-m", "notebook", "--no-browser", "--ip=127.0.0.1", `--port=${port}`, "--port-retries=0", `--NotebookApp.token=${token}`, `--notebook-dir=${root}`, ...(process.getuid?.() === 0 ? ["--allow-root"] : [])],
    {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env,
    },
  );
  let log = "";
  server.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  server.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  // The server is up when it prints its URL.
  const t0 = Date.now();
  while (!log.includes(`127.0.0.1:${port}`)) {
    assert.ok(Date.now() - t0 < 60_000 && server.exitCode === null, `the notebook server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }

  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/notebooks/ask.ipynb?token=${token}`);
    // Wait for the tsdl kernel to be started and idle.
    await page.waitForFunction(
      () => {
        const j = (window as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected(): boolean; name: string } } } }).Jupyter;
        return j?.notebook?.kernel?.is_connected() === true && j.notebook.kernel.name === "tsdl";
      },
      undefined,
      { timeout: 120_000 },
    );
    await page.click("div.cell.code_cell .CodeMirror");
    await page.keyboard.press("Shift+Enter");
    const box = page.locator("div.output_area input.raw_input");
    await box.waitFor({ timeout: 120_000 });
    assert.match(await page.locator("div.output_area .raw_input_container").innerText(), /Name\?/);
    await box.type("Ada");
    await box.press("Enter");
    const stream = page.locator("div.output_area .output_stdout");
    await stream.waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => document.querySelector("div.output_area .output_stdout")?.textContent?.includes("hello Ada, 3 letters"), undefined, {
      timeout: 60_000,
    });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
  assert.doesNotMatch(log, /ignored an input_reply/, "the kernel took the page's reply");
});
