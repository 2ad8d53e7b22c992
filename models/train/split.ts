/**
 * Cutting a model into segments at named tensors: segment k computes cut k from the
 * previous cut (segment 0 from the model's inputs), the last segment computes the model's
 * outputs. A cut must *separate* the graph: nothing but the cut tensor may cross it — no
 * skip connection over it, no raw input used after it, no weight shared across it — or
 * raw data or a clinic's weights would leave the clinic. Constant nodes (no inputs) are
 * copied into each segment that uses them.
 *
 * @example
 * ```ts
 * import { splitModel } from "./split.ts";
 * import { readModel } from "../onnx/read_model.ts";
 * const model = readModel(await Deno.readFile("tests/fixtures/models/pneumonia_cnn.onnx"));
 * const [front, back] = splitModel(model, ["/features/features.5/MaxPool_output_0"]);
 * console.log(front.outputs, back.index); // ["/features/features.5/MaxPool_output_0"] 1
 * ```
 * @module
 */
import type { Model, Node } from "../graph/ir.ts";
import { SplitError } from "./split_error.ts";
import { FLOAT_DTYPES } from "../dtypes.ts";

// SplitError moved to its own file; re-exported here so that existing imports keep working.
export {
  isSplitErrorCode,
  SPLIT_ERROR_CODES,
  SplitError,
  type SplitErrorCode,
} from "./split_error.ts";

/** One piece of a cut model. */
export interface Segment {
  /** Position from the model's inputs (0) to its outputs. */
  index: number;
  /** Nodes of this segment, in the model's order. */
  nodes: Node[];
  /** Tensors entering: the model's inputs (segment 0) or the previous cut. */
  inputs: string[];
  /** Tensors leaving: the next cut, or the model's outputs (last segment). */
  outputs: string[];
  /** Names of the initializers this segment uses. */
  initializers: string[];
}

/**
 * Splits `model` at `cuts` (ordered from input to output) into `cuts.length + 1` segments.
 *
 * @throws {SplitError} naming the cut and the offending tensor; `code` is one of
 *   {@linkcode SPLIT_ERROR_CODES}.
 * @example
 * ```ts
 * import { splitModel } from "./split.ts";
 * import { readModel } from "../onnx/read_model.ts";
 * const model = readModel(await Deno.readFile("tests/fixtures/models/ehr_mlp.onnx"));
 * console.log(splitModel(model, []).length); // 1: one segment holding the whole model
 * ```
 */
export function splitModel(model: Model, cuts: readonly string[]): Segment[] {
  const g = model.graph;
  const producer = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => o && producer.set(o, i)));
  const isConst = (n: Node) => n.inputs.filter(Boolean).length === 0;
  for (const c of cuts) {
    if (!producer.has(c)) {
      const names = g.nodes.flatMap((n) => n.outputs).filter((o) =>
        o && !g.outputs.some((v) => v.name === o)
      );
      throw new SplitError(
        "UNKNOWN_CUT",
        `cut tensor ${JSON.stringify(c)} is not produced by any node of the model; ` +
          `candidates: ${names.slice(0, 12).map((s) => JSON.stringify(s)).join(", ")}${
            names.length > 12 ? ", …" : ""
          }`,
      );
    }
  }
  const owner = new Array<number>(g.nodes.length).fill(-1);
  cuts.forEach((c, k) => {
    const stack = [producer.get(c)!];
    while (stack.length) {
      const i = stack.pop()!;
      if (owner[i] !== -1) {
        if (owner[i] === k || isConst(g.nodes[i])) continue;
        continue;
      }
      owner[i] = k;
      for (const t of g.nodes[i].inputs) {
        const p = producer.get(t);
        if (p !== undefined) stack.push(p);
      }
    }
    if (k > 0 && owner[producer.get(c)!] !== k) {
      throw new SplitError(
        "CUT_ORDER",
        `cut ${JSON.stringify(c)} comes before cut ${
          JSON.stringify(cuts[k - 1])
        }; list cuts from input to output`,
      );
    }
  });
  owner.forEach((o, i) => o === -1 && (owner[i] = cuts.length));
  const segments: Segment[] = [];
  const modelInputs = new Set(g.inputs.map((v) => v.name));
  for (let k = 0; k <= cuts.length; k++) {
    const nodes: Node[] = [];
    g.nodes.forEach((n, i) => {
      const uses = (j: number) =>
        g.nodes.some((m, mi) =>
          owner[mi] === j && !isConst(m) && m.inputs.some((t) => n.outputs.includes(t))
        );
      if (owner[i] === k || (isConst(n) && uses(k))) nodes.push(n);
    });
    const produced = new Set(nodes.flatMap((n) => n.outputs));
    const inputs = new Set<string>();
    const inits = new Set<string>();
    const allowed = k === 0 ? modelInputs : new Set([cuts[k - 1]]);
    for (const n of nodes) {
      for (const t of n.inputs) {
        if (!t || produced.has(t)) continue;
        if (g.initializers.has(t)) inits.add(t);
        else if (allowed.has(t)) inputs.add(t);
        else {
          const where = modelInputs.has(t)
            ? "a model input (raw data)"
            : "a tensor of an earlier segment";
          throw new SplitError(
            "CUT_CROSSING",
            `node ${JSON.stringify(n.name)} after cut ${JSON.stringify(cuts[k - 1])} reads ${
              JSON.stringify(t)
            }, ` +
              `${where}; only the cut tensor may cross a cut — choose a cut that separates the graph`,
          );
        }
      }
    }
    if (k > 0) inputs.add(cuts[k - 1]);
    segments.push({
      index: k,
      nodes,
      inputs: k === 0 ? g.inputs.map((v) => v.name).filter((n) => inputs.has(n)) : [...inputs],
      outputs: k < cuts.length ? [cuts[k]] : g.outputs.map((v) => v.name),
      initializers: [...inits],
    });
  }
  // A float weight used on both sides of a cut would have to travel: refuse.
  const seen = new Map<string, number>();
  for (const s of segments) {
    for (const name of s.initializers) {
      const t = g.initializers.get(name)!;
      const prev = seen.get(name);
      if (
        prev !== undefined &&
        FLOAT_DTYPES.has(t.dtype)
      ) {
        throw new SplitError(
          "SHARED_WEIGHT",
          `weight ${
            JSON.stringify(name)
          } is used by segments ${prev} and ${s.index}; weights cannot be shared across a cut`,
        );
      }
      seen.set(name, s.index);
    }
  }
  return segments;
}
