/**
 * The run directory: what a trained split run leaves behind for an audit.
 *
 * ```
 * <dir>/run.json      the manifest (below), UTF-8 JSON
 * <dir>/weights.npz   every segment's parameters and buffers, by initializer name
 *                     (NumPy .npz, one float32 array per name)
 * ```
 *
 * `run.json` (format `splitgate-run/1`):
 *
 * | field | meaning |
 * | --- | --- |
 * | `format` | `"splitgate-run/1"` |
 * | `model` | `{ "zoo": "cnn", "spec": <zoo data spec> }` or `{ "onnx": "<path>" }` (relative to the run dir, or absolute) |
 * | `cuts` | cut tensor names, input to output (1: vanilla, 2: U-shaped) |
 * | `mode` | `"vanilla"` or `"ushaped"` (must agree with `cuts`) |
 * | `loss` | `"bce"`, `"ce"` or `"mse"` |
 * | `data` | the data file the run trained on (as given to the trainer) |
 * | `seed`, `batchSize`, `epochs` | training settings |
 * | `defence` | the clinic's {@linkcode DefenceConfig} |
 * | `test` | test metrics of the kept weights: `{ auc, loss, accuracy, samples }` |
 *
 * The weights are the trained model; the zoo model is rebuilt from its name and data spec
 * only for its structure.
 *
 * @example
 * ```ts
 * import { openRunDir, RunDirError } from "./run_dir.ts";
 * // A real run directory comes from `deno task bench:privacy` (out/privacy/<defence>/);
 * // tests/runtime/privacy/run_dir_test.ts writes and opens one.
 * try {
 *   await openRunDir("no/such/run");
 * } catch (e) {
 *   console.log((e as RunDirError).code); // "NO_RUN_JSON"
 * }
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { Model } from "../../models/graph/ir.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { readModel } from "../../models/onnx/read_model.ts";
import { compileModel, type CompiledSegment } from "../../models/train/compile.ts";
import { type ZooDataSpec, zooModel } from "../../models/zoo/mod.ts";
import { readNpz, writeNpz } from "../data/npz.ts";
import { isStringArray } from "../data/npy.ts";
import type { Metrics } from "../train/metrics.ts";
import { type DefenceConfig, parseDefenceConfig } from "./defence_config.ts";
import { applyInputNorm } from "./input_norm.ts";

/** The format tag of `run.json`. */
export const RUN_FORMAT = "splitgate-run/1";

/** The manifest of a run (`run.json`). */
export interface RunManifest {
  format: typeof RUN_FORMAT;
  model: { zoo: string; spec: ZooDataSpec } | { onnx: string };
  cuts: string[];
  mode: "vanilla" | "ushaped";
  loss: LossKind;
  data: string;
  seed: number;
  batchSize: number;
  epochs: number;
  defence: DefenceConfig;
  test: Metrics;
}

/** A run directory that is not one, or not a valid one; `code` says why. */
export class RunDirError extends Error {
  /** `NO_RUN_JSON`, `BAD_JSON`, `BAD_FIELD`, `NO_WEIGHTS`, `BAD_WEIGHTS`, `BAD_MODEL`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "RunDirError";
    this.code = code;
  }
}

/** An opened run: manifest, weights, the model and its compiled segments. */
export interface OpenedRun {
  dir: string;
  manifest: RunManifest;
  weights: Map<string, Tensor>;
  model: Model;
  segments: CompiledSegment[];
}

const join = (dir: string, name: string) => `${dir.replace(/\/+$/, "")}/${name}`;

/**
 * Writes `run.json` and `weights.npz` into `dir` (created if missing).
 *
 * @example
 * ```ts
 * import { writeRunDir } from "./run_dir.ts";
 * // await writeRunDir("out/run1", manifest, result.weights);
 * ```
 */
export async function writeRunDir(dir: string, manifest: RunManifest, weights: ReadonlyMap<string, Tensor>): Promise<void> {
  checkManifest(manifest, dir);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeFile(join(dir, "weights.npz"), writeNpz(weights));
  await Deno.writeTextFile(join(dir, "run.json"), JSON.stringify(manifest, null, 2) + "\n");
}

function bad(dir: string, what: string): never {
  throw new RunDirError("BAD_FIELD", `${dir}: not a run directory: run.json ${what}`);
}

function checkManifest(v: unknown, dir: string): RunManifest {
  if (typeof v !== "object" || v === null || Array.isArray(v)) bad(dir, "is not a JSON object");
  const m = v as Record<string, unknown>;
  if (m.format !== RUN_FORMAT) bad(dir, `has format ${JSON.stringify(m.format)}, expected "${RUN_FORMAT}"`);
  const model = m.model as Record<string, unknown> | undefined;
  if (!model || typeof model !== "object" || !(typeof model.zoo === "string" || typeof model.onnx === "string")) {
    bad(dir, `field model must be {zoo, spec} or {onnx}, got ${JSON.stringify(m.model)}`);
  }
  if (typeof model.zoo === "string" && (typeof model.spec !== "object" || model.spec === null)) bad(dir, "field model.spec is missing");
  if (!Array.isArray(m.cuts) || !m.cuts.every((c) => typeof c === "string") || m.cuts.length < 1 || m.cuts.length > 2) {
    bad(dir, `field cuts must be 1 or 2 tensor names, got ${JSON.stringify(m.cuts)}`);
  }
  const mode = m.cuts.length === 2 ? "ushaped" : "vanilla";
  if (m.mode !== mode) bad(dir, `field mode ${JSON.stringify(m.mode)} does not fit ${m.cuts.length} cut(s) (expected "${mode}")`);
  if (!["bce", "ce", "mse"].includes(m.loss as string)) bad(dir, `field loss ${JSON.stringify(m.loss)}: expected bce, ce or mse`);
  if (typeof m.data !== "string") bad(dir, "field data (the data file) is missing");
  for (const k of ["seed", "batchSize", "epochs"]) if (!Number.isSafeInteger(m[k])) bad(dir, `field ${k} must be an integer, got ${JSON.stringify(m[k])}`);
  const test = m.test as Record<string, unknown> | undefined;
  if (!test || typeof test.auc !== "number") bad(dir, `field test must hold the test metrics {auc, ...}, got ${JSON.stringify(m.test)}`);
  try {
    parseDefenceConfig(m.defence);
  } catch (e) {
    bad(dir, (e as Error).message);
  }
  return m as unknown as RunManifest;
}

async function readBytes(path: string, code: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new RunDirError(code, `${path}: not found (${what})`);
    throw new RunDirError(code, `${path}: cannot read (${(e as Error).message})`);
  }
}

