/**
 * Test helper: checks the gradient graphs that {@linkcode compileModel} builds against
 * central finite differences of the loss, op by op.
 *
 * A case is a tiny ONNX model written with the graph IR: its float graph inputs are
 * differentiated (`inputGrads: true`) and its float initializers of rank ≥ 1 become
 * parameters, so every float tensor entering the op under test gets a `grad.<name>`
 * output from the fused `step` graph. The reference is the loss evaluated at
 * x ± h·v, for
 *
 * - several random directions v per tensor: (L(x+hv) − L(x−hv)) / 2h ≈ ⟨∇L, v⟩, and
 * - single elements (v = eᵢ): every element of a small tensor, a random sample of a large
 *   one, so a local error (one border cell of a pooling window) cannot hide in a sum.
 *
 * Why the comparison can be tight in float32 (ONNX Runtime's CPU kernels for Conv and
 * ConvTranspose exist in float32 only, so float64 is not an option for every op):
 *
 * 1. Exact perturbations. Tensors are drawn on the grid 2⁻¹² with |x| < 16 and directions
 *    as k/64 (|k| ≤ 64), with h = 2⁻⁶ and h/2: then x ± h·v is a multiple of 2⁻¹⁴ below
 *    2⁴ in magnitude, i.e. needs < 19 significant bits, so it is exact in float32 and the
 *    perturbation the engine sees is exactly the one the check assumes.
 * 2. The loss is evaluated in float64. For `mse` the host computes L = mean((y − t)²)
 *    from the float32 output y of the `step` graph (its forward is the training one:
 *    BatchNormalization on batch statistics), so the only rounding is in y itself:
 *    |δL| ≲ Σⱼ |∂L/∂yⱼ|·|δyⱼ| with |δyⱼ| ≲ c·u·(|yⱼ| + 1) (u = 2⁻²⁴; c ≈ √K for the
 *    K-term sums of these tiny ops, K ≤ 36 here, so c = 8; the "+1" covers intermediates
 *    of order 1). The harness computes that bound for every case (`noise`) and adds the
 *    noise of the extrapolated difference, ≈ 3·noise/h, to the tolerance. Measured errors
 *    of the directional checks are ~1e-5 relative; of the element checks ~1e-7.
 * 3. Truncation. Central differences are exact for quadratics, and L is quadratic in any
 *    one tensor for linear ops (Conv, Gemm, pools, shape ops). For smooth nonlinear ops the
 *    O(h²) term is removed by Richardson extrapolation, D = (4·D(h/2) − D(h)) / 3, leaving
 *    O(h⁴) ≈ 6e-8·|L⁽⁵⁾|.
 * 4. Kinks. Relu, LeakyRelu, Abs, Clip and MaxPool are piecewise smooth; draws keep every
 *    value ≥ 0.05 away from a kink and pooled values ≥ 0.0625 apart, more than the largest
 *    perturbation h·max|v| = 2⁻⁶ ≈ 0.0156, so no difference straddles a kink.
 *
 * What remains is the float32 rounding of the analytic gradient (≈ 1e-6 relative) and of
 * the forward pass; the default relative tolerance is `rtol` = 2e-3 on each check, with a
 * floor of 0.1·(typical size of that check's value) so a direction nearly orthogonal to
 * ∇L is not judged on its rounding noise: |fd − an| ≤ rtol·(|an| + floor) + noise/h.
 * A gradient off by 10 % (the sanity test scales one by 1.1) fails by a factor of ~50.
 *
 * @example
 * ```ts
 * import { assertGradients, makeRng, rand } from "./fd_harness.ts";
 * import { createEngine } from "../../../runtime/engine/mod.ts";
 * const engine = await createEngine("native");
 * const rng = makeRng(1);
 * await assertGradients(engine, {
 *   name: "Tanh",
 *   inputs: { x: rand(rng, [2, 3]) },
 *   nodes: [{ opType: "Tanh", inputs: ["x"], outputs: ["y"] }],
 *   output: "y",
 * });
 * await engine.dispose();
 * ```
 * @module
 */
