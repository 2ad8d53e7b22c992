/**
 * The clinic's JSON config file (`deno task client --config <file>`), checked field by field
 * (errors name the field and what was expected). Relative paths resolve against the config
 * file's directory.
 *
 * ```json
 * {
 *   "server": "http://10.0.0.5:8443",
 *   "serverPublicKey": "keys/server.pub", "clinicKey": "keys/clinic-a.key", "peers": "keys/peers.json",
 *   "data": "data/pneumoniamnist.npz",
 *   "rows": { "train": { "partition": { "scheme": "label-dirichlet", "clinics": 2, "index": 0, "alpha": 0.5, "seed": 0 } } },
 *   "model": "cnn", "mode": "vanilla", "loss": "bce",
 *   "codec": { "dtype": "float32", "level": 0 },
 *   "optimizer": { "kind": "adam", "lr": 0.001 }, "seed": 0, "batchSize": 64,
 *   "checkpointDir": "out/clinic-a", "turnsPerEpoch": 1,
 *   "policy": { "allowExport": false },
 *   "defence": { "noise": { "clip": 8, "sigma": 0.05 }, "nopeek": { "weight": 0.5 } }
 * }
 * ```
 *
 * @example
 * ```ts
 * import { parseClientConfig } from "./client_config.ts";
 * const c = parseClientConfig(JSON.stringify({
 *   server: "http://127.0.0.1:8443", serverPublicKey: "s.pub", clinicKey: "a.key", data: "d/x.npz",
 *   model: "cnn", mode: "vanilla", optimizer: { kind: "sgd", lr: 0.1 }, checkpointDir: "ck",
 * }), "/etc/clinic");
 * console.log(c.clinicKey); // "/etc/clinic/a.key"
 * ```
 * @module
 */
import { type CodecConfig, readJsonConfig } from "../config/json_config.ts";
import { basename } from "node:path";
import type { ChannelCipher } from "../../crypto/channel/handshake.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { checkOptimizerConfig, type OptimizerConfig } from "../../models/train/optimizer.ts";
import type { RowSelection } from "./raw_side/config.ts";
import type { RawSideMode } from "./raw_side/api.ts";
import { type DefenceConfig, parseDefenceConfig } from "../privacy/defence_config.ts";
import { type DataSchema, parseDataSchema } from "../data/data_schema.ts";
import { STUDY_DIGEST_PATTERN } from "../study/study_digest.ts";
import { checkLabelDefenceMode } from "../privacy/label_defence.ts";

/** The `dataSchema` field, checked; its errors name the field under `config.dataSchema`. */
function configDataSchema(v: unknown): DataSchema {
  try {
    return parseDataSchema(v);
  } catch (e) {
    throw new TypeError(`config.dataSchema: ${(e as Error).message}`);
  }
}

/** The `study` pin, checked: `sha256:` and 64 lower-case hex digits. */
function studyPin(v: unknown, fail: (k: string, want: string) => never): string {
  return typeof v === "string" && STUDY_DIGEST_PATTERN.test(v) ? v : fail("study", '"sha256:<64 lower-case hex digits>", the study\'s digest');
}

/**
 * A parsed clinic config: paths absolute (or as given when absolute), defaults filled in.
 *
 * @example
 * ```ts
 * import type { ClientConfig } from "./client_config.ts";
 * function where(c: ClientConfig) { return c.server; }
 * ```
 */
