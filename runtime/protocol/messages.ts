/**
 * The application messages a clinic's courier and the server exchange inside the Noise
 * channel (design: docs/design/transport.md). Requests go clinic → server,
 * each answered by exactly one reply type:
 *
 * | request | reply | mode |
 * | --- | --- | --- |
 * | `STEP` {stepId, epoch, activation, labels} | `STEP_RESULT` {stepId, loss, cutGrad} | vanilla |
 * | `MIDDLE_FORWARD` {stepId, epoch, activation} | `MIDDLE_FORWARD_RESULT` {stepId, headInput} | U-shape |
 * | `MIDDLE_BACKWARD` {stepId, epoch, gradHeadInput} | `MIDDLE_BACKWARD_RESULT` {stepId, cutGrad} | U-shape |
 * | `EVAL` {activation} | `EVAL_RESULT` {output} (logits, or the head input in U-shape) | both |
 * | `TURN_REQUEST` {} | `TURN` {turn, yours, epoch, finished, lastStepId, order, loss} | both |
 * | `TURN_DONE` {epoch, lastStepId, sealedWeights by clinic} | `TURN_DONE_RESULT` {epoch, next} | both |
 * | `FETCH_WEIGHTS` {} | `WEIGHTS` {from, seq, sealedWeights?} | both |
 * | `FETCH_FRONTS` {epoch} | `FRONTS` {epoch, clinics, samples, sealedWeights by sender, secaggRound?} | parallel schedules |
 * | `SECAGG` {payload} | `SECAGG_REPLY` {payload} | parallel schedules, `frontAggregation: "secagg"` |
 * | `EXPORT` {} | `EXPORT_RESULT` {weights by initializer name} | both |
 * | `TURN_RESTART` {epoch, lastStepId} | `TURN` (as `TURN_REQUEST`'s) | both |
 * | `STUDY` {} | `STUDY_RESULT` {id, digest, definition?} | both |
 * | `LEAVE` {} | `LEAVE_RESULT` {finished, waitingFor} | both |
 *
 * `ERROR` {code, message} is a reply a relay may use in place of any other.
 *
 * Step ids are `${epoch}:${batch}` (decimal), one sequence per clinic.
 *
 * @example
 * ```ts
 * import type { Message } from "./messages.ts";
 * const m: Message = { type: "TURN_REQUEST" };
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";

/** Vanilla training step: cut activation and labels in, cut gradient and loss out. */
export interface StepMessage {
  type: "STEP";
  stepId: string;
  epoch: number;
  activation: Tensor;
  labels: Tensor;
}
/** Reply to {@linkcode StepMessage}. */
export interface StepResultMessage {
  type: "STEP_RESULT";
  stepId: string;
  loss: number;
  cutGrad: Tensor;
}
/** U-shape: the server middle's forward on the cut activation. */
export interface MiddleForwardMessage {
  type: "MIDDLE_FORWARD";
  stepId: string;
  epoch: number;
  activation: Tensor;
}
/** Reply to {@linkcode MiddleForwardMessage}: the tensor entering the clinic's head. */
export interface MiddleForwardResultMessage {
  type: "MIDDLE_FORWARD_RESULT";
  stepId: string;
  headInput: Tensor;
}
/** U-shape: the gradient at the head input, for the middle's backward and optimizer step. */
export interface MiddleBackwardMessage {
  type: "MIDDLE_BACKWARD";
  stepId: string;
  epoch: number;
  gradHeadInput: Tensor;
}
/** Reply to {@linkcode MiddleBackwardMessage}: the gradient at the cut. */
export interface MiddleBackwardResultMessage {
  type: "MIDDLE_BACKWARD_RESULT";
  stepId: string;
  cutGrad: Tensor;
}
/** Evaluation forward (no state change). */
export interface EvalMessage {
  type: "EVAL";
  activation: Tensor;
}
/** Reply to {@linkcode EvalMessage}: logits (vanilla) or the head input (U-shape). */
export interface EvalResultMessage {
  type: "EVAL_RESULT";
  output: Tensor;
}
/** Asks whose turn it is (and claims it when it is the asker's). */
export interface TurnRequestMessage {
  type: "TURN_REQUEST";
}
/** Reply to {@linkcode TurnRequestMessage}. */
export interface TurnMessage {
  type: "TURN";
  /** The clinic whose turn it is, or null when training is finished. */
  turn: string | null;
  /** Whether it is the asking clinic's turn. */
  yours: boolean;
  /** The server's current epoch. */
  epoch: number;
  /** True once every configured epoch is done. */
  finished: boolean;
  /**
   * The asker's last step the server applied in the current turn (null: none). After a
   * server restart this tells a clinic where the server's state stands.
   */
  lastStepId: string | null;
  /** The server's turn order: every clinic of the training (a clinic checks its peers against it). */
  order: string[];
  /** The server's loss (in vanilla mode the loss it trains; a clinic evaluates with the same). */
  loss: string;
  /**
   * The server's schedule (`runtime/server/round_schedule.ts`); absent means `"sequential"`,
   * so a sequential server's replies are byte for byte those of before the field existed.
   */
  schedule?: "sequential" | "parallel" | "splitfed";
  /** Parallel schedules: whether fronts are averaged at each round's end (`"averaged"`) or kept (`"private"`). */
  clinicWeights?: "averaged" | "private";
  /**
   * Parallel schedules: how fronts are averaged, `"relay"` (sealed clinic to clinic; absent
   * means relay) or `"secagg"` (secure aggregation, docs/design/secure_aggregation.md).
   */
  frontAggregation?: "relay" | "secagg";
}
/** End of the sender's turn, with its weights sealed to every other clinic. */
export interface TurnDoneMessage {
  type: "TURN_DONE";
  epoch: number;
  /**
   * The sender's last applied step of this turn (null: none). The server refuses the turn's
   * end when its own last applied step differs: after a crash between the turn's last step
   * and the TURN_DONE checkpoint the server stands at the turn's start, and accepting the
   * TURN_DONE there would drop the turn's steps.
   */
  lastStepId: string | null;
  /** Opaque sealed blobs by recipient clinic name. */
  sealedWeights: Record<string, Uint8Array>;
  /**
   * `frontAggregation: "secagg"`: how many weights the sender's front has (the length of the
   * vector it will sum securely; every clinic's must agree). Absent otherwise.
   */
  frontLength?: number;
}
/** Reply to {@linkcode TurnDoneMessage}. */
export interface TurnDoneResultMessage {
  type: "TURN_DONE_RESULT";
  /** The epoch after this turn (advanced when the turn closed the epoch). */
  epoch: number;
  /** Whose turn it is next (null when finished). */
  next: string | null;
}
/** Asks for the latest relayed weights addressed to the sender. */
export interface FetchWeightsMessage {
  type: "FETCH_WEIGHTS";
}
/** Reply to {@linkcode FetchWeightsMessage}. */
export interface WeightsMessage {
  type: "WEIGHTS";
  /** The clinic that sealed the latest relayed weights (null: none relayed yet). */
  from: string | null;
  /** Relay sequence number (increments with every TURN_DONE; 0 = none). */
  seq: number;
  /** The blob sealed to the asker, when there is one. */
  sealedWeights?: Uint8Array;
}
/**
 * Parallel schedules: asks for the fronts the other clinics sealed to the sender at the end
 * of round `epoch`, with every clinic's sample count of that round (the averaging weights).
 */
