/**
 * Reads ONNX `ModelProto` bytes (as written by PyTorch's `torch.onnx.export` or by
 * splitgate) into the graph IR.
 *
 * @example
 * ```ts
 * import { readModel } from "./read_model.ts";
 * const model = readModel(await Deno.readFile("tests/fixtures/models/ehr_mlp.onnx"), "ehr_mlp.onnx");
 * console.log(model.graph.inputs.map((i) => i.name)); // ["numeric", "codes"]
 * ```
 * @module
 */
import type { Attr, Dim, Graph, Model, Node, ValueInfo } from "../graph/ir.ts";
import { onnxRoot } from "./schema.ts";
import { OnnxFormatError } from "./errors.ts";
import {
  dtypeFromCode,
  int64ToNumber,
  tensorFromProto,
  type TensorProtoObject,
} from "./tensor_proto.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

/**
 * Parses ONNX model bytes. `source` names the file in error messages.
 *
 * @throws {OnnxFormatError} `NOT_ONNX` when the bytes are not a ModelProto with a graph,
 *   `UNSUPPORTED_DTYPE`, `EXTERNAL_DATA`, `BAD_TENSOR`, `SUBGRAPH` for what splitgate
 *   cannot use.
 * @example
 * ```ts
 * import { readModel } from "./read_model.ts";
 * readModel(new Uint8Array([1, 2, 3]), "x.onnx"); // throws OnnxFormatError NOT_ONNX
 * ```
 */
export function readModel(bytes: Uint8Array, source = "model"): Model {
  const ModelProto = onnxRoot().lookupType("onnx.ModelProto");
  let m: Obj;
  try {
    m = ModelProto.toObject(ModelProto.decode(bytes), { defaults: false, arrays: true });
  } catch (e) {
    throw new OnnxFormatError(
      "NOT_ONNX",
      `${source}: not an ONNX model (protobuf decoding failed: ${(e as Error).message})`,
    );
  }
  const irVersion = m.ir_version === undefined ? 0 : int64ToNumber(m.ir_version);
  if (!m.graph || !(irVersion > 0) || !m.opset_import?.length) {
    throw new OnnxFormatError(
      "NOT_ONNX",
      `${source}: not an ONNX model (no graph, IR version or opset import found)`,
    );
  }
  const opsets = new Map<string, number>();
  for (const o of m.opset_import) {
    const domain = o.domain === "ai.onnx" ? "" : (o.domain ?? "");
    opsets.set(domain, int64ToNumber(o.version ?? 0));
  }
  return {
    irVersion,
    opsets,
    producerName: m.producer_name ?? "",
    producerVersion: m.producer_version ?? "",
    graph: readGraph(m.graph, source),
  };
}

function readGraph(g: Obj, source: string): Graph {
  const initializers = new Map(
    (g.initializer ?? []).map((t: TensorProtoObject) => [t.name ?? "", tensorFromProto(t)]),
  ) as Graph["initializers"];
  const nodes: Node[] = (g.node ?? []).map((n: Obj, i: number) => readNode(n, i, source));
  const valueInfo = new Map<string, ValueInfo>();
  for (const v of g.value_info ?? []) {
    const vi = readValueInfo(v, source);
    if (vi) valueInfo.set(vi.name, vi);
  }
  return {
    name: g.name ?? "graph",
    nodes,
    // Old exporters list initializers among the inputs too; the IR keeps them apart.
    inputs: (g.input ?? []).map((v: Obj) => readValueInfo(v, source)!).filter((
      v: ValueInfo | undefined,
    ) => v && !initializers.has(v.name)),
    outputs: (g.output ?? []).map((v: Obj) => readValueInfo(v, source)!),
    initializers,
    valueInfo,
  };
}

function readValueInfo(v: Obj, source: string): ValueInfo | undefined {
  const tt = v.type?.tensor_type;
  if (!tt) return undefined;
  const shape: Dim[] | undefined = tt.shape
    ? (tt.shape.dim ?? []).map((d: Obj, i: number) =>
      d.dim_value !== undefined ? int64ToNumber(d.dim_value) : (d.dim_param || `${v.name}_d${i}`)
    )
    : undefined;
  return {
    name: v.name,
    dtype: dtypeFromCode(tt.elem_type ?? 0, `${source}: value ${JSON.stringify(v.name)}`),
    shape,
  };
}

function readNode(n: Obj, i: number, source: string): Node {
  const name = n.name || `${n.op_type}_${i}`;
  const attrs: Record<string, Attr> = {};
  for (const a of n.attribute ?? []) {
    attrs[a.name] = readAttr(a, `${source}: node ${JSON.stringify(name)}`);
  }
  return {
    name,
    opType: n.op_type ?? "",
    domain: n.domain === "ai.onnx" ? "" : (n.domain ?? ""),
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    attrs,
  };
}

const dec = new TextDecoder();

function readAttr(a: Obj, where: string): Attr {
  switch (a.type) {
    case 1:
      return { type: "float", value: a.f ?? 0 };
    case 2:
      return { type: "int", value: int64ToNumber(a.i ?? 0) };
    case 3:
      return { type: "string", value: dec.decode(a.s ?? new Uint8Array()) };
    case 4:
      return { type: "tensor", value: tensorFromProto(a.t) };
    case 6:
      return { type: "floats", value: [...(a.floats ?? [])] };
    case 7:
      return { type: "ints", value: (a.ints ?? []).map(int64ToNumber) };
    case 8:
      return { type: "strings", value: (a.strings ?? []).map((s: Uint8Array) => dec.decode(s)) };
    case 5:
    case 10:
      throw new OnnxFormatError(
        "SUBGRAPH",
        `${where}: attribute ${
          JSON.stringify(a.name)
        } holds a subgraph (If/Loop/Scan); splitgate trains straight-line graphs only`,
      );
    default:
      throw new OnnxFormatError(
        "UNSUPPORTED_ATTRIBUTE",
        `${where}: attribute ${JSON.stringify(a.name)} has unsupported type ${a.type}`,
      );
  }
}
