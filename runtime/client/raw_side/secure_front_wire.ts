/**
 * The `secureFront` raw-side call on the pipe between courier and raw side (`wire.ts`
 * frames): a {@linkcode SecureFrontCall} as a JSON header (`op`, `study`, `round`, `samples`,
 * `peers` as hex keys by name) with its bytes as tensors (`message` uint8, `average`
 * float32), and the {@linkcode SecureFrontResult} likewise. Both ends check what they read:
 * the raw side refuses a malformed call, the courier a malformed answer (`PROTOCOL`).
 *
 * @example
 * ```ts
 * import { secureFrontRequest } from "./secure_front_wire.ts";
 * console.log(secureFrontRequest({ op: "length" }).header); // { op: "length" }
 * ```
 * @module
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { RawSideError } from "./error.ts";
import type { SecureFrontCall, SecureFrontResult } from "./secure_front.ts";
import { bytesTensor, type WireMessage } from "./wire.ts";

const WANTS: readonly string[] = ["roster", "relay", "unmask", "done"];

/**
 * The header and tensors of a `secureFront` request.
 *
 * @example
 * ```ts
 * import { secureFrontRequest } from "./secure_front_wire.ts";
 * console.log(Object.keys(secureFrontRequest({ op: "next", message: Uint8Array.of(1) }).tensors)); // ["message"]
 * ```
 */
export function secureFrontRequest(
  c: SecureFrontCall,
): { header: Record<string, unknown>; tensors: Record<string, Tensor> } {
  switch (c.op) {
    case "length":
      return { header: { op: c.op }, tensors: {} };
    case "start": {
      const peers = Object.fromEntries([...c.peers].map(([n, k]) => [n, bytesToHex(k)]));
      return {
        header: { op: c.op, study: c.study, round: c.round, samples: c.samples, peers },
        tensors: {},
      };
    }
    case "next":
      return { header: { op: c.op }, tensors: { message: bytesTensor(c.message) } };
    case "apply":
      return {
        header: { op: c.op },
        tensors: { average: tensor("float32", [c.average.length], c.average) },
      };
  }
}

const bad = (what: string) => new RawSideError("PROTOCOL", `secureFront: ${what}`);

function bytesIn(m: WireMessage, name: string): Uint8Array {
  const t = m.tensors.get(name);
  if (!t || t.dtype !== "uint8" || t.dims.length !== 1) throw bad(`${name} must be uint8 [n]`);
  return t.data as Uint8Array;
}

function peersIn(v: unknown): Map<string, Uint8Array> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw bad("peers must be an object of hex keys by name");
  }
  const out = new Map<string, Uint8Array>();
  for (const [name, hex] of Object.entries(v as Record<string, unknown>)) {
    if (typeof hex !== "string" || !/^[0-9a-f]{64}$/.test(hex)) {
      throw bad(`peers.${name} must be 64 hex digits`);
    }
    out.set(name, hexToBytes(hex));
  }
  return out;
}

/**
 * The {@linkcode SecureFrontCall} of a `secureFront` request frame (raw side).
 *
 * @throws {RawSideError} `PROTOCOL` for an unknown op or a field of the wrong kind
 * @example
 * ```ts
 * import { secureFrontCall } from "./secure_front_wire.ts";
 * console.log(secureFrontCall({ id: 1, kind: 1, method: "secureFront", header: { op: "length" }, tensors: new Map() }).op); // length
 * ```
 */
export function secureFrontCall(m: WireMessage): SecureFrontCall {
  const h = (m.header ?? {}) as Record<string, unknown>;
  switch (h.op) {
    case "length":
      return { op: "length" };
    case "start": {
      const { study, round, samples } = h;
      if (
        typeof study !== "string" || !Number.isSafeInteger(round) || !Number.isSafeInteger(samples)
      ) {
        throw bad("start needs study (string), round and samples (integers)");
      }
      return {
        op: "start",
        study,
        round: round as number,
        samples: samples as number,
        peers: peersIn(h.peers),
      };
    }
    case "next":
      return { op: "next", message: bytesIn(m, "message") };
    case "apply": {
      const t = m.tensors.get("average");
      if (!t || t.dtype !== "float32" || t.dims.length !== 1) {
        throw bad("average must be float32 [n]");
      }
      return { op: "apply", average: t.data as Float32Array };
    }
    default:
      throw bad(`unknown op ${JSON.stringify(h.op)}`);
  }
}

/**
 * The reply frame parts of a {@linkcode SecureFrontResult} (raw side).
 *
 * @example
 * ```ts
 * import { answerSecureFront } from "./secure_front_wire.ts";
 * console.log(answerSecureFront({ length: 3 }).header); // { length: 3 }
 * ```
 */
export function answerSecureFront(
  r: SecureFrontResult,
): { header: unknown; tensors?: Record<string, Tensor> } {
  const header: Record<string, unknown> = {};
  if (r.length !== undefined) header.length = r.length;
  if (r.want !== undefined) header.want = r.want;
  return r.message ? { header, tensors: { message: bytesTensor(r.message) } } : { header };
}

/**
 * The {@linkcode SecureFrontResult} of a `secureFront` reply frame (courier).
 *
 * @throws {RawSideError} `PROTOCOL` for a field of the wrong kind
 * @example
 * ```ts
 * import { secureFrontReply } from "./secure_front_wire.ts";
 * console.log(secureFrontReply({ id: 1, kind: 2, method: "secureFront", header: { want: "relay" }, tensors: new Map() }).want); // relay
 * ```
 */
export function secureFrontReply(m: WireMessage): SecureFrontResult {
  const h = (m.header ?? {}) as Record<string, unknown>;
  const out: SecureFrontResult = {};
  if (h.length !== undefined) {
    if (!Number.isSafeInteger(h.length)) throw bad("length must be an integer");
    out.length = h.length as number;
  }
  if (h.want !== undefined) {
    if (typeof h.want !== "string" || !WANTS.includes(h.want)) {
      throw bad(`want ${JSON.stringify(h.want)}`);
    }
    out.want = h.want as SecureFrontResult["want"];
  }
  if (m.tensors.has("message")) out.message = bytesIn(m, "message");
  return out;
}
