/**
 * What the server is configured with ({@linkcode ServerConfig}, built by the CLI from its
 * config file and flags) and given ({@linkcode ServerDeps}), and the checks that refuse a
 * configuration that cannot work before anything is loaded.
 *
 * @example
 * ```ts
 * import { resolveServerConfig } from "./server_config.ts";
 * const r = resolveServerConfig(
 *   { mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 }, model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } } },
 *   ["a", "b"],
 * );
 * console.log(r.order, r.maxBodyBytes); // ["a", "b"] 67108864
 * ```
 * @module
 */
import type { ChannelCipher } from "../../crypto/channel/handshake.ts";
import type { Allowlist } from "../../crypto/keys/allowlist.ts";
import type { KeyPair } from "../../crypto/keys/key_pair.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import type { OptimizerConfig } from "../../models/train/optimizer.ts";
import type { Engine, EngineName } from "../engine/mod.ts";
import type { BundleOptions } from "../codec/mod.ts";
import type { QuantizeMode } from "../config/quantize_mode.ts";
import type { PhaseProfile } from "../protocol/phase_profile.ts";
import type { LabelProtection } from "../privacy/defence_config.ts";
import type { ModelSpec, SplitMode } from "./split_model.ts";
import { DEFAULT_MAX_ACTIVATION } from "./server_model.ts";
import type { PublishedStudy } from "../study/published_study.ts";
import type { ScheduleConfig } from "./schedule_config.ts";

/**
 * Server settings (the CLI builds them from its config file and flags).
 *
 * @example
 * ```ts
 * import type { ServerConfig } from "./server_config.ts";
 * const c: ServerConfig = {
 *   mode: "vanilla", loss: "bce", optimizer: { kind: "adam", lr: 1e-3 }, engine: "native",
 *   model: { zoo: "cnn", data: { image: { channels: 1, size: 28 } }, seed: 0 },
 *   checkpointDir: "out/server", turnTimeoutMs: 30_000,
 * };
 * ```
 */
