/**
 * Data-dependent shapes, computed at the first batch rather than refused. Shape inference
 * follows a symbolic batch through shape arithmetic (models/graph/shape_rules/dim_arith.ts),
 * but a shape read from the data itself (a Reshape target fed as an input, NonZero, a size
 * computed from values) has no rule; the gradient rules that need it refuse with `GradError`
 * `UNKNOWN_SHAPE`. Here the model's forward runs once on the batch with those tensors as extra
 * outputs, and their measured shapes (and, for small integer tensors, values) fill the gaps
 * when the training graphs are built again ({@linkcode compileAtBatch}).
 *
 * The graphs built that way hold the measured sizes: they serve batches whose measured
 * tensors have the same shapes. {@linkcode compileAtBatch} says which tensors were measured so
 * a caller can rebuild for a batch of another size.
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

/** What {@linkcode compileAtBatch} built, and the tensors it measured (none: the graphs are general). */
export interface BatchCompiled {
  segments: CompiledSegment[];
  measured: string[];
}

/**
 * `compileModel`, and where it refuses a shape it cannot infer (`GradError` `UNKNOWN_SHAPE`),
 * the same after measuring the open tensors on this batch.
 *
 * @throws {GradError} what `compileModel` throws for any other reason, or `UNKNOWN_SHAPE` again
 *   when the measured shapes do not close the gap
 * @example
 * ```ts
 * import { compileAtBatch } from "./observe_shapes.ts";
 * // const { segments, measured } = await compileAtBatch(engine, model, { loss: "ce" }, feeds);
 * // measured.length > 0: the graphs hold this batch's sizes
 * ```
 */
export async function compileAtBatch(
  engine: Engine,
  model: Model,
  opts: CompileOptions,
  feeds: Readonly<Record<string, Tensor>>,
): Promise<BatchCompiled> {
  try {
    return { segments: compileModel(model, opts), measured: [] };
  } catch (e) {
    if (!(e instanceof GradError && e.code === "UNKNOWN_SHAPE")) throw e;
  }
  const measured = openTensors(model);
  const observed = await observeShapes(engine, model, feeds, measured);
  return { segments: compileModel(model, { ...opts, observed }), measured };
}
