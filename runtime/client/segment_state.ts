/**
 * The clinic's view of segment state (runtime/train/segment_state.ts, where the format and
 * its validation live): the same names and collection, with refusals raised as the raw
 * side's `RawSideError` `WEIGHTS_INVALID`.
 *
 * @example
 * ```ts
 * import { applySegmentState, collectSegmentState } from "./segment_state.ts";
 * // const state = collectSegmentState([{ role: "front", runner, optimizer }]);
 * // applySegmentState([{ role: "front", runner: other, optimizer: otherOpt }], state, "checkpoint");
 * ```
 * @module
 */
import type { NpyArray } from "../data/npy.ts";
import { applySegmentState as apply, type SegmentSlot } from "../train/segment_state.ts";
import { RawSideError } from "./raw_side/error.ts";

export { collectSegmentState, type SegmentSlot } from "../train/segment_state.ts";

/**
 * Validates `state` against `slots` and, only if all of it fits, loads it (see
 * runtime/train/segment_state.ts).
 *
 * @param what names the source in error messages (`"checkpoint ckpt/a.npz"`, `"relayed weights"`)
 * @throws {RawSideError} `WEIGHTS_INVALID` naming the first tensor that is missing, unknown, or
 *   of another dtype or shape
 * @example
 * ```ts
 * import { applySegmentState } from "./segment_state.ts";
 * // applySegmentState(slots, readNpz(bytes), "relayed weights");
 * ```
 */
export function applySegmentState(
  slots: readonly SegmentSlot[],
  state: ReadonlyMap<string, NpyArray>,
  what: string,
): void {
  apply(slots, state, what, (message) => new RawSideError("WEIGHTS_INVALID", message));
}
