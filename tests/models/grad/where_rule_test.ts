// Where's gradient rule (models/grad/rules/select.ts) against finite differences, on native
// and wasm: both branches, broadcast along different axes, and the masked_fill shape
// PyTorch exports for attention masks (a constant fill, the data branch differentiated).
import { createEngine, type Engine } from "../../../runtime/engine/mod.ts";
import { tensor } from "../../../models/tensor.ts";
import { assertGradients, type GradCase, makeRng, rand } from "./fd_harness.ts";

const rng = makeRng(2026);
const mask = (dims: number[], pick: (i: number) => boolean) => {
  const n = dims.reduce((a, b) => a * b, 1);
  return tensor("bool", dims, Uint8Array.from({ length: n }, (_, i) => (pick(i) ? 1 : 0)));
};

function cases(): GradCase[] {
  return [
    {
      name: "Where: both branches, a broadcast along rows, b along columns",
      inputs: { a: rand(rng, [3, 4]) },
      weights: { b: rand(rng, [3, 1]) },
      constants: { c: mask([1, 4], (i) => i % 2 === 0) },
      nodes: [{ opType: "Where", inputs: ["c", "a", "b"], outputs: ["y"] }],
      output: "y",
    },
    {
      name: "Where: a [4] broadcast to [2, 3, 4] under a full mask, b full",
      weights: { a: rand(rng, [4]), b: rand(rng, [2, 3, 4]) },
      constants: { c: mask([2, 3, 4], (i) => (i * 7) % 3 !== 0) },
      nodes: [{ opType: "Where", inputs: ["c", "a", "b"], outputs: ["y"] }],
      output: "y",
    },
    {
      name: "masked_fill then Softmax, as nn.MultiheadAttention's key padding mask",
      inputs: { s: rand(rng, [2, 5]) },
      constants: {
        c: mask([2, 5], (i) => i % 5 === 4),
        fill: tensor("float32", [], Float32Array.of(-30)),
      },
      nodes: [
        { opType: "Where", inputs: ["c", "fill", "s"], outputs: ["m"] },
        { opType: "Softmax", inputs: ["m"], outputs: ["y"], attrs: {} },
      ],
      output: "y",
    },
  ];
}

for (const engineName of ["native", "wasm"] as const) {
  Deno.test(`Where gradients by FD (${engineName})`, async (t) => {
    const engine: Engine = await createEngine(engineName);
    try {
      for (const c of cases()) {
        await t.step(c.name, async () => void await assertGradients(engine, c));
      }
    } finally {
      await engine.dispose();
    }
  });
}
