/**
 * Rewrites the nodes whose training behaviour differs from inference into primitive ops,
 * so that the reverse pass differentiates them like any other graph and every engine runs
 * them (onnxruntime's web builds have no training kernels):
 *
 * - `BatchNormalization` uses the batch statistics (ONNX operator spec, training_mode = 1;
 *   PyTorch `train()`): y = (x − μ_B) / √(σ²_B + ε) · γ + β. The running statistics are
 *   updated as PyTorch does — r ← m·r + (1 − m)·s with the unbiased batch variance — and
 *   come out as extra outputs `<running stat>.next`, to be copied back after each step.
 * - `LSTM` and `GRU` are unrolled over their (static) time axis into primitive ops
 *   (unroll_recurrent.ts), so the existing gradient rules differentiate them.
 * - `Dropout` draws a fresh mask each run: y = x · [u ≥ p] / (1 − p), u ~ U(0, 1) from
 *   `RandomUniformLike`, seeded per node so a run is reproducible.
 *
 * The inference graphs keep the original nodes (running statistics, no dropout).
 *
 * @example
 * ```ts
 * import { lowerForTraining } from "./lower_training.ts";
 * // const { graph, buffers } = lowerForTraining(model.graph, 17, 42);
 * ```
 * @module
 */
import { tensor } from "../tensor.ts";
import {
  type Attr,
  floatAttr,
  getFloat,
  getInt,
  type Graph,
  intAttr,
  intsAttr,
  type Node,
} from "../graph/ir.ts";
import type { Facts } from "../graph/infer_shapes.ts";
import { RECURRENT_OPS, unrollRecurrent } from "./unroll_recurrent.ts";

/**
 * The ops {@linkcode lowerForTraining} rewrites into ops with gradient rules before the reverse
 * pass: BatchNormalization (batch statistics), Dropout (a mask of the same run), and the
 * recurrent ops LSTM and GRU (unrolled over time, unroll_recurrent.ts).
 *
 * @example
 * ```ts
 * import { TRAINING_LOWERED_OPS } from "./lower_training.ts";
 * TRAINING_LOWERED_OPS.has("LSTM"); // true
 * ```
 */
export const TRAINING_LOWERED_OPS: ReadonlySet<string> = new Set([
  "BatchNormalization",
  "Dropout",
  ...RECURRENT_OPS,
]);

/** A lowered graph and the buffers (running statistics) it updates. */
export interface Lowered {
  graph: Graph;
  /** Running statistic name → name of the output holding its next value. */
  bufferUpdates: Map<string, string>;
}

/** Suffix of the output carrying a running statistic's updated value. */
export const NEXT_SUFFIX = ".next";

/**
 * The running-statistics initializers of a graph's BatchNormalization nodes (inputs 3 and
 * 4): buffers, not trainable parameters.
 *
 * @example
 * ```ts
 * import { bufferNames } from "./lower_training.ts";
 * // bufferNames(model.graph) -> Set { "bn1.running_mean", "bn1.running_var" }
 * ```
 */
export function bufferNames(g: Graph): Set<string> {
  const out = new Set<string>();
  for (const n of g.nodes) {
    if (n.opType === "BatchNormalization") {
      for (const t of n.inputs.slice(3, 5)) if (t && g.initializers.has(t)) out.add(t);
    }
  }
  return out;
}

/**
 * Returns a copy of `g` with BatchNormalization and Dropout in training form. `facts`
 * must give the rank of each BatchNormalization input; `seed` seeds the dropout masks.
 *
 * @example
 * ```ts
 * import { lowerForTraining } from "./lower_training.ts";
 * // lowerForTraining(graph, facts, 17, 0).bufferUpdates
 * ```
 */
