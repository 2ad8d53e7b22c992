/**
 * In-graph per-channel int8 quantisation of a cut tensor, run on the native and wasm engines:
 * every element comes back within scale/2 of its channel, 0 comes back exactly, the codes
 * never clamp (scale · 255 covers the channel's range), and the dequantising input graph gives
 * bit for bit what the codec's JavaScript dequantiser gives for the same codes.
 */
import { deepEqual, equal, ok, throws } from "node:assert/strict";
import fc from "fast-check";
import { addNode, emptyGraph, type Graph } from "../../../models/graph/ir.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import {
  appendInt8Quantize,
  prependInt8Dequantize,
  quantizedNames,
} from "../../../models/train/quantize_cut.ts";
import { createEngine, type Engine, type EngineName } from "../../../runtime/engine/engine.ts";
import { dequantizeInt8 } from "../../../runtime/codec/quantize.ts";

const C = 3;
const SHAPE = ["N", C, 2, 2];

function bytes(g: Graph, opset: number): Uint8Array {
  return writeModel({
    irVersion: 8,
    opsets: new Map([["", opset]]),
    producerName: "test",
    producerVersion: "0",
    graph: g,
  });
}

/** x → Relu-free identity → "cut", quantised as the front segment's last step. */
function frontGraph(opset: number): Uint8Array {
  const g = emptyGraph("front");
  g.inputs.push({ name: "x", dtype: "float32", shape: [...SHAPE] });
  addNode(g, { opType: "Identity", inputs: ["x"], outputs: ["cut"] });
  g.outputs.push({ name: "cut", dtype: "float32", shape: [...SHAPE] });
  appendInt8Quantize(g, "cut", 1, opset);
  return bytes(g, opset);
}

/** "cut" (dequantised first) → identity → y, as the server segment's first step. */
function serverGraph(): Uint8Array {
  const g = emptyGraph("server");
  g.inputs.push({ name: "cut", dtype: "float32", shape: [...SHAPE] });
  addNode(g, { opType: "Identity", inputs: ["cut"], outputs: ["y"] });
  g.outputs.push({ name: "y", dtype: "float32", shape: [...SHAPE] });
  prependInt8Dequantize(g, "cut", 1);
  return bytes(g, 17);
}

