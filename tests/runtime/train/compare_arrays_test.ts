import assert from "node:assert/strict";
import { compareArrays, NOISE_FLOOR, relativeError } from "../../../runtime/train/compare_arrays.ts";
import { tensor, type Tensor } from "../../../models/tensor.ts";

const f32 = (...v: number[]): Tensor => tensor("float32", [v.length], new Float32Array(v));

Deno.test("relativeError: ‖a − b‖ / ‖b‖, the absolute norm for a zero reference, Infinity for other shapes", () => {
  assert.equal(relativeError(f32(1, 2), f32(1, 2)), 0);
  assert.ok(Math.abs(relativeError(f32(3, 4.5), f32(3, 4)) - 0.1) < 1e-7);
  assert.ok(Math.abs(relativeError(f32(3e-9, 0), f32(0, 0)) - 3e-9) < 1e-15);
  assert.equal(relativeError(f32(1), f32(1, 2)), Infinity);
});

Deno.test("compareArrays: a gradient that is zero to float32 precision is judged by its absolute error against the floor", () => {
  const ref = new Map([
    ["grad.w", f32(0.6, 0.8)], // norm 1: the floor is 1e-4
    ["grad.bn.bias", f32(2.3e-9, -1e-9)], // rounding noise of an exact 0
    ["logits", f32(1e-9)],
  ]);
  const noise = new Map([["grad.w", f32(0.6, 0.8)], ["grad.bn.bias", f32(4.2e-9, 1e-9)], ["logits", f32(1e-9)]]);
  const rows = compareArrays(noise, ref, 1e-3);
  const bias = rows.find((r) => r.name === "grad.bn.bias")!;
  assert.equal(bias.zero, true);
  assert.ok(bias.ok && bias.error < 1e-3, `noise against noise passes: ${bias.error}`);
  // relative to its own norm the same noise is a 100 % error: the old measure failed it
  assert.ok(relativeError(noise.get("grad.bn.bias")!, ref.get("grad.bn.bias")!) > 1);
  // a real difference in a zero gradient still fails
  const wrong = new Map(noise).set("grad.bn.bias", f32(NOISE_FLOOR * 0.01, 0));
  assert.equal(compareArrays(wrong, ref, 1e-3).find((r) => r.name === "grad.bn.bias")!.ok, false);
  // arrays that are not gradients keep the relative measure; a missing array fails
  assert.equal(rows.find((r) => r.name === "logits")!.zero, undefined);
  const missing = compareArrays(new Map(), ref, 1e-3);
  assert.ok(missing.every((r) => !r.ok));
});