export interface ServerConfig extends ScheduleConfig {
  mode: SplitMode;
  model: ModelSpec;
  /** Cut tensors (default: the zoo's cuts for the mode; required for ONNX). */
  cuts?: string[];
  loss: LossKind;
  optimizer: OptimizerConfig;
  /** Engine to create when `deps.engine` is not given (default native). */
  engine?: EngineName;
  threads?: number;
  /** Where checkpoints go; none: no checkpoints. */
  checkpointDir?: string;
  limits?: {
    /** Largest request body in bytes (default 64 MiB). */
    maxBodyBytes?: number;
    /** Largest batch (default 1024). */
    maxBatch?: number;
    /** Element limit of one request (default: from maxBatch and the cut shapes). */
    maxElements?: number;
    /**
     * Largest magnitude |x| of any element of a cut activation a clinic sends (`STEP`,
     * `MIDDLE_FORWARD`, `EVAL`); beyond it the request is refused with 422 `OUT_OF_RANGE`
     * before any graph runs (default 1e4, unitless like the activations). One step with
     * activations scaled by 1e6 froze the shared model; by 1e20 it made a BatchNorm's
     * running variance infinite (docs/design/security_model.md).
     */
    maxActivation?: number;
    /**
     * Milliseconds a `/msg` request body may take to arrive in full (default 30,000): past
     * it the request is refused with 408 `BODY_TIMEOUT`. Bodies are read and authenticated
     * before they queue for their session, so a slow body delays only itself.
     */
    bodyTimeoutMs?: number;
    /** Handshakes a clinic key may make at once (token bucket size, default 10). */
    handshakeBurst?: number;
    /** Milliseconds per handshake a clinic key regains (default 2,000: 30 a minute). */
    handshakeRefillMs?: number;
    /** Handshakes a peer address may make at once, any key (default 100). */
    addressHandshakeBurst?: number;
    /** Milliseconds per handshake a peer address regains (default 50: 20 a second). */
    addressHandshakeRefillMs?: number;
  };
  /** Silence after which the turn holder is skipped (default 60 s). */
  turnTimeoutMs?: number;
  /** Turn order (default: allowlist order). */
  order?: string[];
  /** Stop after this many data epochs (default: never); the schedule runs `epochs × turnsPerEpoch` rounds. */
  epochs?: number;
  /**
   * Turns each clinic takes per data epoch, as the clinics' own `turnsPerEpoch` (default 1):
   * a round of the turn order is then part of an epoch, and the log names both.
   */
  turnsPerEpoch?: number;
  /**
   * Codec options of replies (default float32 exact); with int8, `quantize` says where
   * (runtime/config/quantize_mode.ts, default "graph").
   */
  codec?: BundleOptions & { quantize?: QuantizeMode };
  /**
   * Whether clinics may fetch the server segment's weights (`EXPORT`) to assemble the full
   * model (default false: refused with 403 `EXPORT_FORBIDDEN`).
   */
  allowExport?: boolean;
  /**
   * Vanilla mode: what the server does to each cut gradient before returning it
   * (`runtime/privacy/label_protection.ts`): `"norm-equalise"` rescales every sample's
   * gradient to the batch's mean norm against the norm attack on labels (Li et al. 2022);
   * default `"none"`. Refused in U-shape, where the server sees no labels and the clinic
   * protects the head-input gradient it sends (its `defence.labelProtection`).
   */
  labelProtection?: LabelProtection;
  /**
   * Whether a step replies before the server's own update (the parameter gradients and the
   * optimizer step), which then runs while the clinic computes its backward pass; default
   * true. The numbers are those of the fused step either way (`ServerModel`).
   */
  deferUpdate?: boolean;
  /**
   * Who may read `GET /v1/status`, which names the participating clinics and their traffic:
   * `"loopback"` (default: the server's own host, e.g. a local dashboard or an SSH tunnel)
   * or `"anywhere"`. Which hospitals take part is itself worth keeping to the operators.
   */
  statusFrom?: "loopback" | "anywhere";
  /**
   * The channel's cipher (docs/design/transport.md): `"chachapoly"` (default, `Noise_IK_25519_ChaChaPoly_SHA256`)
   * or `"aesgcm"` (`Noise_IK_25519_AESGCM_SHA256`). Every clinic must configure the same:
   * the cipher is part of the protocol name, so a clinic with the other one fails its
   * handshake (`BAD_HANDSHAKE`, invalid tag).
   */
  cipher?: ChannelCipher;
  /**
   * The bearer token other hosts must present to read `GET /metrics` and `GET /dashboard`
   * (the server's own host needs none); none: the server's own host only. The CLI reads it
   * from the config's `metricsTokenFile`.
   */
  metricsToken?: string;
  /** Milliseconds between the dashboard's live updates (default 1000). */
  dashboardIntervalMs?: number;
  /** The study definition it publishes to the clinics (`STUDY`); none: no study file. */
  study?: PublishedStudy;
}

/**
 * What the server is given rather than configured.
 *
 * @example
 * ```ts
 * import type { ServerDeps } from "./server_config.ts";
 * import { Allowlist } from "../../crypto/keys/allowlist.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/key_pair.ts";
 * const d: ServerDeps = { keyPair: generateStaticKeyPair(), allowlist: new Allowlist([]) };
 * ```
 */
export interface ServerDeps {
  keyPair: KeyPair;
  allowlist: Allowlist;
  /** Consortium pre-shared key (IKpsk2). */
  psk?: Uint8Array;
  /** An engine to run on (not disposed by `close`). */
  engine?: Engine;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  /** Log sink (default `console.log`). Never receives secrets or tensors. */
  log?: (line: string) => void;
  /** Per-phase timings of `/msg` requests (read, open, decode, handle, seal); default none. */
  profile?: PhaseProfile;
}

/**
 * The settings {@linkcode resolveServerConfig} checked, with their defaults filled in.
 *
 * @example
 * ```ts
 * import type { ResolvedServerConfig } from "./server_config.ts";
 * const r: ResolvedServerConfig = {
 *   order: ["a"], maxBodyBytes: 1 << 20, labelProtection: "none", turnsPerEpoch: 1, maxActivation: 1e4,
 *   bodyTimeoutMs: 30_000,
 *   handshakeRate: { perKey: { burst: 10, refillMs: 2000 }, perAddress: { burst: 100, refillMs: 50 } },
 * };
 * ```
 */
