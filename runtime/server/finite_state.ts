/**
 * The finiteness guard of the server's shared state (issue 16, part 1): one accepted step
 * must not be able to break the shared model for good. A float32 NaN or ±Infinity in a
 * parameter, an optimizer moment or a BatchNorm running statistic never goes away again
 * (NaN absorbs every later update; an infinite `running_var` makes every evaluation output
 * the same), is checkpointed at the next turn's end and resumed by a restart. So the server
 * applies an update only once every tensor it would produce is finite, and refuses the step
 * (`NON_FINITE`, naming the tensor) otherwise, with its previous state kept.
 *
 * Tensors are named as in the checkpoint (`param/<name>`, `buffer/<name>`, `opt/<key>`), so
 * a refusal names what an operator finds in `server_checkpoint.npz`.
 *
 * @example
 * ```ts
 * import { firstNonFiniteTensor } from "./finite_state.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const bad = firstNonFiniteTensor([["buffer/bn.running_var", tensor("float32", [2], Float32Array.of(1, Infinity))]]);
 * console.log(bad); // { name: "buffer/bn.running_var", index: 1, value: Infinity }
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { Optimizer } from "../../models/train/optimizer.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { firstNonFinite } from "../protocol/tensor_spec.ts";

/**
 * A tensor holding a NaN or ±Infinity: its name, the first such element and its value.
 *
 * @example
 * ```ts
 * import type { NonFiniteTensor } from "./finite_state.ts";
 * const n: NonFiniteTensor = { name: "param/fc.weight", index: 3, value: NaN };
 * ```
 */
export interface NonFiniteTensor {
  name: string;
  index: number;
  value: number;
}

/** Element types that can hold a NaN or ±Infinity; integer arrays are finite by type. */
const FLOAT_DTYPES: ReadonlySet<string> = new Set(["float32", "float64", "float16"]);

/**
 * The first of `tensors` (in order) holding a NaN or ±Infinity, or null when all are finite.
 *
 * @example
 * ```ts
 * import { firstNonFiniteTensor } from "./finite_state.ts";
 * import { tensor } from "../../models/tensor.ts";
 * console.log(firstNonFiniteTensor([["w", tensor("float32", [1], Float32Array.of(2))]])); // null
 * ```
 */
export function firstNonFiniteTensor(tensors: Iterable<readonly [string, Tensor]>): NonFiniteTensor | null {
  for (const [name, t] of tensors) {
    if (!FLOAT_DTYPES.has(t.dtype)) continue;
    const d = t.data as ArrayLike<number>;
    const index = firstNonFinite(d);
    if (index >= 0) return { name, index, value: d[index] };
  }
  return null;
}

/**
 * How a refusal names a non-finite tensor: `buffer/bn.running_var (element 0 is Infinity)`.
 *
 * @example
 * ```ts
 * import { describeNonFinite } from "./finite_state.ts";
 * console.log(describeNonFinite({ name: "opt/w.v", index: 2, value: Infinity })); // opt/w.v (element 2 is Infinity)
 * ```
 */
export function describeNonFinite(n: NonFiniteTensor): string {
  return `${n.name} (element ${n.index} is ${n.value})`;
}

/** `entries` with each name prefixed (`param/`, `buffer/`, `opt/`). */
function* prefixed(prefix: string, entries: Iterable<readonly [string, Tensor]>): Iterable<readonly [string, Tensor]> {
  for (const [k, v] of entries) yield [`${prefix}${k}`, v];
}

/**
 * Refuses (`NON_FINITE`) when a tensor named in `tensors` is not finite.
 *
 * @throws {ProtocolError} `NON_FINITE`: "`what` refused: it would make `<tensor>` non-finite …".
 * @example
 * ```ts
 * import { requireFinite } from "./finite_state.ts";
 * import { tensor } from "../../models/tensor.ts";
 * try {
 *   requireFinite("STEP 0:3", [["cutGrad", tensor("float32", [1], Float32Array.of(NaN))]]);
 * } catch (e) {
 *   console.log((e as { code: string }).code); // NON_FINITE
 * }
 * ```
 */
export function requireFinite(what: string, tensors: Iterable<readonly [string, Tensor]>): void {
  const bad = firstNonFiniteTensor(tensors);
  if (bad) {
    throw new ProtocolError(
      "NON_FINITE",
      `${what} refused: it would make ${describeNonFinite(bad)} non-finite; the server keeps its previous state`,
    );
  }
}

/**
 * Applies `optimizer.step(params, grads)` only if every updated parameter and every
 * optimizer state tensor comes out finite; otherwise puts the parameters and the optimizer
 * state back as they were and refuses. The update runs on the live arrays (the optimizer
 * updates in place) after copies are taken, so the price is one copy of the parameters and
 * of the optimizer state per step, not a second optimizer.
 *
 * A finite gradient does not suffice: Adam's second moment squares it (`v = β₂v + (1−β₂)g²`
 * overflows float32 for |g| above about 1.8e19 while the parameter stays finite), and
 * SGD's `w − lr·g` overflows near 3.4e38; so the check is on what the update produced.
 *
 * @throws {ProtocolError} `NON_FINITE`, naming the first non-finite `param/…` or `opt/…`;
 *   the state is as before the call.
 * @example
 * ```ts
 * import { applyFiniteUpdate } from "./finite_state.ts";
 * import { createOptimizer } from "../../models/train/optimizer.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const w = tensor("float32", [1], Float32Array.of(1));
 * const opt = createOptimizer({ kind: "sgd", lr: 1 });
 * try {
 *   applyFiniteUpdate("STEP 0:0", opt, new Map([["w", w]]), new Map([["w", tensor("float32", [1], Float32Array.of(Infinity))]]));
 * } catch (e) {
 *   console.log((e as Error).message, w.data[0]); // STEP 0:0 refused: it would make param/w (element 0 is -Infinity) non-finite; … 1
 * }
 * ```
 */
export function applyFiniteUpdate(
  what: string,
  optimizer: Optimizer,
  params: ReadonlyMap<string, Tensor>,
  grads: ReadonlyMap<string, Tensor>,
): void {
  const savedParams = new Map([...params].map(([k, v]) => [k, v.data.slice()]));
  const savedOpt = optimizer.state();
  try {
    optimizer.step(params as Map<string, Tensor>, grads as Map<string, Tensor>);
    requireFinite(what, [...prefixed("param/", params), ...prefixed("opt/", optimizer.state())]);
  } catch (e) {
    for (const [k, v] of params) (v.data as Float32Array).set(savedParams.get(k) as Float32Array);
    optimizer.load(savedOpt);
    throw e;
  }
}

/**
 * The names `param/…`, `buffer/…` of a runner's tensors, for {@linkcode requireFinite}.
 *
 * @example
 * ```ts
 * import { namedBuffers } from "./finite_state.ts";
 * console.log([...namedBuffers(new Map())]); // []
 * ```
 */
export function namedBuffers(buffers: ReadonlyMap<string, Tensor>): Iterable<readonly [string, Tensor]> {
  return prefixed("buffer/", buffers);
}
