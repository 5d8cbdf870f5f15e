/**
 * The widget message protocol 2.1 over real ZeroMQ, with this test as the front end: models of
 * `@jupyter-widgets/controls` 2.0 opened with their state, `update` / `echo_update`,
 * `request_state`, `custom` (a Button's click), `jupyter.widget.control`'s `request_states`,
 * malformed updates, rate limiting, the Output widget's capture (a live `fit` chart included) and
 * `interact`. One kernel for the file.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { IopubMessage, Message } from "../../kernel/protocol";
import { startTestKernel, waitForIopub, waitForKernelLog, type TestKernel } from "../helpers/kernel";

let t: TestKernel;
const seen: IopubMessage[] = [];
before(async () => {
  t = await startTestKernel();
  t.kernel.onIopubMessage((m) => void seen.push(m));
});
after(async () => {
  await t?.stop();
});

type Data = { method?: string; state?: Record<string, unknown>; buffer_paths?: unknown[]; content?: unknown };
const dataOf = (m: IopubMessage) => (m.content as { data: Data }).data;
const commOf = (m: IopubMessage) => (m.content as { comm_id?: string }).comm_id;
const parentOf = (m: IopubMessage) => (m.parent_header as { msg_id?: string }).msg_id;

const waitFor = (pred: (m: IopubMessage) => boolean, from = 0, timeoutMs = 20_000) => waitForIopub(seen, pred, from, timeoutMs);

async function run(code: string) {
  const from = seen.length;
  const r = await t.kernel.execute(code);
  assert.equal(r.status, "ok", `${code}\n${r.error?.evalue ?? ""}\n${r.stderr}`);
  // Every message the cell caused, also those after its idle (none should be missing by then).
  return { r, msgs: seen.slice(from) };
}

const waitForLog = (re: RegExp, timeoutMs = 10_000) => waitForKernelLog(t.kernel, re, timeoutMs);

/** Send an update as a front end does; returns the message. */
function update(commId: string, state: Record<string, unknown>, buffers: Uint8Array[] = [], buffer_paths: unknown[] = []) {
  return t.kernel.sendShell("comm_msg", { comm_id: commId, data: { method: "update", state, buffer_paths } }, buffers);
}

let sliderId = "";

