/**
 * Widgets through the runner and the report: `runNotebook` stores the widgets' last state in
 * `metadata.widgets` (valid against nbformat's and ipywidgets' schemas), and the report draws them
 * offline with @jupyter-widgets/html-manager, in Chromium, showing the last values.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderNotebookHtml } from "../../kernel/report/render";
import { writeReport } from "../../kernel/report/index";
import { runNotebook } from "../../kernel/runner/run";
import { serializeNotebook, toDiskForm, parseNotebook } from "../../kernel/nbformat/io";
import { validateNotebook, validateWidgetState, WIDGET_STATE_MIME } from "../../kernel/nbformat/validate";
import type { Notebook } from "../../kernel/nbformat/types";
import { launchBrowser, type TestBrowser } from "../helpers/browser";
import { requires } from "../helpers/components";

const code = (source: string) => ({ cell_type: "code" as const, id: Math.random().toString(36).slice(2, 10), metadata: {}, source, outputs: [], execution_count: null });

const NOTEBOOK: Notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {},
  cells: [
    code(`const s = new dl.widgets.FloatSlider({ min: 0, max: 1, step: 0.01, value: 0.25, description: "lr" }); s`),
    code(`s.value = 0.75;`),
    code(`const w = dl.widgets.interact(({ n }) => console.log("n is", n * 10), { n: [1, 9, 1, 3] }); w`),
    code(`new dl.widgets.HBox([new dl.widgets.Play({ max: 3 }), new dl.widgets.Button({ description: "go", icon: "check" }), new dl.widgets.Checkbox({ value: true, description: "on" })])`),
  ],
} as unknown as Notebook;

let dir: string;
let executed: Notebook;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tsdl-widget-report-"));
  const r = await runNotebook(NOTEBOOK, { cwd: dir, env: { TSDL_BACKEND: "cpu" } });
  assert.equal(r.status, "ok", r.error);
  // As written to disk and read back.
  executed = parseNotebook(serializeNotebook(toDiskForm(r.notebook)));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

type Stored = { version_major: number; state: Record<string, { model_name: string; state: Record<string, unknown> }> };
const stored = () => (executed.metadata.widgets as Record<string, Stored>)[WIDGET_STATE_MIME];
const model = (name: string) => Object.entries(stored().state).filter(([, m]) => m.model_name === name);

describe("runner", () => {
  test("the executed notebook holds every widget's last state, valid against nbformat's and the widget state schema", () => {
    assert.deepEqual(validateNotebook(executed), []);
    assert.equal(stored().version_major, 2);
    const [[, slider]] = model("FloatSliderModel");
    assert.equal(slider.state.value, 0.75, "the value set in a later cell");
    assert.equal(slider.state.description, "lr");
    const [[, out]] = model("OutputModel");
    assert.deepEqual(out.state.outputs, [{ output_type: "stream", name: "stdout", text: "n is 30\n" }]);
    for (const n of ["IntSliderModel", "VBoxModel", "HBoxModel", "PlayModel", "ButtonModel", "CheckboxModel", "LayoutModel", "SliderStyleModel"]) assert.ok(model(n).length >= 1, n);
    // The cell output shows the view of the model the state holds.
    const view = (executed.cells[0] as { outputs: { data: Record<string, { model_id: string }> }[] }).outputs[0].data["application/vnd.jupyter.widget-view+json"];
    assert.ok(view.model_id in stored().state);
  });

  test("a broken widget state is named by the validator", () => {
    const broken = structuredClone(executed);
    const st = stored();
    const first = Object.keys(st.state)[0];
    const doc = structuredClone(st) as unknown as { state: Record<string, Record<string, unknown>> };
    delete doc.state[first].model_name;
    broken.metadata.widgets = { [WIDGET_STATE_MIME]: doc };
    assert.match(validateWidgetState(broken).join("\n"), /must have required property 'model_name'/);
  });

  test("a notebook without widgets gets no metadata.widgets (a stale one is removed)", async () => {
    const plain = { ...NOTEBOOK, metadata: { widgets: { [WIDGET_STATE_MIME]: { version_major: 2, version_minor: 0, state: {} } } }, cells: [code("1 + 1")] } as unknown as Notebook;
    const r = await runNotebook(plain, { cwd: dir, env: { TSDL_BACKEND: "cpu" } });
    assert.equal(r.status, "ok");
    assert.equal(r.notebook.metadata.widgets, undefined);
  });
});

describe("report", () => {
  test("the report embeds the state and html-manager only when the notebook has widgets; sizes printed", () => {
    const withWidgets = renderNotebookHtml(executed);
    assert.match(withWidgets, /<script type="application\/vnd\.jupyter\.widget-state\+json">/);
    assert.equal((withWidgets.match(/<script type="application\/vnd\.jupyter\.widget-view\+json">/g) ?? []).length, 3);
    assert.match(withWidgets, /data-html-manager-version="1\./);
    const without = structuredClone(executed);
    delete without.metadata.widgets;
    const plain = renderNotebookHtml(without);
    assert.doesNotMatch(plain, /html-manager|widget-state\+json/);
    assert.match(plain, /FloatSlider\(value=0\.25, description=&quot;lr&quot;\)/, "without state, the text/plain fallback");
    const plainEmbed = renderNotebookHtml(executed, { widgets: "plain" });
    console.log(
      `report size: without widgets ${(plain.length / 1024).toFixed(0)} KiB, with widgets (gzip) ${(withWidgets.length / 1024).toFixed(0)} KiB ` +
        `(+${((withWidgets.length - plain.length) / 1024).toFixed(0)} KiB), with widgets (plain) ${(plainEmbed.length / 1024).toFixed(0)} KiB`,
    );
    assert.ok(withWidgets.length - plain.length < 1.5 * 1024 * 1024, "the gzipped bundle adds under 1.5 MiB");
  });

  let browser: TestBrowser | undefined;
  after(async () => browser?.close());

  for (const embedding of ["gzip", "plain"] as const) {
    test(`in Chromium (${embedding}): the widgets are drawn offline with their last values, no request made`, { skip: requires("chromium") }, async () => {
      browser ??= await launchBrowser();
      const file = path.join(dir, `widgets-${embedding}.html`);
      writeReport(executed, file, { widgets: embedding });
      const { page, url, requests, errors } = await browser.open(file);
      await page.waitForFunction(() => document.body.hasAttribute("data-widgets"), null, { timeout: 45_000 });
      assert.equal(await page.getAttribute("body", "data-widgets"), "drawn", errors.join("\n"));
      assert.deepEqual(requests, [url], "no request beyond the page itself");
      assert.equal((await page.locator(".widget-slider").count()) >= 2, true, "two sliders drawn");
      const readouts = await page.locator(".widget-readout").allTextContents();
      assert.ok(readouts.map((r) => r.trim()).includes("0.75"), `the slider's last value in ${JSON.stringify(readouts)}`);
      assert.ok(readouts.map((r) => r.trim()).includes("3"), `the interact slider's value in ${JSON.stringify(readouts)}`);
      assert.match(await page.locator(".widget-output").first().innerText(), /n is 30/);
      assert.equal(await page.locator(".widget-play, .jupyter-widgets.widget-play").count() >= 1, true);
      assert.equal(await page.locator("input[type=checkbox]").isChecked(), true);
      assert.equal(await page.locator(".tsdl-widget-fallback:visible").count(), 0, "fallbacks hidden once drawn");
      assert.deepEqual(errors, []);
    });
  }
});