import { AssertionError } from "node:assert";
import {
  addNode,
  type Dim,
  emptyGraph,
  type Model,
  type NodeSpec,
} from "../../../models/graph/ir.ts";
import type { LossKind } from "../../../models/grad/loss.ts";
import { writeModel } from "../../../models/onnx/write_model.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { type CompiledSegment, compileModel, gradName } from "../../../models/train/compile.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import type { Engine, Session } from "../../../runtime/engine/engine.ts";

/** The grid every differentiated tensor lives on (module doc, point 1). @example `Math.round(x / GRID) * GRID` */
export const GRID = 2 ** -12;
/** Largest magnitude a differentiated value may have for x ± h·v to stay exact. @example `Math.abs(x) < MAX_ABS` */
export const MAX_ABS = 16;
/** The finite-difference step h (the extrapolation also uses h/2). @example `(lPlus - lMinus) / (2 * STEP)` */
export const STEP = 2 ** -6;
const U32 = 2 ** -24;

/**
 * A one-op (or few-op) model to differentiate.
 *
 * @example
 * ```ts
 * import { type GradCase, makeRng, rand } from "./fd_harness.ts";
 * const c: GradCase = {
 *   name: "Relu",
 *   inputs: { x: rand(makeRng(1), [2, 3], { away: 0.05 }) },
 *   nodes: [{ opType: "Relu", inputs: ["x"], outputs: ["y"] }],
 *   output: "y",
 * };
 * ```
 */
export interface GradCase {
  /** Names the case in failure messages. */
  name: string;
  /** The graph's nodes, in topological order. */
  nodes: NodeSpec[];
  /** Graph inputs fed at run time; the float ones are differentiated. */
  inputs?: Record<string, Tensor>;
  /** Float initializers of rank ≥ 1: they become parameters and are differentiated. */
  weights?: Record<string, Tensor>;
  /** Other initializers (indices, shapes, scalar bounds): never differentiated. */
  constants?: Record<string, Tensor>;
  /** The graph output (the "logits" the loss is applied to). */
  output: string;
  /** `ai.onnx` opset (default 17). */
  opset?: number;
  /** Declares dim 0 of every graph input symbolic under this name (e.g. `"N"`). */
  batchDim?: string;
  /** The loss (default `mse`). */
  loss?: LossKind;
  /**
   * Where finite differences read the loss: `host` (mse only, default for it) recomputes
   * it in float64 from the step graph's output; `step` reads the step graph's float32 `loss`
   * (the only choice for bce and ce, and the way to test a loss head itself).
   */
  lossFrom?: "host" | "step";
  /** The target; default: standard normals of the output's shape (mse), or see {@linkcode defaultTarget}. */
  target?: Tensor;
  /** Extra `compileModel` options. */
  frozen?: string[];
}

/** Tuning of {@linkcode checkGradients}. @example `{ directions: 8, rtol: 1e-3 }` */
export interface CheckOptions {
  /** Random directions per tensor (default 4). */
  directions?: number;
  /** Tensors up to this many elements get every element checked (default 96). */
  fullBelow?: number;
  /** Elements sampled from larger tensors (default 16). */
  sampled?: number;
  /** Relative tolerance of each check (default 2e-3; see the module doc). */
  rtol?: number;
  /** Seed of the directions and samples (default 7). */
  seed?: number;
}

/** A compiled, loaded case with its analytic gradients. @example `(await prepareCase(engine, c)).grads.get("x")` */
export interface PreparedCase {
  case: GradCase;
  segment: CompiledSegment;
  /** The base feeds: inputs, parameters and buffers (running statistics). */
  feeds: Record<string, Tensor>;
  target: Tensor;
  /** The step graph's loss at the base point. */
  stepLoss: number;
  /** The step graph's output ("logits") at the base point. */
  output: Tensor;
  /** The loaded step graph (feeds: {@linkcode feeds} and the target). */
  step: Session;
  /** All outputs of the step graph at the base point (loss, logits, gradients, `*.next`). */
  stepOutputs: Record<string, Tensor>;
  /** Analytic gradients from the step graph, by differentiated tensor. */
  grads: Map<string, Float64Array>;
  /** Bound on the rounding error of one loss evaluation (module doc, point 2). */
  noise: number;
  /** The loss at the base feeds with some float tensors replaced (float64 for mse). */
  lossAt(replace: Record<string, Float32Array>): Promise<number>;
  /** Frees the sessions. */
  release(): Promise<void>;
}