export interface FetchFrontsMessage {
  type: "FETCH_FRONTS";
  epoch: number;
}
/** Reply to {@linkcode FetchFrontsMessage}. */
export interface FrontsMessage {
  type: "FRONTS";
  /** The round the fronts ended. */
  epoch: number;
  /** The clinics that completed the round (a dropped clinic is not among them), in turn order. */
  clinics: string[];
  /** Samples each of `clinics` trained on in the round, in the same order. */
  samples: number[];
  /** The blobs the other clinics of `clinics` sealed to the asker, by sender (none with secagg). */
  sealedWeights: Record<string, Uint8Array>;
  /**
   * `frontAggregation: "secagg"`: the secure-aggregation round number (never reused within a
   * study) that averages these fronts, to poll with `SECAGG`; 0 when the server gave up on
   * aggregating them (every clinic keeps its own front). Absent in relay mode.
   */
  secaggRound?: number;
}
/**
 * Parallel schedules with `frontAggregation: "secagg"`: one poll of the secure-aggregation
 * round, the bytes of a `SecAggPoll` (runtime/protocol/secagg_payload.ts).
 */
export interface SecAggRequestMessage {
  type: "SECAGG";
  payload: Uint8Array;
}
/** Reply to {@linkcode SecAggRequestMessage}: the bytes of a `SecAggReply`. */
export interface SecAggReplyMessage {
  type: "SECAGG_REPLY";
  payload: Uint8Array;
}
/**
 * Asks for the server segment's trained parameters and buffers, to assemble the full model
 * at the clinic (`deno task client predict --export`). Only a server configured with
 * `allowExport: true` answers; any other refuses with `EXPORT_FORBIDDEN` (HTTP 403).
 */
