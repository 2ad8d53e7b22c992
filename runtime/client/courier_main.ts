/**
 * Entry point of the clinic's courier process: the only process of the clinic that talks to
 * the network. It runs with {@linkcode courierFlags} only (network to the server's host:port;
 * read of the clinic key, the server public key and the peers file; nothing else — in
 * particular no read of the data directory), speaks the {@linkcode RawSide} API to the
 * raw-data process over stdin/stdout (relayed by the launcher), and drives training
 * ({@linkcode runClinic}) or split inference over an encrypted {@linkcode ServerConnection}.
 *
 * stdout carries raw-side frames only; logs go to stderr. The outcome is one stderr line
 * `RESULT_PREFIX + JSON` that the launcher picks up.
 *
 * ```
 * deno run <courierFlags(config)> --cached-only runtime/client/courier_main.ts '<CourierConfig JSON>'
 * ```
 *
 * @example
 * ```ts
 * import { RESULT_PREFIX } from "./courier_main.ts";
 * console.log(RESULT_PREFIX.length > 0); // true
 * ```
 * @module
 */
import type { LossKind } from "../../models/grad/loss.ts";
import type { WireDType } from "../codec/mod.ts";
import { loadAllowlist, loadPrivateKeyFile, loadPublicKeyFile } from "../keys/key_store.ts";
import { formatClinicEvent, runClinic, splitLogits } from "./clinic.ts";
import { eventLine } from "./clinic_event_line.ts";
import { RawSideStub } from "./raw_side/stub.ts";
import { checkServerStudy, type StudyGate } from "./study_gate.ts";
import type { PublishedStudy } from "../study/published_study.ts";
import { ClinicError } from "./clinic_error.ts";
import { PhaseProfile } from "../protocol/phase_profile.ts";
import { writeNpz } from "../data/npz.ts";
import { parseHexKey } from "../../crypto/keys/hex_key.ts";
import { CHANNEL_CIPHERS, type ChannelCipher } from "../../crypto/channel/handshake.ts";
import { describeNoiseCipher } from "../../crypto/noise/cipher_select.ts";
import { runId } from "../../crypto/seal/sealed_envelope.ts";
import { ServerConnection, ServerRequestError } from "./server_connection.ts";
import { equalBytes } from "@noble/ciphers/utils.js";

/** Marks the courier's result line on stderr. */
export const RESULT_PREFIX = "\u0001splitgate-result ";
/**
 * Prefix of the courier's stderr line carrying the study it accepted (JSON: id, digest, text,
 * definition), which the launcher stores in the clinic's state folder.
 */
export const STUDY_PREFIX = "\u0001splitgate-study ";

/**
 * The courier's configuration (its one argument; holds paths and settings, never a secret).
 *
 * @example
 * ```ts
 * import type { CourierConfig } from "./courier_main.ts";
 * const c: CourierConfig = { task: "train", server: "http://127.0.0.1:8443", keyFile: "a.key",
 *   serverPublicKeyFile: "s.pub", codec: { dtype: "float32", level: 0 }, loss: "bce" };
 * ```
 */
export interface CourierConfig {
  /** `study`: only fetch and check the server's study (`fetchStudy`), before the raw side starts. */
  task: "train" | "predict" | "study";
  /** This clinic's name, for the log lines of task `study` (the others take it from the raw side). */
  clinic?: string;
  server: string;
  keyFile: string;
  serverPublicKeyFile: string;
  peersFile?: string;
  /** The consortium pre-shared key file (64 hex digits), for a server that uses IKpsk2. */
  pskFile?: string;
  /** The channel's cipher (default `"chachapoly"`), as the server's. */
  cipher?: ChannelCipher;
  codec: { dtype: WireDType; level: number };
  loss: LossKind;
  turnsPerEpoch?: number;
  retries?: number;
  patienceMs?: number;
  pollMs?: number;
  /** Keep evaluation scores and labels in the result (the demo's overall AUC). */
  keepScores?: boolean;
  /** Print a line per step (default: per turn). */
  verboseSteps?: boolean;
  /**
   * Task `predict`: also fetch the server segment's weights (`EXPORT`) and hand them to the
   * raw side, which assembles the full model in its checkpoint directory. The clinic's own
   * weights never leave the raw side.
   */
  exportModel?: boolean;
  /** Log per-phase timings (pipe calls, encode, seal, HTTP, open, decode) at the end. */
  profile?: boolean;
  /** Log every progress event, steps included, as an event line (`clinic_event_line.ts`) instead of text. */
  events?: boolean;
  /**
   * Task `train`: check the server's study before the first step (`study_gate.ts`); the
   * accepted study goes to the launcher on a {@linkcode STUDY_PREFIX} line. None: no check.
   */
  study?: StudyGate;
}

/**
 * Runs the courier: connects, serves its task, returns the result object.
 *
 * @example
 * ```ts
 * import { runCourier } from "./courier_main.ts";
 * import type { CourierConfig } from "./courier_main.ts";
 * async function serve(config: CourierConfig) {
 *   return await runCourier(config, Deno.stdin.readable, Deno.stdout.writable);
 * }
 * ```
 */
