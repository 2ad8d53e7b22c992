/**
 * The clinic's driver — the courier's logic (docs/design/faults_and_resume.md): it asks the
 * server whose turn it is, and on its own turn imports the
 * weights the previous clinic sealed to it, runs its share of the epoch step by step between
 * the raw-data side and the server, seals its weights to every other clinic and ends the
 * turn. When training is finished it evaluates the test split through the cut.
 *
 * It never touches records: everything it holds comes out of {@linkcode RawSide} (cut
 * activations, labels in vanilla mode, head-input gradients, sealed weights) or from the
 * server.
 *
 * Turns and rounds. The server's "epoch" is a round of the turn order: each clinic holds the
 * turn once per round. With `turnsPerEpoch` = T (default 1) a clinic's pass over its data
 * (one data epoch) is cut into T consecutive slices, one per round, so clinics alternate T
 * times per data epoch; the server is then configured with `epochs = data epochs × T`.
 * Step ids are `"<round>:<k>"` for the k-th step of the turn, as the server expects.
 *
 * Faults. A request that fails on the network is re-sent by {@linkcode ServerConnection}
 * (same step id: the server answers a repeat from its cache). A server that restarted resumes
 * from its last checkpoint, taken at the start of the current turn; its `TURN` reply then
 * says how far it got (`lastStepId`), and when it is behind this clinic, the raw side is
 * restored from its own checkpoint taken at the start of the turn and the turn is redone from
 * its first step — the batch order is a pure function of (seed, epoch, batch), so the redone
 * steps are the same steps and the outcome equals an uninterrupted run.
 *
 * @example
 * ```ts
 * import { runClinic } from "./clinic.ts";
 * import type { ClinicConnection } from "./clinic.ts";
 * import type { RawSide } from "./raw_side/api.ts";
 * async function train(side: RawSide, conn: ClinicConnection, peers: Map<string, Uint8Array>, run: Uint8Array) {
 *   const result = await runClinic({ side, conn, peers, run, onEvent: (e) => console.error(e) });
 *   console.log(result.eval.test?.auc);
 * }
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { parseStepId, type ProtocolErrorCode, type RequestMessage } from "../protocol/mod.ts";
import { concatRows, evaluateLogits, type Metrics } from "../train/metrics.ts";
import { SteadyRate } from "../train/steady_rate.ts";
import type { RawSide, RawSideInfo } from "./raw_side/api.ts";
import type { PhaseProfile } from "../protocol/phase_profile.ts";
import { type ReplyFor, ServerRequestError } from "./server_connection.ts";
import { ClinicError } from "./clinic_error.ts";
import { checkServerStudy, type StudyGate } from "./study_gate.ts";
import type { PublishedStudy } from "../study/published_study.ts";
import { averageFronts, type FrontAverageOptions } from "./front_average.ts";
import { roundPolicy, type RoundPolicy, SEQUENTIAL } from "./round_policy.ts";
import { decoyStep, turnPlan } from "./decoy_steps.ts";

/**
 * What the driver needs of a server connection (a {@linkcode ServerConnection}, or a fake in
 * tests).
 *
 * @example
 * ```ts
 * import type { ClinicConnection } from "./clinic.ts";
 * import { ServerConnection, type ServerConnectionOptions } from "./server_connection.ts";
 * async function connect(options: ServerConnectionOptions): Promise<ClinicConnection> {
 *   return await ServerConnection.connect(options);
 * }
 * ```
 */
export interface ClinicConnection {
  request<M extends RequestMessage>(msg: M): Promise<ReplyFor<M>>;
  readonly clinic: string;
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly reconnects: number;
}

/**
 * Progress events of {@linkcode runClinic}.
 *
 * @example
 * ```ts
 * import { formatClinicEvent, type ClinicEvent } from "./clinic.ts";
 * const e: ClinicEvent = { kind: "wait", holder: "clinic-b", round: 0 };
 * console.log(formatClinicEvent("clinic-a", e)); // [clinic-a] waiting: round 0 is clinic-b's turn
 * ```
 */
