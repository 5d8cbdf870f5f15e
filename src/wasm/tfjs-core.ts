/**
 * The module object of the tfjs-core that `@tensorflow/tfjs` itself loads (resolved from tfjs's
 * own folder, so it is that very instance even where npm did not hoist it), for the two exports
 * tsdl replaces: `dropout` (dropout.ts) and `fused` (dense.ts). tfjs-layers and `tf.dropout` /
 * `tf.fused` read them from this object at each call.
 */
import path from "node:path";
import type * as tf from "@tensorflow/tfjs";

/** The exports of tfjs's tfjs-core that tsdl replaces. */
export interface TfjsCoreExports {
  dropout: typeof tf.dropout;
  fused: typeof tf.fused;
}

/** tfjs's tfjs-core module object. */
export function tfjsCore(): TfjsCoreExports {
  const tfjsDir = path.dirname(require.resolve("@tensorflow/tfjs/package.json"));
  return require(require.resolve("@tensorflow/tfjs-core", { paths: [tfjsDir] })) as TfjsCoreExports;
}
