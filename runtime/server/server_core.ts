/**
 * The server's core without its transport (docs/design/scale_out.md): the model, the
 * schedule, the state and the handler context, and {@linkcode ServerCore.answer}, which takes
 * one opened request (the plaintext encoded message a clinic sent) and returns the encoded
 * reply. The single server (`app.ts`) puts the Noise sessions and the HTTP routes around it;
 * a trainer of the scale-out (`runtime/cluster/trainer.ts`) puts a JetStream worker around it.
 * Either way a request goes through the same steps: the clinic's record is touched, the
 * request is refused by its header where it can be (`handlers/request_gates.ts`), decoded
 * within the limits, and answered by the handler table under the server's lock (a merged
 * `STEP` waits for its window outside the lock; the merged run takes it).
 *
 * @example
 * ```ts
 * import { createServerCore } from "./server_core.ts";
 * import { Allowlist } from "../../crypto/keys/allowlist.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/key_pair.ts";
 * import { decodeMessage, encodeMessage } from "../protocol/mod.ts";
 * const core = await createServerCore({
 *   mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 }, engine: "wasm",
 *   model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } },
 * }, { keyPair: generateStaticKeyPair(), allowlist: new Allowlist([{ name: "a", publicKey: generateStaticKeyPair().publicKey }]) });
 * const reply = await core.answer("a", encodeMessage({ type: "TURN_REQUEST" }));
 * console.log(decodeMessage(reply).type); // "TURN"
 * await core.close();
 * ```
 * @module
 */
import { createEngine, type Engine } from "../engine/mod.ts";
import type { HandlerContext } from "./handlers/handler_context.ts";
import { readCheckpoint } from "./checkpoint.ts";
import { SerialLock } from "./serial_lock.ts";
import { type ResolvedServerConfig, resolveServerConfig, type ServerConfig, type ServerDeps } from "./server_config.ts";
import { ServerModel } from "./server_model.ts";
import { ServerState } from "./server_state.ts";
import { buildSplitModel } from "./split_model.ts";
import { StudyEnd } from "./study_end.ts";
import type { RoundSchedule } from "./round_schedule.ts";
import { createSchedule, resolveScheduleConfig, type ResolvedScheduleConfig } from "./schedule_config.ts";
import { SplitfedCopies } from "./splitfed_copies.ts";
import { mergeWindow } from "./handlers/merged_step.ts";
import { roundLabel, type RoundNaming } from "./round_label.ts";
import { PhaseProfile } from "../protocol/phase_profile.ts";
import { ActivationDrift } from "./activation_drift.ts";
import { MetricsLog } from "./metrics/metrics_log.ts";
import { type StudyInfo, studyInfo } from "./metrics/study_info.ts";
import { StudyMetrics } from "./metrics/study_metrics.ts";
import { quantizesInGraph } from "../config/quantize_mode.ts";
import { resolveEncoding } from "../codec/options.ts";
import { createSecureFronts } from "./secure_fronts.ts";
import type { DecodeLimits } from "../codec/mod.ts";
import { decodeMessage, isRequest, MESSAGE_TYPES, ProtocolError } from "../protocol/mod.ts";
import { gateBeforeDecode } from "./handlers/request_gates.ts";
import { handleRequest } from "./handler_table.ts";

/**
 * A built server core.
 *
 * @example
 * ```ts
 * import type { ServerCore } from "./server_core.ts";
 * function round(core: ServerCore) { return core.schedule.epoch; }
 * ```
 */
export interface ServerCore {
  /** The config as resolved (order, limits, label protection, rounds per epoch). */
  resolved: ResolvedServerConfig;
  /** The schedule settings as resolved. */
  sched: ResolvedScheduleConfig;
  state: ServerState;
  ctx: HandlerContext;
  /** The server's lock: one request at a time touches the model and the schedule. */
  lock: SerialLock;
  /** The server segment (weights, optimizer). */
  model: ServerModel;
  /** The schedule (round-robin turns, or the rounds of a parallel schedule). */
  schedule: RoundSchedule;
  /** The end of the study: whether it is finished, who has left (`LEAVE`). */
  end: StudyEnd;
  /** What `/metrics` and `/dashboard` show of the steps (since this server started). */
  metrics: StudyMetrics;
  /** The study's description for the metrics. */
  study: StudyInfo;
  /** Whether the state was resumed from a checkpoint. */
  resumed: boolean;
  /** How the schedule's rounds map to data epochs. */
  rounds: RoundNaming;
  /** Decode limits of a request (cut-shaped tensors), and of TURN_DONE (bounded by the body limit). */
  limits: DecodeLimits;
  turnDoneLimits: DecodeLimits;
  /**
   * Answers clinic `clinic`'s opened request `payload` (an encoded request message) with the
   * encoded reply, under the lock (a merged `STEP` outside it). `bytes`: the request's size
   * on the wire, for the clinic's traffic counter (default: the payload's); `precheck` runs
   * first, inside the lock (the HTTP route checks that the session is still live there).
   *
   * @throws {ProtocolError} for a refused request, the state unchanged.
   */
  answer(clinic: string, payload: Uint8Array, o?: { bytes?: number; precheck?: () => void }): Promise<Uint8Array>;
  /** Starts the deferred update of the last step (call once its reply has left). */
  afterReply(): void;
  /** Writes a checkpoint now (also done after every turn). */
  checkpoint(): Promise<void>;
  /** Releases the engine sessions (and the engine, if the core created it). */
  close(): Promise<void>;
}

