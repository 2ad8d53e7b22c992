/**
 * Bytes of one protocol message (the plaintext sealed into the Noise channel):
 *
 * ```
 * u8        message type (MESSAGE_TYPES)
 * u32 LE    length L of the JSON header
 * L bytes   UTF-8 JSON header: the scalar fields (stepId, epoch, loss, turn, ...)
 * rest      a tensor bundle (runtime/codec encodeTensors) for the types that carry tensors,
 *           nothing for the others
 * ```
 *
 * Decoding is strict: an unknown type, a missing, extra or mistyped header field, a missing
 * or extra tensor, trailing bytes, or a tensor that differs from the receiver's
 * {@linkcode TensorSpec}s is a {@linkcode ProtocolError}; a codec failure is wrapped in one
 * (`BAD_MESSAGE`, or `TOO_MANY_ELEMENTS` for the element limit) with the CodecError as cause.
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeMessage } from "./message_codec.ts";
 * const bytes = encodeMessage({ type: "TURN_DONE_RESULT", epoch: 1, next: "clinic-b" });
 * console.log(decodeMessage(bytes)); // { type: "TURN_DONE_RESULT", epoch: 1, next: "clinic-b" }
 * ```
 * @module
 */
import { tensor, type Tensor } from "../../models/tensor.ts";
import { KEY_NAME_PATTERN } from "../../crypto/keys/key_name.ts";
import {
  type BundleOptions,
  CodecError,
  type DecodeLimits,
  decodeTensors,
  encodeTensors,
  type TensorEncoding,
} from "../codec/mod.ts";
import { MESSAGE_TYPES, type Message, type MessageTypeName, parseStepId } from "./messages.ts";
import { ProtocolError } from "./protocol_error.ts";
import { checkTensor, type TensorSpec } from "./tensor_spec.ts";

/** Largest JSON header accepted (bytes). */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Prefix of the tensor names that carry sealed weight blobs in `TURN_DONE`. */
export const SEALED_PREFIX = "sealed/";
/** Prefix of the tensor names that carry the server segment's weights in `EXPORT_RESULT`. */
export const WEIGHT_PREFIX = "weight/";
/** An initializer name in `EXPORT_RESULT`: 1 to 512 characters, no control characters. */
// deno-lint-ignore no-control-regex -- the control characters are what it refuses
const WEIGHT_NAME = /^[^\u0000-\u001f\u007f]{1,512}$/;

/** Fields carried as bytes (a uint8 tensor, never compressed by a lossy codec). */
const BYTE_FIELDS: ReadonlySet<string> = new Set(["sealedWeights", "definition", "payload"]);

type FieldKind = "stepId" | "epoch" | "count" | "loss" | "string" | "name?" | "names" | "stepId?" | "bool" | "counts";

interface Schema {
  fields: Record<string, FieldKind>;
  /** Header fields that may be absent (left out when undefined, so older replies stay the same bytes). */
  optionalFields?: Record<string, FieldKind>;
  /** Required tensors. */
  tensors: string[];
  /** Optional tensors. */
  optional?: string[];
  /** Carries `sealedWeights` as a map of `sealed/<clinic>` uint8 tensors. */
  sealedMap?: boolean;
  /** Carries `weights` as a map of `weight/<initializer>` float32 tensors (exact). */
  weightsMap?: boolean;
  /** Whether a bundle follows the header. */
  bundle: boolean;
}

