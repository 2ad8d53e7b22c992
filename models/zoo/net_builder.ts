/**
 * A small layer-by-layer builder of ONNX models in the graph IR, for the model zoo.
 * Weights are initialised as PyTorch initialises its layers (`kaiming_uniform_` with
 * a = √5 for weights, which is U(−1/√fan_in, 1/√fan_in), and the same bound for biases),
 * from a caller-supplied uniform random source so that a seed fixes the model.
 *
 * @example
 * ```ts
 * import { NetBuilder } from "./net_builder.ts";
 * const b = new NetBuilder("tiny", Math.random);
 * const x = b.input("x", "float32", ["N", 4]);
 * const y = b.linear(x, 4, 2, "fc");
 * const model = b.finish(y, "logits");
 * ```
 * @module
 */
import { type DType, type Tensor, tensor } from "../tensor.ts";
import {
  type Attr,
  type Dim,
  emptyGraph,
  floatAttr,
  type Graph,
  intAttr,
  intsAttr,
  type Model,
} from "../graph/ir.ts";

/** Builds a model; each layer method returns the name of its output tensor. */
export class NetBuilder {
  readonly graph: Graph;

  /**
   * @param name the graph name
   * @param random uniform source in [0, 1), e.g. a seeded generator
   * @param opset the ai.onnx opset written (17: ReduceMean takes `axes` as an attribute)
   */
  constructor(name: string, readonly random: () => number, readonly opset = 17) {
    this.graph = emptyGraph(name);
  }

  /** Declares a graph input. */
  input(name: string, dtype: DType, shape: Dim[]): string {
    this.graph.inputs.push({ name, dtype, shape });
    return name;
  }

  /** Adds an initializer. */
  weight(name: string, t: Tensor): string {
    this.graph.initializers.set(name, t);
    return name;
  }