/** One comparison of a finite difference with the analytic value. @example `{ tensor: "w", what: "[3]", fd: 0.5, analytic: 0.5, tol: 1e-3, ok: true }` */
export interface CheckRecord {
  tensor: string;
  /** `dir#k` for a random direction, `[i]` for element i (flat index). */
  what: string;
  fd: number;
  analytic: number;
  tol: number;
  ok: boolean;
}

/** The outcome of {@linkcode checkGradients}. @example `report.ok || console.log(report.failures)` */
export interface CheckReport {
  ok: boolean;
  /** The largest |fd − analytic| / tol over all checks (< 1 when ok). */
  worst: number;
  records: CheckRecord[];
  /** Human-readable list of the failed checks (empty when ok). */
  failures: string[];
}

/**
 * A seeded random source for cases (runtime/data/rng.ts: xoroshiro128+).
 *
 * @example
 * ```ts
 * import { makeRng } from "./fd_harness.ts";
 * const rng = makeRng(3);
 * ```
 */
export function makeRng(seed: number): Rng {
  return new Rng(seed);
}

/** How {@linkcode rand} draws values. @example `{ lo: 0.25, hi: 3 }` */
export interface RandOptions {
  /** Uniform range (default [-2, 2]). */
  lo?: number;
  hi?: number;
  /** Redraw values closer than this to 0 (kinks of Relu, Abs, ...) and to `avoid`. */
  away?: number;
  /** Further kinks to keep `away` from (Clip bounds). */
  avoid?: number[];
  /** Distinct values ≥ 0.0625 apart, none within 0.03 of 0 (MaxPool ties). */
  distinct?: boolean;
}

/**
 * A float32 tensor of random values on the grid 2⁻¹² (so finite differences are exact).
 *
 * @example
 * ```ts
 * import { makeRng, rand } from "./fd_harness.ts";
 * const x = rand(makeRng(1), [2, 3], { away: 0.05 });
 * ```
 */
export function rand(rng: Rng, dims: number[], o: RandOptions = {}): Tensor<"float32"> {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  if (o.distinct) {
    if (n > 96) throw new RangeError(`distinct draws need at most 96 elements, got ${n}`);
    const order = rng.shuffle([...Array(n).keys()]);
    for (let i = 0; i < n; i++) data[i] = (order[i] - n / 2 + 0.5) * 0.0625;
  } else {
    const lo = o.lo ?? -2, hi = o.hi ?? 2, away = o.away ?? 0;
    const kinks = [0, ...(o.avoid ?? [])];
    if (Math.max(Math.abs(lo), Math.abs(hi)) >= MAX_ABS) {
      throw new RangeError(`values must stay below ${MAX_ABS}`);
    }
    for (let i = 0; i < n; i++) {
      let v: number;
      do v = Math.round((lo + (hi - lo) * rng.float()) / GRID) * GRID; while (
        kinks.some((q) => Math.abs(v - q) < away) || v < lo || v > hi
      );
      data[i] = v;
    }
  }
  return tensor("float32", dims, data);
}

/**
 * An int64 tensor.
 *
 * @example
 * ```ts
 * import { int64 } from "./fd_harness.ts";
 * int64([3], [0, 2, 2]);
 * ```
 */
export function int64(dims: number[], values: number[]): Tensor<"int64"> {
  return tensor("int64", dims, BigInt64Array.from(values.map(BigInt)));
}

/**
 * A float32 tensor with given values (constants such as Clip bounds).
 *
 * @example
 * ```ts
 * import { f32 } from "./fd_harness.ts";
 * f32([], [0.5]);
 * ```
 */
