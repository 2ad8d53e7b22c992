/**
 * splitgate's application protocol between a clinic's courier and the server: the messages
 * sealed inside the Noise channel, their byte format, the HTTP body framing of sealed
 * frames, and the channel settings both ends use (see docs/design/transport.md).
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeMessage } from "./mod.ts";
 * const m = decodeMessage(encodeMessage({ type: "TURN_REQUEST" }));
 * console.log(m.type); // "TURN_REQUEST"
 * ```
 * @module
 */
export {
  APP_FRAME_TYPE,
  CLINIC_HEADER,
  PROTOCOL_CHANNEL_OPTIONS,
  SESSION_HEADER,
} from "./channel_settings.ts";
export { ProtocolError, type ProtocolErrorCode } from "./protocol_error.ts";
export {
  type ErrorMessage,
  type EvalMessage,
  type EvalResultMessage,
  type ExportMessage,
  type ExportResultMessage,
  type FetchFrontsMessage,
  type FetchWeightsMessage,
  type FrontsMessage,
  isRequest,
  type Message,
  MESSAGE_TYPES,
  type MessageTypeName,
  type MiddleBackwardMessage,
  type MiddleBackwardResultMessage,
  type MiddleForwardMessage,
  type MiddleForwardResultMessage,
  parseStepId,
  REPLY_TYPE,
  type ReplyMessage,
  type RequestMessage,
  stepId,
  type StepMessage,
  type StepResultMessage,
  type TurnDoneMessage,
  type TurnRestartMessage,
  type StudyMessage,
  type StudyResultMessage,
  type LeaveMessage,
  type LeaveResultMessage,
  type SecAggReplyMessage,
  type SecAggRequestMessage,
  type TurnDoneResultMessage,
  type TurnMessage,
  type TurnRequestMessage,
  type WeightsMessage,
} from "./messages.ts";
export {
  decodeMessage,
  decodeMessageHeader,
  type DecodeMessageOptions,
  encodeMessage,
  MAX_HEADER_BYTES,
  SEALED_PREFIX,
  WEIGHT_PREFIX,
} from "./message_codec.ts";
export { checkTensor, firstNonFinite, type TensorSpec } from "./tensor_spec.ts";
export { BodyFrameParser, frameStream, packFrames, unpackFrames } from "./body_frames.ts";
export { PhaseProfile, type PhaseRow } from "./phase_profile.ts";
