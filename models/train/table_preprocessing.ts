/**
 * Puts a table's preprocessing inside an exported model, so that any ONNX runtime fed the raw
 * feature columns reproduces splitgate's predictions without splitgate's encoder:
 *
 * ```
 * numeric_raw float32 [N, F] (NaN = missing)
 *   → Where(IsNaN(x), mean, x) → Sub(mean) → Div(std)                     → numeric
 * categorical_raw string [N, C] (columns in the schema's order)
 *   → per column j: Slice(j) → ai.onnx.ml LabelEncoder(keys = categories,
 *     values = 1..K, default 0 = "other") → Concat(axis 1)                 → categorical
 * ```
 *
 * The model's own `numeric` / `categorical` inputs become internal tensors of the same names,
 * so the rest of the graph is unchanged. LabelEncoder is ai.onnx.ml opset 2 (onnx/defs/
 * traditionalml/defs.cc); onnxruntime's CPU provider runs it. A value outside the categories
 * maps to 0 ("other") here: refusing is the encoder's job before training, not the exported
 * model's.
 *
 * @example
 * ```ts
 * import { withTablePreprocessing } from "./table_preprocessing.ts";
 * import type { Model } from "../graph/ir.ts";
 * function exported(m: Model): Model {
 *   return withTablePreprocessing(m, { numeric: { mean: [50], std: [10] }, categorical: { categories: [["F", "M"]] } });
 * }
 * ```
 * @module
 */
import type { Graph, Model, Node, ValueInfo } from "../graph/ir.ts";
import { tensor } from "../tensor.ts";

/** The statistics and vocabularies to put in front of the model. */
export interface TablePreprocessing {
  /** Per numeric column (the `numeric` input's order): mean and std (> 0). */
  numeric?: { mean: readonly number[]; std: readonly number[] };
  /** Per categorical column (the `categorical` input's order): categories of index 1.. . */
  categorical?: { categories: readonly (readonly string[])[] };
}

/** ONNX `TensorProto.DataType` STRING: splitgate has no DType for it (models/dtypes.ts). */
const ONNX_STRING = 8;

function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  extra: Partial<Node> = {},
): Node {
  return {
    name: `preprocess/${outputs[0]}`,
    opType,
    domain: "",
    inputs,
    outputs,
    attrs: {},
    ...extra,
  };
}

function replaceInput(g: Graph, name: string, raw: ValueInfo): void {
  const i = g.inputs.findIndex((v) => v.name === name);
  if (i < 0) {
    throw new RangeError(`table preprocessing: the model has no input ${JSON.stringify(name)}`);
  }
  g.inputs[i] = raw;
}

function numericNodes(g: Graph, p: NonNullable<TablePreprocessing["numeric"]>): Node[] {
  const f = p.mean.length;
  if (p.std.length !== f || p.std.some((s) => !(s > 0))) {
    throw new RangeError(
      `table preprocessing: ${f} means need ${f} stds > 0, got [${p.std.join(", ")}]`,
    );
  }
  replaceInput(g, "numeric", { name: "numeric_raw", dtype: "float32", shape: ["N", f] });
  g.initializers.set("preprocess.mean", tensor("float32", [f], Float32Array.from(p.mean)));
  g.initializers.set("preprocess.std", tensor("float32", [f], Float32Array.from(p.std)));
  return [
    node("IsNaN", ["numeric_raw"], ["preprocess/numeric_missing"]),
    node("Where", ["preprocess/numeric_missing", "preprocess.mean", "numeric_raw"], [
      "preprocess/numeric_filled",
    ]),
    node("Sub", ["preprocess/numeric_filled", "preprocess.mean"], ["preprocess/numeric_centred"]),
    node("Div", ["preprocess/numeric_centred", "preprocess.std"], ["numeric"]),
  ];
}

function categoricalNodes(g: Graph, p: NonNullable<TablePreprocessing["categorical"]>): Node[] {
  const c = p.categories.length;
  // STRING has no splitgate DType: the writer takes the ONNX element type from `onnxElemType`.
  replaceInput(g, "categorical", {
    name: "categorical_raw",
    dtype: "int64",
    shape: ["N", c],
    onnxElemType: ONNX_STRING,
  });
  const ints = (name: string, v: number[]) =>
    g.initializers.set(name, tensor("int64", [v.length], BigInt64Array.from(v, BigInt)));
  ints("preprocess.axis1", [1]);
  const nodes: Node[] = [];
  const columns: string[] = [];
  p.categories.forEach((cats, j) => {
    ints(`preprocess.col${j}.start`, [j]);
    ints(`preprocess.col${j}.end`, [j + 1]);
    const cell = `preprocess/col${j}_raw`, index = `preprocess/col${j}_index`;
    nodes.push(
      node("Slice", [
        "categorical_raw",
        `preprocess.col${j}.start`,
        `preprocess.col${j}.end`,
        "preprocess.axis1",
      ], [cell]),
    );
    nodes.push(node("LabelEncoder", [cell], [index], {
      domain: "ai.onnx.ml",
      attrs: {
        keys_strings: { type: "strings", value: [...cats] },
        values_int64s: { type: "ints", value: cats.map((_, i) => i + 1) },
        default_int64: { type: "int", value: 0 },
      },
    }));
    columns.push(index);
  });
  nodes.push(
    node("Concat", columns, ["categorical"], { attrs: { axis: { type: "int", value: 1 } } }),
  );
  return nodes;
}

/**
 * A copy of `model` whose inputs are the raw columns (see the module doc).
 *
 * @throws {RangeError} when the model lacks the `numeric` / `categorical` input to feed, or
 *   the statistics do not fit
 * @example
 * ```ts
 * import { withTablePreprocessing } from "./table_preprocessing.ts";
 * // const raw = withTablePreprocessing(exportModel(model, weights), { numeric: { mean, std } });
 * ```
 */
export function withTablePreprocessing(model: Model, p: TablePreprocessing): Model {
  const g: Graph = {
    ...model.graph,
    inputs: [...model.graph.inputs],
    initializers: new Map(model.graph.initializers),
    valueInfo: new Map(model.graph.valueInfo),
  };
  const front: Node[] = [];
  if (p.numeric && p.numeric.mean.length > 0) front.push(...numericNodes(g, p.numeric));
  if (p.categorical && p.categorical.categories.length > 0) {
    front.push(...categoricalNodes(g, p.categorical));
  }
  g.nodes = [...front, ...model.graph.nodes];
  const opsets = new Map(model.opsets);
  if (p.categorical && p.categorical.categories.length > 0) opsets.set("ai.onnx.ml", 2);
  return { ...model, graph: g, opsets };
}
