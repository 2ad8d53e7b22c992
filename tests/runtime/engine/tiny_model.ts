/**
 * Test helper: writes tiny ONNX models with protobufjs from the subset of onnx.proto (ONNX IR
 * spec, onnx/onnx.proto3, field numbers as published) that a single-node graph needs. The
 * engine tests use it for dtype round trips without depending on the models room's writer.
 *
 * @example
 * ```ts
 * import { dtypeModel } from "./tiny_model.ts";
 * const bytes = dtypeModel(); // x,i,b,h -> y,j,nb,h2,hf
 * ```
 * @module
 */

import protobuf from "protobufjs";

// Field numbers from onnx/onnx.proto3 (ONNX IR version 8).
const PROTO = `
syntax = "proto3";
package onnx;
message AttributeProto {
  string name = 1; float f = 2; int64 i = 3; bytes s = 4;
  repeated float floats = 7; repeated int64 ints = 8; int32 type = 20;
}
message NodeProto {
  repeated string input = 1; repeated string output = 2; string name = 3;
  string op_type = 4; repeated AttributeProto attribute = 5; string domain = 7;
}
message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
message TensorShapeProto { repeated Dimension dim = 1; }
message TypeTensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
message TypeProto { TypeTensor tensor_type = 1; }
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message TensorProto { repeated int64 dims = 1; int32 data_type = 2; string name = 8; bytes raw_data = 9; }
message GraphProto {
  repeated NodeProto node = 1; string name = 2; repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11; repeated ValueInfoProto output = 12;
}
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message ModelProto {
  int64 ir_version = 1; string producer_name = 2; GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;

const ModelProto = protobuf.parse(PROTO).root.lookupType("onnx.ModelProto");

/** TensorProto.DataType values (onnx.proto3). */
export const ELEM = { float32: 1, int64: 7, bool: 9, float16: 10 } as const;

/** A graph input/output: name, element type, dims (number or symbolic name). */
export interface Io {
  name: string;
  elem: number;
  dims: (number | string)[];
}

/** A node: op type, inputs, outputs, integer attributes. */
export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  intAttrs?: Record<string, number>;
}

function valueInfo(io: Io) {
  return {
    name: io.name,
    type: {
      tensorType: {
        elemType: io.elem,
        shape: {
          dim: io.dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d }),
        },
      },
    },
  };
}

/**
 * Serializes a one-graph model at opset 17.
 *
 * @example
 * ```ts
 * import { ELEM, model } from "./tiny_model.ts";
 * const bytes = model([{ op: "Neg", inputs: ["x"], outputs: ["y"] }],
 *   [{ name: "x", elem: ELEM.float32, dims: [2] }], [{ name: "y", elem: ELEM.float32, dims: [2] }]);
 * ```
 */
export function model(nodes: Node[], inputs: Io[], outputs: Io[]): Uint8Array {
  const msg = ModelProto.fromObject({
    irVersion: 8,
    producerName: "splitgate-tests",
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "tiny",
      node: nodes.map((n, k) => ({
        name: `n${k}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.intAttrs ?? {}).map(([name, i]) => ({ name, i, type: 2 })),
      })),
      input: inputs.map(valueInfo),
      output: outputs.map(valueInfo),
    },
  });
  return ModelProto.encode(msg).finish();
}

/**
 * The dtype round-trip model: `y = x*x` (float32 [N,3]), `j = i+i` (int64 [N]),
 * `nb = Not(b)` (bool [N]) and, with `half`, `h2 = Identity(h)` and `hf = Cast<float>(h)`
 * (float16 [N]).
 *
 * @example
 * ```ts
 * import { dtypeModel } from "./tiny_model.ts";
 * dtypeModel().length > 0; // true
 * ```
 */
export function dtypeModel(half = true): Uint8Array {
  const nodes: Node[] = [
    { op: "Mul", inputs: ["x", "x"], outputs: ["y"] },
    { op: "Add", inputs: ["i", "i"], outputs: ["j"] },
    { op: "Not", inputs: ["b"], outputs: ["nb"] },
  ];
  const inputs: Io[] = [
    { name: "x", elem: ELEM.float32, dims: ["N", 3] },
    { name: "i", elem: ELEM.int64, dims: ["N"] },
    { name: "b", elem: ELEM.bool, dims: ["N"] },
  ];
  const outputs: Io[] = [
    { name: "y", elem: ELEM.float32, dims: ["N", 3] },
    { name: "j", elem: ELEM.int64, dims: ["N"] },
    { name: "nb", elem: ELEM.bool, dims: ["N"] },
  ];
  if (half) {
    nodes.push(
      { op: "Identity", inputs: ["h"], outputs: ["h2"] },
      { op: "Cast", inputs: ["h"], outputs: ["hf"], intAttrs: { to: ELEM.float32 } },
    );
    inputs.push({ name: "h", elem: ELEM.float16, dims: ["N"] });
    outputs.push(
      { name: "h2", elem: ELEM.float16, dims: ["N"] },
      { name: "hf", elem: ELEM.float32, dims: ["N"] },
    );
  }
  return model(nodes, inputs, outputs);
}
