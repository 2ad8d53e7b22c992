/**
 * `deno task grad --model <file.onnx> --batch <file.npz> --loss bce|ce|mse [--cut <tensor>]
 *  --out <file.npz> [--engine wasm|webgpu|native] [--threads N]`
 *
 * One batch in training mode through splitgate's own training graphs, split at `--cut`
 * if given; writes `loss`, `logits`, `grad.<initializer>` and, with `--cut`,
 * `cut.activation` and `cut.grad`. With `--compare <reference.npz>` it also prints the relative
 * error (by norm) of each array against the reference's array of the same name, and exits
 * with status 1 if any exceeds `--tolerance` (default 1e-3) or is missing. The batch file has the layout of PyTorch golden files:
 * `input.<graph input name>` and `target`. It is how a user checks that splitgate agrees
 * with the framework their model came from.
 *
 * @example
 * ```sh
 * deno task grad --model tests/fixtures/models/res_cnn.onnx --batch tests/fixtures/models/res_cnn.golden.npz \
 *   --loss ce --cut /Relu_2_output_0 --out /tmp/res_cnn.grads.npz
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { readModel } from "../../models/onnx/read_model.ts";
import { compileAtBatch } from "../train/observe_shapes.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { targetInfo } from "../../models/grad/loss.ts";
import { checkFeeds } from "../../models/graph/check_feeds.ts";
import { readNpz, writeNpz } from "../data/npz.ts";
import { isStringArray } from "../data/npy.ts";
import { createEngine, type EngineName } from "../engine/mod.ts";
import { runOneBatch } from "../train/one_batch.ts";
import { compareArrays } from "../train/compare_arrays.ts";
import { parseFlags, readInput, refuseOverwrite, runMain, UsageError } from "./main.ts";
import { enterUserDir } from "./user_dir.ts";

const USAGE =
  "usage: deno task grad --model <file.onnx> --batch <file.npz> --loss bce|ce|mse [--cut <tensor>] --out <file.npz> [--engine wasm|webgpu|native] [--threads N] [--compare <reference.npz> [--tolerance 1e-3]]";

await runMain(async () => {
  enterUserDir(); // relative paths are the user's, as typed
  const values = parseFlags(Deno.args, {
    model: { type: "string" },
    batch: { type: "string" },
    loss: { type: "string" },
    cut: { type: "string", multiple: true },
    out: { type: "string" },
    engine: { type: "string", default: "wasm" },
    threads: { type: "string" },
    compare: { type: "string" },
    tolerance: { type: "string", default: "1e-3" },
  });
  for (const f of ["model", "batch", "loss", "out"] as const) {
    if (!values[f]) throw new UsageError(`--${f} is required`);
  }
  const loss = values.loss as LossKind;
  if (!["bce", "ce", "mse"].includes(loss)) {
    throw new UsageError(`--loss ${values.loss}: expected bce, ce or mse`);
  }
  const engineName = values.engine as EngineName;
  if (!["wasm", "webgpu", "native"].includes(engineName)) {
    throw new UsageError(`--engine ${values.engine}: expected wasm, webgpu or native`);
  }
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
    throw new UsageError(`--threads ${values.threads}: expected a positive integer`);
  }

  refuseOverwrite("--out", values.out!, { files: { "--model": values.model, "--batch": values.batch } });
  // Checked before the run, not after --out has been written.
  const tol = Number(values.tolerance);
  if (!(tol > 0)) throw new UsageError(`--tolerance ${values.tolerance}: expected a positive number`);
  const model = readModel(await readInput("--model", values.model!), values.model!);
  const arrays = readNpz(await readInput("--batch", values.batch!), values.batch!);
  const feeds: Record<string, Tensor> = {};
  for (const [k, v] of arrays) {
    if (k.startsWith("input.") && !isStringArray(v)) feeds[k.slice("input.".length)] = v;
  }
  checkFeeds(model.graph.inputs, feeds, values.batch!);
  const target = arrays.get("target");
  if (!target || isStringArray(target)) {
    throw new Error(`${values.batch}: no numeric 'target' array`);
  }
  const engine = await createEngine(engineName, threads ? { threads } : {});
  try {
    // A shape that depends on the data is measured on this batch rather than refused.
    const { segments, measured, pinned } = await compileAtBatch(engine, model, {
      loss,
      cuts: values.cut ?? [],
    }, feeds);
    if (measured.length) {
      console.error(
        `note: ${measured.length} tensor shape(s) depend on the data; measured on this batch, the graphs are built for it`,
      );
    }
    if (pinned.length) console.error(`note: built for this batch's ${pinned.join(", ")}`);
    const logits = segments[segments.length - 1].outputs[0];
    const ti = targetInfo(loss, logits.shape ?? []);
    checkFeeds(
      [{
        name: "target",
        dtype: ti.dtype,
        shape: ti.shape.map((d, i) => i === 0 ? model.graph.inputs[0]?.shape?.[0] ?? d : d),
      }],
      { ...feeds, target },
      values.batch!,
    );

    const result = await runOneBatch(engine, segments, feeds, target);
    const out = new Map<string, Tensor>();
    out.set("loss", { dtype: "float32", dims: [], data: new Float32Array([result.loss]) });
    out.set("logits", result.logits);
    for (const [k, v] of result.paramGrads) out.set(`grad.${k}`, v);
    if (result.cuts.length) {
      out.set("cut.activation", result.cuts[0].activation);
      out.set("cut.grad", result.cuts[0].grad);
      result.cuts.slice(1).forEach((c, i) => {
        out.set(`cut${i + 1}.activation`, c.activation);
        out.set(`cut${i + 1}.grad`, c.grad);
      });
    }
    try {
      await Deno.writeFile(values.out!, writeNpz(out));
    } catch (e) {
      throw new Error(`--out ${values.out}: cannot write (${(e as Error).message})`);
    }
    console.log(
      `loss ${
        result.loss.toPrecision(6)
      }; wrote ${out.size} arrays to ${values.out} (engine ${engineName})`,
    );
    if (values.compare) {
      const ref = new Map<string, Tensor>();
      for (const [k, v] of readNpz(await readInput("--compare", values.compare), values.compare)) {
        if (!isStringArray(v) && !k.startsWith("input.") && k !== "target") ref.set(k, v);
      }
      if (!values.cut?.length) {
        for (const k of [...ref.keys()]) if (k.startsWith("cut.")) ref.delete(k);
      }
      const rows = compareArrays(out, ref, tol);
      for (const r of rows) {
        console.log(
          `${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(32)} ${r.zero ? "zero, abs." : "rel."} error ${r.error.toExponential(2)}` +
            (r.zero ? " (reference is 0 to float32 precision: error against 1e-4 of the largest gradient)" : ""),
        );
      }
      const bad = rows.filter((r) => !r.ok).length;
      console.log(`${rows.length - bad} passed, ${bad} failed`);
      if (bad) throw new Error(`${bad} array(s) differ from ${values.compare} by more than ${tol}`);
    }
  } finally {
    await engine.dispose();
  }
}, USAGE);