export function f32(dims: number[], values: number[]): Tensor<"float32"> {
  return tensor("float32", dims, Float32Array.from(values));
}

/**
 * Builds the model of a case: inputs as graph inputs (dim 0 symbolic with `batchDim`),
 * weights and constants as initializers, opset 17 unless the case says otherwise.
 *
 * @example
 * ```ts
 * import { buildModel, makeRng, rand } from "./fd_harness.ts";
 * const m = buildModel({ name: "neg", inputs: { x: rand(makeRng(1), [2]) }, nodes: [{ opType: "Neg", inputs: ["x"], outputs: ["y"] }], output: "y" });
 * ```
 */
export function buildModel(c: GradCase): Model {
  const g = emptyGraph(c.name.replace(/[^A-Za-z0-9_]/g, "_"));
  for (const [name, t] of Object.entries(c.inputs ?? {})) {
    const shape: Dim[] = [...t.dims];
    if (c.batchDim && shape.length > 0) shape[0] = c.batchDim;
    g.inputs.push({ name, dtype: t.dtype, shape });
  }
  for (const [name, t] of Object.entries({ ...c.weights, ...c.constants })) {
    g.initializers.set(name, t);
  }
  c.nodes.forEach((spec, i) => addNode(g, { name: `${spec.opType}_${i}`, ...spec }));
  g.outputs.push({ name: c.output, dtype: "float32" });
  return {
    irVersion: 8,
    opsets: new Map([["", c.opset ?? 17]]),
    producerName: "fd_harness",
    producerVersion: "0",
    graph: g,
  };
}

/**
 * The default target of a loss for an output of shape `dims`: standard normals (mse),
 * uniform [0, 1] soft labels (bce), classes `(7i + 3) mod C` (ce).
 *
 * @example
 * ```ts
 * import { defaultTarget, makeRng } from "./fd_harness.ts";
 * defaultTarget("ce", [4, 3], makeRng(1)).data; // BigInt64Array [0, 1, 2, 0]
 * ```
 */
export function defaultTarget(kind: LossKind, dims: readonly number[], rng: Rng): Tensor {
  if (kind === "ce") {
    return int64(
      [dims[0]],
      [...Array(dims[0]).keys()].map((i) => (i * 7 + 3) % dims[1]),
    );
  }
  const n = dims.reduce((a, b) => a * b, 1);
  const data = Float32Array.from(
    { length: n },
    () => (kind === "bce" ? rng.float() : rng.normal()),
  );
  return tensor("float32", dims, data);
}

const isFloat = (t: Tensor) => t.dtype === "float32";

function checkGrid(caseName: string, name: string, t: Tensor): void {
  for (const v of t.data as Float32Array) {
    if (Math.abs(v) >= MAX_ABS || Math.round(v / GRID) * GRID !== v) {
      throw new RangeError(
        `${caseName}: tensor ${name} holds ${v}, off the grid 2^-12 or |x| >= ${MAX_ABS}; draw it with rand()`,
      );
    }
  }
}

/**
 * Compiles and loads a case, and runs the step graph once for the analytic gradients.
 *
 * @example
 * ```ts
 * // const p = await prepareCase(engine, myCase); p.grads.get("x")
 * ```
 */
