/**
 * The server with its cut quantised in the graph (codec int8, `quantize: "graph"`,
 * runtime/server/int8_server_path.ts) against the same server taking the same int8 activation
 * through a float32 server: the activation reaches the graph as the same floats (the loss and
 * the weights after the step are equal), the cut gradient (and, U-shaped, the head input the
 * int8 codec quantises) differs from the float one by at most scale/2 per channel, and a
 * tampered scale is refused with the codec path's code.
 */
import assert from "node:assert/strict";
import type { Tensor } from "../../../models/tensor.ts";
import { decodeTensors, encodeTensors } from "../../../runtime/codec/bundle.ts";
import {
  quantizedOf,
  quantizedRecord,
  quantizedView,
} from "../../../runtime/codec/quantized_view.ts";
import { encodeMessage, type Message, type RequestMessage } from "../../../runtime/protocol/mod.ts";
import { Int8ServerPath } from "../../../runtime/server/int8_server_path.ts";
import type { ServerHandle } from "../../../runtime/server/app.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import {
  binaryLabels,
  paramsSnapshot,
  randomTensor,
  RawClinic,
  startServer,
  testEngine,
  tinyConfig,
} from "./harness.ts";
import type { SplitMode } from "../../../runtime/server/split_model.ts";

const INT8 = { dtype: "int8", level: 0 } as const;

/** Counts the requests the quantised segment served. */
let viaGraph = 0;
const route = Int8ServerPath.prototype.route;
Int8ServerPath.prototype.route = function (a, f) {
  const r = route.call(this, a, f);
  if (r.runner === this.runner) viaGraph++;
  return r;
};

async function activationOf(mode: SplitMode): Promise<Tensor> {
  const engine = await testEngine();
  const split = buildSplitModel(tinyConfig(mode).model, mode, "bce");
  const front = await SegmentRunner.create(engine, split.segments[0]);
  const f = await front.forward({ image: randomTensor([4, 1, 8, 8], 11) });
  await front.release();
  return f.outputs[split.segments[0].outputs[0].name];
}

async function exchange(server: ServerHandle, requests: Uint8Array[]): Promise<Message[]> {
  const a = await new RawClinic(server, "a").connect();
  const turn = await a.send({ type: "TURN_REQUEST" });
  assert.equal(turn.type === "TURN" && turn.yours, true);
  const out: Message[] = [];
  for (const r of requests) out.push(await a.open(await a.post(a.body(r))));
  return out;
}

/** |got − want| ≤ scale/2 per channel (axis 1), the scale being that of want's channel range. */
function withinHalfScale(got: Tensor, want: Tensor, what: string): void {
  const [n, c] = want.dims, inner = want.data.length / (n * c);
  const g = got.data as Float32Array, w = want.data as Float32Array;
  for (let ch = 0; ch < c; ch++) {
    let lo = 0, hi = 0;
    for (let o = 0; o < n; o++) {
      for (let k = 0; k < inner; k++) {
        const v = w[(o * c + ch) * inner + k];
        lo = Math.min(lo, v), hi = Math.max(hi, v);
      }
    }
    const half = ((hi - lo) / 255) * (1 + 2 ** -19) / 2 + 1e-30;
    for (let o = 0; o < n; o++) {
      for (let k = 0; k < inner; k++) {
        const i = (o * c + ch) * inner + k;
        assert.ok(
          Math.abs(g[i] - w[i]) <= half,
          `${what} element ${i} (channel ${ch}): ${g[i]} vs ${w[i]}, bound ${half}`,
        );
      }
    }
  }
}

function requests(mode: SplitMode, activation: Tensor): Uint8Array[] {
  if (mode === "vanilla") {
    return [
      encodeMessage(
        { type: "STEP", stepId: "0:0", epoch: 0, activation, labels: binaryLabels(4) },
        INT8,
      ),
    ];
  }
  const gradHeadInput = randomTensor([4, 64], 5);
  return [
    encodeMessage({ type: "MIDDLE_FORWARD", stepId: "0:0", epoch: 0, activation }, INT8),
    encodeMessage(
      { type: "MIDDLE_BACKWARD", stepId: "0:0", epoch: 0, gradHeadInput } as RequestMessage,
      INT8,
    ),
  ];
}

for (const mode of ["vanilla", "ushaped"] as SplitMode[]) {
  Deno.test(`${mode}: an int8 activation through the quantised server graph trains as through the codec`, async () => {
    const activation = await activationOf(mode);
    const graph = await startServer(mode, { codec: { ...INT8, quantize: "graph" } });
    const exact = await startServer(mode, { codec: { dtype: "float32", level: 0 } });
    try {
      assert.equal(graph.model.int8InGraph, true);
      assert.equal(exact.model.int8InGraph, false);
      const before = viaGraph;
      const g = await exchange(graph, requests(mode, activation));
      const f = await exchange(exact, requests(mode, activation));
      assert.equal(
        viaGraph - before,
        mode === "vanilla" ? 1 : 1,
        "the quantised segment served the int8 activation",
      );
      for (const m of [...g, ...f]) assert.notEqual(m.type, "ERROR", JSON.stringify(m));
      const last = (ms: Message[]) => ms[ms.length - 1] as Message & { cutGrad: Tensor };
      if (mode === "vanilla") {
        assert.equal((g[0] as { loss: number }).loss, (f[0] as { loss: number }).loss);
      } else {
        const hg = (g[0] as { headInput: Tensor }).headInput,
          hf = (f[0] as { headInput: Tensor }).headInput;
        // The int8 server's codec quantises its head input too (in JavaScript: not a cut).
        withinHalfScale(hg, hf, "head input");
      }
      withinHalfScale(last(g).cutGrad, last(f).cutGrad, "cut gradient");
      const wg = await paramsSnapshot(graph), wf = await paramsSnapshot(exact);
      for (const [k, v] of wf) {
        assert.deepEqual(Array.from(wg.get(k)!), Array.from(v), `server weight ${k}`);
      }
    } finally {
      await graph.close();
      await exact.close();
    }
  });
}

Deno.test("a tampered scale is refused by the quantised server path with the codec path's code", async () => {
  const activation = await activationOf("vanilla");
  const bytes = encodeTensors({ a: activation }, INT8);
  const qt = quantizedOf(decodeTensors(bytes, undefined, { int8Views: true }).get("a")!)!;
  const scales = qt.params.scales.slice();
  scales[0] *= 1e6;
  const bad = { ...qt, params: { ...qt.params, scales } };
  const tampered = quantizedView(bad, quantizedRecord(bad, 0));
  const msg = encodeMessage(
    { type: "STEP", stepId: "0:0", epoch: 0, activation: tampered, labels: binaryLabels(4) },
    { ...INT8, reuseRecords: true },
  );
  const codes: string[] = [];
  for (const quantize of ["graph", "codec"] as const) {
    const server = await startServer("vanilla", { codec: { ...INT8, quantize } });
    try {
      const a = await new RawClinic(server, "a").connect();
      await a.send({ type: "TURN_REQUEST" });
      const before = await paramsSnapshot(server);
      const res = await a.post(a.body(msg));
      const j = await res.json();
      codes.push(`${res.status} ${j.error?.code}`);
      const after = await paramsSnapshot(server);
      for (const [k, v] of before) {
        assert.deepEqual(Array.from(after.get(k)!), Array.from(v), `${k} unchanged`);
      }
    } finally {
      await server.close();
    }
  }
  assert.equal(codes[0], codes[1]);
  assert.match(codes[0], /OUT_OF_RANGE/);
});