export interface ResolvedServerConfig {
  /** Turn order (the allowlist's when not configured). */
  order: string[];
  /** Largest request body in bytes. */
  maxBodyBytes: number;
  labelProtection: LabelProtection;
  /** Turns of each clinic per data epoch. */
  turnsPerEpoch: number;
  /** Largest |x| of a cut activation element. */
  maxActivation: number;
  /** Deadline of a `/msg` body in ms. */
  bodyTimeoutMs: number;
  /** Handshake token buckets per clinic key and per peer address. */
  handshakeRate: { perKey: { burst: number; refillMs: number }; perAddress: { burst: number; refillMs: number } };
}

/** Default of `limits.maxBodyBytes`: 64 MiB. */
const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * Checks the parts of `config` that can be checked before the model is built, against the
 * clinic names of the allowlist, and fills in their defaults.
 *
 * @throws {RangeError} naming the setting and what was expected: a turn order naming a
 *   clinic outside the allowlist, `limits.maxBodyBytes` under 1024, an unknown
 *   `labelProtection`, label protection outside vanilla mode, a `turnsPerEpoch` that is
 *   not a positive integer, or a `limits.maxActivation` that is not a finite number > 0.
 * @example
 * ```ts
 * import { resolveServerConfig } from "./server_config.ts";
 * try {
 *   resolveServerConfig({ mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 },
 *     model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } }, order: ["x"] }, ["a"]);
 * } catch (e) {
 *   console.log((e as RangeError).message); // turn order names "x", which is not in the allowlist
 * }
 * ```
 */
export function resolveServerConfig(config: ServerConfig, names: readonly string[]): ResolvedServerConfig {
  const order = config.order ?? [...names];
  for (const n of order) {
    if (!names.includes(n)) throw new RangeError(`turn order names ${JSON.stringify(n)}, which is not in the allowlist`);
  }
  const maxBodyBytes = config.limits?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1024) {
    throw new RangeError(`limits.maxBodyBytes ${maxBodyBytes}: expected an integer >= 1024`);
  }
  const labelProtection = config.labelProtection ?? "none";
  if (labelProtection !== "none" && labelProtection !== "norm-equalise") {
    throw new RangeError(`labelProtection ${JSON.stringify(labelProtection)}: expected "none" or "norm-equalise"`);
  }
  if (labelProtection !== "none" && config.mode !== "vanilla") {
    throw new RangeError(
      `labelProtection ${JSON.stringify(labelProtection)} needs mode vanilla; in ${config.mode} mode the labels stay at the clinic, which protects the gradient it sends (its defence.labelProtection)`,
    );
  }
  const turnsPerEpoch = config.turnsPerEpoch ?? 1;
  if (!Number.isInteger(turnsPerEpoch) || turnsPerEpoch < 1) {
    throw new RangeError(`turnsPerEpoch ${turnsPerEpoch}: expected an integer >= 1`);
  }
  const maxActivation = config.limits?.maxActivation ?? DEFAULT_MAX_ACTIVATION;
  if (typeof maxActivation !== "number" || !(maxActivation > 0) || !Number.isFinite(maxActivation)) {
    throw new RangeError(`limits.maxActivation ${maxActivation}: expected a finite number > 0`);
  }
  return { order, maxBodyBytes, labelProtection, turnsPerEpoch, maxActivation, ...resolveTimeLimits(config.limits ?? {}) };
}

/** The body deadline and the handshake rates, with their defaults, checked. */
function resolveTimeLimits(
  l: NonNullable<ServerConfig["limits"]>,
): Pick<ResolvedServerConfig, "bodyTimeoutMs" | "handshakeRate"> {
  const int = (key: keyof typeof l, dflt: number): number => {
    const v = l[key] ?? dflt;
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`limits.${key} ${v}: expected an integer >= 1`);
    return v;
  };
  return {
    bodyTimeoutMs: int("bodyTimeoutMs", 30_000),
    handshakeRate: {
      perKey: { burst: int("handshakeBurst", 10), refillMs: int("handshakeRefillMs", 2_000) },
      perAddress: { burst: int("addressHandshakeBurst", 100), refillMs: int("addressHandshakeRefillMs", 50) },
    },
  };
}
