/**
 * Compiles a segment of a cut model into the ONNX graphs one training step runs.
 * Parameters are graph *inputs*, so one onnxruntime session serves every step and the
 * weights stay in the caller's buffers.
 *
 * - A segment without the loss gets a `forward` graph (inputs → outputs, plus the tensors
 *   its backward pass reads: the forward keeps what the backward needs) and a `backward`
 *   graph (those saved tensors and the gradient of each output → parameter gradients and,
 *   when asked, the gradient of its input, which travels back across the cut).
 * - The segment holding the loss gets one fused `step` graph (inputs, parameters and
 *   target → loss, outputs, gradients): forward and backward happen in one place, so
 *   nothing is saved between calls.
 * - Every segment also gets a plain `infer` graph for evaluation.
 *
 * Gradient outputs are named `grad.<tensor>`; the incoming gradient of a non-loss segment
 * is the input `grad.<output>`.
 *
 * @example
 * ```ts
 * import { compileModel } from "./compile.ts";
 * // const parts = compileModel(model, { cuts: ["cut"], loss: "bce" });
 * // parts[0].forward, parts[0].backward, parts[1].step
 * ```
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { FLOAT_DTYPES } from "../dtypes.ts";
import type { Graph, Model, Node, ValueInfo } from "../graph/ir.ts";
import { type Facts, inferNode, inferShapes } from "../graph/infer_shapes.ts";
import { differentiate, findActive } from "../grad/reverse.ts";
import { GradContext, GradError } from "../grad/context.ts";
import { appendLoss, type LossKind, targetInfo } from "../grad/loss.ts";
import { type Segment, splitModel } from "./split.ts";
import { bufferNames, lowerForTraining } from "./lower_training.ts";

/** Options of {@linkcode compileModel}. */
export interface CompileOptions {
  /** Cut tensors, from input to output; none trains the model whole. */
  cuts?: readonly string[];
  /** The loss on the model's (single) output. */
  loss: LossKind;
  /**
   * Which segment holds the loss: the last (default). For a label-private U-shaped split
   * it is the clinic's head, which is also the last segment.
   */
  /** Also differentiate with respect to segment 0's float inputs (for audits). */
  inputGrads?: boolean;
  /** Initializers to keep frozen (not trained). */
  frozen?: readonly string[];
  /** The target tensor's input name in the loss graph (default `target`). */
  targetName?: string;
  /** Seed of the dropout masks (default 0). */
  seed?: number;
}

/** One compiled segment. */
export interface CompiledSegment {
  index: number;
  /** Tensors entering (model inputs or the previous cut). */
  inputs: ValueInfo[];
  /** Tensors leaving (the next cut, or the model outputs). */
  outputs: ValueInfo[];
  /** Parameters (graph inputs of every graph below), with initial values. */
  params: Map<string, Tensor>;
  /**
   * Non-trainable state fed to every graph (BatchNormalization running statistics), with
   * initial values.
   */
  buffers: Map<string, Tensor>;
  /** Buffer → output of the training graph (forward or step) holding its next value. */
  bufferUpdates: Map<string, string>;
  /** The parameters that get a gradient (`grad.<name>` outputs); the rest do not reach the loss. */
  trainable: string[];
  /** Forward pass with saved tensors as extra outputs (non-loss segments). */
  forward?: Model;
  /** Tensors the forward passes to the backward. */
  saved: string[];
  /** Backward pass (non-loss segments). */
  backward?: Model;
  /** Fused forward + loss + backward (the loss segment). */
  step?: Model;
  /** Forward only, for evaluation and inference. */
  infer: Model;
  /** Whether this segment computes the loss. */
  hasLoss: boolean;
  /** Input name of the target in `step`. */
  targetName?: string;
  /** Names of the gradient outputs of the input (the cut gradient sent back), if any. */
  inputGradNames: string[];
}

/** Name of the gradient tensor of `t` in compiled graphs. */
export const gradName = (t: string): string => `grad.${t}`;

/**
 * Compiles `model` into per-segment training graphs.
 *
 * @throws {SplitError} for a bad cut, {@linkcode GradError} for an op without a rule or
 *   a shape that must be static.
 * @example
 * ```ts
 * import { compileModel } from "./compile.ts";
 * // const [whole] = compileModel(model, { loss: "ce" }); whole.step
 * ```
 */
