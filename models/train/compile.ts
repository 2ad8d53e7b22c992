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
import { shareShapeReads } from "./share_shape_reads.ts";
import { dropZeroInitialStates } from "./drop_zero_states.ts";

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
  /**
   * Shapes (and small integer values) measured on a batch, for tensors shape inference
   * cannot follow (data-dependent shapes); the graphs built with them hold that batch's
   * sizes. See `runtime/train/observe_shapes.ts`.
   */
  observed?: Facts;
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
  // Zero LSTM/GRU initial states as PyTorch exports them would cross a cut between layers.
  const graph = dropZeroInitialStates(model.graph);
  if (graph !== model.graph) model = { ...model, graph };
  const facts = inferShapes(model.graph, opset, undefined, opts.observed);
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

/** What {@linkcode compileModel} decides per segment, before compiling it. */
interface SegmentOptions {
  loss?: LossKind;
  inputGrads: boolean;
  frozen: Set<string>;
  buffers: Set<string>;
  seed: number;
  targetName: string;
}

/**
 * What both kinds of segment build on: the segment's tensors, its parameters and constants,
 * the lowered training nodes and the plain inference graph. `facts` is the segment's own
 * copy, extended with the lowered nodes' tensors.
 */
interface SegmentPlan {
  model: Model;
  seg: Segment;
  opset: number;
  facts: Facts;
  /** Prefix of graph and node names (`seg<index>`). */
  prefix: string;
  params: Map<string, Tensor>;
  constants: Map<string, Tensor>;
  buffers: Map<string, Tensor>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  /** Parameters then buffers, as graph inputs. */
  paramInfos: ValueInfo[];
  bufferUpdates: Map<string, string>;
  /** Outputs carrying the buffers' next values. */
  updateInfos: ValueInfo[];
  /** The lowered nodes (batch statistics, dropout masks) the training graphs run. */
  trainNodes: Node[];
  /** Constants of the training graphs: the segment's and those lowering added. */
  trainConsts: Map<string, Tensor>;
  /** Float segment inputs to differentiate with respect to. */
  floatInputs: string[];
  /** Every tensor a gradient is wanted for: parameters, then `floatInputs`. */
  wrt: string[];
  /** Forward only, for evaluation and inference. */
  infer: Graph;
}

function compileSegment(
  model: Model,
  seg: Segment,
  globalFacts: Facts,
  opset: number,
  o: SegmentOptions,
): CompiledSegment {
  const plan = planSegment(model, seg, globalFacts, opset, o);
  return o.loss ? compileLossSegment(plan, o.loss, o.targetName) : compileCutSegment(plan);
}

/**
 * Sorts the segment's initializers into parameters, constants and buffers, lowers its nodes
 * for training and infers the lowered nodes' tensors into a copy of the facts.
 */
function planSegment(
  model: Model,
  seg: Segment,
  globalFacts: Facts,
  opset: number,
  o: SegmentOptions,
): SegmentPlan {
  const g = model.graph;
  const facts: Facts = new Map(globalFacts);
  const { params, constants, buffers } = sortInitializers(g, seg, o);
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
  addConstantFacts(facts, trainConsts);
  if (lowered.graph.nodes !== seg.nodes) { for (const n of trainNodes) inferNode(n, facts, opset); }
  const updateInfos = [...lowered.bufferUpdates.values()].map((n) => valueInfo(facts, n));
  const floatInputs = o.inputGrads
    ? seg.inputs.filter((n) => FLOAT_DTYPES.has(facts.get(n)!.dtype))
    : [];
  const prefix = `seg${seg.index}`;
  const infer: Graph = {
    name: `${prefix}_infer`,
    nodes: seg.nodes,
    inputs: [...inputs, ...paramInfos],
    outputs,
    initializers: new Map(constants),
    valueInfo: new Map(),
  };
  return {
    model,
    seg,
    opset,
    facts,
    prefix,
    params,
    constants,
    buffers,
    inputs,
    outputs,
    paramInfos,
    bufferUpdates: lowered.bufferUpdates,
    updateInfos,
    trainNodes,
    trainConsts,
    floatInputs,
    wrt: [...params.keys(), ...floatInputs],
    infer,
  };
}

/** The segment's initializers as parameters (trained), constants and buffers. */
function sortInitializers(
  g: Graph,
  seg: Segment,
  o: SegmentOptions,
): { params: Map<string, Tensor>; constants: Map<string, Tensor>; buffers: Map<string, Tensor> } {
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
  return { params, constants, buffers };
}

/** Facts of the constants not known yet (those lowering added), int64 values tracked. */
function addConstantFacts(facts: Facts, consts: Map<string, Tensor>): void {
  for (const [n, t] of consts) {
    if (!facts.has(n)) {
      facts.set(n, {
        dtype: t.dtype,
        shape: [...t.dims],
        value: t.dtype === "int64" ? Array.from(t.data as BigInt64Array, Number) : undefined,
      });
    }
  }
}

/** What every compiled segment reports, loss or not. */
function commonParts(p: SegmentPlan, live: Set<string>) {
  return {
    index: p.seg.index,
    inputs: p.inputs,
    outputs: p.outputs,
    params: p.params,
    buffers: p.buffers,
    bufferUpdates: p.bufferUpdates,
    trainable: [...p.params.keys()].filter((n) => live.has(n)),
    infer: toModel(p.model, p.opset, p.infer),
  };
}