/**
 * How a caller other than the single server builds a core (a trainer of the scale-out).
 *
 * @example
 * ```ts
 * import type { CoreOptions } from "./server_core.ts";
 * const o: CoreOptions = { copies: "shared" };
 * ```
 */
export interface CoreOptions {
  /**
   * `splitfed`: `"perClinic"` (default, SFLV1: one copy of the server segment per clinic) or
   * `"shared"` (one replica shared by this core's clinics: a trainer's replica, averaged with
   * the other trainers' at the round's end).
   */
  copies?: "perClinic" | "shared";
  /** Builds the schedule instead of the config's (a trainer's round over its own clinics). */
  schedule?: (order: readonly string[], o: { timeoutMs: number; epochs?: number }, now: number) => RoundSchedule;
}

/** The profile of a server built without one: records nothing. */
const NO_PROFILE = new PhaseProfile(false);

/**
 * Builds the core: compiles the model, loads the server segment on the engine, resumes from
 * the checkpoint in `config.checkpointDir` when there is one.
 *
 * @throws {TypeError} / {RangeError} for a config that cannot work (wrong cuts, empty
 *   allowlist, a checkpoint of another model).
 * @example
 * ```ts
 * import { createServerCore } from "./server_core.ts";
 * import { Allowlist } from "../../crypto/keys/allowlist.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/key_pair.ts";
 * try {
 *   await createServerCore({
 *     mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 },
 *     model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } } }, limits: { maxBodyBytes: 10 },
 *   }, { keyPair: generateStaticKeyPair(), allowlist: new Allowlist([]) });
 * } catch (e) {
 *   console.log((e as RangeError).message); // limits.maxBodyBytes 10: expected an integer >= 1024
 * }
 * ```
 */
export async function createServerCore(config: ServerConfig, deps: ServerDeps, o: CoreOptions = {}): Promise<ServerCore> {
  const now = deps.now ?? (() => Date.now());
  const log = deps.log ?? ((line: string) => console.log(line));
  const names = deps.allowlist.entries.map((e) => e.name);
  const resolved = resolveServerConfig(config, names);
  const { order, maxBodyBytes, labelProtection, turnsPerEpoch } = resolved;
  const rounds: RoundNaming = { turnsPerEpoch, epochs: config.epochs };
  const ownEngine = deps.engine === undefined;
  const engine = deps.engine ??
    await createEngine(config.engine ?? "native", config.threads ? { threads: config.threads } : {});
  const model = await buildModel(config, engine, resolved, log);
  // The schedule counts rounds: each data epoch is turnsPerEpoch of them.
  const sched = resolveScheduleConfig(config, config.mode);
  const scheduleOptions = {
    timeoutMs: config.turnTimeoutMs ?? 60_000,
    epochs: config.epochs === undefined ? undefined : config.epochs * turnsPerEpoch,
  };
  const schedule = o.schedule
    ? o.schedule(order, scheduleOptions, now())
    : createSchedule(sched.schedule, order, scheduleOptions, now());
  const copies = sched.schedule === "splitfed" && o.copies !== "shared" ? new SplitfedCopies(model) : undefined;
  const state = new ServerState({ names, model, schedule, mode: config.mode, checkpointDir: config.checkpointDir, copies });
  if (sched.frontAggregation === "secagg") {
    state.secure = createSecureFronts(deps.keyPair.publicKey, deps.allowlist, config.turnTimeoutMs ?? 60_000, log);
    // With two clinics, each learns the other's front from the average and its own: said once
    // at start, not refused (it still hides the fronts from the server).
    if (order.length < 3) {
      log(`warning: frontAggregation "secagg" with ${order.length} clinic(s): the average hides no clinic's front from the others; use three or more`);
    }
  }
  const resumed = await resume(state, config.checkpointDir, now, (at) => log(`resumed from checkpoint: ${at}`), rounds);
  state.markTurnStart(); // what a turn holder restarting mid-turn rolls the server back to
  const lock = new SerialLock();
  const study = studyInfo(config, { order, turnsPerEpoch, labelProtection, cut: model.expect.activation });
  const metricsLog = config.checkpointDir
    ? MetricsLog.open(config.checkpointDir, (e) => log(`metrics log ${config.checkpointDir}: ${e.message}; no more lines written`))
    : undefined;
  metricsLog?.append({ kind: "study", t: now(), study, clinics: names });
  const metrics = new StudyMetrics({ now, sink: metricsLog && ((p) => metricsLog.append(p)) });
  const end = new StudyEnd({ state, rounds, metrics, study: config.study, now, log });
  state.afterCheckpoint = () => end.afterCheckpoint();
  const ctx: HandlerContext = {
    state,
    loss: config.loss,
    labelProtection,
    allowExport: config.allowExport === true,
    codec: config.codec,
    profile: deps.profile ?? NO_PROFILE,
    rounds,
    now,
    log,
    drift: new ActivationDrift(),
    metrics,
    study: config.study,
    end,
    clinicWeights: sched.clinicWeights,
    merge: sched.merge ? mergeWindow(sched.merge, state, lock) : undefined,
  };
  const limits: DecodeLimits = { maxElements: config.limits?.maxElements ?? model.maxElements, maxTensors: 4 };
  const turnDoneLimits: DecodeLimits = { maxElements: maxBodyBytes, maxTensors: order.length + 1 };
  const core: ServerCore = {
    resolved,
    sched,
    state,
    ctx,
    lock,
    model,
    schedule,
    end,
    metrics,
    study,
    resumed,
    rounds,
    limits,
    turnDoneLimits,
    answer(clinic, payload, ao = {}) {
      const run = () => {
        ao.precheck?.();
        return answerOpened(core, clinic, payload, ao.bytes ?? payload.length);
      };
      // A merged STEP waits for its window outside the lock; the merged run takes it.
      return ctx.merge && payload[0] === MESSAGE_TYPES.STEP ? run() : lock.run(run);
    },
    afterReply() {
      void ctx.profile.timeAsync("server deferred update (after the reply)", () => state.model.startUpdate());
    },
    checkpoint: () => lock.run(() => state.checkpoint()),
    async close() {
      metricsLog?.close();
      await model.release();
      if (ownEngine) await engine.dispose();
    },
  };
  return core;
}