export function compileModel(model: Model, opts: CompileOptions): CompiledSegment[] {
  const opset = Math.max(model.opsets.get("") ?? 17, 17);
  if ((model.opsets.get("") ?? 17) < 13) {
    throw new GradError(
      "UNSUPPORTED_OPSET",
      `model uses opset ${model.opsets.get("")}; re-export with opset 13 or newer`,
    );
  }
  if (model.graph.outputs.length !== 1) {
    throw new GradError(
      "UNSUPPORTED_MODEL",
      `model has ${model.graph.outputs.length} outputs; training needs exactly one (the logits)`,
    );
  }
  const facts = inferShapes(model.graph, opset);
  const segments = splitModel(model, opts.cuts ?? []);
  const frozen = new Set(opts.frozen ?? []);
  const buffers = bufferNames(model.graph);
  return segments.map((seg) =>
    compileSegment(model, seg, facts, opset, {
      loss: seg.index === segments.length - 1 ? opts.loss : undefined,
      inputGrads: seg.index > 0 || !!opts.inputGrads,
      frozen,
      buffers,
      seed: opts.seed ?? 0,
      targetName: opts.targetName ?? "target",
    })
  );
}

function valueInfo(facts: Facts, name: string): ValueInfo {
  const f = facts.get(name);
  if (!f) throw new GradError("UNKNOWN_TENSOR", `tensor ${JSON.stringify(name)} has no known type`);
  return { name, dtype: f.dtype, shape: f.shape && [...f.shape] };
}

function toModel(model: Model, opset: number, graph: Graph): Model {
  // Drop constants no node reads (e.g. a dropout ratio after lowering).
  const used = new Set(graph.nodes.flatMap((n) => n.inputs));
  graph = { ...graph, initializers: new Map([...graph.initializers].filter(([n]) => used.has(n))) };
  return {
    irVersion: Math.max(model.irVersion, 8),
    opsets: new Map([...model.opsets, ["", opset]]),
    producerName: "splitgate",
    producerVersion: "0.1.0",
    graph,
  };
}

/**
 * An Identity node that gives tensor `src` the graph-output name `dst` (how compiled
 * graphs name their `loss` and `grad.<tensor>` outputs).
 *
 * @example
 * ```ts
 * import { identityOutput } from "./compile.ts";
 * identityOutput("t7", "loss").opType; // "Identity"
 * ```
 */
export function identityOutput(src: string, dst: string): Node {
  return {
    name: `out:${dst}`,
    opType: "Identity",
    domain: "",
    inputs: [src],
    outputs: [dst],
    attrs: {},
  };
}

