/**
 * A dataset held as tensors whose first axis is the sample: named model inputs and one
 * target. Mini-batches are gathered rows, so any partition or shuffle is an index list.
 *
 * @example
 * ```ts
 * import { TensorDataset } from "./tensor_dataset.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const ds = new TensorDataset({ x: tensor("float32", [3, 2]) }, tensor("float32", [3, 1]));
 * const b = ds.take([2, 0]); // b.inputs.x.dims -> [2, 2]
 * ```
 * @module
 */
import { allocate, type Tensor } from "../../models/tensor.ts";

/** A gathered mini-batch. */
export interface Batch {
  inputs: Record<string, Tensor>;
  target: Tensor;
}

/** Gathers rows `idx` of `t` along axis 0. */
export function takeRows(t: Tensor, idx: ArrayLike<number>): Tensor {
  const row = t.dims.slice(1).reduce((a, b) => a * b, 1);
  const out = allocate(t.dtype, idx.length * row);
  const src = t.data;
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!(r >= 0 && r < t.dims[0])) throw new RangeError(`row ${r} out of range [0, ${t.dims[0]})`);
    // deno-lint-ignore no-explicit-any
    (out as any).set((src as any).subarray(r * row, (r + 1) * row), i * row);
  }
  return { dtype: t.dtype, dims: [idx.length, ...t.dims.slice(1)], data: out } as Tensor;
}

/** Samples as tensors sharing axis 0. */
export class TensorDataset {
  /** Number of samples. */
  readonly size: number;

  /**
   * @throws {RangeError} when the tensors disagree on the number of samples
   */
  constructor(readonly inputs: Record<string, Tensor>, readonly target: Tensor) {
    this.size = target.dims[0];
    for (const [k, v] of Object.entries(inputs)) {
      if (v.dims[0] !== this.size) {
        throw new RangeError(`dataset input ${JSON.stringify(k)} has ${v.dims[0]} rows, the target has ${this.size}`);
      }
    }
  }

  /** The rows `idx` as a batch. */
  take(idx: ArrayLike<number>): Batch {
    const inputs: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(this.inputs)) inputs[k] = takeRows(v, idx);
    return { inputs, target: takeRows(this.target, idx) };
  }

  /** A dataset of the rows `idx` (copied). */
  subset(idx: ArrayLike<number>): TensorDataset {
    const b = this.take(idx);
    return new TensorDataset(b.inputs, b.target);
  }
}
