/**
 * pneumonia_cnn's segments with int8 cut traffic made inside the graphs, one training step on
 * the native and wasm engines: the activation that crosses is int8 within scale/2 per channel
 * of the float one; the server's step on it equals the float step on the codec's dequantisation
 * of the same codes, and the gradient that comes back is int8 within scale/2 per channel of
 * that step's float gradient; the clinic's backward on it equals the float backward on the
 * codec's dequantisation.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { readModel } from "../../../models/onnx/read_model.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { compileModel } from "../../../models/train/compile.ts";
import { quantizedNames } from "../../../models/train/quantize_cut.ts";
import { quantizeCutTraffic } from "../../../models/train/quantize_segments.ts";
import { dequantizeInt8 } from "../../../runtime/codec/quantize.ts";
import { createEngine, type EngineName } from "../../../runtime/engine/engine.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";

const CUT = "/features/features.5/MaxPool_output_0";
const model = readModel(
  Deno.readFileSync(new URL("../../fixtures/models/pneumonia_cnn.onnx", import.meta.url)),
  "pneumonia_cnn.onnx",
);
const float = compileModel(model, { loss: "bce", cuts: [CUT] });
const quant = quantizeCutTraffic(float);
const N = 8;
const image = tensor(
  "float32",
  [N, 1, 28, 28],
  Float32Array.from({ length: N * 784 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2),
);
const target = tensor("float32", [N, 1], Float32Array.from({ length: N }, (_, i) => i % 2));

/** The float tensor the three carriers of `name` stand for, dequantised by the codec's code. */
function dequantized(
  out: Record<string, Tensor>,
  name: string,
): { x: Tensor; scales: Float32Array } {
  const n = quantizedNames(name);
  const q = out[n.q], scales = out[n.scale].data as Float32Array;
  equal(q.dtype, "int8", `${n.q} is int8`);
  const x = new Float32Array(q.data.length);
  dequantizeInt8(
    q.data as Int8Array,
    { axis: 1, scales, zeroPoints: out[n.zeroPoint].data as Int8Array },
    q.dims,
    null,
    x,
  );
  return { x: tensor("float32", [...q.dims], x), scales };
}

/** Every element within scale/2 (plus float32 rounding) of its channel. */
function assertWithinHalfScale(
  got: Tensor,
  want: Tensor,
  scales: Float32Array,
  what: string,
): void {
  deepEqual(got.dims, want.dims);
  const inner = want.dims.slice(2).reduce((a, b) => a * b, 1), C = want.dims[1];
  for (let i = 0; i < want.data.length; i++) {
    const c = Math.floor(i / inner) % C;
    const a = got.data[i] as number, b = want.data[i] as number;
    ok(
      Math.abs(a - b) <= scales[c] / 2 * (1 + 2 ** -20) + 1e-6 * Math.abs(b),
      `${what}[${i}]: ${a} vs ${b}, scale ${scales[c]}`,
    );
  }
}

function assertClose(a: Tensor, b: Tensor, what: string): void {
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i] as number, y = b.data[i] as number;
    ok(Math.abs(x - y) <= 1e-5 + 1e-4 * Math.abs(y), `${what}[${i}]: ${x} vs ${y}`);
  }
}

for (const name of ["native", "wasm"] as EngineName[]) {
  Deno.test(`${name}: a split step with the cut quantised in the graphs matches the float graphs on the codec's dequantisation`, async () => {
    const engine = await createEngine(name);
    const [fq, sq] = await Promise.all(quant.map((s) => SegmentRunner.create(engine, s)));
    const [ff, sf] = await Promise.all(float.map((s) => SegmentRunner.create(engine, s)));
    try {
      // Clinic forward: int8 out, within scale/2 of the float activation.
      const fwdQ = await fq.forward({ image });
      const fwdF = await ff.forward({ image });
      const act = dequantized(fwdQ.outputs, CUT);
      assertWithinHalfScale(act.x, fwdF.outputs[CUT], act.scales, "activation");
      // Server step on the codes = float step on their dequantisation; its gradient leaves as int8.
      const stepQ = await sq.step(fwdQ.outputs, target);
      const stepF = await sf.step({ [CUT]: act.x }, target);
      ok(Math.abs(stepQ.loss - stepF.loss) <= 1e-6, `loss ${stepQ.loss} vs ${stepF.loss}`);
      // The runner keys an input's gradient by the input's name: the carriers' names here.
      const grad = dequantized(stepQ.inputGrads, CUT);
      assertWithinHalfScale(grad.x, stepF.inputGrads[CUT], grad.scales, "cut gradient");
      for (const [p, g] of stepF.paramGrads) {
        assertClose(stepQ.paramGrads.get(p)!, g, `server ${p}`);
      }
      // Clinic backward on the codes = float backward on their dequantisation.
      const backQ = await fq.backward(fwdQ.saved, stepQ.inputGrads);
      const backF = await ff.backward(fwdF.saved, { [CUT]: grad.x });
      for (const [p, g] of backF.paramGrads) {
        assertClose(backQ.paramGrads.get(p)!, g, `clinic ${p}`);
      }
    } finally {
      await engine.dispose();
    }
  });
}