  /** A float32 tensor drawn from U(−bound, bound). */
  uniform(dims: number[], bound: number): Tensor {
    const t = tensor("float32", dims);
    const d = t.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] = (2 * this.random() - 1) * bound;
    return t;
  }

  /** Appends a node named `name` whose single output is named `name` too. */
  op(opType: string, inputs: string[], name: string, attrs: Record<string, Attr> = {}): string {
    this.graph.nodes.push({ name, opType, domain: "", inputs, outputs: [name], attrs });
    return name;
  }

  /** An int64 constant initializer. */
  ints(name: string, values: number[]): string {
    return this.weight(
      name,
      tensor("int64", [values.length], BigInt64Array.from(values.map(BigInt))),
    );
  }

  /** 2-D convolution with bias (PyTorch `nn.Conv2d`). */
  conv2d(
    x: string,
    cin: number,
    cout: number,
    k: number,
    name: string,
    opts: { stride?: number; pad?: number } = {},
  ): string {
    const bound = 1 / Math.sqrt(cin * k * k);
    const w = this.weight(`${name}.weight`, this.uniform([cout, cin, k, k], bound));
    const b = this.weight(`${name}.bias`, this.uniform([cout], bound));
    const s = opts.stride ?? 1, p = opts.pad ?? 0;
    return this.op("Conv", [x, w, b], `${name}/Conv_output_0`, {
      kernel_shape: intsAttr([k, k]),
      strides: intsAttr([s, s]),
      pads: intsAttr([p, p, p, p]),
      dilations: intsAttr([1, 1]),
      group: intAttr(1),
    });
  }

  /** Fully connected layer y = x Wᵀ + b (PyTorch `nn.Linear`, exported as Gemm). */
  linear(x: string, fin: number, fout: number, name: string): string {
    const bound = 1 / Math.sqrt(fin);
    const w = this.weight(`${name}.weight`, this.uniform([fout, fin], bound));
    const b = this.weight(`${name}.bias`, this.uniform([fout], bound));
    return this.op("Gemm", [x, w, b], `${name}/Gemm_output_0`, {
      alpha: floatAttr(1),
      beta: floatAttr(1),
      transB: intAttr(1),
    });
  }

  /** Batch normalisation over channels (PyTorch `nn.BatchNorm2d`/`1d` defaults). */
  batchNorm(x: string, channels: number, name: string): string {
    const ones = tensor("float32", [channels], new Float32Array(channels).fill(1));
    const s = this.weight(`${name}.weight`, ones);
    const b = this.weight(`${name}.bias`, tensor("float32", [channels]));
    const m = this.weight(`${name}.running_mean`, tensor("float32", [channels]));
    const v = this.weight(
      `${name}.running_var`,
      tensor("float32", [channels], new Float32Array(channels).fill(1)),
    );
    return this.op("BatchNormalization", [x, s, b, m, v], `${name}/BatchNormalization_output_0`, {
      epsilon: floatAttr(1e-5),
      momentum: floatAttr(0.9),
    });
  }

  /**
   * Group normalisation (Wu & He 2018) over `groups` channel groups of an [N, C, H, W]
   * tensor, written with primitive ops (ONNX gained `GroupNormalization` only in opset 18):
   * each sample is normalised on its own, so — unlike BatchNorm — a clinic's class-skewed
   * batches do not skew the statistics (Hsieh et al. 2020, "The Non-IID Data Quagmire").
   */
  groupNorm(x: string, channels: number, groups: number, name: string): string {
    if (channels % groups !== 0) throw new RangeError(`groupNorm: ${channels} channels do not split into ${groups} groups`);
    const s = this.weight(`${name}.weight`, tensor("float32", [channels, 1, 1], new Float32Array(channels).fill(1)));
    const b = this.weight(`${name}.bias`, tensor("float32", [channels, 1, 1]));
    const grouped = this.op("Reshape", [x, this.ints(`${name}.group_shape`, [0, groups, -1])], `${name}/grouped`);
    const mean = this.op("ReduceMean", [grouped], `${name}/mean`, { axes: intsAttr([2]), keepdims: intAttr(1) });
    const centred = this.op("Sub", [grouped, mean], `${name}/centred`);
    const variance = this.op("ReduceMean", [this.op("Mul", [centred, centred], `${name}/sq`)], `${name}/var`, {
      axes: intsAttr([2]),
      keepdims: intAttr(1),
    });
    const eps = this.weight(`${name}.eps`, tensor("float32", [], new Float32Array([1e-5])));
    const inv = this.op("Reciprocal", [this.op("Sqrt", [this.op("Add", [variance, eps], `${name}/var_eps`)], `${name}/std`)], `${name}/inv_std`);
    const normed = this.op("Reshape", [this.op("Mul", [centred, inv], `${name}/normed`), this.op("Shape", [x], `${name}/shape`)], `${name}/ungrouped`);
    return this.op("Add", [this.op("Mul", [normed, s], `${name}/scaled`), b], `${name}/GroupNorm_output_0`);
  }

  /** ReLU. */
  relu(x: string, name: string): string {
    return this.op("Relu", [x], `${name}/Relu_output_0`);
  }

  /** 2×2 max pooling with stride 2. */
  maxPool2(x: string, name: string): string {
    return this.op("MaxPool", [x], `${name}/MaxPool_output_0`, {
      kernel_shape: intsAttr([2, 2]),
      strides: intsAttr([2, 2]),
      pads: intsAttr([0, 0, 0, 0]),
      ceil_mode: intAttr(0),
    });
  }

  /** Dropout with probability `p` (identity at inference). */
  dropout(x: string, p: number, name: string): string {
    const ratio = this.weight(`${name}.ratio`, tensor("float32", [], new Float32Array([p])));
    return this.op("Dropout", [x, ratio], `${name}/Dropout_output_0`);
  }

  /** Flattens all but the first axis. */
  flatten(x: string, name: string): string {
    return this.op("Flatten", [x], `${name}/Flatten_output_0`, { axis: intAttr(1) });
  }

  /** Mean over `axes`, dropping them. */
  reduceMean(x: string, axes: number[], name: string): string {
    return this.op("ReduceMean", [x], `${name}/ReduceMean_output_0`, {
      axes: intsAttr(axes),
      keepdims: intAttr(0),
    });
  }

  /** Declares `x` as the model output `outName` (through an Identity) and returns the model. */
  finish(x: string, outName: string, outShape: Dim[] = ["N", 1]): Model {
    this.op("Identity", [x], outName);
    this.graph.outputs.push({ name: outName, dtype: "float32", shape: outShape });
    return {
      irVersion: 8,
      opsets: new Map([["", this.opset]]),
      producerName: "splitgate-zoo",
      producerVersion: "0.1.0",
      graph: this.graph,
    };
  }
}