export interface ExportMessage {
  type: "EXPORT";
}
/** Reply to {@linkcode ExportMessage}. */
export interface ExportResultMessage {
  type: "EXPORT_RESULT";
  /** The server segment's parameters and buffers by initializer name (float32 exact). */
  weights: Record<string, Tensor>;
}
/**
 * The turn holder restarted within its turn from its turn-start checkpoint: the server rolls
 * its segment and this clinic's step bookkeeping back to the start of the turn (its state
 * when the turn began), so the clinic can redo the turn's steps without losing any update
 * (`runtime/server/handlers/turn_restart_handler.ts`).
 */
export interface TurnRestartMessage {
  type: "TURN_RESTART";
  /** The round whose turn restarts (the server's current epoch). */
  epoch: number;
  /** The last step of this turn the server said it applied (its `TURN`'s `lastStepId`). */
  lastStepId: string | null;
}
/** Asks for the study definition the server runs (`runtime/study/`). */
export interface StudyMessage {
  type: "STUDY";
}
/** Reply to {@linkcode StudyMessage}. */
export interface StudyResultMessage {
  type: "STUDY_RESULT";
  /** The study id (`""`: the server runs no study definition). */
  id: string;
  /** `sha256:<hex>` of the definition's canonical JSON (`""` without a study). */
  digest: string;
  /** The definition's canonical JSON, UTF-8 (absent without a study). */
  definition?: Uint8Array;
}
/**
 * A clinic is done with a finished study (trained, final weights taken, evaluated): the
 * server ends once every clinic of the turn order has left (`runtime/server/study_end.ts`).
 * Sent before the study is finished, it changes nothing.
 */
export interface LeaveMessage {
  type: "LEAVE";
}
/** Reply to {@linkcode LeaveMessage}. */
export interface LeaveResultMessage {
  type: "LEAVE_RESULT";
  /** Whether the study is finished (false: the clinic was not counted as gone). */
  finished: boolean;
  /** The clinics of the turn order that have not left yet. */
  waitingFor: string[];
}
/** An error reply. */
export interface ErrorMessage {
  type: "ERROR";
  code: string;
  message: string;
}

/** Requests, clinic → server. */
export type RequestMessage =
  | StepMessage
  | MiddleForwardMessage
  | MiddleBackwardMessage
  | EvalMessage
  | TurnRequestMessage
  | TurnDoneMessage
  | FetchWeightsMessage
  | FetchFrontsMessage
  | ExportMessage
  | TurnRestartMessage
  | StudyMessage
  | LeaveMessage
  | SecAggRequestMessage;

/** Replies, server → clinic. */
export type ReplyMessage =
  | StepResultMessage
  | MiddleForwardResultMessage
  | MiddleBackwardResultMessage
  | EvalResultMessage
  | TurnMessage
  | TurnDoneResultMessage
  | WeightsMessage
  | FrontsMessage
  | ExportResultMessage
  | StudyResultMessage
  | LeaveResultMessage
  | SecAggReplyMessage
  | ErrorMessage;

