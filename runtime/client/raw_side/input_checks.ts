/**
 * Checks of what reaches the raw side from outside its process: tensors from the server (a
 * cut gradient, a head input), step ids and indices from the courier. Each refusal is a
 * {@linkcode RawSideError} naming the value and what was expected; nothing from the server
 * reaches an optimizer step unchecked.
 *
 * @example
 * ```ts
 * import { checkTensor } from "./input_checks.ts";
 * import { RawSideError } from "./error.ts";
 * import { tensor } from "../../../models/tensor.ts";
 * try {
 *   checkTensor(tensor("float32", [2, 3], new Float32Array(6)), "cut gradient", [2, 4]);
 * } catch (e) {
 *   console.log((e as RawSideError).code); // BAD_TENSOR
 * }
 * ```
 * @module
 */
import { sizeOf, type Tensor } from "../../../models/tensor.ts";
import type { CompiledSegment } from "../../../models/train/compile.ts";
import { firstNonFinite } from "../../protocol/tensor_spec.ts";
import { RawSideError } from "./error.ts";

/**
 * Asserts a float32 tensor of shape `dims` (null: any size) with `rows` rows when given, and
 * finite values.
 *
 * @throws {RawSideError} `BAD_TENSOR` naming `what`, the shape found and the one expected
 * @example
 * ```ts
 * import { checkTensor } from "./input_checks.ts";
 * import { tensor } from "../../../models/tensor.ts";
 * checkTensor(tensor("float32", [2, 3], new Float32Array(6)), "head input", [null, 3], 2); // passes
 * ```
 */
export function checkTensor(
  t: unknown,
  what: string,
  dims: readonly (number | null)[] | undefined,
  rows?: number,
): asserts t is Tensor<"float32"> {
  const x = t as Tensor | undefined;
  if (
    !x || typeof x !== "object" || x.dtype !== "float32" || !(x.data instanceof Float32Array) ||
    !Array.isArray(x.dims)
  ) {
    throw new RawSideError(
      "BAD_TENSOR",
      `${what} must be a float32 tensor, got ${
        x && typeof x === "object" ? String(x.dtype) : typeof x
      }`,
    );
  }
  const ok = (!dims ||
    (x.dims.length === dims.length && dims.every((d, i) => d === null || d === x.dims[i]))) &&
    (rows === undefined || x.dims[0] === rows) &&
    x.dims.every((d) => Number.isSafeInteger(d) && d >= 0) &&
    x.data.length === sizeOf(x.dims);
  if (!ok) {
    const want = dims
      ? `[${dims.map((d, i) => i === 0 && rows !== undefined ? rows : d ?? "N")}]`
      : `${rows ?? "N"} rows`;
    throw new RawSideError(
      "BAD_TENSOR",
      `${what} has shape [${x.dims}] (${x.data.length} values); expected ${want}`,
    );
  }
  // What comes from the server reaches this clinic's weights through its optimizer step:
  // one NaN or infinity would spoil them for good.
  const bad = firstNonFinite(x.data);
  if (bad >= 0) throw new RawSideError("BAD_TENSOR", `${what}: element ${bad} is ${x.data[bad]}; expected finite values`);
}

/**
 * Asserts a step id: a string of 1 to 128 characters.
 *
 * @throws {RawSideError} `UNKNOWN_STEP` for anything else
 * @example
 * ```ts
 * import { checkStepId } from "./input_checks.ts";
 * checkStepId("1:0"); // passes
 * ```
 */
export function checkStepId(stepId: unknown): asserts stepId is string {
  if (typeof stepId !== "string" || stepId.length === 0 || stepId.length > 128) {
    throw new RawSideError(
      "UNKNOWN_STEP",
      `step id must be a string of 1 to 128 characters, got ${JSON.stringify(stepId)}`,
    );
  }
}

/**
 * Asserts an epoch or batch index: a safe integer >= 0.
 *
 * @throws {RawSideError} `OUT_OF_RANGE` naming `what` and the value
 * @example
 * ```ts
 * import { checkIndex } from "./input_checks.ts";
 * checkIndex(3, "epoch"); // passes
 * ```
 */
export function checkIndex(v: unknown, what: string): asserts v is number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw new RawSideError(
      "OUT_OF_RANGE",
      `${what} must be an integer >= 0, got ${JSON.stringify(v)}`,
    );
  }
}

/**
 * Static dims of a segment's input (null for symbolic ones such as the batch; undefined: no
 * shape), for {@linkcode checkTensor}.
 *
 * @example
 * ```ts
 * import { staticDims } from "./input_checks.ts";
 * import type { CompiledSegment } from "../../../models/train/compile.ts";
 * function headDims(seg: CompiledSegment) { return staticDims(seg, 0); }
 * ```
 */
export function staticDims(seg: CompiledSegment, input: number): (number | null)[] | undefined {
  return seg.inputs[input].shape?.map((d) => (typeof d === "number" && d >= 0 ? d : null));
}
