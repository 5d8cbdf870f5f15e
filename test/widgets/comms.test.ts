/**
 * Comms in the kernel over real ZeroMQ, driven as a front end drives them: comm_open, comm_msg and
 * comm_close both ways, comm_info filtered by target, binary buffers both ways, order, unknown
 * targets and ids, throwing handlers. One kernel for the file.
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

const waitFor = (pred: (m: IopubMessage) => boolean, from = 0, timeoutMs = 20_000) => waitForIopub(seen, pred, from, timeoutMs);

async function ok(code: string): Promise<string> {
  const r = await t.kernel.execute(code);
  assert.equal(r.status, "ok", `${code}\n${r.error?.evalue ?? ""}\n${r.stderr}`);
  return r.stdout;
}

const commOf = (m: IopubMessage) => (m.content as { comm_id?: string }).comm_id;

describe("comms opened by the front end", () => {
  test("an echo target answers each comm_msg in order, with its buffers, and comm_info lists the comm by target", async () => {
    await ok(`
      const host = dl.widgets.currentCommHost()!;
      const got: unknown[] = [];
      host.registerTarget("test.echo", (comm, data, buffers) => {
        comm.send({ opened: data, nbuf: buffers.length });
        comm.onMessage((d, bufs) => {
          got.push(d.n);
          // Echo reversed bytes, so the test knows the kernel read them.
          comm.send({ echo: d, sizes: bufs.map((b) => b.length) }, { buffers: bufs.map((b) => Uint8Array.from(b).reverse()) });
        });
        comm.onClose((d) => got.push("closed:" + JSON.stringify(d)));
      });`);
    const id = randomUUID();
    const from = seen.length;
    await t.kernel.sendShell("comm_open", { comm_id: id, target_name: "test.echo", data: { hello: 1 } }, [Buffer.from([1, 2])]);
    const opened = await waitFor((m) => m.header.msg_type === "comm_msg" && commOf(m) === id, from);
    assert.deepEqual((opened.content as { data: unknown }).data, { opened: { hello: 1 }, nbuf: 1 });

    const info = await t.kernel.request("shell", "comm_info_request", { target_name: "test.echo" });
    assert.deepEqual(info.content, { status: "ok", comms: { [id]: { target_name: "test.echo" } } });
    const none = await t.kernel.request("shell", "comm_info_request", { target_name: "jupyter.widget" });
    assert.deepEqual(none.content.comms, {}, "filtered by target");

    const sent: Message[] = [];
    for (let n = 0; n < 40; n++) sent.push((await t.kernel.sendShell("comm_msg", { comm_id: id, data: { n } }, n % 2 ? [Buffer.from([n, 0, 255])] : [])) as Message);
    const last = await waitFor((m) => m.header.msg_type === "comm_msg" && (m.parent_header as { msg_id?: string }).msg_id === sent[39].header.msg_id, from);
    const echoes = seen.slice(from).filter((m) => m.header.msg_type === "comm_msg" && commOf(m) === id && "echo" in ((m.content as { data: object }).data));
    assert.deepEqual(echoes.map((m) => (m.content as unknown as { data: { echo: { n: number } } }).data.echo.n), [...Array(40).keys()], "in the order sent");
    // Each echo's parent is the comm_msg it answers.
    assert.deepEqual(echoes.map((m) => (m.parent_header as { msg_id: string }).msg_id), sent.map((s) => s.header.msg_id));
    const odd = echoes[7] as unknown as Message;
    assert.deepEqual((odd.content as { data: { sizes: number[] } }).data.sizes, [3]);
    assert.deepEqual([...odd.buffers[0]], [255, 0, 7], "the buffer came back reversed");
    assert.ok(last);

    await t.kernel.sendShell("comm_close", { comm_id: id, data: { bye: true } });
    assert.match(await ok(`await new Promise((r) => setTimeout(r, 50)); console.log(JSON.stringify(got.slice(-2)))`), /\[39,"closed:\{\\"bye\\":true\}"\]/);
    const after = await t.kernel.request("shell", "comm_info_request", {});
    assert.ok(!(id in after.content.comms), "closed comms are not listed");
  });

  test("a comm_open for an unknown target is answered with comm_close and logged", async () => {
    const id = randomUUID();
    const from = seen.length;
    await t.kernel.sendShell("comm_open", { comm_id: id, target_name: "no.such.target", data: {} });
    const closed = await waitFor((m) => m.header.msg_type === "comm_close" && commOf(m) === id, from);
    assert.deepEqual((closed.content as { data: unknown }).data, {});
    await waitForLog(/unknown target "no\.such\.target"/);
  });

  test("comm_msg for an unknown comm id and malformed comm messages are dropped; the kernel keeps serving", async () => {
    await t.kernel.sendShell("comm_msg", { comm_id: "not-open", data: { x: 1 } });
    await t.kernel.sendShell("comm_msg", { data: { x: 1 } });
    await t.kernel.sendShell("comm_msg", { comm_id: "x", data: [1, 2] });
    await t.kernel.sendShell("comm_open", { comm_id: 42, target_name: "test.echo" });
    await waitForLog(/dropped comm_msg for unknown comm not-open/);
    await waitForLog(/content\.comm_id must be a non-empty string, found nothing/);
    await waitForLog(/content\.data must be an object, found an array/);
    assert.equal((await ok("console.log(1 + 1)")).trim(), "2");
  });

  test("a handler that throws is logged under the cell that made the comm, and the kernel keeps serving", async () => {
    const made = await t.kernel.execute(`
      dl.widgets.currentCommHost()!.registerTarget("test.throws", (comm) => {
        comm.onMessage((d) => { if (d.boom) throw new RangeError("handler exploded"); comm.send({ fine: true }); });
      });`);
    assert.equal(made.status, "ok");
    const id = randomUUID();
    const from = seen.length;
    // The comm is opened while no cell runs: its cell is the last one that ran.
    const cellMsgId = made.request.header.msg_id;
    await t.kernel.sendShell("comm_open", { comm_id: id, target_name: "test.throws", data: {} });
    await t.kernel.sendShell("comm_msg", { comm_id: id, data: { boom: true } });
    const err = await waitFor((m) => m.header.msg_type === "stream" && String((m.content as { text: string }).text).includes("handler exploded"), from);
    assert.equal((err.content as { name: string }).name, "stderr");
    assert.equal((err.parent_header as { msg_id: string }).msg_id, cellMsgId, "printed under the cell that made the comm");
    await waitForLog(/comm .* \(test\.throws\): its message handler threw: RangeError: handler exploded/);
    await t.kernel.sendShell("comm_msg", { comm_id: id, data: {} });
    await waitFor((m) => m.header.msg_type === "comm_msg" && commOf(m) === id, from);
  });
});

describe("comms opened by the kernel", () => {
  test("a cell opens a comm (with buffers), the front end answers, the cell closes it", async () => {
    const from = seen.length;
    const run = await t.kernel.execute(`
      const c = dl.widgets.currentCommHost()!.open("test.kernel", { a: 1 }, { buffers: [new Uint8Array([9, 8, 7])] });
      const answers: unknown[] = [];
      c.onMessage((d, b) => void answers.push([d, [...(b[0] ?? [])]]));
      c.id`);
    assert.equal(run.status, "ok");
    const opened = await waitFor((m) => m.header.msg_type === "comm_open", from);
    const id = commOf(opened)!;
    assert.equal(run.result?.data["text/plain"], id);
    assert.equal((opened.content as { target_name: string }).target_name, "test.kernel");
    assert.deepEqual([...(opened as unknown as Message).buffers[0]], [9, 8, 7]);
    assert.equal((opened.parent_header as { msg_id: string }).msg_id, run.request.header.msg_id);
    const info = await t.kernel.request("control", "comm_info_request", {});
    assert.deepEqual(info.content.comms[id], { target_name: "test.kernel" }, "comm_info on control lists it too");
    await t.kernel.sendShell("comm_msg", { comm_id: id, data: { reply: "hi" } }, [Buffer.from([4, 5])]);
    assert.match(await ok(`await new Promise((r) => setTimeout(r, 50)); console.log(JSON.stringify(answers)); c.close({ done: 1 });`), /\[\[\{"reply":"hi"\},\[4,5\]\]\]/);
    const closed = await waitFor((m) => m.header.msg_type === "comm_close" && commOf(m) === id, from);
    assert.deepEqual((closed.content as { data: unknown }).data, { done: 1 });
    assert.ok(!(id in (await t.kernel.request("shell", "comm_info_request", {})).content.comms));
  });

  test("a comm_msg sent while a cell awaits reaches its handler during the cell", async () => {
    await ok(`
      let moved: unknown = "not yet";
      const c2 = dl.widgets.currentCommHost()!.open("test.during", {});
      c2.onMessage((d) => { moved = d.v; });`);
    const opened = seen.filter((m) => m.header.msg_type === "comm_open").at(-1)!;
    const id = commOf(opened)!;
    const from = seen.length;
    const run = t.kernel.execute(`console.log("waiting"); while (moved === "not yet") await new Promise((r) => setTimeout(r, 10)); console.log("moved to", moved)`, { timeoutMs: 20_000 });
    await waitFor((m) => m.header.msg_type === "stream" && String((m.content as { text: string }).text).includes("waiting"), from);
    await t.kernel.sendShell("comm_msg", { comm_id: id, data: { v: 7 } });
    const r = await run;
    assert.equal(r.status, "ok");
    assert.match(r.stdout, /moved to 7/);
  });
});

const waitForLog = (re: RegExp, timeoutMs = 10_000) => waitForKernelLog(t.kernel, re, timeoutMs);

describe("comm_info answers at once", () => {
  test("while a cell computes, comm_info_request is answered before the cell ends", async () => {
    const order: string[] = [];
    const run = t.kernel.execute(`const t0 = Date.now(); while (Date.now() - t0 < 1500) {}`).then(() => order.push("cell"));
    await new Promise((r) => setTimeout(r, 200));
    await t.kernel.request("shell", "comm_info_request", {}).then(() => order.push("comm_info"));
    await run;
    assert.deepEqual(order, ["comm_info", "cell"]);
  });

  test("during start-up (before the preload has run), comm_info_request is answered before the first cell", async () => {
    const fresh = await startTestKernel();
    try {
      const order: string[] = [];
      const cell = fresh.kernel.execute("1").then(() => order.push("cell"));
      const info = fresh.kernel.request("shell", "comm_info_request", {}).then((r) => {
        order.push("comm_info");
        return r;
      });
      assert.equal((await info).content.status, "ok");
      await cell;
      assert.deepEqual(order, ["comm_info", "cell"]);
    } finally {
      await fresh.stop();
    }
  });
});