describe("models", () => {
  test("a FloatSlider as a cell's value: comm_open for it, its Layout and Style, protocol 2.1.0, then the widget view", async () => {
    const { r, msgs } = await run(`const s = new dl.widgets.FloatSlider({ min: 0, max: 10, step: 0.5, value: 3, description: "x" }); s`);
    const opens = msgs.filter((m) => m.header.msg_type === "comm_open");
    assert.deepEqual(opens.map((m) => (m.content as { target_name: string }).target_name), ["jupyter.widget", "jupyter.widget", "jupyter.widget"]);
    for (const o of opens) assert.deepEqual((o as unknown as Message).metadata, { version: "2.1.0" });
    const byName = new Map(opens.map((o) => [dataOf(o).state!._model_name as string, o]));
    const slider = byName.get("FloatSliderModel")!;
    const st = dataOf(slider).state!;
    assert.equal(st._model_module, "@jupyter-widgets/controls");
    assert.equal(st._model_module_version, "2.0.0");
    assert.equal(st._view_name, "FloatSliderView");
    assert.equal(st.value, 3);
    assert.equal(st.max, 10);
    assert.equal(st.description, "x");
    assert.equal(st.readout_format, ".2f", "defaults from the spec");
    assert.equal(st.layout, `IPY_MODEL_${commOf(byName.get("LayoutModel")!)}`);
    assert.equal(st.style, `IPY_MODEL_${commOf(byName.get("SliderStyleModel")!)}`);
    assert.equal(dataOf(byName.get("LayoutModel")!).state!._model_module, "@jupyter-widgets/base");
    sliderId = commOf(slider)!;
    assert.deepEqual(r.result?.data["application/vnd.jupyter.widget-view+json"], { version_major: 2, version_minor: 0, model_id: sliderId });
    assert.equal(r.result?.data["text/plain"], 'FloatSlider(value=3, description="x")');
    // Opened before the result that shows them.
    assert.ok(msgs.indexOf(slider) < msgs.findIndex((m) => m.header.msg_type === "execute_result"));
  });

  test("each of the supported models opens with its module, name and version", async () => {
    const { msgs } = await run(`
      const all = [
        new dl.widgets.FloatLogSlider({ min: -4, max: 0, value: 0.01 }), new dl.widgets.IntSlider({ min: 1, max: 50, value: 10 }),
        new dl.widgets.Dropdown({ options: ["sgd", "adam"], value: "adam" }), new dl.widgets.Checkbox({ value: true }),
        new dl.widgets.Button({ description: "go" }), new dl.widgets.Play({ max: 5 }), new dl.widgets.Text({ value: "t" }),
        new dl.widgets.Label({ value: "l" }), new dl.widgets.HTML({ value: "<b>h</b>" }), new dl.widgets.Output(),
      ];
      const boxes = [new dl.widgets.HBox(all.slice(0, 2)), new dl.widgets.VBox(all.slice(2))];`);
    const names = msgs.filter((m) => m.header.msg_type === "comm_open").map((m) => `${dataOf(m).state!._model_module}@${dataOf(m).state!._model_module_version}:${dataOf(m).state!._model_name}`);
    for (const n of ["FloatLogSlider", "IntSlider", "Dropdown", "Checkbox", "Button", "Play", "Text", "Label", "HTML", "HBox", "VBox"]) {
      assert.ok(names.includes(`@jupyter-widgets/controls@2.0.0:${n}Model`), `${n} in ${names.join(" ")}`);
    }
    assert.ok(names.includes("@jupyter-widgets/output@1.0.0:OutputModel"));
    for (const s of ["SliderStyle", "DescriptionStyle", "CheckboxStyle", "ButtonStyle", "TextStyle", "LabelStyle", "HTMLStyle"]) assert.ok(names.includes(`@jupyter-widgets/controls@2.0.0:${s}Model`), s);
    const dd = msgs.find((m) => m.header.msg_type === "comm_open" && dataOf(m).state!._model_name === "DropdownModel")!;
    assert.deepEqual([dataOf(dd).state!._options_labels, dataOf(dd).state!.index], [["sgd", "adam"], 1]);
    const log = msgs.find((m) => m.header.msg_type === "comm_open" && dataOf(m).state!._model_name === "FloatLogSliderModel")!;
    assert.deepEqual([dataOf(log).state!.min, dataOf(log).state!.max, dataOf(log).state!.value], [-4, 0, 0.01]);
  });

  test("bad values from a cell fail that cell with the attribute, what was expected and what was found", async () => {
    const r = await t.kernel.execute(`new dl.widgets.IntSlider({ value: 2.5 })`);
    assert.equal(r.status, "error");
    assert.match(r.error!.evalue, /IntSlider: value must be an integer, found number 2\.5/);
    const r2 = await t.kernel.execute(`s.set({ colour: "red" })`);
    assert.match(r2.error!.evalue, /FloatSlider: unknown attribute "colour"/);
  });
});