const float = fc.float({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
/** A batch of 1–3 rows; each channel at its own magnitude, some all zero, some one-signed. */
const batch = fc.integer({ min: 1, max: 3 }).chain((n) =>
  fc.tuple(
    fc.constant(n),
    fc.array(float, { minLength: n * C * 4, maxLength: n * C * 4 }),
    fc.array(fc.constantFrom(0, 1e-30, 1e-3, 1, 1e4), { minLength: C, maxLength: C }),
    fc.array(fc.constantFrom(-1, 0, 1), { minLength: C, maxLength: C }),
  ).map(([n, v, mag, sign]) => {
    const x = Float32Array.from(v, (e, i) => {
      const c = Math.floor(i / 4) % C;
      const m = Math.fround(e * mag[c] / 1e6);
      return sign[c] === 0 ? m : sign[c] * Math.abs(m);
    });
    return tensor("float32", [n, C, 2, 2], x);
  })
);

async function roundTrip(engine: Engine, opset: number): Promise<void> {
  const front = await engine.load(frontGraph(opset), { name: `front opset ${opset}` });
  const server = await engine.load(serverGraph(), { name: "server" });
  const n = quantizedNames("cut");
  await fc.assert(
    fc.asyncProperty(batch, async (x: Tensor) => {
      const out = await front.run({ x });
      const q = out[n.q], scale = out[n.scale], zp = out[n.zeroPoint];
      equal(q.dtype, "int8");
      equal(zp.dtype, "int8");
      const scales = scale.data as Float32Array;
      const params = { axis: 1, scales, zeroPoints: zp.data as Int8Array };
      const js = new Float32Array(x.data.length);
      dequantizeInt8(q.data as Int8Array, params, x.dims, null, js);
      const xs = x.data as Float32Array;
      const lo = new Array(C).fill(0), hi = new Array(C).fill(0);
      xs.forEach((v, i) => {
        const c = Math.floor(i / 4) % C;
        lo[c] = Math.min(lo[c], v);
        hi[c] = Math.max(hi[c], v);
      });
      for (let c = 0; c < C; c++) {
        ok(
          scales[c] > 0 && scales[c] * 255 >= hi[c] - lo[c],
          `channel ${c}: scale ${scales[c]} for range ${hi[c] - lo[c]}`,
        );
      }
      xs.forEach((v, i) => {
        const c = Math.floor(i / 4) % C;
        // scale/2, plus the float32 rounding of x / scale inside QuantizeLinear (≤ 2⁻²³ of a code).
        const bound = scales[c] / 2 * (1 + 2 ** -20);
        ok(
          Math.abs(js[i] - v) <= bound,
          `element ${i} (channel ${c}): ${v} came back as ${js[i]}, bound ${bound}`,
        );
        if (v === 0) equal(js[i], 0, `element ${i}: 0 must come back exactly`);
        ok(q.data[i] as number >= -128 && (q.data[i] as number) <= 127);
      });
      const back = await server.run({ [n.q]: q, [n.scale]: scale, [n.zeroPoint]: zp });
      const y = back.y.data as Float32Array;
      for (let i = 0; i < y.length; i++) {
        ok(
          Object.is(y[i], js[i]) || (y[i] === 0 && js[i] === 0),
          `element ${i}: graph ${y[i]} vs codec ${js[i]}`,
        );
      }
    }),
    { numRuns: 60 },
  );
  await front.release();
  await server.release();
}

for (const name of ["native", "wasm"] as EngineName[]) {
  for (const opset of [17, 18]) {
    Deno.test(`${name}: in-graph int8 quantisation of a cut (opset ${opset}) is within scale/2 and dequantises as the codec does`, async () => {
      const engine = await createEngine(name);
      try {
        await roundTrip(engine, opset);
      } finally {
        await engine.dispose();
      }
    });
  }
}

Deno.test("in-graph quantisation names what it cannot rewrite", () => {
  const g = emptyGraph("g");
  g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 3] });
  g.outputs.push({ name: "x", dtype: "float32", shape: ["N", 3] });
  throws(() => appendInt8Quantize(g, "nope", 1, 17), /"nope" is not one of the graph's outputs/);
  throws(() => appendInt8Quantize(g, "x", 2, 17), /channel axis 2 does not fit "x" of rank 2/);
  throws(() => prependInt8Dequantize(g, "y", 1), /"y" is not one of the graph's inputs/);
  g.inputs.push({ name: "i", dtype: "int64", shape: ["N", 3] });
  throws(() => prependInt8Dequantize(g, "i", 1), /"i" is int64, expected float32/);
});

for (const name of ["native", "wasm"] as EngineName[]) {
  Deno.test(`${name}: a NaN or ±Infinity anywhere leaves with NaN scales in every channel`, async () => {
    const engine = await createEngine(name);
    try {
      const front = await engine.load(frontGraph(17), { name: "front" });
      const n = quantizedNames("cut");
      const clean = Float32Array.from({ length: 2 * C * 4 }, (_, i) => Math.sin(i) * 3);
      const ref = (await front.run({ x: tensor("float32", [2, C, 2, 2], clean) }))[n.scale]
        .data as Float32Array;
      ok(ref.every(Number.isFinite), `clean scales ${ref}`);
      // ORT's ReduceMin/ReduceMax skip a NaN unless it comes first: try every position.
      for (let at = 0; at < clean.length; at++) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const x = clean.slice();
          x[at] = bad;
          const s = (await front.run({ x: tensor("float32", [2, C, 2, 2], x) }))[n.scale]
            .data as Float32Array;
          for (let k = 0; k < C; k++) {
            ok(Number.isNaN(s[k]), `${bad} at ${at}: channel ${k} scale ${s[k]}, expected NaN`);
          }
        }
      }
      await front.release();
    } finally {
      await engine.dispose();
    }
  });
}

/** x → Relu → "cut", quantised with the non-negative range or the general one. */
function reluFront(nonNegative?: boolean): { bytes: Uint8Array; ops: string[] } {
  const g = emptyGraph("front");
  g.inputs.push({ name: "x", dtype: "float32", shape: [...SHAPE] });
  addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["cut"] });
  g.outputs.push({ name: "cut", dtype: "float32", shape: [...SHAPE] });
  appendInt8Quantize(g, "cut", 1, 17, nonNegative === undefined ? {} : { nonNegative });
  return { bytes: bytes(g, 17), ops: g.nodes.map((n) => n.opType) };
}

