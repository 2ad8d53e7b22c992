/**
 * `deno task client --config <clinic.json> [--server URL] [--data FILE] [--checkpoint-dir DIR]
 *  [--mode vanilla|ushaped] [--codec float32|float16|int8] [--level 0-9] [--seed S] [--batch B]
 *  [--turns-per-epoch T] [--json result.json] [--verbose] [--events json] [--trust-study] [--new-study]`
 *
 * `deno task client predict --config <clinic.json> --input <file.npz|file.csv> --out <file.npz|.csv> [--export <model.onnx>]`
 *
 * Runs a clinic: the launcher (`runtime/client/launcher.ts`) spawns the sandboxed raw-data
 * process and the courier process and relays between them; this process has no network
 * access, and gives up its `run` permission once both children run (`revokeRun`). Training
 * runs until the server says it is finished, then the clinic's test split is evaluated through
 * the cut. `predict` runs split inference of the trained model (the
 * clinic segments from the checkpoint directory, the server's from the server) on the
 * images of `--input` and writes one score per row. `--export` also assembles the full trained
 * model as one standard ONNX file — only when the clinic config's `policy.allowExport` and the
 * server's `allowExport` both allow it: the server sends its segment's weights (inside the
 * channel), the raw-data process merges them with the clinic's segments and writes the model
 * into its checkpoint directory, and this process copies it to `--export`.
 *
 * Study: before its first step the clinic checks the server's study definition against its
 * config's `study` pin and the study its checkpoint folder holds (`runtime/client/study_gate.ts`);
 * `--trust-study` accepts it on a first run without a pin, `--new-study` keeps the folder's
 * former state under `studies/<id>/` and starts afresh. When the study is finished the clinic
 * evaluates, tells the server it leaves, and exits 0.
 *
 * Progress: on a terminal, one line rewritten in place during a turn (round, step/steps, ETA,
 * loss, bytes up/down; `runtime/client/progress_line.ts`); otherwise plain lines (one per turn,
 * one per step with `--verbose`). `--events json` prints every progress event, steps included,
 * as one JSON object per line on stdout (`runtime/client/clinic_event_line.ts`).
 *
 * @example
 * ```sh
 * deno task client --config deploy/clinic-a.json
 * deno task client predict --config deploy/clinic-a.json --input data/new.npz --out out/pred.csv
 * deno task client predict --config deploy/clinic-a.json --input data/new.npz --out out/pred.npz --export out/model.onnx
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, resolve } from "node:path";
import { tensor } from "../../models/tensor.ts";
import { writeNpz } from "../data/npz.ts";
import { type ClientConfig, parseClientConfig } from "../client/client_config.ts";
import type { ClinicResult } from "../client/clinic.ts";
import { launchClinic } from "../client/launcher.ts";
import { exitOnHijack } from "./hijack_exit.ts";
import type { ClinicEventRecord } from "../client/clinic_event_line.ts";
import { ProgressLine } from "../client/progress_line.ts";
import { readInput, refuseOverwrite, runMain, UsageError } from "./main.ts";
import { enterUserDir } from "./user_dir.ts";
import { accountOfTurns, describeAccount } from "../privacy/privacy_budget.ts";

const USAGE = "usage: deno task client [predict] --config <clinic.json> [--server URL] [--data FILE] " +
  "[--checkpoint-dir DIR] [--mode vanilla|ushaped] [--codec float32|float16|int8] [--level 0-9] " +
  "[--seed S] [--batch B] [--turns-per-epoch T] [--json result.json] [--verbose] [--events json] " +
  "[--trust-study] [--new-study] " +
  "| predict ... --input <file.npz|file.csv> --out <file.npz|.csv> [--export <model.onnx>]";

/**
 * What every launch from this command asks of the launcher: it is the only clinic of this
 * process, so it gives up its `run` permission as soon as both children run.
 */
const CLI_LAUNCH = { revokeRun: true } as const;