describe("state synchronization", () => {
  test("an update from the front end changes the kernel's value, runs observers, and is echoed with the update as parent", async () => {
    await run(`const changes: unknown[] = []; s.observe((c) => changes.push([c.name, c.old, c.new, c.source]), "value");`);
    const from = seen.length;
    const sent = await update(sliderId, { value: 7.5 });
    const echo = await waitFor((m) => m.header.msg_type === "comm_msg" && commOf(m) === sliderId && dataOf(m).method === "echo_update", from);
    assert.deepEqual(dataOf(echo).state, { value: 7.5 });
    assert.equal(parentOf(echo), sent.header.msg_id);
    const { r } = await run(`console.log(JSON.stringify([s.value, changes]))`);
    assert.equal(r.stdout.trim(), JSON.stringify([7.5, [["value", 3, 7.5, "frontend"]]]));
  });

  test("a kernel-side change is sent as an update", async () => {
    const { msgs } = await run(`s.value = 2; s.description = "lr";`);
    const ups = msgs.filter((m) => m.header.msg_type === "comm_msg" && commOf(m) === sliderId && dataOf(m).method === "update");
    assert.deepEqual(Object.assign({}, ...ups.map((u) => dataOf(u).state)), { value: 2, description: "lr" });
  });

  test("request_state is answered with an update holding the whole state", async () => {
    const from = seen.length;
    await t.kernel.sendShell("comm_msg", { comm_id: sliderId, data: { method: "request_state" } });
    const full = await waitFor((m) => m.header.msg_type === "comm_msg" && commOf(m) === sliderId && dataOf(m).method === "update" && "_model_name" in (dataOf(m).state ?? {}), from);
    const st = dataOf(full).state!;
    assert.equal(st.value, 2);
    assert.equal(st.description, "lr");
    assert.equal(st.orientation, "horizontal");
    assert.ok(Object.keys(st).length >= 20);
  });

  test("unknown keys, wrong types and fixed keys in an update are dropped and logged; the good keys are taken and clamped", async () => {
    const from = seen.length;
    const sent = await update(sliderId, { value: 99, colour: "red", step: "big", _model_name: "Evil", readout: false });
    const echo = await waitFor((m) => m.header.msg_type === "comm_msg" && parentOf(m) === sent.header.msg_id && dataOf(m).method === "echo_update", from);
    assert.deepEqual(dataOf(echo).state, { value: 10, readout: false }, "value clamped to max 10");
    await waitForLog(/ignored colour in an update: unknown attribute "colour"/);
    await waitForLog(/ignored step in an update: step must be a finite number, found "big"/);
    await waitForLog(/ignored _model_name in an update: it is fixed/);
    const { r } = await run(`console.log(JSON.stringify([s.value, s.get("step"), s.get("_model_name"), s.get("readout")]))`);
    assert.equal(r.stdout.trim(), JSON.stringify([10, 0.5, "FloatSliderModel", false]));
  });

  test("a wrong method, a state that is not an object, and buffers that do not match buffer_paths are dropped; the state stays", async () => {
    await t.kernel.sendShell("comm_msg", { comm_id: sliderId, data: { method: "frobnicate" } });
    await t.kernel.sendShell("comm_msg", { comm_id: sliderId, data: { method: "update", state: [1] } });
    await update(sliderId, { value: 1 }, [Buffer.from([1])], [["value"], ["min"]]);
    await update(sliderId, { value: 1 }, [Buffer.from([1])], [[]]);
    await waitForLog(/dropped a message with method "frobnicate"; expected update, request_state or custom/);
    await waitForLog(/dropped an update: state must be an object, found an array/);
    await waitForLog(/dropped an update: buffer_paths names 2 buffers, but the message carries 1/);
    await waitForLog(/dropped an update: buffer_paths\[0\] must be a non-empty list/);
    const { r } = await run(`console.log(s.value)`);
    assert.equal(r.stdout.trim(), "10");
  });

  test("binary buffers in a custom message travel both ways", async () => {
    await run(`
      const b = new dl.widgets.Button({ description: "go" });
      let clicks = 0; b.onClick(() => clicks++);
      b.onCustom((content, buffers) => b.send({ got: content, sum: buffers.map((x) => x.reduce((a, v) => a + v, 0)) }, [new Uint8Array([5, 6])]));`);
    const open = seen.filter((m) => m.header.msg_type === "comm_open" && dataOf(m).state!._model_name === "ButtonModel").at(-1)!;
    const id = commOf(open)!;
    const from = seen.length;
    await t.kernel.sendShell("comm_msg", { comm_id: id, data: { method: "custom", content: { event: "click" } } });
    await t.kernel.sendShell("comm_msg", { comm_id: id, data: { method: "custom", content: { event: "click" } } }, [Buffer.from([1, 2, 3])]);
    const back = await waitFor((m) => m.header.msg_type === "comm_msg" && commOf(m) === id && (dataOf(m).content as { sum?: number[] })?.sum?.[0] === 6, from);
    assert.deepEqual([...(back as unknown as Message).buffers[0]], [5, 6]);
    const { r } = await run(`console.log(clicks)`);
    assert.equal(r.stdout.trim(), "2", "each click ran onClick");
  });
});

