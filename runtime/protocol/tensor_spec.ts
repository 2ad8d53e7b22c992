/**
 * What a receiver expects of a tensor: its dtype and shape, where a dimension is a number
 * (fixed) or a symbol such as `"N"` that must take the same value in every tensor of one
 * message (the batch size shared by an activation and its labels).
 *
 * @example
 * ```ts
 * import { checkTensor, type TensorSpec } from "./tensor_spec.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const spec: TensorSpec = { dtype: "float32", shape: ["N", 4] };
 * const bound = new Map<string, number>();
 * checkTensor("activation", tensor("float32", [2, 4]), spec, bound);
 * console.log(bound.get("N")); // 2
 * ```
 * @module
 */
import type { DType, Tensor } from "../../models/tensor.ts";
import { ProtocolError } from "./protocol_error.ts";
import { int8Extremes } from "../codec/int8_extremes.ts";
import { quantizedOf } from "../codec/quantized_view.ts";

/**
 * Expected dtype and shape of a tensor.
 *
 * @example
 * ```ts
 * import type { TensorSpec } from "./tensor_spec.ts";
 * const cut: TensorSpec = { dtype: "float32", shape: ["N", 32, 7, 7], maxSymbol: 1024 };
 * ```
 */
export interface TensorSpec {
  /** Element type. */
  readonly dtype: DType;
  /** Dimensions: a number is fixed, a string is a symbol bound per message. */
  readonly shape: readonly (number | string)[];
  /** Largest value a symbolic dimension may take (default: no bound but >= 1). */
  readonly maxSymbol?: number;
  /**
   * Every element must be finite: one NaN or ±Infinity in a cut tensor would reach the
   * receiver's weights through its optimizer step and spoil them for every clinic.
   */
  readonly finite?: boolean;
  /** Every element must lie in `[min, max]` (labels of a binary cross-entropy: `[0, 1]`). */
  readonly range?: readonly [number, number];
  /** Where `range` comes from, added to an `OUT_OF_RANGE` refusal (e.g. `"limits.maxActivation"`). */
  readonly rangeSource?: string;
}

function show(dims: readonly (number | string)[]): string {
  return `[${dims.join(", ")}]`;
}

/**
 * Checks `t` against `spec`; symbols already in `bound` must match, new ones are bound.
 * On failure nothing is added to `bound`.
 *
 * @throws {ProtocolError} `WRONG_DTYPE` or `WRONG_SHAPE`, naming the tensor and the
 *   expected and received values; `NON_FINITE` or `OUT_OF_RANGE` (with `spec.finite` or
 *   `spec.range`), naming the first offending element.
 * @example
 * ```ts
 * import { checkTensor } from "./tensor_spec.ts";
 * import { tensor } from "../../models/tensor.ts";
 * try {
 *   checkTensor("labels", tensor("int64", [3]), { dtype: "float32", shape: ["N", 1] }, new Map());
 * } catch (e) {
 *   console.log((e as { code: string }).code); // WRONG_DTYPE
 * }
 * ```
 */
export function checkTensor(
  name: string,
  t: Tensor,
  spec: TensorSpec,
  bound: Map<string, number>,
): void {
  if (t.dtype !== spec.dtype) {
    throw new ProtocolError("WRONG_DTYPE", `${name}: expected dtype ${spec.dtype}, got ${t.dtype}`);
  }
  const wrong = (why: string) =>
    new ProtocolError(
      "WRONG_SHAPE",
      `${name}: expected shape ${show(spec.shape)}, got ${show(t.dims)}${why}`,
    );
  if (t.dims.length !== spec.shape.length) throw wrong(" (rank differs)");
  const local = new Map<string, number>();
  for (let i = 0; i < spec.shape.length; i++) {
    const want = spec.shape[i], got = t.dims[i];
    if (typeof want === "number") {
      if (got !== want) throw wrong(` (dimension ${i})`);
      continue;
    }
    const prior = bound.get(want) ?? local.get(want);
    if (prior !== undefined) {
      if (got !== prior) throw wrong(` (${want} = ${prior} elsewhere in the message)`);
      continue;
    }
    if (got < 1) throw wrong(` (${want} must be at least 1)`);
    if (spec.maxSymbol !== undefined && got > spec.maxSymbol) {
      throw wrong(` (${want} = ${got} exceeds the limit ${spec.maxSymbol})`);
    }
    local.set(want, got);
  }
  if (spec.finite || spec.range) checkValues(name, t, spec);
  for (const [k, v] of local) bound.set(k, v);
}

/**
 * Index of the first NaN or ±Infinity in `data`, or -1 (bigints are always finite). What a
 * cut tensor must not carry into a receiver's optimizer step, on either side of the cut.
 *
 * @example
 * ```ts
 * import { firstNonFinite } from "./tensor_spec.ts";
 * firstNonFinite(Float32Array.of(1, NaN, 2)); // 1
 * ```
 */
export function firstNonFinite(data: ArrayLike<number | bigint>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v === "number" && !Number.isFinite(v)) return i;
  }
  return -1;
}

/** The value checks of {@linkcode checkTensor}: the first offending element is named. */
function checkValues(name: string, t: Tensor, spec: TensorSpec): void {
  if (int8ViewPasses(t, spec)) return;
  const d = t.data as ArrayLike<number | bigint>;
  if (spec.finite) {
    const i = firstNonFinite(d);
    if (i >= 0) throw new ProtocolError("NON_FINITE", `${name}: element ${i} is ${d[i]}; expected finite values`);
  }
  if (!spec.range) return;
  const [lo, hi] = spec.range;
  for (let i = 0; i < d.length; i++) {
    const v = Number(d[i]);
    if (!(v >= lo && v <= hi)) {
      const source = spec.rangeSource ? ` (${spec.rangeSource})` : "";
      throw new ProtocolError("OUT_OF_RANGE", `${name}: element ${i} is ${v}; expected values in [${lo}, ${hi}]${source}`);
    }
  }
}

/**
 * Whether `t` is an int8 view (runtime/codec/quantized_view.ts) whose values pass the checks,
 * found from its codes and scales without dequantising it. Its values are finite by
 * construction; a view that may fail is left to the element scan, which names the element.
 */
function int8ViewPasses(t: Tensor, spec: TensorSpec): boolean {
  const qt = quantizedOf(t);
  if (!qt) return false;
  const { min, max } = int8Extremes(qt, spec.range);
  if (!Number.isFinite(min) || !Number.isFinite(max)) return qt.q.length === 0;
  return !spec.range || (min >= spec.range[0] && max <= spec.range[1]);
}
