/**
 * The split-learning server as a Hono app (issue 5 design, "Server"): per-clinic Noise
 * sessions, the application protocol inside them, the server segment's training steps,
 * sequential round-robin turns with relayed sealed weights, and checkpoints.
 *
 * Routes (binary bodies are `application/octet-stream`):
 * - `POST /v1/handshake`: Noise IK message 1 → message 2, headers `x-splitgate-session`
 *   (hex session id) and `x-splitgate-clinic` (the allowlist name).
 * - `POST /v1/session/:id/msg`: the sealed frames of one request (length-prefixed, see
 *   `runtime/protocol/body_frames.ts`) → the sealed frames of its reply, each frame opened
 *   as it arrives and each reply frame sealed as the client reads (one request per session
 *   at a time).
 * - `GET /health` → `{ok: true}`; `GET /v1/status` → clinics, epoch, step, turn, samples/s.
 *
 * Every refusal is a 4xx with `{"error": {"code", "message"}}`; body limits apply before
 * any decryption; one request at a time touches the model (a promise-chain lock), and a
 * refused request changes nothing (frames are checked before the channel commits them,
 * tensors before any graph runs, the optimizer runs last).
 *
 * Relayed weights: TURN_DONE carries the sender's weights sealed to EVERY other clinic in
 * the turn order, so when the next clinic is offline and skipped, the one after it still
 * finds a blob it can open (a blob sealed to one recipient only would strand the turn).
 *
 * @example
 * ```ts
 * import { createServerApp } from "./app.ts";
 * // const server = await createServerApp(config, { keyPair, allowlist });
 * // Deno.serve({ port: 0, hostname: "127.0.0.1" }, server.app.fetch);
 * ```
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { MessageOpener, responderHandshake, type SecureChannel, sealFrames } from "../../crypto/channel/mod.ts";
import type { Allowlist } from "../../crypto/keys/allowlist.ts";
import type { KeyPair } from "../../crypto/keys/key_pair.ts";
import { fingerprint } from "../../crypto/keys/fingerprint.ts";
import { NoiseError } from "../../crypto/errors.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import type { OptimizerConfig } from "../../models/train/optimizer.ts";
import { tensor, type Tensor } from "../../models/tensor.ts";
import { createEngine, type Engine, type EngineName } from "../engine/mod.ts";
import {
  APP_FRAME_TYPE,
  BodyFrameParser,
  CLINIC_HEADER,
  decodeMessage,
  encodeMessage,
  frameStream,
  isRequest,
  MESSAGE_TYPES,
  parseStepId,
  PROTOCOL_CHANNEL_OPTIONS,
  ProtocolError,
  type ReplyMessage,
  type RequestMessage,
  SESSION_HEADER,
} from "../protocol/mod.ts";
import type { BundleOptions } from "../codec/mod.ts";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import { PhaseProfile } from "../protocol/phase_profile.ts";
import { handshakeError, httpError, toHttpError } from "./http_error.ts";
import { ServerModel } from "./server_model.ts";
import type { LabelProtection } from "../privacy/defence_config.ts";
import { protectCutGradient } from "../privacy/label_protection.ts";
import { buildSplitModel, type ModelSpec, type SplitMode } from "./split_model.ts";
import { type ScheduleEvent, TurnSchedule } from "./turn_schedule.ts";

/**
 * Server settings (the CLI builds them from its config file and flags).
 *
 * @example
 * ```ts
 * import type { ServerConfig } from "./app.ts";
 * const c: ServerConfig = {
 *   mode: "vanilla", loss: "bce", optimizer: { kind: "adam", lr: 1e-3 }, engine: "native",
 *   model: { zoo: "cnn", data: { image: { channels: 1, size: 28 } }, seed: 0 },
 *   checkpointDir: "out/server", turnTimeoutMs: 30_000,
 * };
 * ```
 */
export interface ServerConfig {
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
  };
  /** Silence after which the turn holder is skipped (default 60 s). */
  turnTimeoutMs?: number;
  /** Turn order (default: allowlist order). */
  order?: string[];
  /** Stop after this many epochs (default: never). */
  epochs?: number;
  /** Codec options of replies (default float32 exact). */
  codec?: BundleOptions;
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
}

