/**
 * The NoPeek regulariser as an ONNX model: the sample distance correlation between a raw
 * batch X and its cut-layer activation Z, and its gradient with respect to Z, both as
 * standard `ai.onnx` operators — so the clinic runs it on the same engine as its segment.
 *
 * NoPeek (Vepakomma, Gupta, Dubey, Raskar, "NoPeek: Information leakage reduction to share
 * activations in distributed deep learning", ICDMW 2020, eq. 1) adds α·DCOR(X, Z) to the
 * clinic's loss. DCOR is the sample distance correlation of Székely, Rizzo & Bakirov
 * ("Measuring and testing dependence by correlation of distances", Ann. Statist. 35(6),
 * 2007, Definition 4), the plain one (the square root of dCov²/√(dVar²·dVar²)), as in the
 * paper's reference implementation:
 *
 * ```
 * a_kl = ‖X_k − X_l‖,  A = a − rowmean(a) − colmean(a) + mean(a)   (double centring)
 * b_kl = ‖Z_k − Z_l‖,  B likewise
 * dCov²(X, Z) = mean(A ∘ B),  dVar²(X) = mean(A ∘ A),  dVar²(Z) = mean(B ∘ B)
 * dCor(X, Z) = √( dCov²(X, Z) / √(dVar²(X)·dVar²(Z)) )
 * ```
 *
 * Pairwise distances are written with one MatMul per matrix (‖u − v‖² = ‖u‖² + ‖v‖² − 2u·v),
 * clamped at 0 against rounding, and taken as √(d² + ε): the Euclidean norm has a kink at
 * 0 (every diagonal entry), where its derivative is undefined; ε makes it smooth. The
 * gradient is not written by hand: {@linkcode differentiate} builds it from the forward
 * nodes with the same rules as every training graph.
 *
 * Inputs `x` (the raw batch, any shape [N, ...]) and `z` (the activation, [N, ...]);
 * outputs `dcor` (a scalar) and `grad.z` (d dCor / dZ, shaped like `z`).
 *
 * @example
 * ```ts
 * import { buildNoPeekModel } from "./nopeek.ts";
 * const m = buildNoPeekModel({ xShape: ["N", 1, 28, 28], zShape: ["N", 32, 7, 7] });
 * m.graph.outputs.map((o) => o.name); // ["dcor", "grad.z"]
 * ```
 * @module
 */
import type { Dim, Graph, Model } from "../graph/ir.ts";
import type { Facts } from "../graph/infer_shapes.ts";
import { tensor } from "../tensor.ts";
import { intAttr, intsAttr } from "../graph/ir.ts";
import { differentiate } from "../grad/reverse.ts";
import { GradContext } from "../grad/context.ts";
import { gradName } from "./compile.ts";

/** Options of {@linkcode buildNoPeekModel}. */
export interface NoPeekOptions {
  /** Shape of the raw batch, batch axis first (symbolic or static). */
  xShape: Dim[];
  /** Shape of the cut activation, batch axis first. */
  zShape: Dim[];
  /** ε in √(d² + ε) (default 1e-6). */
  epsilon?: number;
  /** `ai.onnx` opset of the graph (default 17). */
  opset?: number;
}

/** Input and output names of the NoPeek model. */
export const NOPEEK_NAMES = { x: "x", z: "z", dcor: "dcor", grad: gradName("z") } as const;

/**
 * Builds the NoPeek model: `(x, z) → (dcor, grad.z)`, float32.
 *
 * @throws {RangeError} when a shape has no batch axis or ε is not a finite number > 0
 * @example
 * ```ts
 * import { buildNoPeekModel } from "./nopeek.ts";
 * buildNoPeekModel({ xShape: ["N", 784], zShape: ["N", 64], epsilon: 1e-6 }).graph.nodes.length > 0; // true
 * ```
 */
