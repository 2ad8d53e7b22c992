/**
 * The server's JSON config file, checked field by field (errors name the field and what
 * was expected). Relative paths are resolved against the config file's directory.
 *
 * ```json
 * {
 *   "listen": "127.0.0.1:8443",
 *   "serverKey": "keys/server.key", "allowlist": "keys/allowlist.json", "pskFile": "keys/psk.hex",
 *   "model": "cnn", "data": { "image": { "channels": 1, "size": 28 } }, "seed": 0,
 *   "mode": "vanilla", "loss": "bce", "cuts": ["..."],
 *   "optimizer": { "kind": "adam", "lr": 0.001 },
 *   "engine": "native", "threads": 4,
 *   "checkpointDir": "out/server",
 *   "limits": { "maxBodyBytes": 67108864, "maxBatch": 1024, "maxElements": 4000000, "maxActivation": 10000 },
 *   "turnTimeoutMs": 60000, "order": ["clinic-a", "clinic-b"], "epochs": 3, "turnsPerEpoch": 1,
 *   "allowExport": false, "labelProtection": "none", "codec": { "dtype": "float32", "level": 0 },
 *   "deferUpdate": true, "cipher": "chachapoly"
 * }
 * ```
 *
 * @example
 * ```ts
 * import { parseServerConfigFile } from "./config_file.ts";
 * const f = parseServerConfigFile(
 *   '{"serverKey":"s.key","allowlist":"a.json","model":"cnn","data":{"image":{"channels":1,"size":28}},' +
 *   '"mode":"vanilla","loss":"bce","optimizer":{"kind":"sgd","lr":0.1}}', "/etc/splitgate");
 * console.log(f.serverKey); // "/etc/splitgate/s.key"
 * ```
 * @module
 */
import { type ScheduleConfig, scheduleFields } from "./schedule_config.ts";
import { type CodecConfig, readJsonConfig } from "../config/json_config.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { checkOptimizerConfig, type OptimizerConfig } from "../../models/train/optimizer.ts";
import type { ZooDataSpec } from "../../models/zoo/mod.ts";
import { ENGINE_NAMES, type EngineName } from "../engine/mod.ts";
import type { SplitMode } from "./split_model.ts";
import type { LabelProtection } from "../privacy/defence_config.ts";
import type { ChannelCipher } from "../../crypto/channel/handshake.ts";
import type { ServerConfig } from "./server_config.ts";

/**
 * A parsed config file: paths resolved, model not yet loaded.
 *
 * @example
 * ```ts
 * import type { ServerConfigFile } from "./config_file.ts";
 * function where(f: ServerConfigFile) { return `${f.hostname}:${f.port}`; }
 * ```
 */
export interface ServerConfigFile extends ScheduleConfig {
  hostname: string;
  port: number;
  serverKey: string;
  allowlist: string;
  pskFile?: string;
  /** A zoo name, or the path of an `.onnx` file. */
  model: string;
  data?: ZooDataSpec;
  seed: number;
  mode: SplitMode;
  loss: LossKind;
  cuts?: string[];
  optimizer: OptimizerConfig;
  engine: EngineName;
  threads?: number;
  checkpointDir?: string;
  /** As {@linkcode ServerConfig}'s `limits`. */
  limits?: ServerConfig["limits"];
  turnTimeoutMs: number;
  order?: string[];
  /** Data epochs to train (default: until stopped). */
  epochs?: number;
  /** Turns each clinic takes per data epoch, as the clinics' `turnsPerEpoch` (default 1). */
  turnsPerEpoch: number;
  /** Whether clinics may fetch the server segment's weights to assemble the full model (default false). */
  allowExport: boolean;
  /**
   * Vanilla mode: `"norm-equalise"` equalises the per-sample norms of every returned cut
   * gradient (against the norm attack on labels); default `"none"`. Not allowed in U-shape.
   */
  labelProtection: LabelProtection;
  /**
   * Codec of the tensors in replies (cut gradients; U-shaped head inputs): float32 exact by
   * default. `int8` sends a quarter of the bytes, as a clinic's own `codec` does one way.
   */
  codec: CodecConfig;
  /**
   * Whether a step's reply leaves before the server's own update, which then runs while the
   * clinic computes its backward pass (default true; the numbers are the same either way).
   */
  deferUpdate: boolean;
  /** Who may read `GET /v1/status` (default `"loopback"`). */
  statusFrom: "loopback" | "anywhere";
  /** The channel's cipher, as every clinic's `cipher` (default `"chachapoly"`). */
  cipher?: ChannelCipher;
  /**
   * A file whose first line is the bearer token other hosts must present to read
   * `GET /metrics` and `GET /dashboard` (default: none, the server's own host only).
   */
  metricsTokenFile?: string;
}