export type ClinicEvent =
  | { kind: "wait"; holder: string | null; round: number; parallel?: boolean }
  | { kind: "turn"; round: number; epoch: number; part: number; parts: number; steps: number; imported: string | null }
  | { kind: "step"; round: number; step: number; steps: number; loss: number }
  | {
    kind: "turn-done";
    round: number;
    steps: number;
    loss: number;
    samplesPerSec: number;
    next: string | null;
    /** A parallel round: every clinic steps at once, so no clinic is "next". */
    parallel?: true;
  }
  | { kind: "rollback"; round: number; from: number }
  | { kind: "server-rollback"; round: number; to: string }
  /** Restarted within a parallel round: this clinic's updates of its first `lost` steps are gone. */
  | { kind: "round-resume"; round: number; lost: number }
  | { kind: "unreachable"; message: string }
  | { kind: "finished"; rounds: number }
  | { kind: "study"; id: string; digest: string }
  | { kind: "left"; waitingFor: string[] }
  | { kind: "eval"; split: "val" | "test"; metrics: Metrics };

/**
 * Options of {@linkcode runClinic}.
 *
 * @example
 * ```ts
 * import type { ClinicOptions } from "./clinic.ts";
 * import type { ClinicConnection } from "./clinic.ts";
 * import type { RawSide } from "./raw_side/api.ts";
 * function options(side: RawSide, conn: ClinicConnection, pubB: Uint8Array): ClinicOptions {
 *   return { side, conn, peers: new Map([["clinic-b", pubB]]), run: new Uint8Array(32), loss: "bce" };
 * }
 * ```
 */
export interface ClinicOptions {
  side: RawSide;
  conn: ClinicConnection;
  /** Every other clinic of the turn order, by name: their public keys (relayed weights are sealed to them). */
  peers: ReadonlyMap<string, Uint8Array>;
  /**
   * The run id relayed weights are bound to (32 bytes): `runId(serverPublicKey)` of
   * `crypto/seal/sealed_envelope.ts`, so weights sealed for another server's run do not open.
   */
  run: Uint8Array;
  /** Loss of the model (for the evaluation metrics; default bce). */
  loss?: LossKind;
  /** Rounds per data epoch (default 1: a turn is a clinic's whole epoch). */
  turnsPerEpoch?: number;
  /** Pause between `TURN_REQUEST`s while another clinic holds the turn (default 100 ms). */
  pollMs?: number;
  /** How long the server may stay unreachable before giving up (default 300 s). */
  patienceMs?: number;
  /** Evaluate these splits when training is finished (default ["test"]). */
  evaluate?: ("val" | "test")[];
  /** Keep the evaluation scores and labels in the result (default false). */
  keepScores?: boolean;
  /** Progress sink. */
  onEvent?: (e: ClinicEvent) => void;
  /** Per-phase timings (whole training steps); default none. */
  profile?: PhaseProfile;
  /** Sees every training step this clinic applied (`stepId`, after the raw side's backward). */
  onApplied?: (stepId: string) => void;
  /**
   * Check the server's study before anything else (`study_gate.ts`); `onAccepted` sees the
   * accepted study (the launcher stores it in the state folder). None: no check.
   */
  study?: StudyGate & { onAccepted?: (study: PublishedStudy) => void };
  /** Tell the server this clinic is done once it has evaluated (`LEAVE`; default false). */
  leave?: boolean;
}

/**
 * The outcome of a clinic's training.
 *
 * @example
 * ```ts
 * import type { ClinicResult } from "./clinic.ts";
 * function auc(r: ClinicResult) { return r.eval.test?.auc; }
 * ```
 */
export interface ClinicResult {
  clinic: string;
  /** Turns this clinic completed. */
  turns: number;
  /** Training steps applied (redone steps after a rollback counted again). */
  steps: number;
  /** Training samples processed. */
  samples: number;
  /** Seconds spent in this clinic's turns. */
  trainSeconds: number;
  /**
   * Samples per second of the training steps after this process's first five (engine
   * warm-up, {@linkcode SteadyRate}), turn changes left out; null for no more steps than that.
   */
  steadySamplesPerSec: number | null;
  /** Turn rollbacks after a server restart. */
  rollbacks: number;
  /** Hijack-guard decoy steps sent (`defence.hijackGuard`; not counted in `steps`). */
  decoys?: number;
  /** Mean training loss of each completed turn. */
  turnLosses: number[];
  /** Evaluation metrics by split. */
  eval: Partial<Record<"val" | "test", Metrics>>;
  /** Scores (sigmoid of binary logits, or logits) and labels by split, when asked for. */
  scores?: Partial<Record<"val" | "test", { scores: number[]; labels: number[] }>>;
  bytesUp: number;
  bytesDown: number;
  reconnects: number;
  seconds: number;
}