export async function prepareCase(engine: Engine, c: GradCase): Promise<PreparedCase> {
  const kind = c.loss ?? "mse";
  const fromHost = (c.lossFrom ?? (kind === "mse" ? "host" : "step")) === "host";
  if (fromHost && kind !== "mse") {
    throw new TypeError(`${c.name}: lossFrom "host" needs loss mse, got ${kind}`);
  }
  const model = buildModel(c);
  const [segment] = compileModel(model, { loss: kind, inputGrads: true, frozen: c.frozen });
  const sessions: Session[] = [];
  const load = async (m: Model, what: string) => {
    const s = await engine.load(writeModel(m), { name: `${c.name}.${what}` });
    sessions.push(s);
    return s;
  };
  const infer = await load(segment.infer, "infer");
  const step = await load(segment.step!, "step");
  const feeds: Record<string, Tensor> = { ...c.inputs };
  for (const [k, v] of segment.params) feeds[k] = v;
  for (const [k, v] of segment.buffers) feeds[k] = v;
  const diffTensors = Object.keys(feeds).filter((k) =>
    isFloat(feeds[k]) && !(c.frozen ?? []).includes(k) && !segment.buffers.has(k)
  );
  for (const k of diffTensors) checkGrid(c.name, k, feeds[k]);
  const output = (await infer.run(feeds))[c.output];
  const target = c.target ?? defaultTarget(kind, output.dims, makeRng(99));
  const out = await step.run({ ...feeds, [segment.targetName!]: target });
  const grads = new Map<string, Float64Array>();
  for (const k of diffTensors) {
    const gt = out[gradName(k)];
    if (!gt) {
      throw new AssertionError({
        message: `${c.name}: the step graph has no output ${gradName(k)} (outputs: ${
          Object.keys(out).join(", ")
        })`,
      });
    }
    if (gt.dims.join() !== feeds[k].dims.join()) {
      throw new AssertionError({
        message: `${c.name}: ${gradName(k)} has dims [${gt.dims}], expected [${feeds[k].dims}]`,
      });
    }
    grads.set(k, Float64Array.from(gt.data as Float32Array));
  }
  const y = output.data as Float32Array;
  const t = target.data as Float32Array;
  let noise = 0;
  if (fromHost) {
    for (let j = 0; j < y.length; j++) {
      noise += Math.abs((2 * (y[j] - t[j])) / y.length) * (Math.abs(y[j]) + 1);
    }
    noise *= 8 * U32;
  } else {
    // The step graph's own float32 loss: its rounding is ≈ u·|L| per reduction level.
    noise = 8 * U32 * (Math.abs(Number(out.loss.data[0])) + 1);
  }
  const lossAt = async (replace: Record<string, Float32Array>): Promise<number> => {
    const f: Record<string, Tensor> = { ...feeds };
    for (const [k, data] of Object.entries(replace)) f[k] = tensor("float32", feeds[k].dims, data);
    if (!fromHost) {
      return Number(
        (await step.run({ ...f, [segment.targetName!]: target }, ["loss"])).loss.data[0],
      );
    }
    const yy = (await step.run({ ...f, [segment.targetName!]: target }, [c.output]))[c.output]
      .data as Float32Array;
    let s = 0;
    for (let j = 0; j < yy.length; j++) s += (yy[j] - t[j]) ** 2;
    return s / yy.length;
  };
  return {
    case: c,
    segment,
    feeds,
    target,
    stepLoss: Number(out.loss.data[0]),
    output: out[c.output],
    step,
    stepOutputs: out,
    grads,
    noise,
    lossAt,
    release: async () => {
      for (const s of sessions) await s.release();
    },
  };
}

/**
 * Compares `grads` (normally `p.grads`; a test may pass altered ones) with finite
 * differences of `p`'s loss. Never throws on a mismatch: the report lists them.
 *
 * @example
 * ```ts
 * // const report = await checkGradients(p, p.grads); report.ok
 * ```
 */
