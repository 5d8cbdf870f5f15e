/**
 * Child process for test/wasm/threads.test.ts: picks the backend the way a script does, runs one
 * small and one large product, prints a JSON report and then simply ends: no `process.exit()`,
 * so the parent sees whether the threaded backend lets the process exit on its own.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { poolSwitch } from "../../src/wasm/threadpool";

async function main(): Promise<void> {
  const info = await initBackend();
  const line = info.toString().split("\n").find((l) => l.startsWith("wasm"));
  const pool = poolSwitch(tf.backend());
  let poolRuns = 0;
  if (pool) {
    const on = pool.on;
    pool.on = () => {
      poolRuns++;
      on();
    };
  }
  const product = (n: number) => {
    const a = tf.randomNormal([n, n], 0, 1, "float32", 1);
    const b = tf.randomNormal([n, n], 0, 1, "float32", 2);
    const got = tf.matMul(a, b, true, false).dataSync();
    const av = a.dataSync();
    const bv = b.dataSync();
    let maxDiff = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += av[k * n + i] * bv[k * n + j];
        maxDiff = Math.max(maxDiff, Math.abs(s - got[i * n + j]));
      }
    }
    return maxDiff;
  };
  const small = product(8);
  const poolRunsSmall = poolRuns;
  const large = product(520); // 2·520³ flops: above XNNPACK_MIN_FLOPS, so XNNPACK on the pool
  console.log(JSON.stringify({ line, threads: pool?.threads ?? null, poolRunsSmall, poolRunsLarge: poolRuns - poolRunsSmall, small, large }));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
