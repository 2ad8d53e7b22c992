/**
 * `deno task train --data <file> --model <zoo name | file.onnx> [--cut <tensor>] --epochs N
 *  --batch B --optimizer sgd|adam|adamw --lr X --seed S --engine wasm|webgpu|native
 *  [--export out.onnx] [--json metrics.json] [--label <column>] [--positive <value>]`
 *
 * A CSV needs `--label`; its label must be coded 0/1 unless `--positive <value>` names the
 * class counted as 1 (the one other value is 0; a third value or an empty cell is refused).
 * The data check (`runtime/data/data_check.ts`) is printed before training. A table's
 * `--export` holds its preprocessing (inputs `numeric_raw` float32 [N, F], NaN = missing, and
 * `categorical_raw` string [N, C], columns in the schema's order).
 *
 * Central training on pooled data (the yardstick for split and federated runs), with a
 * progress display, validation each epoch, best-epoch selection and final test metrics.
 * With `--cut` the model is trained as segments in this process, exactly as the split
 * runtime computes it but without a network.
 *
 * @example
 * ```sh
 * deno task train --data data/pneumoniamnist.npz --model cnn --epochs 10 --batch 64 \
 *   --optimizer adam --lr 0.001 --seed 0 --json out/central.json --export out/cnn.onnx
 * ```
 * @module
 */
import { dirname } from "node:path";
import type { Tensor } from "../../models/tensor.ts";
import type { Model } from "../../models/graph/ir.ts";
import { readModel } from "../../models/onnx/read_model.ts";
import { writeModel } from "../../models/onnx/write_model.ts";
import { checkFeeds } from "../../models/graph/check_feeds.ts";
import { exportModel } from "../../models/train/export.ts";
import { withTablePreprocessing } from "../../models/train/table_preprocessing.ts";
import { preprocessingOfSchema } from "../data/schema_preprocessing.ts";
import type { OptimizerConfig } from "../../models/train/optimizer.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { zooModel } from "../../models/zoo/mod.ts";
import { loadDataset } from "../data/load_dataset.ts";
import { formatDataCheck } from "../data/data_check.ts";
import { randomShift } from "../data/augment.ts";
import { positiveInt, positiveNumber } from "./flag_values.ts";
import { Rng } from "../data/rng.ts";
import { createEngine, type EngineName } from "../engine/mod.ts";
import { type Progress, trainCentral } from "../train/central.ts";
import { parseFlags, readInput, refuseOverwrite, runMain, UsageError } from "./main.ts";
import { enterUserDir } from "./user_dir.ts";

const USAGE = "usage: deno task train --data <file> --model <cnn|ehr|file.onnx> [--cut <tensor>] " +
  "[--epochs N] [--batch B] [--optimizer sgd|adam|adamw] [--lr X] [--seed S] " +
  "[--engine wasm|webgpu|native] [--threads N] [--augment shift|none] [--export out.onnx] [--json metrics.json] " +
  "[--label <column>] [--positive <value>] [--quiet]";

/** A one-line progress display: rewritten in place on a terminal, one line per epoch otherwise. */
export function progressPrinter(quiet = false): (p: Progress) => void {
  const tty = Deno.stdout.isTerminal();
  const enc = new TextEncoder();
  return (p) => {
    if (quiet) return;
    if (p.kind === "step") {
      if (!tty) return;
      const line =
        `epoch ${p.epoch}/${p.epochs}  step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  ` +
        `${p.samplesPerSec.toFixed(0)} samples/s  ${Math.ceil(p.etaSeconds)} s left`;
      Deno.stdout.writeSync(enc.encode(`\r${line.padEnd(90)}`));
      return;
    }
    const r = p.record;
    const line =
      `epoch ${r.epoch}/${p.epochs}  train loss ${r.trainLoss.toFixed(4)}  val loss ${
        r.val.loss.toFixed(4)
      }  ` +
      `val AUC ${r.val.auc.toFixed(4)}  val acc ${r.val.accuracy.toFixed(4)}  ${
        r.samplesPerSec.toFixed(0)
      } samples/s  ` +
      `${r.seconds.toFixed(1)} s${p.best ? "  *best" : ""}`;
    Deno.stdout.writeSync(enc.encode(`${tty ? "\r" : ""}${line.padEnd(90)}\n`));
  };
}