const SCHEMAS: Readonly<Record<MessageTypeName, Schema>> = {
  STEP: { fields: { stepId: "stepId", epoch: "epoch" }, tensors: ["activation", "labels"], bundle: true },
  STEP_RESULT: { fields: { stepId: "stepId", loss: "loss" }, tensors: ["cutGrad"], bundle: true },
  MIDDLE_FORWARD: { fields: { stepId: "stepId", epoch: "epoch" }, tensors: ["activation"], bundle: true },
  MIDDLE_FORWARD_RESULT: { fields: { stepId: "stepId" }, tensors: ["headInput"], bundle: true },
  MIDDLE_BACKWARD: {
    fields: { stepId: "stepId", epoch: "epoch" },
    tensors: ["gradHeadInput"],
    bundle: true,
  },
  MIDDLE_BACKWARD_RESULT: { fields: { stepId: "stepId" }, tensors: ["cutGrad"], bundle: true },
  EVAL: { fields: {}, tensors: ["activation"], bundle: true },
  EVAL_RESULT: { fields: {}, tensors: ["output"], bundle: true },
  TURN_REQUEST: { fields: {}, tensors: [], bundle: false },
  TURN: {
    fields: {
      turn: "name?",
      yours: "bool",
      epoch: "epoch",
      finished: "bool",
      lastStepId: "stepId?",
      order: "names",
      loss: "string",
    },
    optionalFields: { schedule: "string", clinicWeights: "string", frontAggregation: "string" },
    tensors: [],
    bundle: false,
  },
  TURN_DONE: {
    fields: { epoch: "epoch", lastStepId: "stepId?" },
    optionalFields: { frontLength: "count" },
    tensors: [],
    sealedMap: true,
    bundle: true,
  },
  TURN_DONE_RESULT: { fields: { epoch: "epoch", next: "name?" }, tensors: [], bundle: false },
  FETCH_WEIGHTS: { fields: {}, tensors: [], bundle: false },
  WEIGHTS: {
    fields: { from: "name?", seq: "count" },
    tensors: [],
    optional: ["sealedWeights"],
    bundle: true,
  },
  ERROR: { fields: { code: "string", message: "string" }, tensors: [], bundle: false },
  EXPORT: { fields: {}, tensors: [], bundle: false },
  EXPORT_RESULT: { fields: {}, tensors: [], weightsMap: true, bundle: true },
  TURN_RESTART: { fields: { epoch: "epoch", lastStepId: "stepId?" }, tensors: [], bundle: false },
  STUDY: { fields: {}, tensors: [], bundle: false },
  STUDY_RESULT: { fields: { id: "string", digest: "string" }, tensors: [], optional: ["definition"], bundle: true },
  LEAVE: { fields: {}, tensors: [], bundle: false },
  LEAVE_RESULT: { fields: { finished: "bool", waitingFor: "names" }, tensors: [], bundle: false },
  FETCH_FRONTS: { fields: { epoch: "epoch" }, tensors: [], bundle: false },
  FRONTS: {
    fields: { epoch: "epoch", clinics: "names", samples: "counts" },
    optionalFields: { secaggRound: "count" },
    tensors: [],
    sealedMap: true,
    bundle: true,
  },
  SECAGG: { fields: {}, tensors: ["payload"], bundle: true },
  SECAGG_REPLY: { fields: {}, tensors: ["payload"], bundle: true },
};

const TYPE_BY_BYTE = new Map<number, MessageTypeName>(
  Object.entries(MESSAGE_TYPES).map(([k, v]) => [v, k as MessageTypeName]),
);

/**
 * Options of {@linkcode decodeMessage}.
 *
 * @example
 * ```ts
 * import type { DecodeMessageOptions } from "./message_codec.ts";
 * const o: DecodeMessageOptions = {
 *   limits: { maxElements: 64 * 32 * 7 * 7 + 64 },
 *   expect: { activation: { dtype: "float32", shape: ["N", 32, 7, 7] } },
 * };
 * ```
 */
export interface DecodeMessageOptions {
  /** Limits of the tensor bundle (set `maxElements` to what the receiver expects). */
  limits?: DecodeLimits;
  /** Expected dtype/shape by tensor name (`activation`, `labels`, `gradHeadInput`, ...). */
  expect?: Readonly<Record<string, TensorSpec>>;
  /** Symbol values already known (e.g. the batch size `N` of a saved forward). */
  bound?: ReadonlyMap<string, number>;
  /** Accept only these message types (anything else is `BAD_MESSAGE`). */
  accept?: readonly MessageTypeName[];
  /**
   * Let the decoded tensors remember their wire records, so that a relay (the clinic's
   * courier) can pass them on with the codec's `reuseRecords` (runtime/codec/wire_records.ts).
   */
  keepRecords?: boolean;
  /**
   * Decode float tensors sent as dense int8 into views (runtime/codec/quantized_view.ts):
   * the same floats, dequantised only when read, with their codes kept for a graph that
   * takes them as they are (quantisation in the graph, `codec.quantize`).
   */
  int8Views?: boolean;
}

function bad(message: string, cause?: unknown): ProtocolError {
  return new ProtocolError("BAD_MESSAGE", message, cause === undefined ? undefined : { cause });
}

