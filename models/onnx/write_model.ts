/**
 * Writes the graph IR as ONNX `ModelProto` bytes that onnxruntime loads.
 *
 * @example
 * ```ts
 * import { writeModel } from "./write_model.ts";
 * import { emptyGraph } from "../graph/ir.ts";
 * const bytes = writeModel({ irVersion: 8, opsets: new Map([["", 17]]), producerName: "splitgate",
 *   producerVersion: "0", graph: emptyGraph("g") });
 * ```
 * @module
 */
import type { Attr, Graph, Model, ValueInfo } from "../graph/ir.ts";
import { onnxRoot } from "./schema.ts";
import { codeFromDtype, tensorToProto } from "./tensor_proto.ts";

const enc = new TextEncoder();

/**
 * Serialises a model. Initializers are written with `raw_data`.
 *
 * @example
 * ```ts
 * import { writeModel } from "./write_model.ts";
 * import { readModel } from "./read_model.ts";
 * const model = readModel(await Deno.readFile("tests/fixtures/models/ehr_mlp.onnx"));
 * const again = readModel(writeModel(model));
 * console.log(again.graph.initializers.size === model.graph.initializers.size); // true
 * ```
 */
export function writeModel(model: Model): Uint8Array {
  const ModelProto = onnxRoot().lookupType("onnx.ModelProto");
  const obj = {
    ir_version: model.irVersion,
    producer_name: model.producerName,
    producer_version: model.producerVersion,
    opset_import: [...model.opsets].map(([domain, version]) => ({ domain, version })),
    graph: graphToObject(model.graph),
  };
  return ModelProto.encode(ModelProto.fromObject(obj)).finish();
}

function graphToObject(g: Graph) {
  return {
    name: g.name,
    node: g.nodes.map((n) => ({
      name: n.name,
      op_type: n.opType,
      domain: n.domain,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs).map(([name, a]) => attrToObject(name, a)),
    })),
    initializer: [...g.initializers].map(([name, t]) => tensorToProto(name, t)),
    input: g.inputs.map(valueInfoToObject),
    output: g.outputs.map(valueInfoToObject),
    value_info: [...g.valueInfo.values()].map(valueInfoToObject),
  };
}

function valueInfoToObject(v: ValueInfo) {
  return {
    name: v.name,
    type: {
      tensor_type: {
        elem_type: v.onnxElemType ?? codeFromDtype(v.dtype),
        ...(v.shape
          ? {
            shape: {
              dim: v.shape.map((d) => typeof d === "number" ? { dim_value: d } : { dim_param: d }),
            },
          }
          : {}),
      },
    },
  };
}

function attrToObject(name: string, a: Attr) {
  switch (a.type) {
    case "float":
      return { name, type: 1, f: a.value };
    case "int":
      return { name, type: 2, i: a.value };
    case "string":
      return { name, type: 3, s: enc.encode(a.value) };
    case "tensor":
      return { name, type: 4, t: tensorToProto("", a.value) };
    case "floats":
      return { name, type: 6, floats: a.value };
    case "ints":
      return { name, type: 7, ints: a.value };
    case "strings":
      return { name, type: 8, strings: a.value.map((s) => enc.encode(s)) };
  }
}
