import assert from "node:assert/strict";
import { DataError } from "../../src/data";

/** Asserts that `fn` throws a DataError with this code whose message matches `re`. */
export function throwsData(fn: () => unknown, code: string, re: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DataError, `expected a DataError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.message, re);
    return true;
  });
}
