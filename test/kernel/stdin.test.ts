/**
 * stdin in every front end: jupyter console and the classic Notebook answer an input_request
 * with an input_reply whose parent_header is empty (jupyter_client's `input()` names no request).
 * The kernel takes such a reply as the answer to the one pending request, as ipykernel does, and
 * ignores it when several are pending (it could answer any of them).
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PACKAGE_ROOT } from "../../kernel/paths";
import type { InputRequestContent } from "../../kernel/protocol";
import { newMessage } from "../../kernel/wire";
import { pythonPath, requires } from "../helpers/components";
import { isolatedJupyter } from "../helpers/jupyter-env";
import { startTestKernel } from "../helpers/kernel";

const tmp = mkdtempSync(path.join(os.tmpdir(), "tsdl-stdin-test-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

test("jupyter_client's input() answers dl.input() (an input_reply with an empty parent_header)", { skip: requires("jupyter"), timeout: 600_000 }, () => {
  const { env } = isolatedJupyter(tmp);
  const r = spawnSync(pythonPath(), [path.join(PACKAGE_ROOT, "test", "kernel", "stdin_client.py")], {
    cwd: tmp,
    encoding: "utf8",
    timeout: 580_000,
    env,
  });
  assert.equal(r.status, 0, `the jupyter_client script failed:\n${r.stderr}`);
  const seen = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(seen.request, { msg_type: "input_request", content: { prompt: "Name? ", password: false } });
  assert.deepEqual(seen.input_reply_parent_header, {}, "jupyter_client's input_reply names no request");
  assert.deepEqual(seen.reply, { parent: true, status: "ok" });
  assert.equal(seen.stdout, "hello Ada Lovelace\n");
  assert.equal(seen.result, "12");
});

test("an input_reply with no parent answers the one pending request, and is ignored when two are pending", { timeout: 180_000 }, async () => {
  const t = await startTestKernel();
  try {
    const emptyParentReply = (value: string) =>
      t.kernel.sendFrames("stdin", t.kernel.wire.encode(newMessage("input_reply", { value }, t.kernel.session) as never));

    // One pending: the client's own answer never comes; the reply with no parent is taken.
    let asked!: () => void;
    const one = new Promise<void>((r) => (asked = r));
    const single = t.kernel.execute('await dl.input("only? ")', {
      onInput: () => {
        asked();
        return new Promise<string>(() => {});
      },
    });
    await one;
    await emptyParentReply("by the console");
    const run = await single;
    assert.equal(run.status, "ok", run.error?.traceback.join("\n"));
    assert.equal(run.result?.data["text/plain"], "by the console");

    // Two pending: the reply with no parent could answer either, so it answers neither.
    const answers = new Map<string, (v: string) => void>();
    let both!: () => void;
    const bothAsked = new Promise<void>((r) => (both = r));
    const pair = t.kernel.execute('const [a, b] = await Promise.all([dl.input("a? "), dl.input("b? ")]);\na + "," + b', {
      onInput: (req: InputRequestContent) =>
        new Promise<string>((resolve) => {
          answers.set(req.prompt, resolve);
          if (answers.size === 2) both();
        }),
    });
    await bothAsked;
    await emptyParentReply("stray");
    answers.get("a? ")!("A");
    answers.get("b? ")!("B");
    const run2 = await pair;
    assert.equal(run2.status, "ok", run2.error?.traceback.join("\n"));
    assert.equal(run2.result?.data["text/plain"], "A,B");
  } finally {
    await t.stop();
  }
});