export async function checkGradients(
  p: PreparedCase,
  grads: Map<string, Float64Array> = p.grads,
  o: CheckOptions = {},
): Promise<CheckReport> {
  const rng = makeRng(o.seed ?? 7);
  const rtol = o.rtol ?? 2e-3;
  const records: CheckRecord[] = [];
  // D = (4 D(h/2) − D(h)) / 3: Richardson removes the h² term (module doc, point 3).
  const derivative = async (name: string, v: Float64Array | number): Promise<number> => {
    const x = p.feeds[name].data as Float32Array;
    const at = async (h: number, sign: number) => {
      const data = Float32Array.from(x);
      if (typeof v === "number") data[v] += sign * h;
      else for (let i = 0; i < data.length; i++) data[i] += sign * h * v[i];
      return await p.lossAt({ [name]: data });
    };
    const d1 = ((await at(STEP, 1)) - (await at(STEP, -1))) / (2 * STEP);
    const d2 = ((await at(STEP / 2, 1)) - (await at(STEP / 2, -1))) / STEP;
    return (4 * d2 - d1) / 3;
  };
  // Noise of D: each difference carries ≤ 2·noise, amplified by 1/(2h) and 4/3·1/h.
  const noiseTol = (2 * p.noise) / (2 * STEP) / 3 + (4 / 3) * (2 * p.noise) / STEP;
  for (const [name, g] of grads) {
    const n = g.length;
    let norm2 = 0, maxAbs = 0;
    for (const v of g) {
      norm2 += v * v;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    const k = o.directions ?? 4;
    for (let d = 0; d < k; d++) {
      const v = Float64Array.from({ length: n }, () => (rng.int(129) - 64) / 64);
      let an = 0, vv = 0;
      for (let i = 0; i < n; i++) {
        an += g[i] * v[i];
        vv += v[i] * v[i];
      }
      const fd = await derivative(name, v);
      // Typical |⟨g, v⟩| for a random v: ‖g‖·‖v‖/√n.
      const floor = 0.1 * Math.sqrt(norm2 * vv / n);
      const tol = rtol * (Math.abs(an) + floor) + noiseTol * Math.max(...v.map(Math.abs));
      records.push({
        tensor: name,
        what: `dir#${d}`,
        fd,
        analytic: an,
        tol,
        ok: Math.abs(fd - an) <= tol,
      });
    }
    const full = n <= (o.fullBelow ?? 96);
    const picks = full
      ? [...Array(n).keys()]
      : [0, n - 1, ...Array.from({ length: (o.sampled ?? 16) - 2 }, () => rng.int(n))];
    for (const i of picks) {
      const fd = await derivative(name, i);
      const tol = rtol * (Math.abs(g[i]) + 0.1 * maxAbs) + noiseTol;
      records.push({
        tensor: name,
        what: `[${i}]`,
        fd,
        analytic: g[i],
        tol,
        ok: Math.abs(fd - g[i]) <= tol,
      });
    }
  }
  // A check on an all-zero gradient proves nothing: every tensor must move the loss.
  const failures: string[] = [];
  for (const name of grads.keys()) {
    const moved = records.some((r) => r.tensor === name && Math.abs(r.fd) > 1e-6);
    if (!moved) {
      failures.push(`${name}: the loss does not depend on it (every finite difference is ~0)`);
    }
  }
  for (const r of records.filter((r) => !r.ok)) {
    failures.push(
      `${r.tensor}${r.what.startsWith("[") ? r.what : ` ${r.what}`}: finite difference ${
        r.fd.toPrecision(7)
      }, ` +
        `analytic ${r.analytic.toPrecision(7)} (|diff| ${
          Math.abs(r.fd - r.analytic).toExponential(2)
        } > tol ${r.tol.toExponential(2)})`,
    );
  }
  const worst = Math.max(0, ...records.map((r) => Math.abs(r.fd - r.analytic) / r.tol));
  return { ok: failures.length === 0, worst, records, failures };
}

/**
 * Prepares `c`, checks every gradient against finite differences and throws an
 * `AssertionError` listing the failed checks (at most 12) when any fails.
 *
 * @example
 * ```ts
 * // await assertGradients(engine, { name: "Relu", inputs: { x }, nodes: [...], output: "y" });
 * ```
 */
export async function assertGradients(
  engine: Engine,
  c: GradCase,
  o: CheckOptions = {},
): Promise<CheckReport> {
  const p = await prepareCase(engine, c);
  try {
    const report = await checkGradients(p, p.grads, o);
    if (!report.ok) {
      const n = report.failures.length;
      throw new AssertionError({
        message: `${c.name}: ${n} of ${report.records.length} gradient checks failed:\n  ` +
          report.failures.slice(0, 12).join("\n  ") + (n > 12 ? `\n  … and ${n - 12} more` : ""),
      });
    }
    return report;
  } finally {
    await p.release();
  }
}
