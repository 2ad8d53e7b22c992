// Sequence models exported by PyTorch with a dynamic batch axis (tests/fixtures/models/
// seq_models.py): a transformer encoder (batch_first and not), a bidirectional 2-layer LSTM and
// a bidirectional GRU. Split at a cut inside the network, one batch reproduces every PyTorch
// array (loss, logits, parameter gradients, cut activation and gradient) on native and wasm,
// and the same compiled segments then take a batch of another size.
import assert from "node:assert/strict";
import { readModel } from "../../../models/onnx/read_model.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { readNpz } from "../../../runtime/data/npz.ts";
import { runOneBatch } from "../../../runtime/train/one_batch.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import { relativeError } from "../../../runtime/train/compare_arrays.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";

const SHARED = new URL("../../fixtures/models/", import.meta.url);
const MODELS = [
  { name: "tiny_encoder", cut: "/Concat_1_output_0" }, // after the class token joins
  { name: "tiny_encoder_seq", cut: "/Transpose_output_0" }, // (7, N, 16), length first
  { name: "lstm_cls", cut: "/Tanh_output_0" }, // the LSTM's input sequence
  { name: "gru_cls", cut: "/Tanh_output_0" },
];

/** The first `n` rows of a batch-first tensor. */
function rows(t: Tensor, n: number): Tensor {
  const per = t.data.length / t.dims[0];
  return tensor(t.dtype, [n, ...t.dims.slice(1)], t.data.slice(0, n * per) as Float32Array);
}

for (const engineName of ["native", "wasm"] as const) {
  for (const m of MODELS) {
    Deno.test(`${m.name} on ${engineName}, split at ${m.cut}: PyTorch's arrays within 1e-3, then a batch of 3`, async () => {
      const model = readModel(await Deno.readFile(new URL(`${m.name}.onnx`, SHARED)));
      const golden = readNpz(await Deno.readFile(new URL(`${m.name}.golden.npz`, SHARED)));
      const x = golden.get("input.x") as Tensor, target = golden.get("target") as Tensor;
      const segments = compileModel(model, { loss: "ce", cuts: [m.cut] });
      const engine = await createEngine(engineName);
      try {
        const runners = await Promise.all(segments.map((s) => SegmentRunner.create(engine, s)));
        const r = await runOneBatch(engine, segments, { x }, target, runners);
        const ours = new Map<string, Tensor>([
          ["logits", r.logits],
          ["cut.activation", r.cuts[0].activation],
          ["cut.grad", r.cuts[0].grad],
          ...[...r.paramGrads].map(([k, v]) => [`grad.${k}`, v] as [string, Tensor]),
        ]);
        const loss = golden.get("loss") as Tensor;
        assert.ok(Math.abs(r.loss - Number(loss.data[0])) <= 1e-3 * Math.abs(Number(loss.data[0])));
        let compared = 0;
        for (const [k, want] of golden) {
          if (!k.startsWith("grad.") && !k.startsWith("cut.") && k !== "logits") continue;
          if (k === "cut.name") continue;
          const e = relativeError(ours.get(k) ?? tensor("float32", [0]), want as Tensor);
          assert.ok(e <= 1e-3, `${k}: relative error ${e}`);
          compared++;
        }
        assert.equal(compared, r.paramGrads.size + 3);
        // The batch axis stayed symbolic: 3 rows through the same sessions give the first 3
        // rows of the logits (no batch statistics in these models).
        const small = await runOneBatch(
          engine,
          segments,
          { x: rows(x, 3) },
          rows(target, 3),
          runners,
        );
        assert.deepEqual(small.logits.dims, [3, 3]);
        assert.ok(relativeError(small.logits, rows(r.logits, 3)) <= 1e-5);
        await Promise.all(runners.map((x) => x.release()));
      } finally {
        await engine.dispose();
      }
    });
  }
}
