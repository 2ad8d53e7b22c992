/**
 * The trainable state of the clinic's segments — parameters, running statistics (buffers) and
 * optimizer state — as one flat map of named tensors, and back. It is the content of a clinic
 * checkpoint (`.npz`) and of the sealed weights relayed to the next clinic, so both paths share
 * one validation: nothing is applied unless every tensor fits the compiled model.
 *
 * Names: `<role>:param:<initializer>`, `<role>:buffer:<initializer>`, `<role>:opt:<key>` with
 * role `front` (segment 0) or `head` (the U-shape's last segment).
 *
 * It lives in runtime/train, below the clinic that checkpoints and relays it and the split
 * simulation that snapshots it, so neither imports the other's room; the clinic's
 * `runtime/client/segment_state.ts` binds {@linkcode applySegmentState}'s refusals to its
 * `RawSideError` `WEIGHTS_INVALID`.
 *
 * @example
 * ```ts
 * import { applySegmentState, collectSegmentState } from "./segment_state.ts";
 * // const state = collectSegmentState([{ role: "front", runner, optimizer }]);
 * // applySegmentState([{ role: "front", runner: other, optimizer: otherOpt }], state, "checkpoint",
 * //   (message) => new RangeError(message));
 * ```
 * @module
 */
import { sizeOf, type Tensor } from "../../models/tensor.ts";
import type { Optimizer } from "../../models/train/optimizer.ts";
import { isStringArray, type NpyArray } from "../data/npy.ts";
import type { SegmentRunner } from "./segment_runner.ts";

/**
 * One clinic segment with its optimizer.
 *
 * @example
 * ```ts
 * import type { SegmentSlot } from "./segment_state.ts";
 * // const slot: SegmentSlot = { role: "front", runner, optimizer };
 * ```
 */
export interface SegmentSlot {
  /** `front` (segment 0), `head` (the U-shape's loss segment) or `top` (a vertical server's). */
  role: "front" | "head" | "top";
  /** The segment's runner; its params and buffers are read and replaced. */
  runner: SegmentRunner;
  /** The segment's optimizer; its state is read and loaded. */
  optimizer: Optimizer;
}

function copy(t: Tensor): Tensor {
  return { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() } as Tensor;
}

/**
 * Copies the state of `slots` into one map.
 *
 * @example
 * ```ts
 * import { collectSegmentState } from "./segment_state.ts";
 * // [...collectSegmentState(slots).keys()] -> ["front:param:block1.conv.weight", ...]
 * ```
 */
export function collectSegmentState(slots: readonly SegmentSlot[]): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const { role, runner, optimizer } of slots) {
    for (const [k, v] of runner.params) out.set(`${role}:param:${k}`, copy(v));
    for (const [k, v] of runner.buffers) out.set(`${role}:buffer:${k}`, copy(v));
    for (const [k, v] of optimizer.state()) out.set(`${role}:opt:${k}`, copy(v));
  }
  return out;
}

function sameShape(a: Tensor, b: NpyArray): b is Tensor {
  return !isStringArray(b) && a.dtype === b.dtype && a.dims.length === b.dims.length &&
    a.dims.every((d, i) => d === b.dims[i]) && b.data.length === sizeOf(b.dims);
}

/**
 * Validates `state` against `slots` and, only if all of it fits, loads it: parameters and
 * buffers are replaced, optimizer state is loaded.
 *
 * @param what names the source in error messages (`"checkpoint ckpt/a.npz"`, `"relayed weights"`)
 * @param refuse makes the error thrown for state that does not fit, from its message (the
 *   clinic's is a `RawSideError` `WEIGHTS_INVALID`); nothing is loaded when it is called
 * @throws the error `refuse` makes, naming `what` and the first tensor that is missing,
 *   unknown, or of another dtype or shape
 * @example
 * ```ts
 * import { applySegmentState } from "./segment_state.ts";
 * // applySegmentState(slots, readNpz(bytes), "relayed weights", (m) => new RangeError(m));
 * ```
 */
export function applySegmentState(
  slots: readonly SegmentSlot[],
  state: ReadonlyMap<string, NpyArray>,
  what: string,
  refuse: (message: string) => Error,
): void {
  const bad = (msg: string) => refuse(`${what}: ${msg}`);
  const known = new Set<string>();
  const plans: {
    slot: SegmentSlot;
    params: Map<string, Tensor>;
    buffers: Map<string, Tensor>;
    opt: Map<string, Tensor>;
  }[] = [];
  for (const slot of slots) {
    const { role, runner } = slot;
    const params = new Map<string, Tensor>(),
      buffers = new Map<string, Tensor>(),
      opt = new Map<string, Tensor>();
    for (
      const [kind, own, into] of [["param", runner.params, params], [
        "buffer",
        runner.buffers,
        buffers,
      ]] as const
    ) {
      for (const [name, current] of own) {
        const key = `${role}:${kind}:${name}`;
        const got = state.get(key);
        if (!got) throw bad(`${kind} ${JSON.stringify(name)} of the ${role} segment is missing`);
        if (!sameShape(current, got)) {
          const g = got as NpyArray;
          const desc = isStringArray(g) ? "strings" : `${g.dtype} [${g.dims}]`;
          throw bad(
            `${kind} ${
              JSON.stringify(name)
            } is ${desc}; the model has ${current.dtype} [${current.dims}]`,
          );
        }
        known.add(key);
        into.set(name, copy(got));
      }
    }
    const prefix = `${role}:opt:`;
    for (const [key, value] of state) {
      if (!key.startsWith(prefix)) continue;
      const slotName = key.slice(prefix.length);
      if (isStringArray(value)) {
        throw bad(`optimizer state ${JSON.stringify(slotName)} holds strings`);
      }
      if (slotName === "steps") {
        if (value.dtype !== "float64" || value.data.length !== 1) {
          throw bad(`optimizer step count is not one float64`);
        }
      } else {
        // Slots are `<param>.<moment>` (optimizer.ts); a slot must match its parameter's size,
        // or the next update would read past its end.
        const param = params.get(slotName.slice(0, slotName.lastIndexOf(".")));
        if (!param || value.dtype !== "float32" || value.data.length !== param.data.length) {
          throw bad(
            `optimizer state ${JSON.stringify(slotName)} fits no parameter of the ${role} segment`,
          );
        }
      }
      known.add(key);
      opt.set(slotName, copy(value));
    }
    if (!opt.has("steps")) throw bad(`optimizer state of the ${role} segment has no step count`);
    plans.push({ slot, params, buffers, opt });
  }
  for (const key of state.keys()) {
    if (!known.has(key)) {
      throw bad(`unexpected tensor ${JSON.stringify(key)} (not part of this clinic's segments)`);
    }
  }
  for (const { slot, params, buffers, opt } of plans) {
    try {
      slot.optimizer.load(opt);
    } catch (e) {
      throw bad(`optimizer state of the ${slot.role} segment: ${(e as Error).message}`);
    }
    for (const [k, v] of params) slot.runner.params.set(k, v);
    for (const [k, v] of buffers) slot.runner.buffers.set(k, v);
  }
}