describe("jupyter.widget.control", () => {
  test("request_states answers with every model's state in one update_states message", async () => {
    const id = randomUUID();
    const from = seen.length;
    await t.kernel.sendShell("comm_open", { comm_id: id, target_name: "jupyter.widget.control", data: {} });
    await t.kernel.sendShell("comm_msg", { comm_id: id, data: { method: "request_states" } });
    const m = await waitFor((x) => x.header.msg_type === "comm_msg" && commOf(x) === id, from);
    const d = dataOf(m) as { method: string; states: Record<string, { model_name: string; model_module: string; model_module_version: string; state: Record<string, unknown> }> };
    assert.equal(d.method, "update_states");
    assert.deepEqual(
      { ...d.states[sliderId], state: undefined },
      { model_name: "FloatSliderModel", model_module: "@jupyter-widgets/controls", model_module_version: "2.0.0", state: undefined },
    );
    assert.equal(d.states[sliderId].state.value, 10);
    assert.ok(Object.keys(d.states).length > 20);
    const info = await t.kernel.request("shell", "comm_info_request", { target_name: "jupyter.widget" });
    assert.ok(sliderId in info.content.comms);
    for (const k of Object.keys(d.states)) assert.ok(k in info.content.comms, `${k} is an open jupyter.widget comm`);
  });
});

describe("rate limiting", () => {
  test("thousands of updates a second reach the front end coalesced, and the last value arrives", async () => {
    const { r, msgs } = await run(`
      const fast = new dl.widgets.IntSlider({ max: 1e9 });
      const t0 = Date.now(); let n = 0;
      while (Date.now() - t0 < 1000) { fast.value = ++n; if (n % 50 === 0) await new Promise((r) => setImmediate(r)); }
      console.log(JSON.stringify({ n, sent: fast.updatesSent, ms: Date.now() - t0, id: fast.id }));`);
    const o = JSON.parse(r.stdout.trim()) as { n: number; sent: number; ms: number; id: string };
    assert.ok(o.n > 2000, `set ${o.n} times`);
    const ups = msgs.filter((m) => m.header.msg_type === "comm_msg" && commOf(m) === o.id && dataOf(m).method === "update");
    console.log(`rate limit: ${o.n} value writes in ${o.ms} ms left as ${ups.length} update messages`);
    assert.ok(ups.length - o.sent <= 1, "what the cell counted, plus the flush at its end");
    assert.ok(ups.length <= o.ms / 30 + 3, `${ups.length} updates in ${o.ms} ms: at most one per 30 ms`);
    assert.ok(ups.length >= 5, "updates flowed during the loop, not only at the end");
    assert.equal(dataOf(ups.at(-1)!).state!.value, o.n, "the last value arrived");
    const reply = msgs.findIndex((m) => m.header.msg_type === "status" && (m.content as { execution_state: string }).execution_state === "idle" && parentOf(m) === r.request.header.msg_id);
    assert.ok(msgs.indexOf(ups.at(-1)!) < reply, "before the cell's idle");
  });
});