/** The keys of `limits` (each a positive integer; see `ServerConfig.limits`). */
const LIMIT_KEYS = [
  "maxBodyBytes",
  "maxBatch",
  "maxElements",
  "bodyTimeoutMs",
  "handshakeBurst",
  "handshakeRefillMs",
  "addressHandshakeBurst",
  "addressHandshakeRefillMs",
];

const FIELDS = new Set([
  "listen", "serverKey", "allowlist", "pskFile", "model", "data", "seed", "mode", "loss", "cuts",
  "optimizer", "engine", "threads", "checkpointDir", "limits", "turnTimeoutMs", "order", "epochs",
  "turnsPerEpoch", "allowExport", "labelProtection", "codec", "deferUpdate", "statusFrom",
  "cipher",
  "metricsTokenFile",
  "schedule", "serverBatch", "clinicWeights", "merge",
  "frontAggregation",
]);

/**
 * Parses `host:port` (IPv6 in brackets).
 *
 * @throws {TypeError} naming the value.
 * @example
 * ```ts
 * import { parseListen } from "./config_file.ts";
 * console.log(parseListen("0.0.0.0:8443")); // { hostname: "0.0.0.0", port: 8443 }
 * ```
 */
export function parseListen(v: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new TypeError(`listen ${JSON.stringify(v)}: expected host:port, e.g. 127.0.0.1:8443`);
  return { hostname: m[1] ?? m[2], port };
}

/**
 * Parses and checks a config file's text; relative paths resolve against `baseDir`.
 *
 * @throws {TypeError} naming the first bad field.
 * @example
 * ```ts
 * import { parseServerConfigFile } from "./config_file.ts";
 * try {
 *   parseServerConfigFile('{"mode":"sideways"}', ".");
 * } catch (e) {
 *   console.log((e as Error).message); // config: unknown... or a missing field
 * }
 * ```
 */