function checkField(type: string, key: string, kind: FieldKind, v: unknown): void {
  const fail = (want: string) => {
    const shown = JSON.stringify(v);
    throw bad(`${type}.${key}: expected ${want}, got ${shown === undefined ? "nothing" : shown.slice(0, 80)}`);
  };
  switch (kind) {
    case "stepId":
      if (typeof v !== "string" || parseStepId(v) === null) fail('a step id "<epoch>:<batch>"');
      return;
    case "stepId?":
      if (v !== null && (typeof v !== "string" || parseStepId(v) === null)) fail("a step id or null");
      return;
    case "epoch":
    case "count":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 999_999_999) {
        fail("an integer in [0, 999999999]");
      }
      return;
    case "loss":
      // JSON has no NaN: a diverged loss travels as null.
      if (v !== null && typeof v !== "number") fail("a number or null");
      return;
    case "string":
      if (typeof v !== "string" || v.length > 4096) fail("a string of at most 4096 characters");
      return;
    case "name?":
      if (v !== null && (typeof v !== "string" || !KEY_NAME_PATTERN.test(v))) fail("a clinic name or null");
      return;
    case "names":
      if (!Array.isArray(v) || v.length > 1024 || !v.every((n) => typeof n === "string" && KEY_NAME_PATTERN.test(n))) {
        fail("a list of at most 1024 clinic names");
      }
      return;
    case "bool":
      if (typeof v !== "boolean") fail("a boolean");
      return;
    case "counts":
      if (
        !Array.isArray(v) || v.length > 1024 ||
        !v.every((n) => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 999_999_999)
      ) {
        fail("a list of at most 1024 integers in [0, 999999999]");
      }
      return;
  }
}

/** Checks the scalar fields of `m` against its schema; returns the JSON header object. */
function headerOf(m: Record<string, unknown>, schema: Schema): Record<string, unknown> {
  const h: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(schema.fields)) {
    let v = m[key];
    if (kind === "loss" && typeof v === "number" && !Number.isFinite(v)) v = null;
    checkField(String(m.type), key, kind, v);
    h[key] = v;
  }
  for (const [key, kind] of Object.entries(schema.optionalFields ?? {})) {
    if (m[key] === undefined) continue;
    checkField(String(m.type), key, kind, m[key]);
    h[key] = m[key];
  }
  return h;
}

function checkStepEpoch(m: Record<string, unknown>): void {
  for (const key of ["stepId", "lastStepId"]) {
    const id = m[key];
    if (typeof id === "string" && typeof m.epoch === "number") {
      const p = parseStepId(id)!;
      if (p.epoch !== m.epoch) {
        throw bad(`${m.type}: ${key} ${id} belongs to epoch ${p.epoch}, not ${m.epoch}`);
      }
    }
  }
}

/**
 * Encodes a message. `codec` sets the encoding of float tensors (activations, gradients);
 * labels always travel exactly (float32 or their integer dtype) and sealed blobs uncompressed.
 *
 * @throws {ProtocolError} `BAD_MESSAGE` for a message that does not fit its schema.
 * @throws {RangeError} for codec options the codec refuses.
 * @example
 * ```ts
 * import { encodeMessage } from "./message_codec.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const bytes = encodeMessage({
 *   type: "EVAL", activation: tensor("float32", [1, 4], new Float32Array([1, 2, 3, 4])),
 * }, { dtype: "float16" });
 * ```
 */