/**
 * Server refusals after which asking whose turn it is brings the clinic back in step; the
 * list is checked against the protocol's codes, so a misspelt code does not compile.
 */
const RESYNC: ReadonlySet<string> = new Set<ProtocolErrorCode>([
  "STEP_OUT_OF_ORDER",
  "UNKNOWN_STEP",
  "WRONG_EPOCH",
  "NOT_YOUR_TURN",
  "FINISHED",
]);

class Resync extends Error {}

/**
 * The batches of turn `part` of `parts` over an epoch of `steps` batches: `[first, end)`.
 *
 * @example
 * ```ts
 * import { turnSlice } from "./clinic.ts";
 * console.log(turnSlice(10, 1, 3)); // { first: 3, end: 6 }
 * ```
 */
export function turnSlice(steps: number, part: number, parts: number): { first: number; end: number } {
  return { first: Math.floor((part * steps) / parts), end: Math.floor(((part + 1) * steps) / parts) };
}

/**
 * A one-line rendering of a progress event.
 *
 * @example
 * ```ts
 * import { formatClinicEvent } from "./clinic.ts";
 * console.log(formatClinicEvent("a", { kind: "finished", rounds: 3 })); // [a] training finished after 3 rounds
 * ```
 */
export function formatClinicEvent(clinic: string, e: ClinicEvent): string {
  const p = `[${clinic}]`;
  switch (e.kind) {
    case "wait":
      return e.parallel
        ? `${p} through round ${e.round}, waiting for the ` +
          (e.holder ? `others (${e.holder} still stepping)` : "round to end")
        : `${p} waiting: round ${e.round} is ${e.holder ?? "nobody"}'s turn`;
    case "turn":
      return `${p} round ${e.round}: my turn (epoch ${e.epoch + 1}` +
        (e.parts > 1 ? `, part ${e.part + 1}/${e.parts}` : "") +
        `, ${e.steps} steps${e.imported ? `, weights from ${e.imported}` : ""})`;
    case "step":
      return `${p} round ${e.round} step ${e.step}/${e.steps} loss ${e.loss.toFixed(4)}`;
    case "turn-done":
      return `${p} round ${e.round} done: ${e.steps} steps, loss ${e.loss.toFixed(4)}, ` +
        `${e.samplesPerSec.toFixed(0)} samples/s` + (e.parallel ? "" : `; next: ${e.next ?? "none (finished)"}`);
    case "rollback":
      return `${p} server is behind (restarted?): rolled back to the start of round ${e.round} (was at step ${e.from})`;
    case "server-rollback":
      return `${p} restarted within round ${e.round}: the server rolled back steps ${e.round}:0 to ${e.to} ` +
        `to the start of the turn, where this clinic's checkpoint stands; redoing the turn from its first step (no update lost)`;
    case "round-resume":
      return `${p} restarted within parallel round ${e.round}: going on from step ${e.lost}; this clinic's ` +
        `front lost its updates of the round's first ${e.lost} steps (the server keeps them, and the ` +
        `round-end average carries the other clinics' fronts)`;
    case "unreachable":
      return `${p} server unreachable, retrying: ${e.message}`;
    case "study":
      return `${p} study ${e.id} (${e.digest}): checked before the first step`;
    case "left":
      return `${p} left the finished study` + (e.waitingFor.length ? ` (the server waits for ${e.waitingFor.join(", ")})` : "; the server ends it");
    case "finished":
      return `${p} training finished after ${e.rounds} rounds`;
    case "eval":
      return `${p} ${e.split}: AUC ${e.metrics.auc.toFixed(4)}  accuracy ${e.metrics.accuracy.toFixed(4)}  ` +
        `loss ${e.metrics.loss.toFixed(4)}  (${e.metrics.samples} samples)`;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `msg`, riding out an unreachable server for up to `patienceMs` (the connection
 * re-handshakes by itself), and turns the refusals that mean "out of step" into a resync.
 */
async function ask<M extends RequestMessage>(
  o: ClinicOptions,
  msg: M,
  resync = true,
): Promise<ReplyFor<M>> {
  const patience = o.patienceMs ?? 300_000;
  let since: number | null = null;
  for (;;) {
    try {
      return await o.conn.request(msg);
    } catch (e) {
      if (e instanceof ServerRequestError && e.code === "UNREACHABLE") {
        since ??= Date.now();
        if (Date.now() - since > patience) throw e;
        o.onEvent?.({ kind: "unreachable", message: e.message });
        await sleep(500);
        continue;
      }
      if (resync && e instanceof ServerRequestError && RESYNC.has(e.code)) throw new Resync(e.message);
      throw e;
    }
  }
}

/**
 * Trains this clinic's share until the server says training is finished, then evaluates.
 *
 * @throws {ServerRequestError} a refusal it cannot recover from (e.g. `UNKNOWN_CLINIC`),
 *   or `UNREACHABLE` after `patienceMs`
 * @throws {ClinicError} `CONFIG_MISMATCH` for a config the server's first `TURN` contradicts,
 *   `CANNOT_RESUME` when a restarted server and this clinic cannot be brought in step
 * @throws {RawSideError} from the raw side
 * @example
 * ```ts
 * import { runClinic, type ClinicConnection } from "./clinic.ts";
 * import type { RawSide } from "./raw_side/api.ts";
 * async function train(side: RawSide, conn: ClinicConnection, peers: Map<string, Uint8Array>, run: Uint8Array) {
 *   const r = await runClinic({ side, conn, peers, run });
 *   return r.eval.test?.auc;
 * }
 * ```
 */
export async function runClinic(o: ClinicOptions): Promise<ClinicResult> {
  const t0 = performance.now();
  const info = await o.side.info();
  const parts = o.turnsPerEpoch ?? 1;
  if (!Number.isInteger(parts) || parts < 1) throw new RangeError(`turnsPerEpoch ${parts}: expected an integer >= 1`);
  const me = o.conn.clinic;
  for (const name of o.peers.keys()) {
    if (name === me) throw new RangeError(`peers name this clinic (${me}) itself`);
  }
  const result = emptyResult(me);
  if (o.study) await joinStudy(o, o.study);
  // A restarted clinic continues from its last turn-start checkpoint.
  const restored = (await o.side.restore())?.epoch ?? null;
  const schedule = SEQUENTIAL;
  const run: Run = { o, info, parts, me, result, current: null, steady: new SteadyRate(), restored, schedule };
  const rounds = await trainUntilFinished(run);
  o.onEvent?.({ kind: "finished", rounds });
  if (run.schedule.parallel) {
    // Parallel: every clinic ends on the average of the last round's fronts (or its own, private).
    if (run.schedule.shareFronts && restored !== rounds && rounds > 0) await averageFronts(frontOptions(run, false), rounds - 1);
  } else {
    // The last turn's holder has the final clinic weights; everyone else takes them over —
    // unless this clinic restarted from its final checkpoint, which already holds them (the
    // raw side refuses the same envelope twice).
    const last = await ask(o, { type: "FETCH_WEIGHTS" }, false);
    if (last.sealedWeights && last.from !== me && restored !== rounds) await importFrom(o, last.sealedWeights);
  }
  // The trained clinic segments, for `client predict` (restore() loads the latest checkpoint).
  await o.side.checkpoint(rounds);
  for (const split of o.evaluate ?? ["test"]) {
    const ev = await evaluateSplit(o, info, split);
    result.eval[split] = ev.metrics;
    if (o.keepScores) (result.scores ??= {})[split] = { scores: ev.scores, labels: ev.labels };
    o.onEvent?.({ kind: "eval", split, metrics: ev.metrics });
  }
  if (o.leave) await leave(o, me);
  result.steadySamplesPerSec = run.steady.samplesPerSec;
  result.bytesUp = o.conn.bytesUp;
  result.bytesDown = o.conn.bytesDown;
  result.reconnects = o.conn.reconnects;
  result.seconds = (performance.now() - t0) / 1000;
  return result;
}

function emptyResult(clinic: string): ClinicResult {
  return {
    clinic,
    turns: 0,
    steps: 0,
    samples: 0,
    trainSeconds: 0,
    steadySamplesPerSec: null,
    rollbacks: 0,
    turnLosses: [],
    eval: {},
    bytesUp: 0,
    bytesDown: 0,
    reconnects: 0,
    seconds: 0,
  };
}

/** The turn in progress: its round and the index (within the turn) of the next step. */
interface Turn {
  round: number;
  next: number;
  lossSum: number;
  samples: number;
  t: number;
}

/** What the training loop carries from turn to turn. */
interface Run {
  o: ClinicOptions;
  info: RawSideInfo;
  parts: number;
  me: string;
  result: ClinicResult;
  /** Kept across a resync, so a turn the server still agrees with goes on where it stood. */
  current: Turn | null;
  steady: SteadyRate;
  /** The round of the checkpoint this process restored at start (null: none). */
  restored: number | null;
  /** The server's schedule, from its first `TURN` (the clinic follows the server). */
  schedule: RoundPolicy;
}

/**
 * Opens relayed weights in the raw side: it checks they were sealed by one of this clinic's
 * peers, to it, for this run, and are newer than the last it accepted from that sender.
 */
async function importFrom(o: ClinicOptions, sealed: Uint8Array): Promise<string> {
  return (await o.side.importWeights(sealed, { run: o.run, peers: o.peers })).sender;
}

/** What {@linkcode averageFronts} needs of this run (`resync`: out-of-step refusals resync). */
function frontOptions(run: Run, resync: boolean): FrontAverageOptions {
  const { o } = run;
  return { me: run.me, side: o.side, run: o.run, peers: o.peers, request: (m) => ask(o, m, resync) };
}

/** Asks whose turn it is until the server says training is finished; returns the rounds. */
async function trainUntilFinished(run: Run): Promise<number> {
  const { o, me } = run;
  let lastWaitHolder: string | null | undefined;
  let checked = false;
  for (;;) {
    const turn = await ask(o, { type: "TURN_REQUEST" }, false);
    if (!checked) {
      checkAgainstServer(o, me, run.info.mode, turn);
      run.schedule = roundPolicy(turn);
      checked = true;
    }
    if (turn.finished) return turn.epoch;
    if (!turn.yours) {
      if (turn.turn !== lastWaitHolder) {
        o.onEvent?.({ kind: "wait", holder: turn.turn, round: turn.epoch, ...(run.schedule.parallel ? { parallel: true } : {}) });
      }
      lastWaitHolder = turn.turn;
      await sleep(o.pollMs ?? 100);
      continue;
    }
    lastWaitHolder = undefined;
    try {
      await playTurn(run, turn.epoch, turn.lastStepId);
    } catch (e) {
      if (e instanceof Resync) continue; // ask again where the server stands
      throw e;
    }
  }
}

/** This clinic's turn of `round`: start or resume it, run its steps, hand the weights on. */
async function playTurn(run: Run, round: number, serverLastStepId: string | null): Promise<void> {
  const { o, info, parts, result } = run;
  const epoch = Math.floor(round / parts), part = round % parts;
  const { first, end } = turnSlice(info.stepsPerEpoch, part, parts);
  const serverNext = serverLastStepId === null ? 0 : parseStepId(serverLastStepId)!.batch + 1;
  const current = await startOrResume(run, round, serverNext, serverLastStepId, { epoch, part, steps: end - first });
  // Step ids number what is sent, hijack-guard decoys included (`decoy_steps.ts`).
  const plan = turnPlan(info.decoys, epoch, first, end);
  for (let k = current.next; k < plan.length; k++) {
    const id = `${round}:${k}`;
    const batch = plan[k].batch;
    if (plan[k].decoy) {
      await decoyStep(o.side, (m) => ask(o, m), id, round, epoch, batch);
      current.next = k + 1;
      result.decoys = (result.decoys ?? 0) + 1;
      continue;
    }
    const s0 = performance.now();
    const { loss, rows } = info.mode === "vanilla"
      ? await vanillaStep(o, id, round, epoch, batch)
      : await ushapedStep(o, id, round, epoch, batch);
    const ms = performance.now() - s0;
    o.profile?.add(`clinic step ${k === 0 ? "(first of turn)" : "(rest)"}`, ms);
    run.steady.add(rows, ms);
    current.next = k + 1;
    current.lossSum += loss * rows;
    current.samples += rows;
    result.steps++;
    result.samples += rows;
    o.onApplied?.(id);
    o.onEvent?.({ kind: "step", round, step: batch - first + 1, steps: end - first, loss });
  }
  await endTurn(run, current, end - first);
}

/**
 * The turn state to step from: a new turn (weights taken over, a turn-start checkpoint), the
 * turn in progress, or — when a restarted server stands at the turn's start — the turn rolled
 * back to this clinic's turn-start checkpoint.
 *
 * @throws {ClinicError} `CANNOT_RESUME` when the server stands elsewhere within the turn
 */
async function startOrResume(
  run: Run,
  round: number,
  serverNext: number,
  serverLastStepId: string | null,
  slice: { epoch: number; part: number; steps: number },
): Promise<Turn> {
  const { o, me } = run;
  if (run.current === null && run.restored === round) {
    // Restarted within this turn: the restored turn-start checkpoint already holds the
    // weights taken over at its start (the raw side would refuse that envelope twice).
    // Its weights stand at the turn's start; the server's at its last applied step. Going on
    // from there would drop this clinic's updates of those steps: the server rolls back too.
    // In a parallel round the server segment also holds the other clinics' steps, which a
    // rollback would undo: the clinic goes on from the server's step and says what it lost.
    if (serverNext > 0 && run.schedule.parallel) {
      o.onEvent?.({ kind: "round-resume", round, lost: serverNext });
    } else if (serverNext > 0) await restartTurn(run, round, serverLastStepId!);
    const next = run.schedule.parallel ? serverNext : 0;
    run.current = { round, next, lossSum: 0, samples: 0, t: performance.now() };
    o.onEvent?.({ kind: "turn", round, ...slice, parts: run.parts, imported: null });
  } else if (run.current === null || run.current.round !== round) {
    // A new turn: take over the weights the previous holder sealed to this clinic (parallel:
    // the average of the fronts through the last round).
    let imported: string | null = null;
    if (run.schedule.parallel) {
      if (run.schedule.shareFronts && round > 0) imported = (await averageFronts(frontOptions(run, true), round - 1)).join("+");
    } else {
      const w = await ask(o, { type: "FETCH_WEIGHTS" });
      if (w.sealedWeights && w.from !== me) imported = await importFrom(o, w.sealedWeights);
    }
    // The state at the start of the turn: what a rollback returns to.
    await o.side.checkpoint(round);
    run.current = { round, next: serverNext, lossSum: 0, samples: 0, t: performance.now() };
    o.onEvent?.({ kind: "turn", round, ...slice, parts: run.parts, imported });
  } else if (serverNext !== run.current.next) {
    if (serverNext !== 0) {
      throw new ClinicError(
        "CANNOT_RESUME",
        `cannot resume round ${round}: the server applied steps up to ${serverLastStepId}, ` +
          `this clinic up to step ${run.current.next - 1}`,
      );
    }
    o.onEvent?.({ kind: "rollback", round, from: run.current.next });
    await o.side.restore();
    run.result.rollbacks++;
    run.current = { round, next: 0, lossSum: 0, samples: 0, t: performance.now() };
  }
  return run.current;
}

/**
 * Rolls the server back to the start of `round` (`TURN_RESTART`), where this clinic's
 * restored turn-start checkpoint stands, and says so: the turn is then redone from its
 * first step and no update is lost.
 */
async function restartTurn(run: Run, round: number, serverLastStepId: string): Promise<void> {
  const { o } = run;
  const turn = await ask(o, { type: "TURN_RESTART", epoch: round, lastStepId: serverLastStepId });
  if (turn.epoch !== round || !turn.yours || turn.lastStepId !== null) {
    throw new Resync(`after TURN_RESTART the server stands at round ${turn.epoch}, step ${turn.lastStepId ?? "none"}`);
  }
  run.result.rollbacks++;
  o.onEvent?.({ kind: "server-rollback", round, to: serverLastStepId });
}

/**
 * Tells the server this clinic is done (`LEAVE`). Training and evaluation are over and their
 * results stand, so a server that does not answer (gone already, or one that knows no
 * `LEAVE`) is not waited for beyond the connection's own retries, nor an error.
 */
async function leave(o: ClinicOptions, me: string): Promise<void> {
  try {
    const left = await o.conn.request({ type: "LEAVE" });
    o.onEvent?.({ kind: "left", waitingFor: left.waitingFor.filter((n) => n !== me) });
  } catch (e) {
    if (!(e instanceof ServerRequestError)) throw e;
  }
}

/** Fetches the server's study and checks it before anything else (`study_gate.ts`). */
async function joinStudy(o: ClinicOptions, gate: NonNullable<ClinicOptions["study"]>): Promise<void> {
  const study = checkServerStudy(await ask(o, { type: "STUDY" }, false), gate);
  if (!study) return;
  gate.onAccepted?.(study);
  o.onEvent?.({ kind: "study", id: study.id, digest: study.digest });
}

/** Seals this clinic's weights to every peer and ends the turn at the server. */
async function endTurn(run: Run, current: Turn, steps: number): Promise<void> {
  const { o, result } = run;
  const round = current.round;
  const sealedWeights: Record<string, Uint8Array> = {};
  // Private fronts (parallel, clinicWeights "private") are never sealed to anyone, nor are
  // securely aggregated ones (the server learns their length, to size the sum).
  const secure = run.schedule.secureFronts === true;
  for (const [name, publicKey] of run.schedule.shareFronts && !secure ? o.peers : []) {
    sealedWeights[name] = await o.side.exportWeights({ name, publicKey }, { run: o.run, epoch: round });
  }
  const frontLength = secure ? { frontLength: (await o.side.secureFront({ op: "length" })).length } : {};
  // The server checks this against its own last applied step: after a crash before its
  // TURN_DONE checkpoint it stands at the turn's start and refuses, and the turn is redone.
  const lastStepId = current.next > 0 ? `${round}:${current.next - 1}` : null;
  const done = await ask(o, { type: "TURN_DONE", epoch: round, lastStepId, sealedWeights, ...frontLength });
  const secs = (performance.now() - current.t) / 1000;
  result.trainSeconds += secs;
  result.turns++;
  const loss = current.samples > 0 ? current.lossSum / current.samples : NaN;
  result.turnLosses.push(loss);
  o.onEvent?.({
    kind: "turn-done",
    round,
    steps,
    loss,
    samplesPerSec: secs > 0 ? current.samples / secs : 0,
    next: done.next,
    ...(run.schedule.parallel ? { parallel: true as const } : {}),
  });
}

/**
 * Refuses, before the first step, a clinic config that disagrees with the server: peers that
 * are not clinics of the server's turn order (sealing the weights to one fails only at the
 * end of a turn), and in vanilla mode a loss other than the one the server trains (this
 * clinic's metrics and predictions would read the logits wrongly).
 */
function checkAgainstServer(o: ClinicOptions, me: string, mode: string, turn: { order: string[]; loss: string }): void {
  const order = new Set(turn.order);
  if (!order.has(me)) {
    throw new ClinicError("CONFIG_MISMATCH", `the server's turn order [${turn.order.join(", ")}] does not name this clinic (${me})`);
  }
  const strangers = [...o.peers.keys()].filter((p) => !order.has(p));
  if (strangers.length > 0) {
    throw new ClinicError(
      "CONFIG_MISMATCH",
      `the peers file names ${strangers.join(", ")}, not in the server's turn order [${turn.order.join(", ")}]: ` +
        `this clinic's weights would be sealed to ${strangers.length === 1 ? "it" : "them"} at the end of its turn`,
    );
  }
  if (mode === "vanilla" && (o.loss ?? "bce") !== turn.loss) {
    throw new ClinicError("CONFIG_MISMATCH", `the server trains with loss ${turn.loss}; this clinic's config says ${o.loss ?? "bce"}: set "loss": "${turn.loss}"`);
  }
}

async function vanillaStep(
  o: ClinicOptions,
  id: string,
  round: number,
  epoch: number,
  batch: number,
): Promise<{ loss: number; rows: number }> {
  const p = o.profile, tag = id.endsWith(":0") ? " (first of turn)" : "";
  const t0 = p ? performance.now() : 0;
  const f = await o.side.forward(id, epoch, batch);
  const t1 = p ? performance.now() : 0;
  if (!f.labels) throw new ClinicError("BAD_RAW_SIDE_REPLY", "vanilla mode: the raw side returned no labels; expected labels with every forward");
  const r = await ask(o, { type: "STEP", stepId: id, epoch: round, activation: f.activation, labels: f.labels });
  const t2 = p ? performance.now() : 0;
  await o.side.backward(id, r.cutGrad);
  if (p) {
    p.add(`clinic forward call${tag}`, t1 - t0);
    p.add(`clinic STEP call${tag}`, t2 - t1);
    p.add(`clinic backward call${tag}`, performance.now() - t2);
  }
  return { loss: r.loss, rows: f.activation.dims[0] };
}

async function ushapedStep(
  o: ClinicOptions,
  id: string,
  round: number,
  epoch: number,
  batch: number,
): Promise<{ loss: number; rows: number }> {
  const f = await o.side.forward(id, epoch, batch);
  const m = await ask(o, { type: "MIDDLE_FORWARD", stepId: id, epoch: round, activation: f.activation });
  const h = await o.side.head(id, m.headInput);
  const b = await ask(o, { type: "MIDDLE_BACKWARD", stepId: id, epoch: round, gradHeadInput: h.gradHeadInput });
  await o.side.backward(id, b.cutGrad);
  return { loss: h.loss, rows: f.activation.dims[0] };
}

/**
 * Logits of a split through the cut: the raw side's front, the server's `EVAL`, and in
 * U-shape the raw side's head.
 *
 * @example
 * ```ts
 * import { splitLogits } from "./clinic.ts";
 * import type { ClinicConnection } from "./clinic.ts";
 * import type { RawSide } from "./raw_side/api.ts";
 * async function testRows(side: RawSide, conn: ClinicConnection) {
 *   const { logits } = await splitLogits(side, conn, "test");
 *   return logits.dims[0];
 * }
 * ```
 */
export async function splitLogits(
  side: RawSide,
  conn: Pick<ClinicConnection, "request">,
  split: "val" | "test",
  info?: RawSideInfo,
): Promise<{ logits: Tensor; labels: Tensor }> {
  const i = info ?? await side.info();
  const size = split === "val" ? i.valSize : i.testSize;
  const outs: Tensor[] = [], labels: Tensor[] = [];
  for (let b = 0; b * i.evalBatchSize < size; b++) {
    const f = await side.evalForward(split, b);
    const r = await conn.request({ type: "EVAL", activation: f.activation });
    outs.push(i.mode === "vanilla" ? r.output : await side.evalHead(r.output));
    labels.push(f.labels);
  }
  if (outs.length === 0) throw new RangeError(`the ${split} split of clinic ${i.clinic} is empty`);
  return { logits: concatRows(outs), labels: concatRows(labels) };
}

async function evaluateSplit(
  o: ClinicOptions,
  info: RawSideInfo,
  split: "val" | "test",
): Promise<{ metrics: Metrics; scores: number[]; labels: number[] }> {
  const conn = { request: <M extends RequestMessage>(m: M) => ask(o, m, false) };
  const { logits, labels } = await splitLogits(o.side, conn, split, info);
  const loss = o.loss ?? "bce";
  const metrics = evaluateLogits(loss, logits, labels);
  const raw = Array.from(logits.data as Float32Array);
  return {
    metrics,
    scores: loss === "bce" ? raw.map((x) => 1 / (1 + Math.exp(-x))) : raw,
    labels: Array.from(labels.data as ArrayLike<number>, Number),
  };
}
