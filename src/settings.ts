/**
 * Quick and full settings. `TSDL_QUICK=1` (set by `tsdl run --quick` and by the test suite) asks
 * notebooks and tests to shrink their work: fewer examples, fewer epochs. `npm start` runs the
 * notebooks in full.
 */

/** True when `TSDL_QUICK` is set to anything but "" or "0" (every notebook's first cell reads it). */
export function isQuick(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.TSDL_QUICK;
  return v !== undefined && v !== "" && v !== "0";
}

/** The `quick` value under `TSDL_QUICK`, else the `full` one: `dl.pick({ full: 10, quick: 2 })` (every notebook). */
export function pick<T>(choice: { full: T; quick: T }, env: NodeJS.ProcessEnv = process.env): T {
  if (choice === null || typeof choice !== "object" || !("full" in choice) || !("quick" in choice)) {
    throw new TypeError(`dl.pick: expected { full, quick }, found ${choice === null ? "null" : typeof choice === "object" ? `an object with keys ${JSON.stringify(Object.keys(choice))}` : typeof choice}`);
  }
  return isQuick(env) ? choice.quick : choice.full;
}
