/**
 * Data-dependent shapes, computed at the first batch rather than refused. Shape inference
 * follows a symbolic batch through shape arithmetic (models/graph/shape_rules/dim_arith.ts),
 * but a shape read from the data itself (a Reshape target fed as an input, NonZero, a size
 * computed from values) has no rule; the gradient rules that need it refuse with `GradError`
 * `UNKNOWN_SHAPE`. Here the model's forward runs once on the batch with those tensors as extra
 * outputs, and their measured shapes (and, for small integer tensors, values) fill the gaps
 * when the training graphs are built again ({@linkcode compileAtBatch}). Where a rule needs a
 * graph input's symbolic axis itself to be a number (LSTM and GRU unroll a sequence length
 * given as `T`), that axis is fixed to the batch's size, the batch axis last of all.
 *
 * The graphs built that way hold the measured sizes: they serve batches whose measured
 * tensors have the same shapes. {@linkcode compileAtBatch} says which tensors were measured
 * and which axes fixed, so a caller can rebuild for a batch of another size.
 *
 * @example
 * ```ts
 * import { compileAtBatch } from "./observe_shapes.ts";
 * // const { segments, measured } = await compileAtBatch(engine, model, { loss: "ce" }, feeds);
 * ```
 * @module
 */
import type { Model } from "../../models/graph/ir.ts";
import { type Facts, inferShapes } from "../../models/graph/infer_shapes.ts";
import { tensorValue } from "../../models/graph/shape_rules/facts.ts";
import { writeModel } from "../../models/onnx/write_model.ts";
import type { Tensor } from "../../models/tensor.ts";
import { GradError } from "../../models/grad/grad_error.ts";
import {
  type CompiledSegment,
  compileModel,
  type CompileOptions,
} from "../../models/train/compile.ts";
import type { Engine } from "../engine/engine_types.ts";

/**
 * The tensors of `model` whose shape inference leaves open: node outputs without a shape,
 * and small integer tensors (rank ≤ 1) without tracked values.
 *
 * @example
 * ```ts
 * import { openTensors } from "./observe_shapes.ts";
 * // openTensors(model) -> ["/Reshape_output_0", ...]
 * ```
 */
export function openTensors(model: Model): string[] {
  const facts = inferShapes(model.graph, model.opsets.get("") ?? 17);
  const open: string[] = [];
  for (const n of model.graph.nodes) {
    for (const o of n.outputs) {
      const f = o ? facts.get(o) : undefined;
      if (!o || !f) continue;
      const smallInt = (f.dtype === "int64" || f.dtype === "int32") && (f.shape?.length ?? 1) <= 1;
      if (!f.shape || (smallInt && !f.value)) open.push(o);
    }
  }
  return open;
}

/**
 * Runs the model's forward once on `feeds` with `names` as extra outputs and returns their
 * shapes, and the values of those that are small integer tensors.
 *
 * @example
 * ```ts
 * import { observeShapes } from "./observe_shapes.ts";
 * // (await observeShapes(engine, model, feeds, ["/Reshape_output_0"])).get("/Reshape_output_0")?.shape
 * ```
 */
export async function observeShapes(
  engine: Engine,
  model: Model,
  feeds: Readonly<Record<string, Tensor>>,
  names: readonly string[],
): Promise<Facts> {
  const facts = inferShapes(model.graph, model.opsets.get("") ?? 17);
  const extra = names.filter((n) => !model.graph.outputs.some((o) => o.name === n));
  const probe: Model = {
    ...model,
    graph: {
      ...model.graph,
      outputs: [
        ...model.graph.outputs,
        ...extra.map((name) => ({ name, dtype: facts.get(name)?.dtype ?? "float32" })),
      ],
    },
  };
  const session = await engine.load(writeModel(probe), { name: "shape probe" });
  try {
    const inputs: Record<string, Tensor> = {};
    for (const v of model.graph.inputs) inputs[v.name] = feeds[v.name];
    const out = await session.run(inputs, names);
    const observed: Facts = new Map();
    for (const name of names) {
      const t = out[name];
      observed.set(name, { dtype: t.dtype, shape: t.dims.map(Number), value: tensorValue(t) });
    }
    return observed;
  } finally {
    await session.release();
  }
}

