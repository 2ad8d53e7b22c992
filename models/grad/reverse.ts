/**
 * Reverse-mode differentiation of a graph: walks the nodes backwards from the seeded
 * outputs, calling each op's rule, and sums the contributions reaching each tensor.
 * Only nodes on a path from a differentiated tensor to a seeded output are visited, so
 * shape arithmetic, labels and frozen branches cost nothing.
 *
 * @example
 * ```ts
 * import { differentiate } from "./reverse.ts";
 * import { addNode, emptyGraph } from "../graph/ir.ts";
 * import { inferShapes } from "../graph/infer_shapes.ts";
 * const g = emptyGraph("tiny");
 * g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 3] });
 * addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["y"] });
 * const facts = inferShapes(g, 17);
 * facts.set("dy", { dtype: "float32", shape: ["N", 3] });
 * const { grads, ctx } = differentiate(g, facts, 17, { wrt: ["x"], seeds: new Map([["y", "dy"]]) });
 * console.log(grads.has("x"), ctx.nodes.length > 0); // true true
 * ```
 * @module
 */
import type { Graph, Node } from "../graph/ir.ts";
import type { Facts } from "../graph/infer_shapes.ts";
import { GradContext, GradError } from "./context.ts";
import { GRAD_RULES, NON_DIFFERENTIABLE } from "./rules/mod.ts";
import { isFloatDType } from "../dtypes.ts";

/** What to differentiate. */
export interface DifferentiateRequest {
  /** Tensors whose gradients are wanted (parameters, cut inputs). */
  wrt: readonly string[];
  /** Output tensor → name of the tensor holding dLoss/dOutput (must exist in `facts`). */
  seeds: ReadonlyMap<string, string>;
  /** Prefix of generated names (keep distinct per segment). */
  prefix?: string;
}

/** The result: gradient names (undefined where the loss does not depend on it). */
export interface Differentiated {
  grads: Map<string, string | undefined>;
  ctx: GradContext;
}

/** The part of a graph the reverse pass visits. */
export interface ActiveSet {
  /** Tensors that depend on a differentiated tensor. */
  requires: Set<string>;
  /** Tensors on a path to a seeded output. */
  contributes: Set<string>;
  /** Nodes on such a path, in reverse topological order. */
  active: Node[];
}

/**
 * Finds the nodes between `wrt` and `seeds`, and refuses an op on that path that has no
 * rule — before anything else is built, so the error names the op and its node.
 *
 * @throws {GradError} `UNSUPPORTED_OP`
 * @example
 * ```ts
 * import { findActive } from "./reverse.ts";
 * import { addNode, emptyGraph } from "../graph/ir.ts";
 * import { inferShapes } from "../graph/infer_shapes.ts";
 * const g = emptyGraph("tiny");
 * g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 3] });
 * addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["y"] });
 * const facts = inferShapes(g, 17);
 * facts.set("dy", { dtype: "float32", shape: ["N", 3] });
 * console.log(findActive(g, facts, ["x"], ["y"]).active.length); // 1
 * ```
 */
export function findActive(
  graph: Graph,
  facts: Facts,
  wrt: readonly string[],
  seeds: Iterable<string>,
): ActiveSet {
  const isFloat = (t: string) => isFloatDType(facts.get(t)?.dtype ?? "");
  // Forward sweep: which tensors depend on something we differentiate.
  const requires = new Set<string>(wrt);
  for (const n of graph.nodes) {
    if (NON_DIFFERENTIABLE.has(n.opType)) continue;
    if (n.inputs.some((t) => t && requires.has(t))) {
      for (const o of n.outputs) if (o && isFloat(o)) requires.add(o);
    }
  }
  // Backward sweep: which of those feed a seeded output.
  const contributes = new Set<string>([...seeds].filter((t) => requires.has(t)));
  const active: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (!n.outputs.some((o) => contributes.has(o))) continue;
    if (NON_DIFFERENTIABLE.has(n.opType)) continue;
    const ins = n.inputs.filter((t) => t && requires.has(t));
    if (ins.length === 0) continue;
    active.push(n);
    for (const t of ins) contributes.add(t);
  }
  for (const n of active) {
    if (!GRAD_RULES.has(n.opType) || n.domain !== "") {
      throw new GradError(
        "UNSUPPORTED_OP",
        `node ${JSON.stringify(n.name)}: op ${
          n.domain ? n.domain + "." : ""
        }${n.opType} has no gradient rule ` +
          `(supported: ${[...GRAD_RULES.keys()].sort().join(", ")})`,
      );
    }
  }
  return { requires, contributes, active };
}

/**
 * Builds the backward nodes of `graph` into a new {@linkcode GradContext}.
 *
 * @throws {GradError} `UNSUPPORTED_OP` naming the op type and node when an op on the path
 *   has no rule.
 * @example
 * ```ts
 * import { differentiate } from "./reverse.ts";
 * import { addNode, emptyGraph } from "../graph/ir.ts";
 * import { inferShapes } from "../graph/infer_shapes.ts";
 * const g = emptyGraph("tiny");
 * g.inputs.push({ name: "x", dtype: "float32", shape: ["N", 3] });
 * addNode(g, { opType: "Relu", inputs: ["x"], outputs: ["y"] });
 * const facts = inferShapes(g, 17);
 * facts.set("dy", { dtype: "float32", shape: ["N", 3] });
 * const { grads } = differentiate(g, facts, 17, { wrt: ["x"], seeds: new Map([["y", "dy"]]) });
 * console.log(typeof grads.get("x")); // "string": the name of dL/dx in the emitted nodes
 * ```
 */
export function differentiate(
  graph: Graph,
  facts: Facts,
  opset: number,
  req: DifferentiateRequest,
): Differentiated {
  const { requires, contributes, active } = findActive(graph, facts, req.wrt, req.seeds.keys());
  const ctx = new GradContext(facts, opset, req.prefix ?? "grad");
  ctx.setGraph(graph.nodes, [...req.seeds.keys(), ...graph.outputs.map((o) => o.name)]);
  const pending = new Map<string, string[]>();
  const push = (t: string, g: string) => {
    const list = pending.get(t);
    list ? list.push(g) : pending.set(t, [g]);
  };
  for (const [t, g] of req.seeds) if (requires.has(t)) push(t, g);
  for (const n of active) {
    const gy = n.outputs.map((o) => {
      const parts = pending.get(o);
      return parts ? ctx.accumulate(parts) : undefined;
    });
    if (gy.every((g) => g === undefined)) continue;
    const needs = n.inputs.map((t) => !!t && requires.has(t) && contributes.has(t));
    const gx = GRAD_RULES.get(n.opType)!(n, gy, ctx, needs);
    n.inputs.forEach((t, i) => {
      if (needs[i] && gx[i]) push(t, gx[i]!);
    });
  }
  const grads = new Map<string, string | undefined>();
  for (const w of req.wrt) {
    const parts = pending.get(w);
    grads.set(w, parts ? ctx.accumulate(parts) : undefined);
  }
  return { grads, ctx };
}