await runMain(async () => {
  enterUserDir(); // relative paths are the user's, as typed
  const values = parseFlags(Deno.args, {
    data: { type: "string" },
    model: { type: "string", default: "" },
    cut: { type: "string", multiple: true },
    epochs: { type: "string" },
    batch: { type: "string" },
    optimizer: { type: "string", default: "adam" },
    lr: { type: "string" },
    momentum: { type: "string" },
    "weight-decay": { type: "string" },
    seed: { type: "string", default: "0" },
    engine: { type: "string", default: "wasm" },
    threads: { type: "string" },
    loss: { type: "string", default: "bce" },
    export: { type: "string" },
    json: { type: "string" },
    label: { type: "string" },
    positive: { type: "string" },
    quiet: { type: "boolean", default: false },
    augment: { type: "string" },
  });
  if (!values.data) throw new UsageError("--data is required");
  if (values.export) refuseOverwrite("--export", values.export, { files: { "--data": values.data, "--model": values.model, "--json": values.json } });
  if (values.json) refuseOverwrite("--json", values.json, { files: { "--data": values.data } });
  const epochs = positiveInt("--epochs", values.epochs, 5);
  const batchSize = positiveInt("--batch", values.batch, 64);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed)) {
    throw new UsageError(`--seed ${values.seed}: expected an integer`);
  }
  const engineName = values.engine as EngineName;
  if (!["wasm", "webgpu", "native"].includes(engineName)) {
    throw new UsageError(`--engine ${values.engine}: expected wasm, webgpu or native`);
  }
  const loss = values.loss as LossKind;
  if (!["bce", "ce", "mse"].includes(loss)) {
    throw new UsageError(`--loss ${values.loss}: expected bce, ce or mse`);
  }
  const kind = values.optimizer;
  const lr = positiveNumber("--lr", values.lr, kind === "sgd" ? 0.05 : 1e-3);
  let optimizer: OptimizerConfig;
  if (kind === "sgd") {
    optimizer = {
      kind,
      lr,
      momentum: values.momentum === undefined ? 0.9 : Number(values.momentum),
      weightDecay: values["weight-decay"] === undefined ? 0 : Number(values["weight-decay"]),
    };
  } else if (kind === "adam" || kind === "adamw") {
    optimizer = {
      kind,
      lr,
      weightDecay: values["weight-decay"] === undefined
        ? undefined
        : Number(values["weight-decay"]),
    };
  } else throw new UsageError(`--optimizer ${kind}: expected sgd, adam or adamw`);
  const augment = values.augment ?? "shift";
  if (!["none", "shift"].includes(augment)) {
    throw new UsageError(`--augment ${augment}: expected none or shift`);
  }
  const threads = values.threads === undefined
    ? undefined
    : positiveInt("--threads", values.threads, 1);

  const data = await loadDataset(values.data, {
    label: values.label,
    positive: values.positive,
    seed,
  });
  const rng = new Rng(seed);
  let model: Model;
  let modelName = values.model || (data.kind === "image" ? "cnn" : "ehr");
  if (modelName.endsWith(".onnx")) {
    model = readModel(await readInput("--model", modelName), modelName);
  } else {
    model = zooModel(modelName, data, () => rng.float()).model;
    modelName = `zoo:${modelName}`;
  }
  checkFeeds(model.graph.inputs, data.train.take([0]).inputs, values.data);

  const engine = await createEngine(engineName, threads ? { threads } : {});
  if (!values.quiet) {
    if (data.check) console.log(formatDataCheck(data.check));
    console.log(`${data.description}`);
    console.log(
      `model ${modelName}, engine ${engineName}, ${epochs} epochs, batch ${batchSize}, ${kind} lr ${lr}, seed ${seed}` +
        (values.cut?.length ? `, cut at ${values.cut.join(", ")}` : ""),
    );
  }
  try {
    const result = await trainCentral({
      engine,
      model,
      loss,
      data,
      epochs,
      batchSize,
      optimizer,
      seed,
      cuts: values.cut ?? [],
      onProgress: progressPrinter(values.quiet),
      augment: data.kind === "image" && augment === "shift"
        ? (b, r) => ({ ...b, inputs: { ...b.inputs, image: randomShift(b.inputs.image, 2, r) } })
        : undefined,
    });
    const t = result.test;
    console.log(
      `test (best epoch ${result.bestEpoch}): AUC ${t.auc.toFixed(4)}  accuracy ${
        t.accuracy.toFixed(4)
      }  loss ${t.loss.toFixed(4)}  ` +
        `(${result.samplesPerSec.toFixed(0)} samples/s, ${result.seconds.toFixed(1)} s)`,
    );
    if (values.export) {
      let trained = exportModel(model, result.weights as Map<string, Tensor>);
      // A table's scaling and vocabularies go inside the model: it takes raw columns.
      if (data.schema?.kind === "table") trained = withTablePreprocessing(trained, preprocessingOfSchema(data.schema));
      const bytes = writeModel(trained);
      try {
        await Deno.mkdir(dirname(values.export), { recursive: true });
        await Deno.writeFile(values.export, bytes);
      } catch (e) {
        throw new Error(`--export ${values.export}: cannot write (${(e as Error).message})`);
      }
      console.log(`exported ${values.export} (${bytes.length} bytes)`);
    }
    if (values.json) {
      const report = {
        command: ["train", ...Deno.args],
        data: data.description,
        model: modelName,
        engine: engineName,
        epochs,
        batchSize,
        optimizer,
        seed,
        augment: data.kind === "image" ? augment : "none",
        cuts: values.cut ?? [],
        bestEpoch: result.bestEpoch,
        test: result.test,
        history: result.history,
        samplesPerSec: result.samplesPerSec,
        seconds: result.seconds,
        machine: { os: Deno.build.os, arch: Deno.build.arch, cpus: navigator.hardwareConcurrency },
      };
      try {
        await Deno.mkdir(dirname(values.json), { recursive: true });
        await Deno.writeTextFile(values.json, JSON.stringify(report, null, 2) + "\n");
      } catch (e) {
        throw new Error(`--json ${values.json}: cannot write (${(e as Error).message})`);
      }
    }
  } finally {
    await engine.dispose();
  }
}, USAGE);
