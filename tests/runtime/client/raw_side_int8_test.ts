/**
 * The raw side with its cut quantised in the graph (`int8Cut`, runtime/client/raw_side/int8_front.ts)
 * against the float raw side, on wasm and native, vanilla and U-shaped: the activation leaves as
 * an int8 view within scale/2 per channel of the float one, an int8 gradient goes into the
 * backward graph as codes and trains the front exactly as its float values do, a float
 * gradient still works, and a wrong-shaped int8 gradient is refused.
 */
import assert from "node:assert/strict";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { decodeTensors, encodeTensors } from "../../../runtime/codec/bundle.ts";
import {
  quantizedOf,
  quantizedRecord,
  quantizedView,
} from "../../../runtime/codec/quantized_view.ts";
import { wireRecordOf } from "../../../runtime/codec/wire_records.ts";
import { createEngine, type EngineName } from "../../../runtime/engine/mod.ts";
import { LocalRawSide, RawSideError } from "../../../runtime/client/raw_side/mod.ts";
import type { RawSideMode } from "../../../runtime/client/raw_side/api.ts";
import { rawSideTestConfig } from "./fixture.ts";

function noise(dims: readonly number[], seed: number): Tensor<"float32"> {
  let s = seed;
  const n = dims.reduce((a, b) => a * b, 1);
  return tensor(
    "float32",
    [...dims],
    Float32Array.from({ length: n }, () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return (s / 2 ** 31 - 0.5) * 0.2;
    }),
  );
}

/** `t` sent as int8 by the JavaScript codec and received as a view. */
function int8View(t: Tensor): Tensor {
  return decodeTensors(encodeTensors({ t }, { dtype: "int8", level: 0 }), undefined, {
    int8Views: true,
  }).get("t")!;
}

for (const name of ["wasm", "native"] as EngineName[]) {
  for (const mode of ["vanilla", "ushaped"] as RawSideMode[]) {
    Deno.test(`${name} ${mode}: a front quantised in the graph sends an int8 view and trains as the float front`, async () => {
      const engine = await createEngine(name);
      const q = await LocalRawSide.create(
        rawSideTestConfig(engine, mode, { int8Cut: { level: 0 } }),
      );
      const f = await LocalRawSide.create(rawSideTestConfig(engine, mode));
      try {
        for (const [step, viaCodes] of [["0:0", true], ["0:1", false]] as const) {
          const batch = Number(step.slice(2));
          const a = (await q.forward(step, 0, batch)).activation,
            b = (await f.forward(step, 0, batch)).activation;
          const qt = quantizedOf(a);
          assert.ok(qt, "the activation is an int8 view");
          assert.ok(wireRecordOf(a), "with its record for the pipe");
          const inner = a.data.length / (a.dims[0] * a.dims[1]);
          const av = a.data as Float32Array, bv = b.data as Float32Array;
          for (let i = 0; i < av.length; i++) {
            const s: number = qt.params.scales[Math.floor(i / inner) % a.dims[1]];
            assert.ok(
              Math.abs(av[i] - bv[i]) <= (s / 2) * (1 + 2 ** -20),
              `element ${i}: ${av[i]} vs ${bv[i]}, scale ${s}`,
            );
          }
          if (mode === "ushaped") {
            const h = noise([a.dims[0], 8], 3 + batch);
            // The head sees the same input on both sides.
            assert.equal((await q.head(step, h)).loss, (await f.head(step, h)).loss);
          }
          const g = int8View(noise(a.dims, 7 + batch));
          const gFloat = tensor("float32", [...g.dims], (g.data as Float32Array).slice());
          await q.backward(step, viaCodes ? g : gFloat);
          await f.backward(step, gFloat);
        }
        const wq = q.weights(), wf = f.weights();
        for (const [k, v] of wf) {
          assert.deepEqual(
            Array.from(wq.get(k)!.data as Float32Array),
            Array.from(v.data as Float32Array),
            k,
          );
        }
        const e = (await q.evalForward("val", 0)).activation;
        assert.ok(quantizedOf(e), "evaluation activations leave as int8 views too");
      } finally {
        await q.close();
        await f.close();
        await engine.dispose();
      }
    });
  }
}

Deno.test("a wrong-shaped int8 gradient is refused before the backward graph", async () => {
  const engine = await createEngine("wasm");
  const q = await LocalRawSide.create(
    rawSideTestConfig(engine, "vanilla", { int8Cut: { level: 0 } }),
  );
  try {
    const a = (await q.forward("0:0", 0, 0)).activation;
    const qt = quantizedOf(a)!;
    const wrong = { ...qt, dims: [qt.dims[0] * qt.dims[2], qt.dims[1], 1, qt.dims[3]] };
    await assert.rejects(
      q.backward("0:0", quantizedView(wrong, quantizedRecord(wrong, 0))),
      (e) => e instanceof RawSideError && e.code === "BAD_TENSOR",
    );
  } finally {
    await q.close();
    await engine.dispose();
  }
});