export function lowerForTraining(g: Graph, facts: Facts, opset: number, seed = 0): Lowered {
  const nodes: Node[] = [];
  const initializers = new Map(g.initializers);
  const bufferUpdates = new Map<string, string>();
  let k = 0;
  const fresh = (base: string, what: string) => `${base}/train_${what}#${k++}`;
  const emit = (
    opType: string,
    inputs: string[],
    attrs: Record<string, Attr> = {},
    out?: string,
  ) => {
    const name = out ?? fresh(inputs[0] ?? opType, opType);
    nodes.push({ name, opType, domain: "", inputs, outputs: [name], attrs });
    return name;
  };
  const constant = (base: string, value: number[] | bigint[]) => {
    const name = fresh(base, "const");
    initializers.set(
      name,
      typeof value[0] === "bigint"
        ? tensor("int64", [value.length], BigInt64Array.from(value as bigint[]))
        : tensor("float32", [], new Float32Array(value as number[])),
    );
    return name;
  };
  for (const n of g.nodes) {
    if (RECURRENT_OPS.has(n.opType) && n.domain === "") {
      const u = unrollRecurrent(n, facts, opset);
      nodes.push(...u.nodes);
      for (const [name, t] of u.initializers) initializers.set(name, t);
      continue;
    }
    if (n.opType === "BatchNormalization" && n.domain === "") {
      const [x, scale, bias, mean, variance] = n.inputs;
      const rank = facts.get(x)?.shape?.length;
      if (!rank) {
        throw new TypeError(
          `node ${JSON.stringify(n.name)} (BatchNormalization): input rank unknown`,
        );
      }
      const eps = getFloat(n, "epsilon", 1e-5), momentum = getFloat(n, "momentum", 0.9);
      const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
      const reduceMean = (t: string) =>
        opset >= 18
          ? emit("ReduceMean", [t, constant(t, axes.map(BigInt))], { keepdims: intAttr(1) })
          : emit("ReduceMean", [t], { axes: intsAttr(axes), keepdims: intAttr(1) });
      const mu = reduceMean(x);
      const xc = emit("Sub", [x, mu]);
      const v = reduceMean(emit("Mul", [xc, xc]));
      const inv = emit("Reciprocal", [emit("Sqrt", [emit("Add", [v, constant(x, [eps])])])]);
      const xhat = emit("Mul", [xc, inv]);
      const bcast = (t: string) =>
        emit("Unsqueeze", [t, constant(t, axes.filter((a) => a !== 1).map(BigInt))]);
      emit("Add", [emit("Mul", [xhat, bcast(scale)]), bcast(bias)], {}, n.outputs[0]);
      if (g.initializers.has(mean) && g.initializers.has(variance)) {
        // Running statistics, as torch.nn.BatchNorm updates them (unbiased variance).
        const flat = (t: string) => emit("Squeeze", [t, constant(t, axes.map(BigInt))]);
        const count = emit("Div", [
          emit("Cast", [emit("Size", [x])], { to: intAttr(1) }),
          emit("Cast", [emit("Size", [mu])], { to: intAttr(1) }),
        ]);
        const unbias = emit("Div", [count, emit("Sub", [count, constant(x, [1])])]);
        const mom = constant(x, [momentum]), rest = constant(x, [1 - momentum]);
        const upd = (run: string, batch: string) =>
          emit("Add", [emit("Mul", [run, mom]), emit("Mul", [batch, rest])], {}, run + NEXT_SUFFIX);
        upd(mean, flat(mu));
        upd(variance, emit("Mul", [flat(v), unbias]));
        bufferUpdates.set(mean, mean + NEXT_SUFFIX);
        bufferUpdates.set(variance, variance + NEXT_SUFFIX);
      }
      continue;
    }
    if (n.opType === "Dropout" && n.domain === "") {
      const [x, ratioName] = n.inputs;
      let ratio = 0.5;
      if (ratioName) {
        const r = g.initializers.get(ratioName) ?? constantValue(g, ratioName);
        if (r === undefined) {
          throw new TypeError(`node ${JSON.stringify(n.name)} (Dropout): ratio must be constant`);
        }
        ratio = Number(r.data[0]);
      } else if (n.attrs.ratio) ratio = getFloat(n, "ratio");
      if (ratio <= 0) {
        emit("Identity", [x], {}, n.outputs[0]);
        continue;
      }
      const u = emit("RandomUniformLike", [x], {
        seed: floatAttr(seed * 1000 + k),
        dtype: intAttr(1),
      });
      const keep = emit("GreaterOrEqual", [u, constant(x, [ratio])]);
      const mask = emit("Cast", [keep], { to: intAttr(1) });
      emit("Mul", [emit("Mul", [x, mask]), constant(x, [1 / (1 - ratio)])], {}, n.outputs[0]);
      if (n.outputs[1]) emit("Identity", [keep], {}, n.outputs[1]);
      continue;
    }
    nodes.push(n);
  }
  void getInt;
  return { graph: { ...g, nodes, initializers }, bufferUpdates };
}

function constantValue(g: Graph, name: string) {
  const c = g.nodes.find((n) => n.opType === "Constant" && n.outputs[0] === name);
  const a = c?.attrs.value;
  return a?.type === "tensor" ? a.value : undefined;
}
