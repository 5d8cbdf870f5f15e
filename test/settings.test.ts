import { test } from "node:test";
import assert from "node:assert/strict";
import * as dl from "../src";

test("isQuick reads TSDL_QUICK: unset, empty and 0 mean full", () => {
  assert.equal(dl.isQuick({}), false);
  assert.equal(dl.isQuick({ TSDL_QUICK: "" }), false);
  assert.equal(dl.isQuick({ TSDL_QUICK: "0" }), false);
  assert.equal(dl.isQuick({ TSDL_QUICK: "1" }), true);
  assert.equal(dl.isQuick({ TSDL_QUICK: "yes" }), true);
});

test("pick returns the setting for the mode, and names what it found on bad input", () => {
  assert.equal(dl.pick({ full: 10, quick: 2 }, {}), 10);
  assert.equal(dl.pick({ full: 10, quick: 2 }, { TSDL_QUICK: "1" }), 2);
  assert.deepEqual(dl.pick({ full: { n: 60000 }, quick: { n: 2000 } }, { TSDL_QUICK: "1" }), { n: 2000 });
  assert.throws(() => dl.pick({ full: 1 } as never, {}), /expected \{ full, quick \}, found an object with keys \["full"\]/);
  assert.throws(() => dl.pick(3 as never, {}), /found number/);
});
