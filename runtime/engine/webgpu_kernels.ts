/**
 * The ai.onnx operators that onnxruntime-web 1.30.0's WebGPU execution provider has kernels
 * for, with their opset ranges, as that package's own `docs/webgpu-operators.md` lists them
 * (generated there from the kernel registrations; copied here because the table is not
 * importable). An op missing here still runs on the `webgpu` engine, on ONNX Runtime's CPU
 * fallback, which moves its tensors between GPU and CPU memory.
 *
 * Update on an onnxruntime-web upgrade: copy the `ai.onnx(...)` column of the new
 * `docs/webgpu-operators.md`.
 *
 * @example
 * ```ts
 * import { hasWebGpuKernel } from "./webgpu_kernels.ts";
 * hasWebGpuKernel("Conv", 17); // true
 * hasWebGpuKernel("Gelu", 17); // false: Gelu-20+ only
 * ```
 * @module
 */

/** Op type → the ai.onnx opset ranges with a WebGPU kernel (`"7-12,13,14+"`). */
export const WEBGPU_KERNELS: ReadonlyMap<string, string> = new Map([
  ["Abs", "6-12,13+"],
  ["Acos", "7+"],
  ["Acosh", "9+"],
  ["Add", "7-12,13,14+"],
  ["ArgMax", "1-10,11-12,13+"],
  ["ArgMin", "1-10,11-12,13+"],
  ["Asin", "7+"],
  ["Asinh", "9+"],
  ["Atan", "7+"],
  ["Atanh", "9+"],
  ["AveragePool", "7-9,10,11-18,19+"],
  ["BatchNormalization", "7-8,9-13,14,15+"],
  ["Cast", "6-8,9-12,13-18,19-20,21+"],
  ["Ceil", "6-12,13+"],
  ["Clip", "6-10,11,12,13+"],
  ["Concat", "1-3,4-10,11-12,13+"],
  ["Conv", "1-10,11+"],
  ["ConvTranspose", "1-10,11+"],
  ["Cos", "7+"],
  ["Cosh", "9+"],
  ["CumSum", "11-13,14+"],
  ["DFT", "17-19,20+"],
  ["DepthToSpace", "11-12,13+"],
  ["DequantizeLinear", "10-12,13-18,19-20,21+"],
  ["Div", "7-12,13,14+"],
  ["Einsum", "12+"],
  ["Elu", "6+"],
  ["Equal", "7-10,11-12,13-18,19+"],
  ["Erf", "9-12,13+"],
  ["Exp", "6-12,13+"],
  ["Expand", "8-12,13+"],
  ["Flatten", "1-8,9-10,11-12,13-20,21+"],
  ["Floor", "6-12,13+"],
  ["Gather", "1-10,11-12,13+"],
  ["GatherElements", "11-12,13+"],
  ["GatherND", "11,12,13+"],
  ["Gelu", "20+"],
  ["Gemm", "7-8,9-10,11-12,13+"],
  ["GlobalAveragePool", "1+"],
  ["GlobalMaxPool", "1+"],
  ["Greater", "7-8,9-12,13+"],
  ["GreaterOrEqual", "12-15,16+"],
  ["GridSample", "16-19"],
  ["HardSigmoid", "6+"],
  ["HardSwish", "14+"],
  ["If", "1-10,11-12,13-18,19-20,21+"],
  ["InstanceNormalization", "6+"],
  ["LayerNormalization", "1-16,17+"],
  ["LeakyRelu", "6-15,16+"],
  ["Less", "7-8,9-12,13+"],
  ["LessOrEqual", "12-15,16+"],
  ["Log", "6-12,13+"],
  ["MatMul", "1-12,13+"],
  ["MaxPool", "1-7,8-9,10,11,12+"],
  ["MemcpyFromHost", "1+"],
  ["MemcpyToHost", "1+"],
  ["Mul", "7-12,13,14+"],
  ["Neg", "6-12,13+"],
  ["Not", "1+"],
  ["Pad", "2-10,11-12,13-17,18,19-20,21+"],
  ["Pow", "7-11,12,13-14,15+"],
  ["Range", "11+"],
  ["Reciprocal", "6-12,13+"],
  ["ReduceL1", "1-10,11-12,13-17,18+"],
  ["ReduceL2", "1-10,11-12,13-17,18+"],
  ["ReduceLogSum", "1-10,11-12,13-17,18+"],
  ["ReduceLogSumExp", "1-10,11-12,13-17,18+"],
  ["ReduceMax", "1-10,11,12,13-17,18-19,20+"],
  ["ReduceMean", "1-10,11-12,13-17,18+"],
  ["ReduceMin", "1-10,11,12,13-17,18-19,20+"],
  ["ReduceProd", "1-10,11-12,13-17,18+"],
  ["ReduceSum", "1-10,11-12,13+"],
  ["ReduceSumSquare", "1-10,11-12,13-17,18+"],
  ["Relu", "6-12,13,14+"],
  ["Reshape", "5-12,13,14-18,19-20,21+"],
  ["Resize", "10,11-12,13-17,18,19+"],
  ["ScatterND", "11-12,13-15,16-17,18+"],
  ["Shape", "1-12,13-14,15-18,19-20,21+"],
  ["Sigmoid", "6-12,13+"],
  ["SimplifiedLayerNormalization", "1+"],
  ["Sin", "7+"],
  ["Sinh", "9+"],
  ["Slice", "1-9,10,11-12,13+"],
  ["Softmax", "1-10,11-12,13+"],
  ["Split", "1,2-10,11-12,13-17,18+"],
  ["Sqrt", "6-12,13+"],
  ["Squeeze", "1-10,11-12,13-20,21+"],
  ["Sub", "7-12,13,14+"],
  ["Tan", "7+"],
  ["Tanh", "6-12,13+"],
  ["ThresholdedRelu", "10+"],
  ["Tile", "6-12,13+"],
  ["Transpose", "1-12,13-20,21+"],
  ["Unsqueeze", "1-10,11-12,13-20,21+"],
  ["Where", "9-15,16+"],
]);

/**
 * Whether an opset range list (`"7-12,13,14+"`) covers `opset`.
 *
 * @example
 * ```ts
 * import { rangeCovers } from "./webgpu_kernels.ts";
 * rangeCovers("1-10,11-12,13+", 17); // true
 * rangeCovers("20+", 17); // false
 * ```
 */
export function rangeCovers(ranges: string, opset: number): boolean {
  return ranges.split(",").some((part) => {
    const p = part.trim();
    if (p.endsWith("+")) return Number(p.slice(0, -1)) <= opset;
    const [lo, hi] = p.split("-").map(Number);
    return hi === undefined ? lo === opset : lo <= opset && opset <= hi;
  });
}

/**
 * Whether onnxruntime-web 1.30.0's WebGPU EP has a kernel for `op` at `opset`.
 *
 * @example
 * ```ts
 * import { hasWebGpuKernel } from "./webgpu_kernels.ts";
 * hasWebGpuKernel("LayerNormalization", 17); // true
 * ```
 */
export function hasWebGpuKernel(op: string, opset: number): boolean {
  const r = WEBGPU_KERNELS.get(op);
  return r !== undefined && rangeCovers(r, opset);
}
