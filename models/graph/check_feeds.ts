/**
 * Checks tensors against the inputs a graph declares, before any engine sees them, so a
 * wrong batch gives an error naming the input, the expected and the actual dtype/shape,
 * instead of an engine failure deep inside a kernel. Symbolic dimensions (the batch axis
 * `"N"`) must agree across all inputs.
 *
 * @example
 * ```ts
 * import { checkFeeds } from "./check_feeds.ts";
 * import { tensor } from "../tensor.ts";
 * checkFeeds([{ name: "x", dtype: "float32", shape: ["N", 3] }],
 *   { x: tensor("float32", [2, 3]) }); // ok
 * ```
 * @module
 */
import type { Tensor } from "../tensor.ts";
import type { ValueInfo } from "./ir.ts";

/**
 * Throws a `TypeError` (missing input, wrong dtype) or `RangeError` (wrong rank or size)
 * naming the input. Returns the resolved symbolic dimensions (e.g. `{ N: 64 }`).
 *
 * @example
 * ```ts
 * import { checkFeeds } from "./check_feeds.ts";
 * import { tensor } from "../tensor.ts";
 * const inputs = [{ name: "image", dtype: "float32" as const, shape: ["N", 1, 28, 28] }];
 * const feeds = { image: tensor("float32", [64, 1, 28, 28]) };
 * console.log(checkFeeds(inputs, feeds, "batch.npz")); // { N: 64 }
 * ```
 */
export function checkFeeds(
  inputs: readonly ValueInfo[],
  feeds: Readonly<Record<string, Tensor | undefined>>,
  source = "batch",
): Record<string, number> {
  const bound: Record<string, number> = {};
  for (const v of inputs) {
    const t = feeds[v.name];
    if (!t) {
      throw new TypeError(
        `${source}: missing input ${JSON.stringify(v.name)} (${v.dtype} [${v.shape ?? "?"}])`,
      );
    }
    if (t.dtype !== v.dtype) {
      throw new TypeError(
        `${source}: input ${
          JSON.stringify(v.name)
        } has dtype ${t.dtype}, the model expects ${v.dtype}`,
      );
    }
    if (!v.shape) continue;
    const want = `[${v.shape.join(", ")}]`, got = `[${t.dims.join(", ")}]`;
    if (t.dims.length !== v.shape.length) {
      throw new RangeError(
        `${source}: input ${JSON.stringify(v.name)} has shape ${got}, the model expects ${want}`,
      );
    }
    v.shape.forEach((d, i) => {
      const actual = t.dims[i];
      if (typeof d === "number") {
        if (d !== actual) {
          throw new RangeError(
            `${source}: input ${
              JSON.stringify(v.name)
            } has shape ${got}, the model expects ${want}`,
          );
        }
      } else if (bound[d] === undefined) bound[d] = actual;
      else if (bound[d] !== actual) {
        throw new RangeError(
          `${source}: input ${
            JSON.stringify(v.name)
          } has ${d} = ${actual} on axis ${i}, other inputs have ${d} = ${bound[d]}`,
        );
      }
    });
  }
  return bound;
}
