/**
 * The shape of a shape rule: given a node and what is known about each of its inputs,
 * return what is known about each of its outputs. A rule is a pure function: it reads no
 * map and writes none, so a rule can be read and tested alone, and the one place that
 * stores facts is `inferNode` (infer_shapes.ts).
 *
 * Every rule has the same three parameters; what later work needs beyond the opset (a
 * table of symbolic dimensions, say) joins {@linkcode ShapeRuleContext}, so no rule's
 * signature changes.
 *
 * @example
 * ```ts
 * import type { ShapeRule } from "./rule.ts";
 * const sameAsInput: ShapeRule = (_node, [x]) => [x && { dtype: x.dtype, shape: x.shape }];
 * ```
 * @module
 */
import type { DType } from "../../tensor.ts";
import type { Dim, Node } from "../ir.ts";
import type { TensorFacts } from "./facts.ts";

/**
 * What is known about each input of a node, by input position; `undefined` for an omitted
 * optional input (empty name) or one nothing is known about.
 */
export type InputFacts = readonly (TensorFacts | undefined)[];

/**
 * What a rule infers for each output of a node, by output position. `undefined` (or a
 * position past the end) leaves that output unknown: nothing is recorded for it.
 */
export type OutputFacts = readonly (TensorFacts | undefined)[];

/** What a rule may read besides the node and its inputs. */
export interface ShapeRuleContext {
  /** The `ai.onnx` opset of the graph (e.g. `axes` moved from attribute to input in 13). */
  readonly opset: number;
}

/**
 * A shape and type rule for one operator.
 *
 * @param node the node (attributes, and output names where a fresh symbol is named after one)
 * @param inputs what is known about each input, by position
 * @param ctx the opset
 * @returns what is known about each output, by position
 * @throws {ShapeError} `SHAPE` when the node's inputs or attributes cannot be inferred
 */
export type ShapeRule = (node: Node, inputs: InputFacts, ctx: ShapeRuleContext) => OutputFacts;

/**
 * The dtype of a node's first input, float32 when unknown: most ops' output type.
 *
 * @example
 * ```ts
 * import { dtypeOf } from "./rule.ts";
 * dtypeOf({ dtype: "int64" }); // "int64"
 * dtypeOf(undefined); // "float32"
 * ```
 */
export const dtypeOf = (x: TensorFacts | undefined): DType => x?.dtype ?? "float32";

/**
 * A copy of a known shape, so that no two tensors share one array.
 *
 * @example
 * ```ts
 * import { copyShape } from "./rule.ts";
 * copyShape({ dtype: "float32", shape: ["N", 3] }); // ["N", 3]
 * copyShape(undefined); // undefined
 * ```
 */
export const copyShape = (x: TensorFacts | undefined): Dim[] | undefined =>
  x?.shape && [...x.shape];
