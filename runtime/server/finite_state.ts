/**
 * The finiteness guard of the server's shared state (docs/design/security_model.md): one accepted step
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
import { type Tensor, tensor } from "../../models/tensor.ts";
import type { Optimizer } from "../../models/train/optimizer.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";

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
 * Index of the first NaN or ±Infinity of a float array, or -1. `v - v` is 0 for every
 * finite `v` and NaN otherwise (IEEE 754: ∞ − ∞ and NaN − NaN are NaN). One monomorphic
 * loop per array type: this runs over every parameter and moment at every step.
 */
function firstNonFiniteFloat(d: Float32Array | Float64Array | ArrayLike<number>): number {
  if (d instanceof Float32Array) {
    for (let i = 0; i < d.length; i++) if (d[i] - d[i] !== 0) return i;
    return -1;
  }
  for (let i = 0; i < d.length; i++) if (d[i] - d[i] !== 0) return i;
  return -1;
}

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
export function firstNonFiniteTensor(
  tensors: Iterable<readonly [string, Tensor]>,
): NonFiniteTensor | null {
  for (const [name, t] of tensors) {
    if (!FLOAT_DTYPES.has(t.dtype)) continue;
    const d = t.data as ArrayLike<number>;
    const index = firstNonFiniteFloat(d);
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
function* prefixed(
  prefix: string,
  entries: Iterable<readonly [string, Tensor]>,
): Iterable<readonly [string, Tensor]> {
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
      `${what} refused: it would make ${
        describeNonFinite(bad)
      } non-finite; the server keeps its previous state`,
    );
  }
}

/**
 * Applies optimizer updates only when every updated parameter and optimizer moment comes out
 * finite; otherwise puts the parameters and the optimizer state back as they were and
 * refuses. The update runs on the live arrays (the optimizer updates in place) after they
 * are copied into scratch arrays this guard keeps from step to step: allocating fresh typed
 * arrays of a segment's size at every step cost several times the optimizer step itself
 * (measured on a loaded 2-core host), copying into kept ones almost nothing.
 *
 * A finite gradient does not suffice: Adam's second moment squares it (`v = β₂v + (1−β₂)g²`
 * overflows float32 for |g| above about 1.8e19 while the parameter stays finite), and
 * SGD's `w − lr·g` overflows near 3.4e38; so the check is on what the update produced.
 *
 * @example
 * ```ts
 * import { FiniteUpdate } from "./finite_state.ts";
 * import { createOptimizer } from "../../models/train/optimizer.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const w = tensor("float32", [1], Float32Array.of(1));
 * const opt = createOptimizer({ kind: "sgd", lr: 1 });
 * try {
 *   new FiniteUpdate().apply("STEP 0:0", opt, new Map([["w", w]]), new Map([["w", tensor("float32", [1], Float32Array.of(Infinity))]]));
 * } catch (e) {
 *   console.log((e as Error).message, w.data[0]); // STEP 0:0 refused: it would make param/w (element 0 is -Infinity) non-finite; … 1
 * }
 * ```
 */
export class FiniteUpdate {
  /** Copies of the parameters and moments from before the update in progress, by checkpoint name. */
  readonly #scratch = new Map<string, Float32Array>();

  /**
   * `optimizer.step(params, grads)`, kept only if everything it produced is finite.
   *
   * @throws {ProtocolError} `NON_FINITE`, naming the first non-finite `param/…` or `opt/…`;
   *   the parameters and the optimizer state are as before the call.
   * @example
   * ```ts
   * import { FiniteUpdate } from "./finite_state.ts";
   * import { createOptimizer } from "../../models/train/optimizer.ts";
   * import { tensor } from "../../models/tensor.ts";
   * const w = tensor("float32", [1], Float32Array.of(1));
   * new FiniteUpdate().apply("STEP 0:0", createOptimizer({ kind: "sgd", lr: 1 }), new Map([["w", w]]), new Map([["w", tensor("float32", [1], Float32Array.of(0.5))]]));
   * console.log(w.data[0]); // 0.5
   * ```
   */
  apply(
    what: string,
    optimizer: Optimizer,
    params: ReadonlyMap<string, Tensor>,
    grads: ReadonlyMap<string, Tensor>,
  ): void {
    const steps = optimizer.steps;
    const before = [...optimizer.slots().keys()];
    for (const [k, v] of params) this.#keep(`param/${k}`, v.data as Float32Array);
    for (const [k, v] of optimizer.slots()) this.#keep(`opt/${k}`, v);
    try {
      optimizer.step(params as Map<string, Tensor>, grads as Map<string, Tensor>);
      requireFinite(what, [
        ...prefixed("param/", params),
        ...prefixed("opt/", slotTensors(optimizer)),
      ]);
    } catch (e) {
      for (const [k, v] of params) (v.data as Float32Array).set(this.#scratch.get(`param/${k}`)!);
      // Rare path: load() takes copies, and drops the moments the failed step created.
      const state = new Map<string, Tensor>([[
        "steps",
        tensor("float64", [1], Float64Array.of(steps)),
      ]]);
      for (const k of before) {
        state.set(
          k,
          tensor(
            "float32",
            [this.#scratch.get(`opt/${k}`)!.length],
            this.#scratch.get(`opt/${k}`)!,
          ),
        );
      }
      optimizer.load(state);
      throw e;
    }
  }

  /** Copies `data` into the scratch array kept under `key` (made or resized as needed). */
  #keep(key: string, data: Float32Array): void {
    let s = this.#scratch.get(key);
    if (!s || s.length !== data.length) this.#scratch.set(key, s = new Float32Array(data.length));
    s.set(data);
  }
}

/** The optimizer's live moments as tensors (views, no copies), for {@linkcode requireFinite}. */
function* slotTensors(optimizer: Optimizer): Iterable<readonly [string, Tensor]> {
  for (const [k, v] of optimizer.slots()) {
    yield [k, { dtype: "float32", dims: [v.length], data: v } as Tensor];
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
export function namedBuffers(
  buffers: ReadonlyMap<string, Tensor>,
): Iterable<readonly [string, Tensor]> {
  return prefixed("buffer/", buffers);
}