export function encodeMessage(msg: Message, codec: BundleOptions = {}): Uint8Array {
  const schema = SCHEMAS[msg.type as MessageTypeName];
  if (!schema || !Object.hasOwn(SCHEMAS, msg.type)) throw bad(`unknown message type ${JSON.stringify(msg.type)}`);
  const m = msg as unknown as Record<string, unknown>;
  const header = headerOf(m, schema);
  checkStepEpoch(m);
  const json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length > MAX_HEADER_BYTES) throw bad(`${msg.type}: header of ${json.length} bytes exceeds ${MAX_HEADER_BYTES}`);
  let bundle: Uint8Array | undefined;
  if (schema.bundle) {
    const tensors = new Map<string, Tensor>();
    const per: Record<string, TensorEncoding> = {};
    for (const name of [...schema.tensors, ...(schema.optional ?? [])]) {
      const v = m[name];
      if (v === undefined && schema.optional?.includes(name)) continue;
      if (BYTE_FIELDS.has(name)) {
        if (!(v instanceof Uint8Array) || v.length === 0) throw bad(`${msg.type}.${name}: expected a non-empty Uint8Array`);
        tensors.set(name, tensor("uint8", [v.length], v));
        per[name] = { level: 0 };
        continue;
      }
      if (!isTensor(v)) throw bad(`${msg.type}.${name}: expected a tensor`);
      tensors.set(name, v);
      const own = codec.perTensor?.[name];
      // Labels are targets: quantising them would change the loss.
      per[name] = name === "labels" ? { ...own, dtype: "float32", topK: undefined } : { ...own };
    }
    if (schema.sealedMap) {
      const sealed = m.sealedWeights;
      if (sealed === null || typeof sealed !== "object" || sealed instanceof Uint8Array) {
        throw bad(`${msg.type}.sealedWeights: expected an object of Uint8Array by clinic name`);
      }
      for (const [who, blob] of Object.entries(sealed as Record<string, unknown>)) {
        if (!KEY_NAME_PATTERN.test(who)) throw bad(`${msg.type}.sealedWeights: ${JSON.stringify(who)} is not a clinic name`);
        if (!(blob instanceof Uint8Array) || blob.length === 0) {
          throw bad(`${msg.type}.sealedWeights.${who}: expected a non-empty Uint8Array`);
        }
        tensors.set(SEALED_PREFIX + who, tensor("uint8", [blob.length], blob));
        per[SEALED_PREFIX + who] = { level: 0 };
      }
    }
    if (schema.weightsMap) {
      const weights = m.weights;
      if (weights === null || typeof weights !== "object" || Array.isArray(weights)) {
        throw bad(`${msg.type}.weights: expected an object of tensors by initializer name`);
      }
      if (Object.keys(weights).length === 0) throw bad(`${msg.type}.weights: no weights`);
      for (const [name, t] of Object.entries(weights as Record<string, unknown>)) {
        if (!WEIGHT_NAME.test(name)) throw bad(`${msg.type}.weights: ${JSON.stringify(name.slice(0, 64))} is not an initializer name`);
        if (!isTensor(t) || t.dtype !== "float32") throw bad(`${msg.type}.weights.${name}: expected a float32 tensor`);
        tensors.set(WEIGHT_PREFIX + name, t);
        // Trained weights go into a model: quantising them would change its outputs.
        per[WEIGHT_PREFIX + name] = { dtype: "float32", topK: undefined };
      }
    }
    const { perTensor: _ignored, ...defaults } = codec;
    bundle = encodeTensors(tensors, { ...defaults, perTensor: per }, 5 + json.length);
  }
  // The bundle is encoded with room for the prefix in front, so the message is written once
  // (the tensors are not copied again into a second buffer).
  const out = bundle ?? new Uint8Array(5 + json.length);
  out[0] = MESSAGE_TYPES[msg.type as MessageTypeName];
  new DataView(out.buffer, out.byteOffset).setUint32(1, json.length, true);
  out.set(json, 5);
  return out;
}

function isTensor(v: unknown): v is Tensor {
  return typeof v === "object" && v !== null && "dtype" in v && "dims" in v && "data" in v;
}

/**
 * Decodes and validates a message's type and scalar header fields only, leaving its tensor
 * bundle undecoded (and uninflated): what a receiver needs to refuse a request by its turn
 * and epoch before paying for its tensors.
 *
 * @throws {ProtocolError} `BAD_MESSAGE` for a prefix or header that does not fit the schema.
 * @example
 * ```ts
 * import { decodeMessageHeader, encodeMessage } from "./message_codec.ts";
 * const bytes = encodeMessage({ type: "TURN_DONE", epoch: 3, lastStepId: "3:9", sealedWeights: { b: Uint8Array.of(1) } });
 * console.log(decodeMessageHeader(bytes).header); // { type: "TURN_DONE", epoch: 3, lastStepId: "3:9" }
 * ```
 */
export function decodeMessageHeader(
  bytes: Uint8Array,
  options: Pick<DecodeMessageOptions, "accept"> = {},
): { type: MessageTypeName; header: Record<string, unknown>; rest: Uint8Array } {
  if (!(bytes instanceof Uint8Array) || bytes.length < 5) {
    throw bad(`message of ${bytes?.length ?? 0} bytes is shorter than its 5-byte prefix`);
  }
  const type = TYPE_BY_BYTE.get(bytes[0]);
  if (type === undefined) throw bad(`unknown message type byte ${bytes[0]}`);
  if (options.accept && !options.accept.includes(type)) {
    throw bad(`message type ${type} is not accepted here (expected ${options.accept.join(", ")})`);
  }
  const schema = SCHEMAS[type];
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1, true);
  if (hlen > MAX_HEADER_BYTES || hlen > bytes.length - 5) {
    throw bad(`${type}: header length ${hlen} exceeds the ${Math.min(MAX_HEADER_BYTES, bytes.length - 5)} bytes available`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(5, 5 + hlen)));
  } catch (e) {
    throw bad(`${type}: header is not UTF-8 JSON`, e);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    throw bad(`${type}: header must be a JSON object`);
  }
  const h = header as Record<string, unknown>;
  for (const key of Object.keys(h)) {
    if (!Object.hasOwn(schema.fields, key) && !Object.hasOwn(schema.optionalFields ?? {}, key)) throw bad(`${type}: unknown header field ${JSON.stringify(key.slice(0, 64))}`);
  }
  const out: Record<string, unknown> = { type };
  for (const [key, kind] of Object.entries(schema.fields)) {
    if (!Object.hasOwn(h, key)) throw bad(`${type}: missing header field ${key}`);
    checkField(type, key, kind, h[key]);
    out[key] = kind === "loss" && h[key] === null ? NaN : h[key];
  }
  for (const [key, kind] of Object.entries(schema.optionalFields ?? {})) {
    if (!Object.hasOwn(h, key)) continue;
    checkField(type, key, kind, h[key]);
    out[key] = h[key];
  }
  checkStepEpoch(out);
  return { type, header: out, rest: bytes.subarray(5 + hlen) };
}