/**
 * What the server is given rather than configured.
 *
 * @example
 * ```ts
 * import type { ServerDeps } from "./app.ts";
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

/** Per-clinic bookkeeping. */
interface ClinicState {
  name: string;
  /** Dedupe key and encoded reply of the last state-changing request. */
  lastKey: string | null;
  lastReply: Uint8Array | null;
  /** Last completed training step id (any epoch). */
  progress: string | null;
  steps: number;
  bytesIn: number;
  bytesOut: number;
  lastSeen: number | null;
}

interface Session {
  clinic: string;
  channel: SecureChannel;
  /** Settles when this session's current request has sent its whole reply (one at a time). */
  queue: Promise<void>;
}

interface Relay {
  from: string | null;
  seq: number;
  blobs: Map<string, Uint8Array>;
}

/**
 * A clinic's line in `GET /v1/status`.
 *
 * @example
 * ```ts
 * import type { ClinicStatus } from "./app.ts";
 * const s: ClinicStatus = { name: "a", online: true, steps: 3, bytesIn: 10, bytesOut: 20 };
 * ```
 */
export interface ClinicStatus {
  name: string;
  online: boolean;
  steps: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * The body of `GET /v1/status`.
 *
 * @example
 * ```ts
 * import type { ServerStatus } from "./app.ts";
 * function turn(s: ServerStatus) { return s.turn; }
 * ```
 */
export interface ServerStatus {
  clinics: ClinicStatus[];
  epoch: number;
  /** Training steps applied, all clinics. */
  step: number;
  turn: string | null;
  finished: boolean;
  samplesPerSec: number;
}

/**
 * A running server: the Hono app and a few handles for tests and the CLI.
 *
 * @example
 * ```ts
 * import type { ServerHandle } from "./app.ts";
 * function serve(h: ServerHandle) { return Deno.serve({ port: 0, hostname: "127.0.0.1" }, h.app.fetch); }
 * ```
 */
export interface ServerHandle {
  app: Hono;
  /** The server segment (weights, optimizer). */
  model: ServerModel;
  /** The turn schedule. */
  schedule: TurnSchedule;
  /** Whether the state was resumed from a checkpoint. */
  resumed: boolean;
  status(): ServerStatus;
  /** Writes a checkpoint now (also done after every turn). */
  checkpoint(): Promise<void>;
  /** Releases the engine sessions (and the engine, if the server created it). */
  close(): Promise<void>;
}

const CHECKPOINT_VERSION = 1;
const HANDSHAKE_MAX_BYTES = 1024;

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The profile of a server built without one: records nothing. */
const NO_PROFILE = new PhaseProfile(false);

/**
 * Builds the server: compiles the model, loads the server segment on the engine, resumes
 * from the checkpoint in `config.checkpointDir` when there is one, and returns the app.
 *
 * @throws {TypeError} / {RangeError} for a config that cannot work (wrong cuts, empty
 *   allowlist, a checkpoint of another model).
 * @example
 * ```ts
 * import { createServerApp } from "./app.ts";
 * // const { app } = await createServerApp(config, { keyPair, allowlist });
 * // const res = await app.request("/health"); // 200 {"ok":true}
 * ```
 */
export async function createServerApp(config: ServerConfig, deps: ServerDeps): Promise<ServerHandle> {
  const now = deps.now ?? (() => Date.now());
  const log = deps.log ?? ((line: string) => console.log(line));
  const names = deps.allowlist.entries.map((e) => e.name);
  const order = config.order ?? names;
  for (const n of order) {
    if (!names.includes(n)) throw new RangeError(`turn order names ${JSON.stringify(n)}, which is not in the allowlist`);
  }
  const maxBodyBytes = config.limits?.maxBodyBytes ?? 64 * 1024 * 1024;
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
  const split = buildSplitModel(config.model, config.mode, config.loss, config.cuts);
  const ownEngine = deps.engine === undefined;
  const engine = deps.engine ??
    await createEngine(config.engine ?? "native", config.threads ? { threads: config.threads } : {});
  const model = await ServerModel.create(engine, split.segments, config.mode, config.optimizer, config.limits?.maxBatch, {
    deferUpdate: config.deferUpdate ?? true,
    // A binary cross-entropy's targets are probabilities; anything else would train on nonsense.
    ...(config.loss === "bce" ? { labelRange: [0, 1] as const } : {}),
  });
  const limits = { maxElements: config.limits?.maxElements ?? model.maxElements, maxTensors: 4 };
  const turnDoneLimits = { maxElements: maxBodyBytes, maxTensors: order.length + 1 };
  const schedule = new TurnSchedule(order, { timeoutMs: config.turnTimeoutMs ?? 60_000, epochs: config.epochs }, now());
  const clinics = new Map<string, ClinicState>(names.map((name) => [name, {
    name,
    lastKey: null,
    lastReply: null,
    progress: null,
    steps: 0,
    bytesIn: 0,
    bytesOut: 0,
    lastSeen: null,
  }]));
  let relay: Relay = { from: null, seq: 0, blobs: new Map() };
  let totalSteps = 0;
  const recent: { t: number; n: number }[] = [];
  const sessions = new Map<string, Session>();

  // ---- checkpoints ----
  const snapshot = () => {
    const tensors = model.exportState();
    const clinicMeta: Record<string, unknown> = {};
    for (const c of clinics.values()) {
      clinicMeta[c.name] = { lastKey: c.lastKey, progress: c.progress, steps: c.steps };
      if (c.lastReply) tensors.set(`reply/${c.name}`, tensor("uint8", [c.lastReply.length], c.lastReply));
    }
    for (const [who, blob] of relay.blobs) tensors.set(`relay/${who}`, tensor("uint8", [blob.length], blob));
    const meta = {
      version: CHECKPOINT_VERSION,
      mode: config.mode,
      schedule: schedule.state,
      relay: { from: relay.from, seq: relay.seq },
      clinics: clinicMeta,
      totalSteps,
    };
    return { meta, tensors };
  };
  const checkpoint = async () => {
    await model.settle();
    if (config.checkpointDir) await writeCheckpoint(config.checkpointDir, snapshot());
  };
  let resumed = false;
  if (config.checkpointDir) {
    const ck = await readCheckpoint(config.checkpointDir);
    if (ck) {
      const m = ck.meta as {
        version?: number;
        mode?: string;
        schedule?: { epoch: number; index: number };
        relay?: { from: string | null; seq: number };
        clinics?: Record<string, { lastKey: string | null; progress: string | null; steps: number }>;
        totalSteps?: number;
      };
      if (m.version !== CHECKPOINT_VERSION || m.mode !== config.mode || !m.schedule || !m.relay || !m.clinics) {
        throw new TypeError(`checkpoint in ${config.checkpointDir} is not a version ${CHECKPOINT_VERSION} ${config.mode} server checkpoint`);
      }
      model.loadState(ck.tensors);
      schedule.restore(m.schedule, now());
      const blobs = new Map<string, Uint8Array>();
      for (const [k, t] of ck.tensors) if (k.startsWith("relay/")) blobs.set(k.slice(6), t.data as Uint8Array);
      relay = { from: m.relay.from, seq: m.relay.seq, blobs };
      for (const [name, c] of Object.entries(m.clinics)) {
        const st = clinics.get(name);
        if (!st) continue; // a clinic since removed from the allowlist
        st.lastKey = c.lastKey;
        st.progress = c.progress;
        st.steps = c.steps;
        const r = ck.tensors.get(`reply/${name}`);
        st.lastReply = r ? (r.data as Uint8Array) : null;
      }
      totalSteps = m.totalSteps ?? 0;
      resumed = true;
      log(`resumed from checkpoint: epoch ${schedule.epoch}, turn ${schedule.holder ?? "none (finished)"}`);
    }
  }

  const report = (ev: ScheduleEvent) => {
    for (const s of ev.skipped) log(`clinic ${s} offline, skipped`);
    for (const e of ev.epochsEnded) log(`epoch ${e} done`);
  };

  // ---- request handling (under the lock) ----
  const expectTurn = (clinic: string, epoch: number, what: string) => {
    if (schedule.finished) throw new ProtocolError("FINISHED", `training finished after ${schedule.epoch} epochs`);
    if (epoch !== schedule.epoch) {
      throw new ProtocolError("WRONG_EPOCH", `${what} for epoch ${epoch}, the server is in epoch ${schedule.epoch}`);
    }
    if (schedule.holder !== clinic) {
      throw new ProtocolError("NOT_YOUR_TURN", `${what} from ${clinic}, but it is ${schedule.holder}'s turn`);
    }
  };
  const expectNext = (c: ClinicState, id: string) => {
    const p = parseStepId(id)!;
    const last = c.progress ? parseStepId(c.progress)! : null;
    const want = last && last.epoch === p.epoch ? last.batch + 1 : 0;
    if (p.batch !== want) {
      throw new ProtocolError("STEP_OUT_OF_ORDER", `step ${id}: expected step ${p.epoch}:${want} next`);
    }
  };
  const counted = (c: ClinicState, id: string, samples: number) => {
    c.progress = id;
    c.steps++;
    totalSteps++;
    recent.push({ t: now(), n: samples });
    if (recent.length > 64) recent.shift();
  };
  const encode = (m: ReplyMessage) => encodeMessage(m, config.codec);

  async function handle(c: ClinicState, req: RequestMessage): Promise<Uint8Array> {
    const key = req.type === "TURN_DONE"
      ? `TURN_DONE:${req.epoch}`
      : "stepId" in req
      ? `${req.type}:${req.stepId}`
      : null;
    if (key !== null && key === c.lastKey && c.lastReply) return c.lastReply; // a retry: applied once
    // What reads the model finishes the last step's deferred update first (the model's own
    // methods, checkpoints, EXPORT); a turn poll of another clinic does not wait for it.
    let reply: Uint8Array;
    switch (req.type) {
      case "STEP": {
        expectTurn(c.name, req.epoch, "STEP");
        expectNext(c, req.stepId);
        const r = await (deps.profile ?? NO_PROFILE).timeAsync("server model.step", () => model.step(req.activation, req.labels));
        // Label protection goes between the step graph and the codec: what leaves is protected.
        const cutGrad = protectCutGradient(r.cutGrad, labelProtection);
        reply = encode({ type: "STEP_RESULT", stepId: req.stepId, loss: r.loss, cutGrad });
        counted(c, req.stepId, req.activation.dims[0]);
        break;
      }
      case "MIDDLE_FORWARD": {
        expectTurn(c.name, req.epoch, "MIDDLE_FORWARD");
        expectNext(c, req.stepId);
        const headInput = await model.middleForward(req.stepId, req.activation);
        reply = encode({ type: "MIDDLE_FORWARD_RESULT", stepId: req.stepId, headInput });
        break;
      }
      case "MIDDLE_BACKWARD": {
        expectTurn(c.name, req.epoch, "MIDDLE_BACKWARD");
        const batch = model.pendingBatch(req.stepId);
        if (batch === undefined) {
          throw new ProtocolError("UNKNOWN_STEP", `no forward of step ${req.stepId} is held (send MIDDLE_FORWARD first)`);
        }
        if (req.gradHeadInput.dims[0] !== batch) {
          throw new ProtocolError(
            "WRONG_SHAPE",
            `gradHeadInput: batch ${req.gradHeadInput.dims[0]} differs from the forward's ${batch}`,
          );
        }
        const cutGrad = await model.middleBackward(req.stepId, req.gradHeadInput);
        reply = encode({ type: "MIDDLE_BACKWARD_RESULT", stepId: req.stepId, cutGrad });
        counted(c, req.stepId, batch);
        break;
      }
      case "EVAL":
        return encode({ type: "EVAL_RESULT", output: await model.evaluate(req.activation) });
      case "TURN_REQUEST": {
        const before = schedule.state;
        const ev = schedule.poll(c.name, now());
        report(ev);
        if (ev.skipped.length > 0) {
          model.clearPending();
          try {
            await checkpoint();
          } catch (e) {
            schedule.restore(before, now());
            throw e;
          }
        }
        const last = c.progress ? parseStepId(c.progress)! : null;
        return encode({
          type: "TURN",
          turn: schedule.holder,
          yours: schedule.holder === c.name,
          epoch: schedule.epoch,
          finished: schedule.finished,
          lastStepId: last && last.epoch === schedule.epoch ? c.progress : null,
          order: [...schedule.order],
          loss: config.loss,
        });
      }
      case "TURN_DONE": {
        expectTurn(c.name, req.epoch, "TURN_DONE");
        // A server restarted from the turn-start checkpoint no longer holds the turn's steps:
        // ending the turn there would lose them, so the clinic must redo the turn.
        const last = c.progress ? parseStepId(c.progress)! : null;
        const applied = last && last.epoch === schedule.epoch ? c.progress : null;
        if (req.lastStepId !== applied) {
          throw new ProtocolError(
            "STEP_OUT_OF_ORDER",
            `TURN_DONE after step ${req.lastStepId ?? "none"}, but the server's last applied step of ` +
              `epoch ${schedule.epoch} is ${applied ?? "none"} (redo the turn)`,
          );
        }
        const others = order.filter((n) => n !== c.name);
        const given = Object.keys(req.sealedWeights);
        for (const n of given) {
          if (!others.includes(n)) {
            throw new ProtocolError("BAD_MESSAGE", `TURN_DONE seals weights to ${n}, which is not another clinic of the turn order`);
          }
        }
        const missing = others.filter((n) => !given.includes(n));
        if (missing.length > 0) {
          throw new ProtocolError("BAD_MESSAGE", `TURN_DONE lacks weights sealed to ${missing.join(", ")} (seal to every other clinic)`);
        }
        const before = { schedule: schedule.state, relay, lastKey: c.lastKey, lastReply: c.lastReply };
        const ev = schedule.finishTurn(c.name, now());
        relay = { from: c.name, seq: relay.seq + 1, blobs: new Map(Object.entries(req.sealedWeights)) };
        reply = encode({ type: "TURN_DONE_RESULT", epoch: schedule.epoch, next: schedule.holder });
        c.lastKey = key;
        c.lastReply = reply;
        try {
          await checkpoint(); // the cached reply goes with it: a retried TURN_DONE after a restart is answered
        } catch (e) {
          schedule.restore(before.schedule, now());
          relay = before.relay;
          c.lastKey = before.lastKey;
          c.lastReply = before.lastReply;
          throw e;
        }
        model.clearPending();
        log(`clinic ${c.name} finished its turn of epoch ${req.epoch}; next: ${schedule.holder ?? "none (finished)"}`);
        report(ev);
        return reply;
      }
      case "EXPORT": {
        if (config.allowExport !== true) {
          throw new ProtocolError("EXPORT_FORBIDDEN", "this server's policy does not allow exporting its segment (allowExport)");
        }
        await model.settle();
        const weights: Record<string, Tensor> = {};
        for (const m of [model.runner.params, model.runner.buffers]) {
          for (const [k, v] of m) weights[k] = v;
        }
        log(`clinic ${c.name} exported the server segment's weights`);
        return encode({ type: "EXPORT_RESULT", weights });
      }
      case "FETCH_WEIGHTS": {
        const blob = relay.from !== c.name ? relay.blobs.get(c.name) : undefined;
        return encode({
          type: "WEIGHTS",
          from: relay.from,
          seq: relay.seq,
          ...(blob ? { sealedWeights: blob } : {}),
        });
      }
    }
    c.lastKey = key;
    c.lastReply = reply;
    return reply;
  }

  let chain: Promise<unknown> = Promise.resolve();
  const locked = <T>(fn: () => Promise<T>): Promise<T> => {
    const r = chain.then(fn);
    chain = r.catch(() => {});
    return r;
  };

  // ---- HTTP ----
  const app = new Hono();
  app.onError((err) => {
    const h = toHttpError(err);
    if (h.status >= 500) log(`internal error: ${(err as Error)?.message ?? err}`);
    return h.getResponse();
  });
  app.notFound(() => httpError(404, "NOT_FOUND", "no such route").getResponse());
  const tooLarge = (max: number) => () => {
    throw httpError(413, "BODY_TOO_LARGE", `request body exceeds ${max} bytes`);
  };

  app.get("/health", (c) => c.json({ ok: true }));
  app.get("/v1/status", (c) => {
    // c.env is Deno.serve's connection info; an in-process request (tests) has none.
    const from = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname;
    if ((config.statusFrom ?? "loopback") === "loopback" && from !== undefined && !isLoopback(from)) {
      throw httpError(403, "STATUS_LOOPBACK_ONLY", `GET /v1/status answers the server's own host only (config statusFrom); asked from ${from}`);
    }
    return c.json(status());
  });

  app.post(
    "/v1/handshake",
    bodyLimit({ maxSize: HANDSHAKE_MAX_BYTES, onError: tooLarge(HANDSHAKE_MAX_BYTES) }),
    async (c) => {
      const body = new Uint8Array(await c.req.arrayBuffer());
      let hs, asked: Uint8Array | undefined;
      try {
        hs = responderHandshake({
          staticKeyPair: deps.keyPair,
          lookupPeer: (k) => {
            asked = k;
            return deps.allowlist.lookup(k);
          },
          psk: deps.psk,
          channel: PROTOCOL_CHANNEL_OPTIONS,
        }, body);
      } catch (e) {
        if (e instanceof NoiseError) {
          // The operator's side of a refused clinic: which key knocked (to add it to the
          // allowlist, or to find a gateway with a stale key), never more of the message.
          const why = e.code === "UNKNOWN_PEER" ? "UNKNOWN_CLINIC, not in the allowlist" : `BAD_HANDSHAKE, ${e.code}`;
          log(`handshake refused: ${why}${asked ? `; clinic key ${fingerprint(asked)}` : ""}`);
          throw handshakeError(e);
        }
        throw e;
      }
      const id = hex(hs.channel.sessionId);
      // One live session per clinic: a new handshake (a reconnect) retires the old one.
      for (const [sid, s] of sessions) {
        if (s.clinic === hs.peerName) {
          s.channel.destroy();
          sessions.delete(sid);
        }
      }
      sessions.set(id, { clinic: hs.peerName, channel: hs.channel, queue: Promise.resolve() });
      const st = clinics.get(hs.peerName)!;
      st.bytesIn += body.length;
      st.bytesOut += hs.message2.length;
      st.lastSeen = now();
      log(`clinic ${hs.peerName} connected (session ${id.slice(0, 8)})`);
      return c.body(hs.message2 as Uint8Array<ArrayBuffer>, 200, {
        "content-type": "application/octet-stream",
        [SESSION_HEADER]: id,
        [CLINIC_HEADER]: hs.peerName,
      });
    },
  );

  // The step traffic is handled as it streams: each sealed frame of the request is opened as
  // soon as it has arrived, and each frame of the reply is sealed when the clinic reads on
  // (while it opens the previous one), so the reply's sealing and opening overlap on the two
  // machines instead of adding up (the courier sends its request as one body; see
  // runtime/client/server_connection.ts). The body limit is counted as the bytes come, before
  // anything is opened (Hono's bodyLimit would buffer a chunked body first).
  app.post("/v1/session/:id/msg", async (c) => {
    const tIn = deps.profile?.enabled ? performance.now() : 0;
    const id = c.req.param("id");
    const session = sessions.get(id);
    if (!session) throw httpError(404, "UNKNOWN_SESSION", "no such session; handshake again");
    const claimed = c.req.header(CLINIC_HEADER);
    // A cheap early refusal of a request aimed at another clinic's session; the real
    // protection is the channel's AEAD (a forged header still fails with BAD_TAG).
    if (claimed !== undefined && claimed !== session.clinic) {
      throw httpError(403, "SESSION_MISMATCH", "this session belongs to another clinic");
    }
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > maxBodyBytes) throw tooLarge(maxBodyBytes)();
    // One request of a session at a time, reply included: its frames take consecutive
    // counters. Other sessions are not held up while this one's body is on the wire.
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = session.queue;
    session.queue = before.then(() => mine);
    await before;
    const prof = deps.profile ?? NO_PROFILE;
    const t0 = prof.enabled ? performance.now() : 0;
    if (prof.enabled) prof.add("server /msg wait for the session", t0 - tIn);
    let openMs = 0;
    try {
      const parser = new BodyFrameParser({ maxFrameSize: session.channel.maxFrameSize });
      const opener = new MessageOpener(session.channel, { maxMessageSize: maxBodyBytes });
      const open = (frames: Uint8Array[]) => {
        const t = prof.enabled ? performance.now() : 0;
        for (const f of frames) opener.push(f);
        if (prof.enabled) openMs += performance.now() - t;
      };
      if (c.req.raw.body) {
        for await (const piece of c.req.raw.body) {
          if (parser.bytes + piece.length > maxBodyBytes) throw tooLarge(maxBodyBytes)();
          open(parser.push(piece));
        }
      }
      parser.end();
      const opened = opener.finish();
      if (prof.enabled) {
        prof.add("server read + open (streamed)", performance.now() - t0);
        prof.add("server open (streamed)", openMs);
      }
      const reply = await locked(async () => {
        if (sessions.get(id) !== session) throw httpError(404, "UNKNOWN_SESSION", "session was replaced; handshake again");
        const st = clinics.get(session.clinic)!;
        st.bytesIn += parser.bytes;
        st.lastSeen = now();
        schedule.seen(st.name, now());
        if (opened.type !== APP_FRAME_TYPE) {
          throw new ProtocolError("BAD_MESSAGE", `frame type ${opened.type}: expected ${APP_FRAME_TYPE}`);
        }
        // TURN_DONE carries sealed weight blobs (uint8, one per other clinic), which the
        // cut-shaped element limit does not describe: they are bounded by the body limit.
        const msg = prof.time("server decode", () =>
          decodeMessage(opened.payload, {
            limits: opened.payload[0] === MESSAGE_TYPES.TURN_DONE ? turnDoneLimits : limits,
            expect: model.expect,
          }));
        if (!isRequest(msg)) throw new ProtocolError("BAD_MESSAGE", `${msg.type} is a reply, not a request`);
        return await prof.timeAsync(`server handle ${msg.type} (step + encode)`, () => handle(st, msg));
      });
      const st = clinics.get(session.clinic)!;
      if (prof.enabled) prof.add("server /msg until the reply is ready", performance.now() - t0);
      let sealMs = 0;
      const frames = sealFrames(session.channel, APP_FRAME_TYPE, reply);
      const timed: Iterator<Uint8Array> = {
        next: () => {
          const t = prof.enabled ? performance.now() : 0;
          const r = frames.next();
          if (prof.enabled) sealMs += performance.now() - t;
          return r;
        },
      };
      const body = frameStream(timed, (n) => (st.bytesOut += n), (complete) => {
        // The reply has left (or its reader is gone): the step's deferred update runs now,
        // after a turn of the event loop that lets the last frame reach the socket — a
        // session's run holds this thread.
        setTimeout(() => void prof.timeAsync("server deferred update (after the reply)", () => model.startUpdate()), 0);
        release();
        if (complete && prof.enabled) {
          prof.add("server seal (streamed)", sealMs);
          prof.add("server /msg total", performance.now() - t0);
        }
      });
      return c.body(body, 200, { "content-type": "application/octet-stream" });
    } catch (e) {
      release();
      // The rest of a refused body is not read.
      await c.req.raw.body?.cancel().catch(() => {});
      throw e;
    }
  });

  function status(): ServerStatus {
    const t = now();
    let samplesPerSec = 0;
    if (recent.length >= 2) {
      const span = (recent[recent.length - 1].t - recent[0].t) / 1000;
      const n = recent.slice(1).reduce((a, r) => a + r.n, 0);
      samplesPerSec = span > 0 ? n / span : 0;
    }
    return {
      clinics: [...clinics.values()].map((c) => ({
        name: c.name,
        online: c.lastSeen !== null && t - c.lastSeen <= schedule.timeoutMs &&
          [...sessions.values()].some((s) => s.clinic === c.name),
        steps: c.steps,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
      })),
      epoch: schedule.epoch,
      step: totalSteps,
      turn: schedule.holder,
      finished: schedule.finished,
      samplesPerSec,
    };
  }

  return {
    app,
    model,
    schedule,
    resumed,
    status,
    checkpoint: () => locked(checkpoint),
    async close() {
      for (const s of sessions.values()) s.channel.destroy();
      sessions.clear();
      await model.release();
      if (ownEngine) await engine.dispose();
    },
  };
}


/** Whether `host` is a loopback address (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h.startsWith("127.") || h === "::1" || h.startsWith("::ffff:127.");
}