export function buildNoPeekModel(opts: NoPeekOptions): Model {
  const opset = opts.opset ?? 17;
  const eps = opts.epsilon ?? 1e-6;
  if (!(eps > 0) || !Number.isFinite(eps)) {
    throw new RangeError(`nopeek: epsilon must be a finite number > 0, got ${eps}`);
  }
  for (const [what, s] of [["xShape", opts.xShape], ["zShape", opts.zShape]] as const) {
    if (s.length < 2) {
      throw new RangeError(
        `nopeek: ${what} [${s.join(", ")}] needs a batch axis and at least one feature axis`,
      );
    }
  }
  const { x, z, dcor, grad } = NOPEEK_NAMES;
  const facts: Facts = new Map([
    [x, { dtype: "float32", shape: [...opts.xShape] }],
    [z, { dtype: "float32", shape: [...opts.zShape] }],
  ]);
  const f = new GradContext(facts, opset, "nopeek");
  const epsName = f.scalar(eps), two = f.scalar(2), tiny = f.scalar(1e-12);

  // Double-centred distance matrix of the rows of `a` (Székely et al. 2007, eq. 2.8).
  const centred = (a: string): string => {
    const flat = f.emit1("Flatten", [a], { axis: intAttr(1) }, "flat");
    const sq = f.reduceSum(f.emit1("Mul", [flat, flat]), [1], true); // [N, 1]
    const gram = f.emit1("MatMul", [
      flat,
      f.emit1("Transpose", [flat], { perm: intsAttr([1, 0]) }),
    ]);
    const d2 = f.emit1("Sub", [
      f.emit1("Add", [sq, f.emit1("Transpose", [sq], { perm: intsAttr([1, 0]) })]),
      f.emit1("Mul", [gram, two]),
    ]);
    // Rounding can make a diagonal entry slightly negative; Relu clamps it to 0.
    const d = f.emit1("Sqrt", [f.emit1("Add", [f.emit1("Relu", [d2]), epsName])], {}, "dist");
    const rows = f.reduceMean(d, [1], true),
      cols = f.reduceMean(d, [0], true),
      all = f.reduceMean(d, [0, 1], true);
    return f.emit1("Add", [f.emit1("Sub", [f.emit1("Sub", [d, rows]), cols]), all], {}, "centred");
  };
  const mean = (t: string) => f.reduceMean(t, [0, 1], false);
  const A = centred(x), B = centred(z);
  const cov = mean(f.emit1("Mul", [A, B]));
  const varX = mean(f.emit1("Mul", [A, A])), varZ = mean(f.emit1("Mul", [B, B]));
  const r2 = f.emit1("Div", [
    cov,
    f.emit1("Sqrt", [f.emit1("Add", [f.emit1("Mul", [varX, varZ]), tiny])]),
  ]);
  // dCov² is a V-statistic, ≥ 0 in exact arithmetic; clamp rounding below 0 before √.
  const dc = f.emit1("Sqrt", [f.emit1("Add", [f.emit1("Relu", [r2]), tiny])], {}, "dcor");

  // d dCor / dZ: seed 1 at the scalar output, reverse pass over the nodes above.
  const one = f.constant(tensor("float32", [], new Float32Array([1])), "one");
  const forward: Graph = {
    name: "nopeek",
    nodes: f.nodes,
    inputs: [],
    outputs: [],
    initializers: f.initializers,
    valueInfo: new Map(),
  };
  const { grads, ctx } = differentiate(forward, facts, opset, {
    wrt: [z],
    seeds: new Map([[dc, one]]),
    prefix: "nopeek_grad",
  });
  const dz = grads.get(z)!;
  const out = (src: string, dst: string) => ({
    name: `out:${dst}`,
    opType: "Identity",
    domain: "",
    inputs: [src],
    outputs: [dst],
    attrs: {},
  });
  const graph: Graph = {
    name: "nopeek",
    nodes: [...f.nodes, ...ctx.nodes, out(dc, dcor), out(dz, grad)],
    inputs: [{ name: x, dtype: "float32", shape: [...opts.xShape] }, {
      name: z,
      dtype: "float32",
      shape: [...opts.zShape],
    }],
    outputs: [{ name: dcor, dtype: "float32", shape: [] }, {
      name: grad,
      dtype: "float32",
      shape: [...opts.zShape],
    }],
    initializers: new Map([...f.initializers, ...ctx.initializers]),
    valueInfo: new Map(),
  };
  return {
    irVersion: 8,
    opsets: new Map([["", opset]]),
    producerName: "splitgate",
    producerVersion: "0.1.0",
    graph,
  };
}
