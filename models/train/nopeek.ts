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
import { gradName, identityOutput } from "./compile.ts";

/** Options of {@linkcode buildNoPeekModel}. */
export interface NoPeekOptions {
  /** Shape of the raw batch, batch axis first (symbolic or static). */
  xShape: Dim[];
  /** Shape of the cut activation, batch axis first. */
  zShape: Dim[];
  /** ε in √(d² + ε) (default 1e-6). */
  epsilon?: number;
  /**
   * Which sample dCor (default `"v"`):
   * - `"v"`: the V-statistic of Székely, Rizzo & Bakirov 2007 (double centring), as in the
   *   NoPeek paper. For a batch of tens of rows and high-dimensional X and Z it is biased far
   *   upwards (≈ 0.9 for independent 784- and 1568-dimensional rows at N = 64), so much of
   *   its gradient pushes on that bias rather than on the dependence.
   * - `"u"`: the bias-corrected estimator of Székely & Rizzo 2014 (U-centring, §2.2 and
   *   eq. 2.10), √max(R*², 0) with R*² unbiased for dCor²: it targets the dependence itself,
   *   and it is what `runtime/privacy/metrics.ts` reports as the bias-corrected dCor.
   *   Needs N ≥ 4.
   */
  estimator?: "v" | "u";
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
  const { opset, eps, estimator } = checkNoPeekOptions(opts);
  const { x, z } = NOPEEK_NAMES;
  const facts: Facts = new Map([
    [x, { dtype: "float32", shape: [...opts.xShape] }],
    [z, { dtype: "float32", shape: [...opts.zShape] }],
  ]);
  const f = new GradContext(facts, opset, "nopeek");
  const dc = emitDcor(f, eps, estimator);
  return noPeekModel(f, facts, opset, dc, opts);
}

/** The options with defaults filled in, or a RangeError naming the bad one. */
function checkNoPeekOptions(
  opts: NoPeekOptions,
): { opset: number; eps: number; estimator: "v" | "u" } {
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
  const estimator = opts.estimator ?? "v";
  if (estimator !== "v" && estimator !== "u") {
    throw new RangeError(`nopeek: estimator must be "v" or "u", got ${JSON.stringify(estimator)}`);
  }
  return { opset, eps, estimator };
}

/** Emits dCor(x, z) into `f` (module doc: distances, centring, ratio); returns its name. */
function emitDcor(f: GradContext, eps: number, estimator: "v" | "u"): string {
  const epsName = f.scalar(eps), two = f.scalar(2), tiny = f.scalar(1e-12);
  const dX = pairwiseDistances(f, NOPEEK_NAMES.x, epsName, two);
  const dZ = pairwiseDistances(f, NOPEEK_NAMES.z, epsName, two);
  const centre = estimator === "u" ? uCentring(f, dX, two) : (d: string) => doubleCentred(f, d);
  const A = centre(dX), B = centre(dZ);
  return dcorOfCentred(f, A, B, tiny, estimator);
}

/** Pairwise distances √(max(‖u − v‖², 0) + ε) of the rows of `a`, as an [N, N] tensor. */
function pairwiseDistances(f: GradContext, a: string, epsName: string, two: string): string {
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
  return f.emit1("Sqrt", [f.emit1("Add", [f.emit1("Relu", [d2]), epsName])], {}, "dist");
}

/** Double-centred distance matrix (Székely et al. 2007, eq. 2.8). */
function doubleCentred(f: GradContext, d: string): string {
  const rows = f.reduceMean(d, [1], true),
    cols = f.reduceMean(d, [0], true),
    all = f.reduceMean(d, [0, 1], true);
  return f.emit1("Add", [f.emit1("Sub", [f.emit1("Sub", [d, rows]), cols]), all], {}, "centred");
}

/**
 * U-centring (Székely & Rizzo 2014, eq. 2.6): Ã_ij = a_ij − a_i·/(n−2) − a_·j/(n−2) +
 * a_··/((n−1)(n−2)) off the diagonal, 0 on it. n and the diagonal mask come from X's side
 * (`dX`), which the gradient does not flow through; they are emitted once, here.
 */
function uCentring(f: GradContext, dX: string, two: string): (d: string) => string {
  const n = f.emit1(
    "Cast",
    [
      f.emit1("Shape", [dX], { start: intAttr(0), end: intAttr(1) }),
    ],
    { to: intAttr(1) },
    "n",
  ); // [1], float
  const one = f.scalar(1);
  const nm2 = f.emit1("Sub", [n, two]);
  const nm1nm2 = f.emit1("Mul", [f.emit1("Sub", [n, one]), nm2]);
  const offDiag = f.emit1("Sub", [one, f.emit1("EyeLike", [dX])], {}, "offdiag");
  return (d: string) => {
    const rows = f.emit1("Div", [f.reduceSum(d, [1], true), nm2]);
    const cols = f.emit1("Div", [f.reduceSum(d, [0], true), nm2]);
    const all = f.emit1("Div", [f.reduceSum(d, [0, 1], true), nm1nm2]);
    const c = f.emit1("Add", [f.emit1("Sub", [f.emit1("Sub", [d, rows]), cols]), all]);
    return f.emit1("Mul", [c, offDiag], {}, "ucentred");
  };
}

/** dCor from the centred matrices A and B: √(max(dCov²/√(dVar²·dVar²), 0) + floor). */
function dcorOfCentred(
  f: GradContext,
  A: string,
  B: string,
  tiny: string,
  estimator: "v" | "u",
): string {
  const mean = (t: string) => f.reduceMean(t, [0, 1], false);
  // Both estimators are ratios of sums over the same entries, so the normalising constant
  // (1/n² for the V-statistic, 1/(n(n−3)) for the U-statistic) cancels.
  const cov = mean(f.emit1("Mul", [A, B]));
  const varX = mean(f.emit1("Mul", [A, A])), varZ = mean(f.emit1("Mul", [B, B]));
  const r2 = f.emit1("Div", [
    cov,
    f.emit1("Sqrt", [f.emit1("Add", [f.emit1("Mul", [varX, varZ]), tiny])]),
  ]);
  // The V-statistic dCov² is ≥ 0 in exact arithmetic: clamp rounding below 0 before √. The
  // U-statistic R*² is negative about half the time for independent data (its expectation
  // is 0): max(R*², 0) as in metrics.ts, and a floor of 1e-4 under the √ so that its slope,
  // 1/(2√(R*² + floor)), stays below 50 as the dependence vanishes.
  const floor = estimator === "u" ? f.scalar(1e-4) : tiny;
  return f.emit1("Sqrt", [f.emit1("Add", [f.emit1("Relu", [r2]), floor])], {}, "dcor");
}

/**
 * The model `(x, z) → (dcor, grad.z)`: the forward nodes in `f`, then d dCor / dZ by the
 * reverse pass seeded with 1 at the scalar `dc`.
 */
function noPeekModel(
  f: GradContext,
  facts: Facts,
  opset: number,
  dc: string,
  opts: NoPeekOptions,
): Model {
  const { x, z, dcor, grad } = NOPEEK_NAMES;
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
  const graph: Graph = {
    name: "nopeek",
    nodes: [...f.nodes, ...ctx.nodes, identityOutput(dc, dcor), identityOutput(dz, grad)],
    inputs: [
      { name: x, dtype: "float32", shape: [...opts.xShape] },
      { name: z, dtype: "float32", shape: [...opts.zShape] },
    ],
    outputs: [
      { name: dcor, dtype: "float32", shape: [] },
      { name: grad, dtype: "float32", shape: [...opts.zShape] },
    ],
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