export interface ClientConfig {
  /** This clinic's name (default: the clinic key file's name without `.key`). */
  name: string;
  /** Server URL, `http(s)://host:port`. */
  server: string;
  /** The server's public key file (pinned). */
  serverPublicKey: string;
  /** This clinic's private key file (mode 0600). */
  clinicKey: string;
  /** The other clinics' public keys (allowlist format); absent: a clinic training alone. */
  peers?: string;
  /**
   * The consortium pre-shared key (64 hex digits, Noise IKpsk2), when the server uses one
   * (its own `pskFile`); read by the courier only.
   */
  pskFile?: string;
  /**
   * The channel's cipher, as the server's `cipher` (docs/design/transport.md): `"chachapoly"` (default) or
   * `"aesgcm"`; read by the courier only.
   */
  cipher?: ChannelCipher;
  /** The records (`.npz` images, `.csv`/`.zip` tables). */
  data: string;
  dataLabel?: string;
  dataPositive?: string;
  /**
   * The study's data schema (`runtime/data/data_schema.ts`): the clinic encodes its table
   * with it, never with local statistics, and refuses a value outside it before its first step.
   */
  dataSchema?: DataSchema;
  rows?: { train?: RowSelection; val?: RowSelection; test?: RowSelection };
  /** A zoo name (`cnn`, `ehr`) or an `.onnx` path. */
  model: string;
  cuts?: string[];
  mode: RawSideMode;
  loss: LossKind;
  codec: CodecConfig;
  optimizer: OptimizerConfig;
  seed: number;
  batchSize: number;
  evalBatchSize: number;
  checkpointDir: string;
  turnsPerEpoch: number;
  augment: "shift" | "none";
  threads: number;
  /** Connection retries per request (each a re-handshake with backoff). */
  retries: number;
  /** How long the server may stay unreachable before the client gives up (ms). */
  patienceMs: number;
  policy: { allowExport: boolean };
  /**
   * Privacy defences at the cut, applied by the raw side (`runtime/privacy/defence_config.ts`):
   * `noise` {clip, sigma}, `nopeek` {weight, estimator?: "v" | "u"}, `labelProtection` (U-shape
   * only). `{}`: none.
   */
  defence: DefenceConfig;
  /**
   * The study this clinic joins, pinned: `"sha256:<64 hex>"`, the digest of the study
   * definition (`deno task study digest <study.json>`). The server's study must have it, or
   * the clinic refuses before its first step (`STUDY_MISMATCH`). None: the study stored in
   * the state folder on the first run (`--trust-study`) is the pin.
   */
  study?: string;
}

const FIELDS = new Set([
  "name", "server", "serverPublicKey", "clinicKey", "peers", "pskFile", "data", "dataLabel", "dataPositive", "dataSchema", "rows",
  "model", "cuts", "mode", "loss", "codec", "optimizer", "seed", "batchSize", "evalBatchSize",
  "checkpointDir", "turnsPerEpoch", "augment", "threads", "retries", "patienceMs", "policy",
  "defence", "cipher", "study",
]);

/**
 * Parses and checks a client config file's text; relative paths resolve against `baseDir`.
 *
 * @throws {TypeError} naming the first bad field
 * @example
 * ```ts
 * import { parseClientConfig } from "./client_config.ts";
 * try {
 *   parseClientConfig('{"mode": "sideways"}', ".");
 * } catch (e) {
 *   console.log((e as Error).message); // config.server: expected ...
 * }
 * ```
 */