function compileSegment(
  model: Model,
  seg: Segment,
  globalFacts: Facts,
  opset: number,
  o: {
    loss?: LossKind;
    inputGrads: boolean;
    frozen: Set<string>;
    buffers: Set<string>;
    seed: number;
    targetName: string;
  },
): CompiledSegment {
  const g = model.graph;
  const facts: Facts = new Map(globalFacts);
  const params = new Map<string, Tensor>();
  const constants = new Map<string, Tensor>();
  const buffers = new Map<string, Tensor>();
  for (const name of seg.initializers) {
    const t = g.initializers.get(name)!;
    if (o.buffers.has(name)) {
      buffers.set(name, t);
      continue;
    }
    // Parameters: float tensors of rank >= 1 named by the framework. Scalars and
    // exporter-made constants (`onnx::…`) are constants, as are frozen weights.
    const isParam = FLOAT_DTYPES.has(t.dtype) && t.dims.length >= 1 && !name.startsWith("onnx::") &&
      !o.frozen.has(name);
    (isParam ? params : constants).set(name, t);
  }
  const inputs = seg.inputs.map((n) => valueInfo(facts, n));
  const outputs = seg.outputs.map((n) => valueInfo(facts, n));
  const paramInfos = [...params.keys(), ...buffers.keys()].map((n) => valueInfo(facts, n));
  // Training graphs run the lowered nodes (batch statistics, dropout masks).
  const lowered = lowerForTraining({ ...g, nodes: seg.nodes }, facts, opset, o.seed + seg.index);
  const trainNodes = lowered.graph.nodes;
  const trainConsts = new Map([
    ...constants,
    ...[...lowered.graph.initializers].filter(([n]) => !g.initializers.has(n)),
  ]);
  for (const [n, t] of trainConsts) {
    if (!facts.has(n)) {
      facts.set(n, {
        dtype: t.dtype,
        shape: [...t.dims],
        value: t.dtype === "int64" ? Array.from(t.data as BigInt64Array, Number) : undefined,
      });
    }
  }
  if (lowered.graph.nodes !== seg.nodes) { for (const n of trainNodes) inferNode(n, facts, opset); }
  const updateInfos = [...lowered.bufferUpdates.values()].map((n) => valueInfo(facts, n));
  /** What every compiled segment reports, loss or not. */
  const common = (live: Set<string>) => ({
    index: seg.index,
    inputs,
    outputs,
    params,
    buffers,
    bufferUpdates: lowered.bufferUpdates,
    trainable: [...params.keys()].filter((n) => live.has(n)),
    infer: toModel(model, opset, infer),
  });
  const floatInputs = o.inputGrads
    ? seg.inputs.filter((n) => FLOAT_DTYPES.has(facts.get(n)!.dtype))
    : [];
  const wrt = [...params.keys(), ...floatInputs];
  const prefix = `seg${seg.index}`;

  const infer: Graph = {
    name: `${prefix}_infer`,
    nodes: seg.nodes,
    inputs: [...inputs, ...paramInfos],
    outputs,
    initializers: new Map(constants),
    valueInfo: new Map(),
  };

  if (o.loss) {
    if (outputs.length !== 1) {
      throw new GradError("UNSUPPORTED_MODEL", "the loss segment must have exactly one output");
    }
    const logits = outputs[0];
    // Refuse an op without a rule first: the loss head needs shapes such an op hides.
    findActive({ ...infer, nodes: trainNodes }, facts, wrt, [logits.name]);
    const ti = targetInfo(o.loss, logits.shape ?? []);
    facts.set(o.targetName, { dtype: ti.dtype, shape: ti.shape });
    const lossCtx = new GradContext(facts, opset, `${prefix}/loss`);
    const { loss, dlogits } = appendLoss(lossCtx, o.loss, logits.name, o.targetName);
    const { grads, ctx } = differentiate(
      { ...infer, nodes: trainNodes },
      facts,
      opset,
      { wrt, seeds: new Map([[logits.name, dlogits]]), prefix },
    );
    const { outNodes, outInfos, live } = gradOutputs(grads, facts, params, floatInputs);
    const nodes = [
      ...trainNodes,
      ...lossCtx.nodes,
      ...ctx.nodes,
      identityOutput(loss, "loss"),
      ...outNodes,
    ];
    const step: Graph = {
      name: `${prefix}_step`,
      nodes,
      inputs: [...inputs, ...paramInfos, { name: o.targetName, dtype: ti.dtype, shape: ti.shape }],
      outputs: [
        { name: "loss", dtype: logits.dtype, shape: [] },
        logits,
        ...outInfos,
        ...updateInfos,
      ],
      initializers: new Map([...trainConsts, ...lossCtx.initializers, ...ctx.initializers]),
      valueInfo: new Map(),
    };
    return {
      ...common(live),
      saved: [],
      step: toModel(model, opset, step),
      hasLoss: true,
      targetName: o.targetName,
      inputGradNames: floatInputs.map(gradName),
    };
  }

  // Non-loss segment: the gradient of each output arrives as an input.
  const seeds = new Map<string, string>();
  for (const out of outputs) {
    seeds.set(out.name, gradName(out.name));
    facts.set(gradName(out.name), { dtype: out.dtype, shape: out.shape && [...out.shape] });
  }
  const { grads, ctx } = differentiate({ ...infer, nodes: trainNodes }, facts, opset, {
    wrt,
    seeds,
    prefix,
  });
  const { outNodes, outInfos, live } = gradOutputs(grads, facts, params, floatInputs);
  const seedNames = new Set(seeds.values());
  const bwdNodes = shareShapeReads(
    [...ctx.nodes, ...outNodes],
    facts,
    (t) => !ctx.initializers.has(t) && !seedNames.has(t),
  );
  const producedByBwd = new Set(bwdNodes.flatMap((n) => n.outputs));
  const referenced = new Set<string>();
  for (const n of bwdNodes) {
    for (const t of n.inputs) {
      if (t && !producedByBwd.has(t) && !ctx.initializers.has(t)) referenced.add(t);
    }
  }
  const bwdParams = paramInfos.filter((p) => referenced.has(p.name));
  const bwdConsts = new Map([...trainConsts].filter(([n]) => referenced.has(n)));
  const saved = [...referenced].filter((t) =>
    !seedNames.has(t) && !params.has(t) && !buffers.has(t) && !trainConsts.has(t)
  );
  const forward: Graph = {
    ...infer,
    name: `${prefix}_forward`,
    nodes: trainNodes,
    initializers: new Map(trainConsts),
    outputs: [
      ...outputs,
      ...saved.filter((t) => !seg.outputs.includes(t) && !seg.inputs.includes(t)).map((t) =>
        valueInfo(facts, t)
      ),
      ...updateInfos,
    ],
  };
  const backward: Graph = {
    name: `${prefix}_backward`,
    nodes: bwdNodes,
    inputs: [
      ...saved.map((t) => valueInfo(facts, t)),
      ...bwdParams,
      ...[...seedNames].map((t) => valueInfo(facts, t)),
    ],
    outputs: outInfos,
    initializers: new Map([...bwdConsts, ...ctx.initializers]),
    valueInfo: new Map(),
  };
  return {
    ...common(live),
    saved,
    forward: toModel(model, opset, forward),
    backward: toModel(model, opset, backward),
    hasLoss: false,
    inputGradNames: floatInputs.filter((t) => live.has(t)).map(gradName),
  };
}

