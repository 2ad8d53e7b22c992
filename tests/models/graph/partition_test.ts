import assert from "node:assert/strict";
import fc from "fast-check";
import { addNode, emptyGraph, type Model } from "../../../models/graph/ir.ts";
import { partitionGraph } from "../../../models/graph/partition.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { tensor, type Tensor } from "../../../models/tensor.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";

const engine = await createEngine("native");

const UNARY = ["Relu", "Neg", "Sigmoid", "Abs"] as const;
const BINARY = ["Add", "Mul", "Sub"] as const;

/**
 * A random DAG over inputs x0, x1 (shape [3]): node i reads one or two earlier tensors;
 * `withConstant` adds a Constant node that later nodes read. Every tensor not read is an output.
 */
function randomModel(spec: { ops: { kind: number; a: number; b: number }[]; withConstant: boolean }): Model {
  const g = emptyGraph("random");
  const names = ["x0", "x1"];
  for (const n of names) g.inputs.push({ name: n, dtype: "float32", shape: [3] });
  if (spec.withConstant) {
    addNode(g, {
      opType: "Constant",
      inputs: [],
      outputs: ["c"],
      attrs: { value: { type: "tensor", value: tensor("float32", [3], Float32Array.of(0.5, -1, 2)) } },
    });
    names.push("c");
  }
  const read = new Set<string>();
  spec.ops.forEach((op, i) => {
    const a = names[op.a % names.length], b = names[op.b % names.length];
    const out = `t${i}`;
    if (op.kind < UNARY.length) {
      addNode(g, { opType: UNARY[op.kind], inputs: [a], outputs: [out] });
      read.add(a);
    } else {
      addNode(g, { opType: BINARY[(op.kind - UNARY.length) % BINARY.length], inputs: [a, b], outputs: [out] });
      read.add(a).add(b);
    }
    names.push(out);
  });
  for (const n of names.slice(2)) if (!read.has(n)) g.outputs.push({ name: n, dtype: "float32", shape: [3] });
  return { irVersion: 8, opsets: new Map([["", 17]]), producerName: "test", producerVersion: "0", graph: g };
}

async function run(model: Model, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const s = await engine.load(writeModel(model), { name: model.graph.name });
  try {
    const picked: Record<string, Tensor> = {};
    for (const n of s.inputNames) picked[n] = feeds[n];
    return await s.run(picked);
  } finally {
    await s.release();
  }
}

Deno.test("partitionGraph: first then second computes every output as the whole graph does, each node once", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        ops: fc.array(
          fc.record({ kind: fc.nat(UNARY.length + BINARY.length - 1), a: fc.nat(40), b: fc.nat(40) }),
          { minLength: 2, maxLength: 14 },
        ),
        withConstant: fc.boolean(),
      }),
      fc.array(fc.boolean(), { minLength: 14, maxLength: 14 }),
      async (spec, choose) => {
        const model = randomModel(spec);
        const outs = model.graph.outputs.map((o) => o.name);
        const first = outs.filter((_, i) => choose[i]);
        if (first.length === 0 || first.length === outs.length) return;
        const p = partitionGraph(model, first);
        // Each node lands in one part; a node without inputs may be in both.
        const names = (m: Model) => m.graph.nodes.map((n) => n.name);
        const inFirst = new Set(names(p.first)), inSecond = new Set(names(p.second));
        for (const n of model.graph.nodes) {
          const both = inFirst.has(n.name) && inSecond.has(n.name);
          assert.ok(inFirst.has(n.name) || inSecond.has(n.name), `${n.name} is in neither part`);
          assert.ok(!both || n.inputs.length === 0, `${n.name} (${n.opType}) runs twice`);
        }
        for (const o of first) assert.ok(p.firstOutputs.includes(o), `${o} is not among the first outputs`);
        assert.deepEqual([...p.firstOutputs, ...p.secondOutputs].sort(), [...outs].sort());
        assert.ok(!p.boundary.includes("c"), "a constant travels between the parts");

        const feeds = {
          x0: tensor("float32", [3], Float32Array.of(0.3, -1.2, 2)),
          x1: tensor("float32", [3], Float32Array.of(-0.7, 0.4, 1.5)),
        };
        const whole = await run(model, feeds);
        const a = await run(p.first, feeds);
        const b = await run(p.second, { ...feeds, ...a });
        for (const o of outs) {
          const got = p.secondOutputs.includes(o) ? b[o] : a[o];
          assert.deepEqual([...got.data as Float32Array], [...whole[o].data as Float32Array], o);
        }
        assert.deepEqual(Object.keys(b).sort(), [...p.secondOutputs].sort());
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("partitionGraph: a diamond passes the shared tensor once; a name that is not an output is refused", () => {
  const g = emptyGraph("diamond");
  g.inputs.push({ name: "x", dtype: "float32", shape: [2] });
  addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["r"] });
  addNode(g, { opType: "Neg", inputs: ["r"], outputs: ["a"] });
  addNode(g, { opType: "Exp", inputs: ["r"], outputs: ["e"] });
  addNode(g, { opType: "Add", inputs: ["e", "x"], outputs: ["b"] });
  g.outputs.push({ name: "a", dtype: "float32" }, { name: "b", dtype: "float32" });
  const model: Model = { irVersion: 8, opsets: new Map([["", 17]]), producerName: "t", producerVersion: "0", graph: g };
  const p = partitionGraph(model, ["a"]);
  assert.deepEqual(p.boundary, ["r"]);
  assert.deepEqual(p.second.graph.inputs.map((v) => v.name).sort(), ["r", "x"]);
  assert.deepEqual(p.second.graph.nodes.map((n) => n.opType), ["Exp", "Add"]);
  assert.deepEqual(p.first.graph.outputs.map((v) => v.name), ["a", "r"]);
  assert.throws(() => partitionGraph(model, ["r"]), (e: Error) => e instanceof TypeError && /"r" is not an output/.test(e.message));
  // Everything asked for first: the second part is empty.
  const all = partitionGraph(model, ["a", "b"]);
  assert.equal(all.second.graph.nodes.length, 0);
  assert.deepEqual(all.boundary, []);
});