describe("Output and interact", () => {
  test("Output.capture takes a cell's console output and displays instead of the notebook", async () => {
    const { r, msgs } = await run(`
      const out = new dl.widgets.Output();
      out.capture(() => { console.log("inside"); console.log("again"); display({ [Symbol.for("Jupyter.display")]: () => ({ "text/html": "<i>shown</i>" }) }); });
      console.log("outside");
      JSON.stringify(out.outputs)`);
    assert.equal(r.stdout, "outside\n");
    assert.equal(r.displays.length, 0, "no display_data for the captured display");
    const outputs = JSON.parse(String(r.result?.data["text/plain"]));
    assert.deepEqual(outputs[0], { output_type: "stream", name: "stdout", text: "inside\nagain\n" });
    assert.equal(outputs[1].output_type, "display_data");
    assert.match(outputs[1].data["text/html"], /<i>shown<\/i>/);
    const id = JSON.parse(JSON.stringify(msgs.filter((m) => m.header.msg_type === "comm_open" && dataOf(m).state!._model_name === "OutputModel").at(-1)!.content)).comm_id;
    const ups = msgs.filter((m) => m.header.msg_type === "comm_msg" && commOf(m) === id && dataOf(m).method === "update");
    assert.deepEqual(dataOf(ups.at(-1)!).state!.outputs, outputs, "the front end got the outputs");
  });

  test("a live fit chart inside an Output is captured and redrawn there", async () => {
    const { r } = await run(`
      const o2 = new dl.widgets.Output();
      const x = tf.randomNormal([64, 2], 0, 1, "float32", 1); const y = tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 2), "int32");
      const m = dl.models.mlp({ inputs: 2, hidden: [4], outputs: 2, seed: 1 });
      await o2.capture(() => dl.train.fit(m, { x, y }, { epochs: 3, batchSize: 16, seed: 1 }));
      JSON.stringify(o2.outputs.map((o) => o.output_type === "display_data" ? Object.keys(o.data).sort().join(",") : o.output_type))`);
    assert.equal(r.displays.length, 0, "the chart and the progress line stayed in the Output");
    const kinds = JSON.parse(String(r.result?.data["text/plain"])) as string[];
    assert.ok(kinds.some((k) => k.includes("application/vnd.plotly.v1+json")), kinds.join(" | "));
    assert.ok(kinds.length <= 3, `one chart and one progress line, updated in place: ${kinds.join(" | ")}`);
  });

  test("interact draws the controls, runs fn into one Output, and re-runs it (debounced) when the front end moves a control", async () => {
    const { r, msgs } = await run(`
      const w = dl.widgets.interact(({ a, b, opt }) => console.log("a", a, "b", b, "opt", opt), { a: [0, 10, 1], b: true, opt: ["x", "y"] }, { debounceMs: 50 });
      w`);
    const view = r.result?.data["application/vnd.jupyter.widget-view+json"] as { model_id: string };
    const box = msgs.find((m) => m.header.msg_type === "comm_open" && commOf(m) === view.model_id)!;
    assert.equal(dataOf(box).state!._model_name, "VBoxModel");
    const children = (dataOf(box).state!.children as string[]).map((c) => c.slice("IPY_MODEL_".length));
    const models = children.map((c) => dataOf(msgs.find((m) => m.header.msg_type === "comm_open" && commOf(m) === c)!).state!._model_name);
    assert.deepEqual(models, ["IntSliderModel", "CheckboxModel", "DropdownModel", "OutputModel"]);
    const outId = children[3];
    const lastOutputs = () => {
      const ups = seen.filter((m) => m.header.msg_type === "comm_msg" && commOf(m) === outId && dataOf(m).state?.outputs !== undefined);
      return JSON.stringify(dataOf(ups.at(-1)!).state!.outputs);
    };
    assert.match(lastOutputs(), /a 5 b true opt x\\n/);
    const from = seen.length;
    for (const v of [6, 7, 8]) await update(children[0], { value: v });
    await update(children[2], { index: 1 });
    await waitFor((m) => commOf(m) === outId && JSON.stringify(dataOf(m).state?.outputs ?? "").includes("a 8 b true opt y"), from);
    const { r: r2 } = await run(`await w.settled(); console.log(w.runs)`);
    assert.ok(Number(r2.stdout) <= 3, `debounced: ${r2.stdout.trim()} runs for 4 changes, first run included`);
    assert.deepEqual(JSON.parse(lastOutputs()), [{ output_type: "stream", name: "stdout", text: "a 8 b true opt y\n" }], "cleared before each run");
  });

  test("an interact function that throws shows the error in its Output; the kernel keeps serving", async () => {
    const { r } = await run(`
      const bad = dl.widgets.interact(({ k }) => { if (k > 1) throw new RangeError("k too big: " + k); console.log("k", k); }, { k: [0, 4, 1] }, { debounceMs: 10 });
      await bad.settled(); JSON.stringify(bad.output.outputs)`);
    assert.match(String(r.result?.data["text/plain"]), /stderr.*RangeError: k too big: 2/);
  });
});