/** Compiles the split model and loads the server segment on `engine`. */
async function buildModel(
  config: ServerConfig,
  engine: Engine,
  r: ResolvedServerConfig,
  log: (line: string) => void,
): Promise<ServerModel> {
  const split = buildSplitModel(config.model, config.mode, config.loss, config.cuts);
  return await ServerModel.create(engine, split.segments, config.mode, config.optimizer, config.limits?.maxBatch, {
    deferUpdate: config.deferUpdate ?? true,
    maxActivation: r.maxActivation,
    log,
    // Label protection rewrites the cut gradient in JavaScript: it keeps the float graph.
    ...(quantizesInGraph(config.codec, "server") && r.labelProtection === "none"
      ? { int8Cut: { level: resolveEncoding(config.codec).level } }
      : {}),
    // A binary cross-entropy's targets are probabilities; anything else would train on nonsense.
    ...(config.loss === "bce" ? { labelRange: [0, 1] as const } : {}),
  });
}

/** Decodes and answers an opened request of `clinic` (under the lock, or a merged STEP). */
async function answerOpened(core: ServerCore, clinic: string, payload: Uint8Array, bytes: number): Promise<Uint8Array> {
  const { ctx } = core;
  const { state, profile, now } = ctx;
  const st = state.clinic(clinic);
  st.bytesIn += bytes;
  st.lastSeen = now();
  state.schedule.seen(st.name, now());
  gateBeforeDecode(ctx, st, payload);
  // TURN_DONE carries sealed weight blobs (uint8, one per other clinic), and SECAGG a masked
  // front (4 bytes a weight), which the cut-shaped element limit does not describe: they are
  // bounded by the body limit.
  const byBody = payload[0] === MESSAGE_TYPES.TURN_DONE || payload[0] === MESSAGE_TYPES.SECAGG;
  const msg = profile.time("server decode", () =>
    decodeMessage(payload, {
      limits: byBody ? core.turnDoneLimits : core.limits,
      expect: state.model.expect,
      int8Views: state.model.int8InGraph,
    }));
  if (!isRequest(msg)) throw new ProtocolError("BAD_MESSAGE", `${msg.type} is a reply, not a request`);
  return await profile.timeAsync(`server handle ${msg.type} (step + encode)`, () => handleRequest(ctx, st, msg));
}

/** Restores `state` from the checkpoint in `dir`, if there is one; whether it did. */
async function resume(
  state: ServerState,
  dir: string | undefined,
  now: () => number,
  report: (at: string) => void,
  rounds: RoundNaming,
): Promise<boolean> {
  if (!dir) return false;
  const ck = await readCheckpoint(dir);
  if (!ck) return false;
  state.restore(ck, now(), dir);
  report(resumedAt(state.schedule, rounds));
  return true;
}

/**
 * Where a resumed schedule stands, for the log: `epoch 2/3, turn clinic-b` (or the round
 * and its part when epochs have several turns), or `training finished`.
 *
 * @example
 * ```ts
 * import { resumedAt } from "./server_core.ts";
 * import { TurnSchedule } from "./turn_schedule.ts";
 * const s = new TurnSchedule(["a", "b"], { timeoutMs: 1000, epochs: 3 }, 0);
 * s.restore({ epoch: 1, index: 1 }, 0);
 * console.log(resumedAt(s, { turnsPerEpoch: 1, epochs: 3 })); // epoch 2/3, turn b
 * ```
 */
export function resumedAt(schedule: RoundSchedule, rounds: RoundNaming): string {
  if (schedule.finished) return "training finished";
  return `${roundLabel(schedule.epoch, rounds)}, turn ${schedule.holder}`;
}