/**
 * What {@linkcode compileAtBatch} built: the segments, the tensors it measured and the input
 * axes it fixed to this batch's sizes (`"x axis 1 = 6"`); both empty when the graphs are
 * general.
 */
export interface BatchCompiled {
  segments: CompiledSegment[];
  measured: string[];
  pinned: string[];
}

/**
 * `model` with its inputs' symbolic axes set to the sizes of `feeds` (axis 0, the batch, kept
 * symbolic unless `batchToo`), and a line per axis fixed.
 *
 * @example
 * ```ts
 * import { pinInputs } from "./observe_shapes.ts";
 * // pinInputs(model, { x }, false).pinned -> ["x axis 1 = 6"]
 * ```
 */
export function pinInputs(
  model: Model,
  feeds: Readonly<Record<string, Tensor>>,
  batchToo: boolean,
): { model: Model; pinned: string[] } {
  const pinned: string[] = [];
  const inputs = model.graph.inputs.map((v) => {
    const t = feeds[v.name];
    if (!t || !v.shape) return v;
    const shape = v.shape.map((d, i) => {
      if (typeof d === "number" || (i === 0 && !batchToo)) return d;
      pinned.push(`${v.name} axis ${i} = ${t.dims[i]}`);
      return Number(t.dims[i]);
    });
    return { ...v, shape };
  });
  return { model: { ...model, graph: { ...model.graph, inputs } }, pinned };
}

/** compileModel, or `undefined` where it refuses a shape it cannot infer. */
function tryCompile(model: Model, opts: CompileOptions): CompiledSegment[] | undefined {
  try {
    return compileModel(model, opts);
  } catch (e) {
    if (e instanceof GradError && e.code === "UNKNOWN_SHAPE") return undefined;
    throw e;
  }
}

/**
 * `compileModel`, and where it refuses a shape it cannot infer (`GradError` `UNKNOWN_SHAPE`),
 * the same built for this batch: first with the open tensors measured on it, then also with
 * the inputs' symbolic axes other than the batch (a sequence length, say) fixed to its sizes,
 * then with the batch axis fixed too.
 *
 * @throws {GradError} what `compileModel` throws for any other reason, or `UNKNOWN_SHAPE`
 *   when even a graph built for this batch's sizes cannot be inferred
 * @example
 * ```ts
 * import { compileAtBatch } from "./observe_shapes.ts";
 * // const { segments, measured, pinned } = await compileAtBatch(engine, model, { loss: "ce" }, feeds);
 * // measured.length + pinned.length > 0: the graphs hold this batch's sizes
 * ```
 */
export async function compileAtBatch(
  engine: Engine,
  model: Model,
  opts: CompileOptions,
  feeds: Readonly<Record<string, Tensor>>,
): Promise<BatchCompiled> {
  const general = tryCompile(model, opts);
  if (general) return { segments: general, measured: [], pinned: [] };
  const measuredOnly = await buildAt(engine, { model, pinned: [] }, opts, feeds, false);
  if (measuredOnly) return measuredOnly;
  const batchKept = pinInputs(model, feeds, false);
  if (batchKept.pinned.length) {
    const built = await buildAt(engine, batchKept, opts, feeds, false);
    if (built) return built;
  }
  return (await buildAt(engine, pinInputs(model, feeds, true), opts, feeds, true))!;
}

/** One attempt of {@linkcode compileAtBatch}: measure the open tensors of `p.model`, compile. */
async function buildAt(
  engine: Engine,
  p: { model: Model; pinned: string[] },
  opts: CompileOptions,
  feeds: Readonly<Record<string, Tensor>>,
  last: boolean,
): Promise<BatchCompiled | undefined> {
  const measured = openTensors(p.model);
  const observed = measured.length
    ? await observeShapes(engine, p.model, feeds, measured)
    : undefined;
  const o = { ...opts, observed };
  const segments = last ? compileModel(p.model, o) : tryCompile(p.model, o);
  return segments && { segments, measured, pinned: p.pinned };
}
