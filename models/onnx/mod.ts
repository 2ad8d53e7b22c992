/**
 * ONNX `ModelProto` bytes to and from the graph IR (ONNX IR spec, onnx/onnx.proto3), with
 * errors that name the field that is wrong.
 *
 * @example
 * ```ts
 * import { readModel, writeModel } from "./mod.ts";
 * const bytes = await Deno.readFile("tests/fixtures/models/ehr_mlp.onnx");
 * const model = readModel(bytes, "ehr_mlp.onnx");
 * console.log(readModel(writeModel(model)).graph.nodes.length === model.graph.nodes.length); // true
 * ```
 * @module
 */
export { ONNX_FORMAT_ERROR_CODES, OnnxFormatError, type OnnxFormatErrorCode } from "./errors.ts";
export { readModel } from "./read_model.ts";
export { writeModel } from "./write_model.ts";