/**
 * Opens and checks a run directory: `run.json` parses and has every field; the model is
 * rebuilt and compiled at the run's cuts; `weights.npz` holds exactly the segments'
 * parameters and buffers with their shapes.
 *
 * @throws {RunDirError} one line naming the directory and what is wrong
 * @example
 * ```ts
 * import { openRunDir } from "./run_dir.ts";
 * const cutsOf = async (dir: string) => (await openRunDir(dir)).manifest.cuts;
 * console.log(await cutsOf("no/such/run").catch((e: Error) => e.message));
 * // "no/such/run: not a run directory (no such directory)"
 * ```
 */
export async function openRunDir(dir: string): Promise<OpenedRun> {
  try {
    if (!(await Deno.stat(dir)).isDirectory) throw new RunDirError("NO_RUN_JSON", `${dir}: not a run directory (not a directory)`);
  } catch (e) {
    if (e instanceof RunDirError) throw e;
    throw new RunDirError("NO_RUN_JSON", `${dir}: not a run directory (${e instanceof Deno.errors.NotFound ? "no such directory" : (e as Error).message})`);
  }
  const text = new TextDecoder().decode(await readBytes(join(dir, "run.json"), "NO_RUN_JSON", "not a run directory: run.json is missing"));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RunDirError("BAD_JSON", `${join(dir, "run.json")}: not valid JSON (${(e as Error).message})`);
  }
  const manifest = checkManifest(json, dir);
  manifest.defence = parseDefenceConfig(manifest.defence);
  const wbytes = await readBytes(join(dir, "weights.npz"), "NO_WEIGHTS", "the run's weights are missing");
  let arrays;
  try {
    arrays = readNpz(wbytes, join(dir, "weights.npz"));
  } catch (e) {
    throw new RunDirError("BAD_WEIGHTS", `${join(dir, "weights.npz")}: not a readable .npz (${(e as Error).message.split("\n")[0]})`);
  }
  let model: Model;
  try {
    if ("onnx" in manifest.model) {
      const p = manifest.model.onnx.startsWith("/") ? manifest.model.onnx : join(dir, manifest.model.onnx);
      model = readModel(await readBytes(p, "BAD_MODEL", "the run's model"), p);
    } else {
      // Structure only: the weights come from weights.npz.
      model = zooModel(manifest.model.zoo, manifest.model.spec, () => 0.5).model;
    }
  } catch (e) {
    if (e instanceof RunDirError) throw e;
    throw new RunDirError("BAD_MODEL", `${dir}: cannot build the run's model (${(e as Error).message.split("\n")[0]})`);
  }
  try {
    // The clinic trained (and the server saw) the model with its input defence in place.
    model = applyInputNorm(model, manifest.defence);
  } catch (e) {
    throw new RunDirError("BAD_MODEL", `${dir}: ${(e as Error).message}`);
  }
  let segments: CompiledSegment[];
  try {
    segments = compileModel(model, { loss: manifest.loss, cuts: manifest.cuts, seed: manifest.seed });
  } catch (e) {
    throw new RunDirError("BAD_MODEL", `${dir}: cannot cut the model at ${manifest.cuts.join(", ")} (${(e as Error).message.split("\n")[0]})`);
  }
  const weights = new Map<string, Tensor>();
  const expected = new Map<string, Tensor>();
  for (const s of segments) for (const [k, v] of [...s.params, ...s.buffers]) expected.set(k, v);
  for (const [k, v] of expected) {
    const a = arrays.get(k);
    if (!a) throw new RunDirError("BAD_WEIGHTS", `${join(dir, "weights.npz")}: no array ${JSON.stringify(k)} (the model needs ${expected.size})`);
    if (isStringArray(a) || a.dtype !== v.dtype || a.dims.length !== v.dims.length || a.dims.some((d, i) => d !== v.dims[i])) {
      const got = isStringArray(a) ? "strings" : `${a.dtype}[${a.dims.join(", ")}]`;
      throw new RunDirError("BAD_WEIGHTS", `${join(dir, "weights.npz")}: ${k} is ${got}, expected ${v.dtype}[${v.dims.join(", ")}]`);
    }
    weights.set(k, a);
  }
  for (const k of arrays.keys()) {
    if (!expected.has(k)) throw new RunDirError("BAD_WEIGHTS", `${join(dir, "weights.npz")}: array ${JSON.stringify(k)} is not a weight of the model`);
  }
  return { dir, manifest, weights, model, segments };
}