/**
 * Any protocol message.
 *
 * @example
 * ```ts
 * import type { Message } from "./messages.ts";
 * const m: Message = { type: "FETCH_WEIGHTS" };
 * ```
 */
export type Message = RequestMessage | ReplyMessage;

/** A message type name. */
export type MessageTypeName = Message["type"];

/**
 * Type byte of each message on the wire.
 *
 * @example
 * ```ts
 * import { MESSAGE_TYPES } from "./messages.ts";
 * console.log(MESSAGE_TYPES.STEP); // 1
 * ```
 */
export const MESSAGE_TYPES: Readonly<Record<MessageTypeName, number>> = {
  STEP: 1,
  STEP_RESULT: 2,
  MIDDLE_FORWARD: 3,
  MIDDLE_FORWARD_RESULT: 4,
  MIDDLE_BACKWARD: 5,
  MIDDLE_BACKWARD_RESULT: 6,
  EVAL: 7,
  EVAL_RESULT: 8,
  TURN_REQUEST: 9,
  TURN: 10,
  TURN_DONE: 11,
  TURN_DONE_RESULT: 12,
  FETCH_WEIGHTS: 13,
  WEIGHTS: 14,
  ERROR: 15,
  EXPORT: 16,
  EXPORT_RESULT: 17,
  TURN_RESTART: 18,
  STUDY: 19,
  STUDY_RESULT: 20,
  LEAVE: 21,
  LEAVE_RESULT: 22,
  FETCH_FRONTS: 23,
  FRONTS: 24,
  SECAGG: 25,
  SECAGG_REPLY: 26,
};

/**
 * The reply type each request expects.
 *
 * @example
 * ```ts
 * import { REPLY_TYPE } from "./messages.ts";
 * console.log(REPLY_TYPE.STEP); // "STEP_RESULT"
 * ```
 */
export const REPLY_TYPE: Readonly<Record<RequestMessage["type"], ReplyMessage["type"]>> = {
  STEP: "STEP_RESULT",
  MIDDLE_FORWARD: "MIDDLE_FORWARD_RESULT",
  MIDDLE_BACKWARD: "MIDDLE_BACKWARD_RESULT",
  EVAL: "EVAL_RESULT",
  TURN_REQUEST: "TURN",
  TURN_DONE: "TURN_DONE_RESULT",
  FETCH_WEIGHTS: "WEIGHTS",
  FETCH_FRONTS: "FRONTS",
  EXPORT: "EXPORT_RESULT",
  TURN_RESTART: "TURN",
  STUDY: "STUDY_RESULT",
  LEAVE: "LEAVE_RESULT",
  SECAGG: "SECAGG_REPLY",
};

/**
 * Whether `m` is a request (clinic → server).
 *
 * @example
 * ```ts
 * import { isRequest } from "./messages.ts";
 * console.log(isRequest({ type: "TURN_REQUEST" })); // true
 * ```
 */
export function isRequest(m: Message): m is RequestMessage {
  return Object.hasOwn(REPLY_TYPE, m.type);
}

const STEP_ID = /^(\d{1,9}):(\d{1,9})$/;

/**
 * Makes a step id `${epoch}:${batch}`.
 *
 * @example
 * ```ts
 * import { stepId } from "./messages.ts";
 * console.log(stepId(2, 17)); // "2:17"
 * ```
 */
export function stepId(epoch: number, batch: number): string {
  for (const [k, v] of [["epoch", epoch], ["batch", batch]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 999_999_999) {
      throw new RangeError(`step id ${k} ${v} is invalid: expected an integer in [0, 999999999]`);
    }
  }
  return `${epoch}:${batch}`;
}

/**
 * Parses a step id, or returns null for anything but `${epoch}:${batch}`.
 *
 * @example
 * ```ts
 * import { parseStepId } from "./messages.ts";
 * console.log(parseStepId("3:0")); // { epoch: 3, batch: 0 }
 * ```
 */
export function parseStepId(id: string): { epoch: number; batch: number } | null {
  const m = STEP_ID.exec(id);
  return m ? { epoch: Number(m[1]), batch: Number(m[2]) } : null;
}