for (const name of ["native", "wasm"] as EngineName[]) {
  Deno.test(`${name}: a ReLU's cut is quantised without a per-channel minimum, to the same codes, scales and zero points`, async () => {
    const found = reluFront(), general = reluFront(false);
    equal(found.ops.filter((o) => o === "ReduceMin").length, 0, `ops ${found.ops}`);
    equal(general.ops.filter((o) => o === "ReduceMin").length, 1, `ops ${general.ops}`);
    const engine = await createEngine(name);
    try {
      const a = await engine.load(found.bytes, { name: "relu front" });
      const b = await engine.load(general.bytes, { name: "relu front, general range" });
      await fc.assert(
        fc.asyncProperty(batch, async (x: Tensor) => {
          const ra = await a.run({ x }), rb = await b.run({ x });
          for (const k of Object.keys(rb)) deepEqual(ra[k].data, rb[k].data, k);
        }),
        { numRuns: 40 },
      );
      await a.release();
      await b.release();
    } finally {
      await engine.dispose();
    }
  });
}

Deno.test("native: a dequantised input's Shape reads the codes, so the dequantisation has one consumer and the shape is the same", async () => {
  const g = emptyGraph("server");
  g.inputs.push({ name: "cut", dtype: "float32", shape: [...SHAPE] });
  addNode(g, { opType: "Identity", inputs: ["cut"], outputs: ["y"] });
  addNode(g, { opType: "Shape", inputs: ["cut"], outputs: ["dims"] });
  g.outputs.push(
    { name: "y", dtype: "float32", shape: [...SHAPE] },
    { name: "dims", dtype: "int64", shape: [4] },
  );
  prependInt8Dequantize(g, "cut", 1);
  const n = quantizedNames("cut");
  const readers = g.nodes.filter((node) => node.inputs.includes("cut")).map((node) => node.opType);
  deepEqual(readers, ["Identity"]);
  equal(g.nodes.find((node) => node.opType === "Shape")?.inputs[0], n.q);
  const engine = await createEngine("native");
  try {
    const s = await engine.load(bytes(g, 17), { name: "shape of codes" });
    const out = await s.run({
      [n.q]: tensor("int8", [2, C, 2, 2], new Int8Array(2 * C * 4).fill(3)),
      [n.scale]: tensor("float32", [C], new Float32Array([0.5, 1, 2])),
      [n.zeroPoint]: tensor("int8", [C], new Int8Array([1, 2, 3])),
    });
    deepEqual([...out.dims.data as BigInt64Array], [2n, 3n, 2n, 2n]);
    equal((out.y.data as Float32Array)[0], 1); // (3 − 1) · 0.5
    await s.release();
  } finally {
    await engine.dispose();
  }
});

Deno.test("native: a dequantised input read by two nodes is dequantised once, for a Reshape that aliases it", async () => {
  const g = emptyGraph("server");
  g.inputs.push({ name: "cut", dtype: "float32", shape: [...SHAPE] });
  addNode(g, { opType: "Relu", inputs: ["cut"], outputs: ["y"] });
  addNode(g, { opType: "Neg", inputs: ["cut"], outputs: ["z"] });
  g.outputs.push(
    { name: "y", dtype: "float32", shape: [...SHAPE] },
    { name: "z", dtype: "float32", shape: [...SHAPE] },
  );
  prependInt8Dequantize(g, "cut", 1);
  const dq = g.nodes.filter((node) => node.opType === "DequantizeLinear");
  equal(dq.length, 1);
  const readersOfDq = g.nodes.filter((node) => node.inputs.includes(dq[0].outputs[0]));
  deepEqual(readersOfDq.map((node) => node.opType), ["Reshape"]);
  const n = quantizedNames("cut");
  const q = Int8Array.from({ length: 2 * C * 4 }, (_, i) => (i * 37) % 256 - 128);
  const params = {
    axis: 1,
    scales: new Float32Array([0.5, 1, 2]),
    zeroPoints: new Int8Array([1, -2, 3]),
  };
  const js = new Float32Array(q.length);
  dequantizeInt8(q, params, [2, C, 2, 2], null, js);
  const engine = await createEngine("native");
  try {
    const s = await engine.load(bytes(g, 17), { name: "two readers" });
    const out = await s.run({
      [n.q]: tensor("int8", [2, C, 2, 2], q),
      [n.scale]: tensor("float32", [C], params.scales),
      [n.zeroPoint]: tensor("int8", [C], params.zeroPoints),
    });
    deepEqual([...out.y.data as Float32Array], [...js].map((v) => Math.max(0, v)));
    deepEqual([...out.z.data as Float32Array], [...js].map((v) => -v));
    await s.release();
  } finally {
    await engine.dispose();
  }
});