/**
 * Decodes and validates a message.
 *
 * @throws {ProtocolError} `BAD_MESSAGE`, `WRONG_SHAPE`, `WRONG_DTYPE`, `TOO_MANY_ELEMENTS`;
 *   nothing else for any input bytes.
 * @example
 * ```ts
 * import { decodeMessage, encodeMessage } from "./message_codec.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const bytes = encodeMessage({ type: "EVAL", activation: tensor("float32", [2, 3]) });
 * try {
 *   decodeMessage(bytes, { expect: { activation: { dtype: "float32", shape: ["N", 4] } } });
 * } catch (e) {
 *   console.log((e as { code: string }).code); // WRONG_SHAPE
 * }
 * ```
 */
export function decodeMessage(bytes: Uint8Array, options: DecodeMessageOptions = {}): Message {
  const { type, header: out, rest } = decodeMessageHeader(bytes, options);
  const schema = SCHEMAS[type];
  if (!schema.bundle) {
    if (rest.length !== 0) throw bad(`${type}: ${rest.length} unexpected bytes after the header`);
    return out as unknown as Message;
  }
  let tensors: Map<string, Tensor>;
  try {
    tensors = decodeTensors(rest, options.limits, { keepRecords: options.keepRecords, int8Views: options.int8Views });
  } catch (e) {
    if (e instanceof CodecError) {
      throw new ProtocolError(
        e.code === "TOO_LARGE" ? "TOO_MANY_ELEMENTS" : "BAD_MESSAGE",
        `${type}: tensor bundle refused (${e.code}): ${e.message}`,
        { cause: e },
      );
    }
    throw e;
  }
  const bound = new Map(options.bound ?? []);
  const sealed: Record<string, Uint8Array> = {};
  const weights: Record<string, Tensor> = {};
  for (const [name, t] of tensors) {
    if (schema.weightsMap) {
      const w = name.startsWith(WEIGHT_PREFIX) ? name.slice(WEIGHT_PREFIX.length) : "";
      if (!WEIGHT_NAME.test(w)) throw bad(`${type}: ${JSON.stringify(name.slice(0, 64))} does not name a weight`);
      if (t.dtype !== "float32") throw bad(`${type}: weight ${JSON.stringify(w.slice(0, 64))} is ${t.dtype}, expected float32`);
      // defineProperty: a weight named "__proto__" must stay a weight, not a prototype.
      Object.defineProperty(weights, w, { value: t, enumerable: true, writable: true, configurable: true });
      continue;
    }
    if (schema.sealedMap && name.startsWith(SEALED_PREFIX)) {
      const who = name.slice(SEALED_PREFIX.length);
      if (!KEY_NAME_PATTERN.test(who)) throw bad(`${type}: ${JSON.stringify(name)} does not name a clinic`);
      checkTensor(name, t, { dtype: "uint8", shape: ["B"] }, new Map());
      sealed[who] = t.data as Uint8Array;
      continue;
    }
    if (!schema.tensors.includes(name) && !schema.optional?.includes(name)) {
      throw bad(`${type}: unexpected tensor ${JSON.stringify(name.slice(0, 64))}`);
    }
    if (BYTE_FIELDS.has(name)) {
      checkTensor(name, t, { dtype: "uint8", shape: ["B"] }, new Map());
      out[name] = t.data as Uint8Array;
      continue;
    }
    const spec = options.expect?.[name];
    if (spec) checkTensor(name, t, spec, bound);
    out[name] = t;
  }
  for (const name of schema.tensors) {
    if (!tensors.has(name)) throw bad(`${type}: missing tensor ${name}`);
  }
  if (schema.sealedMap) out.sealedWeights = sealed;
  if (schema.weightsMap) {
    if (Object.keys(weights).length === 0) throw bad(`${type}: no weights`);
    out.weights = weights;
  }
  return out as unknown as Message;
}