export function parseClientConfig(text: string, baseDir: string): ClientConfig {
  const cfg = readJsonConfig(text, FIELDS, baseDir);
  const { c, fail, str, path } = cfg;
  const int = (k: string, min: number, fallback: number): number => cfg.int(k, min, fallback);
  const server = str("server")!;
  if (!/^https?:\/\/[^/]+:\d+\/?$/.test(server)) fail("server", "http(s)://host:port");
  const mode = str("mode") as RawSideMode;
  if (mode !== "vanilla" && mode !== "ushaped") fail("mode", '"vanilla" or "ushaped"');
  const loss = (str("loss", false) ?? "bce") as LossKind;
  if (!["bce", "ce", "mse"].includes(loss)) fail("loss", '"bce", "ce" or "mse"');
  const opt = c.optimizer as Record<string, unknown> | undefined;
  if (!opt || typeof opt !== "object" || !["sgd", "adam", "adamw"].includes(opt.kind as string) || typeof opt.lr !== "number") {
    fail("optimizer", '{"kind": "sgd" | "adam" | "adamw", "lr": number, ...}');
  }
  try {
    checkOptimizerConfig(opt as unknown as OptimizerConfig);
  } catch (e) {
    throw new TypeError(`config.optimizer: ${(e as Error).message}`);
  }
  const codec = cfg.codec("codec");
  const model = str("model")!;
  const cuts = c.cuts;
  if (cuts !== undefined && (!Array.isArray(cuts) || !cuts.every((x) => typeof x === "string" && x.length > 0))) {
    fail("cuts", "an array of tensor names");
  }
  if (model.endsWith(".onnx") && cuts === undefined) fail("cuts", "the cut tensor names (required for an .onnx model)");
  const augment = (str("augment", false) ?? "none") as "shift" | "none";
  if (augment !== "shift" && augment !== "none") fail("augment", '"shift" or "none"');
  const policy = (c.policy ?? {}) as Record<string, unknown>;
  if (
    typeof policy !== "object" || policy === null || Array.isArray(policy) ||
    Object.keys(policy).some((k) => k !== "allowExport") ||
    (policy.allowExport !== undefined && typeof policy.allowExport !== "boolean")
  ) {
    fail("policy", '{"allowExport": boolean}');
  }
  if (c.rows !== undefined && (c.rows === null || typeof c.rows !== "object")) fail("rows", "an object {train?, val?, test?}");
  let defence: DefenceConfig;
  try {
    defence = parseDefenceConfig(c.defence);
  } catch (e) {
    throw new TypeError(`config.${(e as Error).message}`);
  }
  if (mode === "vanilla" && defence.labelProtection === "norm-equalise") {
    throw new TypeError(
      `config.defence.labelProtection: "norm-equalise" needs mode "ushaped", got mode "vanilla" ` +
        "(in vanilla mode the server computes the cut gradient: set labelProtection in the server's config)",
    );
  }
  if (mode === "ushaped" && defence.hijackGuard) {
    throw new TypeError(`config.defence.hijackGuard needs mode "vanilla", got mode "ushaped" (U-shape labels never reach the server; docs/design/privacy_defences.md)`);
  }
  try {
    checkLabelDefenceMode(defence.labelDefence, mode); // refused here, before any process starts
  } catch (e) {
    throw new TypeError(`config.${(e as Error).message}`);
  }
  const clinicKey = path(str("clinicKey")!);
  return {
    name: str("name", false) ?? basename(clinicKey).replace(/\.key$/, ""),
    server: server.replace(/\/+$/, ""),
    serverPublicKey: path(str("serverPublicKey")!),
    clinicKey,
    peers: c.peers === undefined ? undefined : path(str("peers")!),
    pskFile: c.pskFile === undefined ? undefined : path(str("pskFile")!),
    cipher: c.cipher === undefined
      ? "chachapoly"
      : c.cipher === "chachapoly" || c.cipher === "aesgcm"
      ? c.cipher
      : fail("cipher", '"chachapoly" or "aesgcm"'),
    data: path(str("data")!),
    dataLabel: str("dataLabel", false),
    dataPositive: str("dataPositive", false),
    dataSchema: c.dataSchema === undefined ? undefined : configDataSchema(c.dataSchema),
    rows: c.rows as ClientConfig["rows"],
    model: model.endsWith(".onnx") ? path(model) : model,
    cuts: cuts as string[] | undefined,
    mode,
    loss,
    codec,
    optimizer: opt as unknown as OptimizerConfig,
    seed: int("seed", 0, 0),
    batchSize: int("batchSize", 1, 64),
    evalBatchSize: int("evalBatchSize", 1, 256),
    checkpointDir: path(str("checkpointDir")!),
    turnsPerEpoch: int("turnsPerEpoch", 1, 1),
    augment,
    threads: int("threads", 1, 1),
    retries: int("retries", 0, 8),
    patienceMs: int("patienceMs", 1, 300_000),
    policy: { allowExport: policy.allowExport === true },
    defence,
    ...(c.study === undefined ? {} : { study: studyPin(c.study, fail) }),
  };
}