export function parseServerConfigFile(text: string, baseDir: string): ServerConfigFile {
  const cfg = readJsonConfig(text, FIELDS, baseDir);
  const { c, fail, str, path } = cfg;
  const int = (k: string, min: number): number | undefined => cfg.int(k, min, undefined);
  const names = (k: string): string[] | undefined => {
    const v = c[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === "string" && x.length > 0)) {
      fail(k, "a non-empty array of strings");
    }
    return v as string[];
  };
  const { hostname, port } = parseListen(str("listen", false) ?? "127.0.0.1:8443");
  const mode = str("mode") as SplitMode;
  if (mode !== "vanilla" && mode !== "ushaped") fail("mode", '"vanilla" or "ushaped"');
  const loss = str("loss") as LossKind;
  if (!["bce", "ce", "mse"].includes(loss)) fail("loss", '"bce", "ce" or "mse"');
  const engine = (str("engine", false) ?? "native") as EngineName;
  if (!ENGINE_NAMES.includes(engine)) fail("engine", ENGINE_NAMES.join(" | "));
  const opt = c.optimizer as Record<string, unknown> | undefined;
  if (!opt || typeof opt !== "object" || !["sgd", "adam", "adamw"].includes(opt.kind as string) || typeof opt.lr !== "number") {
    fail("optimizer", '{"kind": "sgd" | "adam" | "adamw", "lr": number, ...}');
  }
  try {
    checkOptimizerConfig(opt as unknown as OptimizerConfig);
  } catch (e) {
    throw new TypeError(`config.optimizer: ${(e as Error).message}`);
  }
  const model = str("model")!;
  const isOnnx = model.endsWith(".onnx");
  if (!isOnnx && !isDataSpec(c.data)) {
    fail(
      "data",
      'the data spec of the zoo model: {"image": {"channels": n, "size": n}} or ' +
        '{"tabular": {"numeric": n, "vocabSizes": [n, ...], "codeVocab": n}}, positive integers ' +
          "(numeric and codeVocab may be 0, vocabSizes empty: a table without such columns)",
    );
  }
  const cuts = names("cuts");
  if (isOnnx && !cuts) fail("cuts", "the cut tensor names (required for an .onnx model)");
  let limits: ServerConfigFile["limits"];
  if (c.limits !== undefined) {
    const l = c.limits as Record<string, unknown>;
    if (l === null || typeof l !== "object" || Array.isArray(l)) fail("limits", "an object");
    for (const [k, v] of Object.entries(l)) {
      if (k === "maxActivation") {
        if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
          throw new TypeError(`config.limits.maxActivation: expected a finite number > 0, got ${JSON.stringify(v)}`);
        }
        continue;
      }
      if (!LIMIT_KEYS.includes(k) || typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
        fail("limits", `{${LIMIT_KEYS.map((n) => `${n}?`).join(", ")}} of positive integers, maxActivation? a finite number > 0`);
      }
    }
    limits = l as ServerConfigFile["limits"];
  }
  const labelProtection = (str("labelProtection", false) ?? "none") as LabelProtection;
  if (labelProtection !== "none" && labelProtection !== "norm-equalise") fail("labelProtection", '"none" or "norm-equalise"');
  if (labelProtection !== "none" && mode !== "vanilla") {
    fail("labelProtection", '"none" in ushaped mode (the clinic holds the labels and sets its own defence.labelProtection)');
  }
  return {
    hostname,
    port,
    serverKey: path(str("serverKey")!),
    allowlist: path(str("allowlist")!),
    pskFile: c.pskFile === undefined ? undefined : path(str("pskFile")!),
    model: isOnnx ? path(model) : model,
    data: c.data as ZooDataSpec | undefined,
    seed: int("seed", 0) ?? 0,
    mode,
    loss,
    cuts,
    optimizer: opt as unknown as OptimizerConfig,
    engine,
    threads: int("threads", 1),
    checkpointDir: c.checkpointDir === undefined ? undefined : path(str("checkpointDir")!),
    limits,
    turnTimeoutMs: int("turnTimeoutMs", 1) ?? 60_000,
    order: names("order"),
    epochs: int("epochs", 1),
    turnsPerEpoch: int("turnsPerEpoch", 1) ?? 1,
    labelProtection,
    codec: cfg.codec("codec"),
    allowExport: c.allowExport === undefined ? false : c.allowExport === true ? true : c.allowExport === false ? false : fail("allowExport", "a boolean"),
    deferUpdate: c.deferUpdate === undefined ? true : c.deferUpdate === true ? true : c.deferUpdate === false ? false : fail("deferUpdate", "a boolean"),
    statusFrom: c.statusFrom === undefined ? "loopback" : c.statusFrom === "loopback" || c.statusFrom === "anywhere" ? c.statusFrom : fail("statusFrom", '"loopback" or "anywhere"'),
    cipher: c.cipher === undefined ? "chachapoly" : c.cipher === "chachapoly" || c.cipher === "aesgcm" ? c.cipher : fail("cipher", '"chachapoly" or "aesgcm"'),
    metricsTokenFile: c.metricsTokenFile === undefined ? undefined : path(str("metricsTokenFile")!),
    ...scheduleFields(c),
  };
}

/** Whether `v` is a zoo data spec with known fields only and positive integer sizes. */
function isDataSpec(v: unknown): boolean {
  const obj = (x: unknown, keys: string[]): x is Record<string, unknown> =>
    x !== null && typeof x === "object" && !Array.isArray(x) && Object.keys(x).every((k) => keys.includes(k));
  const pos = (x: unknown, min = 1) => Number.isSafeInteger(x) && (x as number) >= min;
  if (!obj(v, ["image", "tabular"]) || (v.image === undefined) === (v.tabular === undefined)) return false;
  if (v.image !== undefined) {
    return obj(v.image, ["channels", "size"]) && pos(v.image.channels) && pos(v.image.size, 4);
  }
  const t = v.tabular;
  return obj(t, ["numeric", "vocabSizes", "codeVocab"]) && pos(t.numeric, 0) && pos(t.codeVocab, 0) &&
    Array.isArray(t.vocabSizes) && t.vocabSizes.every((n) => pos(n));
}
