import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { DELIMITER, ReplayGuard, Wire, newMessage } from "../../kernel/wire";

const KEY = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

function frames(wire: Wire, msgType = "kernel_info_request", ids: string[] = ["client-1"]) {
  return wire.encode(newMessage(msgType, { a: 1 }, "session-1"), ids.map((i) => Buffer.from(i))).map((f) =>
    Buffer.isBuffer(f) ? f : Buffer.from(f as string),
  );
}

test("a message survives encode and decode with its identities and content", () => {
  const wire = new Wire(KEY);
  const r = wire.decode(frames(wire));
  assert.equal(r.ok, true);
  if (!r.ok) return;
  assert.deepEqual(r.identities.map((b) => b.toString()), ["client-1"]);
  assert.equal(r.msg.header.msg_type, "kernel_info_request");
  assert.equal(r.msg.header.session, "session-1");
  assert.deepEqual(r.msg.content, { a: 1 });
  assert.deepEqual(r.msg.parent_header, {});
});

test("the signature is the HMAC-SHA256 hex of header, parent, metadata and content", () => {
  const wire = new Wire(KEY);
  const f = frames(wire, "execute_request", []);
  const d = f.findIndex((x) => x.equals(DELIMITER));
  const h = createHmac("sha256", KEY);
  for (const part of f.slice(d + 2, d + 6)) h.update(part);
  assert.equal(f[d + 1].toString(), h.digest("hex"));
});

test("a wrong, missing or truncated signature is rejected with a reason, never thrown", () => {
  const wire = new Wire(KEY);
  const good = frames(wire);
  const d = good.findIndex((x) => x.equals(DELIMITER));
  const cases: [string, Buffer[], RegExp][] = [
    ["wrong key", frames(new Wire("another key")), /bad signature/],
    ["missing", good.map((f, i) => (i === d + 1 ? Buffer.alloc(0) : f)), /missing signature/],
    ["truncated", good.map((f, i) => (i === d + 1 ? f.subarray(0, 10) : f)), /bad signature/],
    ["content changed", good.map((f, i) => (i === d + 5 ? Buffer.from('{"a":2}') : f)), /bad signature/],
  ];
  for (const [name, fr, reason] of cases) {
    const r = wire.decode(fr);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.match(r.reason, reason, name);
  }
});

test("malformed frames give reasons: no delimiter, too few frames, bad JSON, bad header", () => {
  const wire = new Wire(KEY);
  const sign = (parts: string[]) => [DELIMITER, Buffer.from(wire.sign(parts)), ...parts.map((p) => Buffer.from(p))];
  const header = JSON.stringify({ msg_id: "1", msg_type: "x" });
  const cases: [unknown, RegExp][] = [
    [[], /empty message/],
    [[Buffer.from("just one frame")], /no <IDS\|MSG> delimiter/],
    [[DELIMITER, Buffer.from("sig")], /expected a signature and 4 dicts/],
    [sign(["not json", "{}", "{}", "{}"]), /header is not JSON/],
    [sign([JSON.stringify({ msg_type: "x" }), "{}", "{}", "{}"]), /header\.msg_id must be a non-empty string, found nothing/],
    [sign([JSON.stringify({ msg_id: "1" }), "{}", "{}", "{}"]), /header\.msg_type must be a non-empty string/],
    [sign([header, "{}", "{}", "[1]"]), /content must be a JSON object, found an array/],
    [null, /empty message/],
  ];
  for (const [fr, reason] of cases) {
    const r = wire.decode(fr as Buffer[]);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.reason, reason);
  }
});

test("an empty key turns signing off, as the spec says", () => {
  const wire = new Wire("");
  const f = frames(wire);
  const d = f.findIndex((x) => x.equals(DELIMITER));
  assert.equal(f[d + 1].length, 0);
  assert.equal(wire.decode(f).ok, true);
});

test("an unknown signature scheme is refused when the connection is set up", () => {
  assert.throws(() => new Wire(KEY, "hmac-rot13"), /signature_scheme "hmac-rot13" is not supported; expected one of hmac-sha256/);
});

test("ReplayGuard: a key is fresh once; memory stays bounded, forgetting the oldest tenth at a time", () => {
  const guard = new ReplayGuard(100);
  assert.equal(guard.fresh("a"), true);
  assert.equal(guard.fresh("a"), false, "the same key again is a replay");
  for (let i = 0; i < 1000; i++) guard.fresh(`k${i}`);
  assert.ok(guard.size <= 100, `remembers ${guard.size} keys, capacity 100`);
  assert.equal(guard.fresh("k999"), false, "recent keys are still known");
  assert.equal(guard.fresh("a"), true, "the oldest were forgotten");
});

test("a Wire with maxMessageBytes refuses a larger message before checking its signature", () => {
  const wire = new Wire("key", "hmac-sha256", { maxMessageBytes: 1000 });
  const small = wire.encode(newMessage("execute_request", { code: "1" }, "s"));
  assert.equal(wire.decode(small.map((f) => Buffer.from(f))).ok, true);
  const big = wire.encode(newMessage("execute_request", { code: "x".repeat(2000) }, "s")).map((f) => Buffer.from(f));
  const r = wire.decode(big);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : "", /^the message is \d{4} bytes, over the 1000-byte limit; dropped unread$/);
  // Unsigned garbage of that size gets the same answer: the size is checked first.
  const forged = [...big];
  forged[1] = Buffer.from("0".repeat(64));
  assert.match((wire.decode(forged) as { reason: string }).reason, /over the 1000-byte limit/);
});