function positiveInt(flag: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} ${v}: expected an integer >= ${min}`);
  return n;
}

await runMain(async () => {
  // Relative paths typed by the user (--config, --data, --out, ...) are theirs, not the task's.
  enterUserDir();
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: Deno.args,
      options: {
        config: { type: "string" },
        server: { type: "string" },
        data: { type: "string" },
        "checkpoint-dir": { type: "string" },
        mode: { type: "string" },
        codec: { type: "string" },
        level: { type: "string" },
        seed: { type: "string" },
        batch: { type: "string" },
        "turns-per-epoch": { type: "string" },
        json: { type: "string" },
        verbose: { type: "boolean", default: false },
        events: { type: "string" },
        input: { type: "string" },
        out: { type: "string" },
        export: { type: "string" },
        "trust-study": { type: "boolean", default: false },
        "new-study": { type: "boolean", default: false },
      },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const task = positionals[0] ?? "train";
  if (positionals.length > 1 || (task !== "train" && task !== "predict")) {
    throw new UsageError(`unexpected arguments ${positionals.join(" ")}: the only subcommand is predict`);
  }
  if (!values.config) throw new UsageError("--config is required");
  const text = new TextDecoder().decode(await readInput("--config", values.config));
  // Flags override the file: merged as JSON so the file's checks apply to them too.
  let raw;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${values.config}: not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new UsageError(`${values.config}: expected a JSON object of settings`);
  }
  if (values.server) raw.server = values.server;
  if (values.data) raw.data = resolve(values.data);
  if (values["checkpoint-dir"]) raw.checkpointDir = resolve(values["checkpoint-dir"]);
  if (values.mode) raw.mode = values.mode;
  if (values.codec || values.level) {
    raw.codec = { ...(raw.codec ?? {}) };
    if (values.codec) raw.codec.dtype = values.codec;
    if (values.level) raw.codec.level = positiveInt("--level", values.level, 0);
  }
  if (values.seed) raw.seed = positiveInt("--seed", values.seed, 0);
  if (values.batch) raw.batchSize = positiveInt("--batch", values.batch);
  if (values["turns-per-epoch"]) raw.turnsPerEpoch = positiveInt("--turns-per-epoch", values["turns-per-epoch"]);
  let config: ClientConfig;
  try {
    config = parseClientConfig(JSON.stringify(raw), dirname(resolve(values.config)));
  } catch (e) {
    throw new UsageError(`${values.config}: ${(e as Error).message}`);
  }

  // Outputs must not replace an input, the clinic's files or its trained checkpoints.
  const stored = {
    files: { "--input": values.input, "--config": values.config, "data": config.data, "clinic key": config.clinicKey },
    dirs: { "checkpoint directory": config.checkpointDir },
  };
  if (values.json) refuseOverwrite("--json", values.json, stored);
  if (values.export !== undefined && task !== "predict") throw new UsageError("--export belongs to predict");
  if (task === "predict" && (values["trust-study"] || values["new-study"])) throw new UsageError("--trust-study and --new-study belong to training");
  if (values.events !== undefined && values.events !== "json") throw new UsageError(`--events ${values.events}: expected json`);
  if (task === "predict") {
    if (values.export !== undefined) {
      if (!/\.onnx$/i.test(values.export)) throw new UsageError(`--export ${values.export}: expected an .onnx file name`);
      if (!config.policy.allowExport) {
        throw new UsageError(`--export: ${values.config} does not allow it (set "policy": {"allowExport": true})`);
      }
    }
    if (!values.input || !values.out) throw new UsageError("predict needs --input <file.npz|file.csv> and --out <file.npz|.csv>");
    if (!/\.(npz|csv)$/i.test(values.out)) throw new UsageError(`--out ${values.out}: expected a .npz or .csv file name`);
    refuseOverwrite("--out", values.out, stored);
    if (values.export !== undefined) refuseOverwrite("--export", values.export, stored);
    await readInput("--input", values.input); // a clear error before any process starts
    const r = await launchClinic<{ logits: number[]; dims: number[]; bytesUp: number; bytesDown: number; exportFile?: string }>(
      config,
      "predict",
      {
        ...CLI_LAUNCH,
        verboseSteps: values.verbose,
        predictFile: resolve(values.input),
        exportModel: values.export !== undefined,
      },
    );
    const { logits, dims } = r.result;
    const binary = config.loss === "bce" && dims[1] === 1;
    const scores = binary ? logits.map((x) => 1 / (1 + Math.exp(-x))) : logits;
    if (values.out.toLowerCase().endsWith(".csv")) {
      const cols = dims[1] ?? 1;
      const head = binary ? "row,score,logit" : ["row", ...Array.from({ length: cols }, (_, j) => `logit_${j}`)].join(",");
      const rows = [head];
      for (let i = 0; i < dims[0]; i++) {
        rows.push(binary ? `${i},${scores[i]},${logits[i]}` : [i, ...logits.slice(i * cols, (i + 1) * cols)].join(","));
      }
      await Deno.writeTextFile(values.out, rows.join("\n") + "\n");
    } else {
      await Deno.writeFile(values.out, writeNpz({
        logits: tensor("float32", dims, Float32Array.from(logits)),
        ...(binary ? { scores: tensor("float32", dims, Float32Array.from(scores)) } : {}),
      }));
    }
    console.log(`predicted ${dims[0]} rows through the cut -> ${values.out} (sent ${r.result.bytesUp} bytes, received ${r.result.bytesDown})`);
    if (values.export !== undefined) {
      if (!r.result.exportFile) throw new Error("--export: the clinic did not assemble the model");
      await Deno.copyFile(r.result.exportFile, values.export);
      console.log(`full model -> ${values.export}`);
    }
    return;
  }

  console.log(
    `splitgate client ${config.name}: server ${config.server}, ${config.mode}, codec ${config.codec.dtype} ` +
      `(deflate ${config.codec.level}), batch ${config.batchSize}, seed ${config.seed}`,
  );
  // A terminal gets a progress line; a pipe or file plain lines (or JSON events when asked).
  const progress = values.events === undefined && Deno.stdout.isTerminal()
    ? new ProgressLine((s) => Deno.stdout.writeSync(new TextEncoder().encode(s)))
    : undefined;
  const onEvent = values.events === "json"
    ? (e: ClinicEventRecord) => console.log(JSON.stringify(e))
    : progress && ((e: ClinicEventRecord) => progress.event(e));
  const r = await exitOnHijack(launchClinic<ClinicResult>(config, "train", {
    ...CLI_LAUNCH,
    verboseSteps: values.verbose,
    trustStudy: values["trust-study"],
    newStudy: values["new-study"],
    // After the study is verified, against its schema: refuses a table the schema does not fit.
    onDataCheck: (summary) => console.log(summary),
    onLine: (l) => {
      progress?.end();
      console.log(l);
    },
    ...(onEvent ? { onEvent } : {}),
  }));
  progress?.end();
  // The courier has already logged each evaluation (its `test:` line) through onLine.
  const res = r.result;
  console.log(
    `${res.turns} turns, ${res.steps} steps, ${res.samples} samples in ${res.trainSeconds.toFixed(1)} s` +
      `${res.steadySamplesPerSec === null ? "" : ` (${res.steadySamplesPerSec.toFixed(0)} samples/s after warm-up)`}; ` +
      `sent ${res.bytesUp} bytes, received ${res.bytesDown}; ${res.reconnects} reconnects, ${res.rollbacks} rollbacks`,
  );
  const privacy = accountOfTurns(config.defence, res.turns, config.turnsPerEpoch);
  console.log(`privacy: ${describeAccount(privacy)}`);
  if (values.json) {
    try {
      await Deno.writeTextFile(values.json, JSON.stringify({ ...res, privacy }, null, 2) + "\n");
    } catch (e) {
      throw new Error(`--json ${values.json}: cannot write (${(e as Error).message})`);
    }
  }
}, USAGE);