/**
 * Rewrites backward nodes that read a forward tensor only for its shape. A forward tensor
 * every backward reader of which is `Shape` or `Size` (ONNX operator spec, Shape-15 and
 * Size-13: the output depends on the input's dimensions only) need not cross from the
 * forward call to the backward call whole when another tensor of the same static shape
 * crosses anyway: those readers read that one instead. The gradient rules of the
 * reductions in a lowered BatchNormalization read their input's shape this way, which
 * otherwise saved two extra [N, C, H, W] tensors per block (on the wasm engine every saved
 * tensor is copied out of and back into the module's memory). The shape stays static in
 * the backward graph, so its shape inference and FLOP count are unchanged.
 */
function shareShapeReads(nodes: Node[], facts: Facts, isForwardTensor: (t: string) => boolean): Node[] {
  const produced = new Set(nodes.flatMap((n) => n.outputs));
  const isShapeRead = (n: Node) => (n.opType === "Shape" || n.opType === "Size") && n.domain === "";
  const readers = new Map<string, Node[]>();
  for (const n of nodes) {
    for (const t of n.inputs) {
      if (t && !produced.has(t) && isForwardTensor(t)) readers.set(t, [...(readers.get(t) ?? []), n]);
    }
  }
  const key = (t: string) => {
    const shape = facts.get(t)?.shape;
    return shape ? JSON.stringify(shape) : undefined;
  };
  // Tensors that cross anyway (read by something other than Shape/Size), by static shape.
  const crossing = new Map<string, string>();
  for (const [t, rs] of readers) {
    const k = key(t);
    if (k && !rs.every(isShapeRead) && !crossing.has(k)) crossing.set(k, t);
  }
  const swap = new Map<string, string>();
  for (const [t, rs] of readers) {
    const k = key(t);
    const other = k ? crossing.get(k) : undefined;
    if (other && other !== t && rs.every(isShapeRead)) swap.set(t, other);
  }
  if (swap.size === 0) return nodes;
  return nodes.map((n) =>
    isShapeRead(n) && swap.has(n.inputs[0]) ? { ...n, inputs: [swap.get(n.inputs[0])!, ...n.inputs.slice(1)] } : n
  );
}

/** Identity nodes naming each gradient `grad.<tensor>`; unreachable tensors are dropped. */
function gradOutputs(
  grads: Map<string, string | undefined>,
  facts: Facts,
  params: Map<string, Tensor>,
  floatInputs: string[],
): { outNodes: Node[]; outInfos: ValueInfo[]; live: Set<string> } {
  const outNodes: Node[] = [];
  const outInfos: ValueInfo[] = [];
  const live = new Set<string>();
  for (const t of [...params.keys(), ...floatInputs]) {
    const gname = grads.get(t);
    if (!gname) continue;
    live.add(t);
    outNodes.push(identityOutput(gname, gradName(t)));
    const f = facts.get(t)!;
    outInfos.push({ name: gradName(t), dtype: f.dtype, shape: f.shape && [...f.shape] });
  }
  return { outNodes, outInfos, live };
}