/**
 * The loss segment: one fused `step` graph (forward, loss, backward), seeded with the
 * gradient of the loss at the logits.
 */
function compileLossSegment(
  p: SegmentPlan,
  lossKind: LossKind,
  targetName: string,
): CompiledSegment {
  const { facts, opset, prefix, outputs } = p;
  if (outputs.length !== 1) {
    throw new GradError("UNSUPPORTED_MODEL", "the loss segment must have exactly one output");
  }
  const logits = outputs[0];
  // Refuse an op without a rule first: the loss head needs shapes such an op hides.
  findActive({ ...p.infer, nodes: p.trainNodes }, facts, p.wrt, [logits.name]);
  const ti = targetInfo(lossKind, logits.shape ?? []);
  facts.set(targetName, { dtype: ti.dtype, shape: ti.shape });
  const lossCtx = new GradContext(facts, opset, `${prefix}/loss`);
  const { loss, dlogits } = appendLoss(lossCtx, lossKind, logits.name, targetName);
  const { grads, ctx } = differentiate({ ...p.infer, nodes: p.trainNodes }, facts, opset, {
    wrt: p.wrt,
    seeds: new Map([[logits.name, dlogits]]),
    prefix,
  });
  const { outNodes, outInfos, live } = gradOutputs(grads, facts, p.params, p.floatInputs);
  const step: Graph = {
    name: `${prefix}_step`,
    nodes: [
      ...p.trainNodes,
      ...lossCtx.nodes,
      ...ctx.nodes,
      identityOutput(loss, "loss"),
      ...outNodes,
    ],
    inputs: [...p.inputs, ...p.paramInfos, { name: targetName, dtype: ti.dtype, shape: ti.shape }],
    outputs: [
      { name: "loss", dtype: logits.dtype, shape: [] },
      logits,
      ...outInfos,
      ...p.updateInfos,
    ],
    initializers: new Map([...p.trainConsts, ...lossCtx.initializers, ...ctx.initializers]),
    valueInfo: new Map(),
  };
  return {
    ...commonParts(p, live),
    saved: [],
    step: toModel(p.model, opset, step),
    hasLoss: true,
    targetName,
    inputGradNames: p.floatInputs.map(gradName),
  };
}

/**
 * A segment without the loss: a `forward` graph that also outputs the tensors its backward
 * reads, and a `backward` graph from those and the gradient of each output (an input
 * `grad.<output>`) to the parameter and input gradients.
 */
function compileCutSegment(p: SegmentPlan): CompiledSegment {
  const { facts, opset, prefix, outputs, seg } = p;
  const seeds = new Map<string, string>();
  for (const out of outputs) {
    seeds.set(out.name, gradName(out.name));
    facts.set(gradName(out.name), { dtype: out.dtype, shape: out.shape && [...out.shape] });
  }
  const { grads, ctx } = differentiate({ ...p.infer, nodes: p.trainNodes }, facts, opset, {
    wrt: p.wrt,
    seeds,
    prefix,
  });
  const { outNodes, outInfos, live } = gradOutputs(grads, facts, p.params, p.floatInputs);
  const seedNames = new Set(seeds.values());
  const bwdNodes = shareShapeReads(
    [...ctx.nodes, ...outNodes],
    facts,
    (t) => !ctx.initializers.has(t) && !seedNames.has(t),
  );
  const referenced = backwardReads(bwdNodes, ctx.initializers);
  const saved = [...referenced].filter((t) =>
    !seedNames.has(t) && !p.params.has(t) && !p.buffers.has(t) && !p.trainConsts.has(t)
  );
  const forward: Graph = {
    ...p.infer,
    name: `${prefix}_forward`,
    nodes: p.trainNodes,
    initializers: new Map(p.trainConsts),
    outputs: [
      ...outputs,
      ...saved.filter((t) => !seg.outputs.includes(t) && !seg.inputs.includes(t)).map((t) =>
        valueInfo(facts, t)
      ),
      ...p.updateInfos,
    ],
  };
  const backward: Graph = {
    name: `${prefix}_backward`,
    nodes: bwdNodes,
    inputs: [
      ...saved.map((t) => valueInfo(facts, t)),
      ...p.paramInfos.filter((v) => referenced.has(v.name)),
      ...[...seedNames].map((t) => valueInfo(facts, t)),
    ],
    outputs: outInfos,
    initializers: new Map([
      ...[...p.trainConsts].filter(([n]) => referenced.has(n)),
      ...ctx.initializers,
    ]),
    valueInfo: new Map(),
  };
  return {
    ...commonParts(p, live),
    saved,
    forward: toModel(p.model, opset, forward),
    backward: toModel(p.model, opset, backward),
    hasLoss: false,
    inputGradNames: p.floatInputs.filter((t) => live.has(t)).map(gradName),
  };
}

/**
 * The tensors the backward nodes read from outside themselves (saved forward tensors,
 * parameters, constants, seeds), in first-read order; their own initializers excluded.
 */
function backwardReads(nodes: Node[], initializers: ReadonlyMap<string, Tensor>): Set<string> {
  const produced = new Set(nodes.flatMap((n) => n.outputs));
  const referenced = new Set<string>();
  for (const n of nodes) {
    for (const t of n.inputs) {
      if (t && !produced.has(t) && !initializers.has(t)) referenced.add(t);
    }
  }
  return referenced;
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