export async function runCourier(
  config: CourierConfig,
  fromRawSide: ReadableStream<Uint8Array>,
  toRawSide: WritableStream<Uint8Array>,
  log: (line: string) => void = (l) => console.error(l),
): Promise<unknown> {
  const profile = new PhaseProfile(config.profile === true);
  // Task study: no raw side yet; the launcher starts it once the study is stored.
  if (config.task === "study") return await fetchStudy(config, log, profile);
  const side = new RawSideStub(fromRawSide, toRawSide, { profile });
  try {
    const info = await side.ready;
    const { conn, peers, serverKey, patience } = await connectCourier(config, info.clinic, log, profile);
    if (config.task === "predict") {
      if (await side.restore() === null) {
        throw new ClinicError("NOT_TRAINED", "predict: the checkpoint directory holds no trained weights (train first)");
      }
      const { logits, labels } = await splitLogits(side, conn, "test", info);
      let exportFile: string | undefined;
      if (config.exportModel) {
        const { weights } = await conn.request({ type: "EXPORT" });
        const npz = writeNpz(new Map(Object.entries(weights)), { level: 0 });
        exportFile = (await side.exportModel(npz)).file;
        log(`[${info.clinic}] assembled the full model from the server's segment (${Object.keys(weights).length} tensors)`);
      }
      return {
        ...(exportFile ? { exportFile } : {}),
        clinic: conn.clinic,
        logits: Array.from(logits.data as Float32Array),
        dims: logits.dims,
        labels: Array.from(labels.data as ArrayLike<number>, Number),
        bytesUp: conn.bytesUp,
        bytesDown: conn.bytesDown,
      };
    }
    const result = await runClinic({
      side,
      conn,
      peers,
      // Relayed weights are bound to this server's run (docs/design/security_model.md).
      run: runId(serverKey.publicKey),
      loss: config.loss,
      turnsPerEpoch: config.turnsPerEpoch,
      pollMs: config.pollMs,
      patienceMs: patience,
      keepScores: config.keepScores,
      profile,
      ...(config.study ? { study: { ...config.study, onAccepted: (p) => log(STUDY_PREFIX + JSON.stringify(p)) } } : {}),
      leave: true,
      onEvent: (e) => {
        if (config.events) {
          return log(eventLine({ ...e, clinic: conn.clinic, t: Date.now(), bytesUp: conn.bytesUp, bytesDown: conn.bytesDown }));
        }
        if (e.kind === "step" && !config.verboseSteps) return;
        log(formatClinicEvent(conn.clinic, e));
      },
    });
    conn.close();
    if (profile.enabled) log(profile.format("profile courier"));
    return result;
  } finally {
    await side.close();
  }
}

/** Loads the keys and connects to the server, riding out an unreachable one for `patienceMs`. */
async function connectCourier(
  config: CourierConfig,
  clinic: string,
  log: (line: string) => void,
  profile: PhaseProfile,
): Promise<{ conn: ServerConnection; peers: Map<string, Uint8Array>; serverKey: { publicKey: Uint8Array }; patience: number }> {
  const own = await loadPrivateKeyFile(config.keyFile);
  const serverKey = await loadPublicKeyFile(config.serverPublicKeyFile);
  const peers = new Map<string, Uint8Array>();
  if (config.peersFile) {
    for (const e of (await loadAllowlist(config.peersFile)).entries) {
      if (!equalBytes(e.publicKey, own.keyPair.publicKey)) peers.set(e.name, e.publicKey);
    }
  }
  let psk: Uint8Array | undefined;
  if (config.pskFile) {
    const parsed = parseHexKey((await Deno.readTextFile(config.pskFile)).trim());
    // The message names the file and the format, never the content.
    if (typeof parsed === "string") throw new TypeError(`pskFile ${config.pskFile}: ${parsed}`);
    psk = parsed;
  }
  // Says now, on stderr, if frames will be sealed by @noble instead of node:crypto.
  describeNoiseCipher(CHANNEL_CIPHERS[config.cipher ?? "chachapoly"]);
  const patience = config.patienceMs ?? 300_000;
  const t0 = Date.now();
  for (;;) {
    try {
      const conn = await ServerConnection.connect({
        url: config.server,
        serverPublicKey: serverKey.publicKey,
        clinicKeyPair: own.keyPair,
        ...(psk ? { psk } : {}),
        ...(config.cipher ? { cipher: config.cipher } : {}),
        codec: { dtype: config.codec.dtype, level: config.codec.level },
        retries: config.retries ?? 8,
        maxBackoffMs: 2000,
        log: (l) => log(`[${clinic}] ${l}`),
        profile,
      });
      if (conn.clinic !== clinic) log(`[${clinic}] note: the server knows this clinic as ${conn.clinic}`);
      return { conn, peers, serverKey, patience };
    } catch (e) {
      if (!(e instanceof ServerRequestError && e.code === "UNREACHABLE") || Date.now() - t0 > patience) throw e;
      log(`[${clinic}] server not reachable yet, retrying`);
    }
  }
}

/**
 * Task `study`: the server's study, checked against `config.study` (`study_gate.ts`) before
 * the raw side starts, so that it finds the study in its folder from its first moment.
 */
async function fetchStudy(config: CourierConfig, log: (line: string) => void, profile: PhaseProfile): Promise<{ study: PublishedStudy | null }> {
  const label = config.clinic ?? "clinic";
  const { conn } = await connectCourier(config, label, log, profile);
  try {
    return { study: checkServerStudy(await conn.request({ type: "STUDY" }), config.study ?? {}) };
  } finally {
    conn.close();
  }
}

if (import.meta.main) {
  // stdout is the raw side's frame channel: nothing else may write there.
  const toStderr = (...a: unknown[]) => console.error(...a);
  console.log = console.info = console.debug = toStderr;
  try {
    const config = JSON.parse(Deno.args[0] ?? "") as CourierConfig;
    const result = await runCourier(config, Deno.stdin.readable, Deno.stdout.writable);
    console.error(RESULT_PREFIX + JSON.stringify(result));
  } catch (e) {
    const code = (e as { code?: string })?.code;
    console.error(`courier${code ? ` [${code}]` : ""}: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
