/**
 * The bytes a clinic and the server exchange for one secure-aggregation round inside the
 * encrypted channel (one request/reply pair per poll, so the clinic always connects, as for
 * every other message; docs/design/secure_aggregation.md#runtime). The clinic sends a
 * {@linkcode SecAggPoll}: the round, the server message it waits for next, and its own latest
 * message of the round, once (again only after an `early` reply or a failed exchange; the
 * server ignores a byte-equal repeat). The server answers a {@linkcode SecAggReply}:
 * wait (message taken, nothing new yet), the awaited message, done (with the average), late
 * (this clinic missed a phase and is out of the round), refused (with the `SecAggError` code),
 * or early (the server has not started this round: send the message again).
 *
 * ```
 * poll:  u8 version 1 | u8 0 | u32 round | u8 want (0 roster, 1 relay, 2 unmask, 3 done)
 *        | u8 has-message | [secagg message bytes, crypto/secagg/secagg_messages.ts]
 * reply: u8 version 1 | u8 1 | u32 round | u8 status (0 wait, 1 message, 2 done, 3 late, 4 refused,
 *        5 early)
 *        | message: secagg message bytes
 *        | done: u32 n | n × (u16 len | name) | u32 L | L × f32 LE (the average)
 *        | refused: u16 len | code | u16 len | text
 * ```
 *
 * @example
 * ```ts
 * import { decodeSecAggPoll, encodeSecAggPoll } from "./secagg_payload.ts";
 * console.log(decodeSecAggPoll(encodeSecAggPoll({ round: 3, want: "relay" }))); // { round: 3, want: "relay" }
 * ```
 * @module
 */
import {
  decodeSecAggMessage,
  encodeSecAggMessage,
  type SecAggMessage,
} from "../../crypto/secagg/secagg_messages.ts";
import { SecAggError } from "../../crypto/secagg/secagg_error.ts";

const WANTS = ["roster", "relay", "unmask", "done"] as const;
const STATUSES = ["wait", "message", "done", "late", "refused", "early"] as const;
const VERSION = 1;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/**
 * What a clinic polls for next.
 *
 * @example
 * ```ts
 * import type { SecAggWant } from "./secagg_payload.ts";
 * const w: SecAggWant = "unmask";
 * ```
 */
export type SecAggWant = (typeof WANTS)[number];

/**
 * A clinic's poll.
 *
 * @example
 * ```ts
 * import type { SecAggPoll } from "./secagg_payload.ts";
 * const p: SecAggPoll = { round: 1, want: "roster" };
 * ```
 */
export interface SecAggPoll {
  readonly round: number;
  readonly want: SecAggWant;
  readonly message?: SecAggMessage;
}

/**
 * The server's answer to a poll.
 *
 * @example
 * ```ts
 * import type { SecAggReply } from "./secagg_payload.ts";
 * const r: SecAggReply = { round: 1, status: "refused", code: "BELOW_THRESHOLD", text: "2 of 4" };
 * ```
 */
export type SecAggReply =
  | { readonly round: number; readonly status: "wait" | "late" | "early" }
  | { readonly round: number; readonly status: "message"; readonly message: SecAggMessage }
  | {
    readonly round: number;
    readonly status: "done";
    readonly included: readonly string[];
    readonly average: Float32Array;
  }
  | {
    readonly round: number;
    readonly status: "refused";
    readonly code: string;
    readonly text: string;
  };

function head(kind: number, round: number, code: number): Uint8Array {
  const b = new Uint8Array(7);
  const v = new DataView(b.buffer);
  b[0] = VERSION, b[1] = kind, v.setUint32(2, round), b[6] = code;
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

function str(s: string): Uint8Array {
  const b = utf8.encode(s);
  if (b.length > 0xffff) throw new SecAggError("MALFORMED_MESSAGE", `string of ${b.length} bytes`);
  return concat([Uint8Array.of(b.length >> 8, b.length & 0xff), b]);
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

/**
 * The bytes of a poll.
 *
 * @example
 * ```ts
 * import { encodeSecAggPoll } from "./secagg_payload.ts";
 * console.log(encodeSecAggPoll({ round: 1, want: "done" }).length); // 8
 * ```
 */
export function encodeSecAggPoll(p: SecAggPoll): Uint8Array {
  const m = p.message === undefined ? [] : [encodeSecAggMessage(p.message)];
  return concat([head(0, p.round, WANTS.indexOf(p.want)), Uint8Array.of(m.length), ...m]);
}

/**
 * The bytes of a reply.
 *
 * @example
 * ```ts
 * import { encodeSecAggReply } from "./secagg_payload.ts";
 * console.log(encodeSecAggReply({ round: 1, status: "wait" }).length); // 7
 * ```
 */
export function encodeSecAggReply(r: SecAggReply): Uint8Array {
  const h = head(1, r.round, STATUSES.indexOf(r.status));
  if (r.status === "message") return concat([h, encodeSecAggMessage(r.message)]);
  if (r.status === "refused") return concat([h, str(r.code), str(r.text)]);
  if (r.status !== "done") return h;
  const avg = new Uint8Array(4 * r.average.length), v = new DataView(avg.buffer);
  r.average.forEach((x, i) => v.setFloat32(4 * i, x, true));
  return concat([h, u32(r.included.length), ...r.included.map(str), u32(r.average.length), avg]);
}

function bad(what: string): SecAggError {
  return new SecAggError("MALFORMED_MESSAGE", `secagg payload: ${what}`);
}

function readHead(b: Uint8Array, kind: number): { round: number; code: number } {
  if (b.length < 7) throw bad(`${b.length} bytes, shorter than its 7-byte head`);
  if (b[0] !== VERSION) throw bad(`version ${b[0]}; expected ${VERSION}`);
  if (b[1] !== kind) throw bad(`kind ${b[1]}; expected ${kind}`);
  return { round: new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(2), code: b[6] };
}

/**
 * Parses a poll.
 *
 * @throws {SecAggError} `MALFORMED_MESSAGE`
 * @example
 * ```ts
 * import { decodeSecAggPoll } from "./secagg_payload.ts";
 * try {
 *   decodeSecAggPoll(new Uint8Array(3));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // MALFORMED_MESSAGE
 * }
 * ```
 */
export function decodeSecAggPoll(b: Uint8Array): SecAggPoll {
  const { round, code } = readHead(b, 0);
  const want = WANTS[code];
  if (want === undefined) throw bad(`want ${code} is unknown`);
  if (b.length < 8 || b[7] > 1) throw bad("has-message flag missing or not 0/1");
  if (b[7] === 0) {
    if (b.length !== 8) throw bad(`${b.length - 8} trailing bytes`);
    return { round, want };
  }
  return { round, want, message: decodeSecAggMessage(b.subarray(8)) };
}

class Cursor {
  o = 7;
  readonly v: DataView;
  constructor(readonly b: Uint8Array) {
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  need(n: number) {
    if (this.o + n > this.b.length) {
      throw bad(`needs ${n} bytes at ${this.o}, ${this.b.length - this.o} left`);
    }
  }
  u16() {
    this.need(2);
    return this.v.getUint16((this.o += 2) - 2);
  }
  u32() {
    this.need(4);
    return this.v.getUint32((this.o += 4) - 4);
  }
  str() {
    const n = this.u16();
    this.need(n);
    try {
      return utf8Strict.decode(this.b.subarray(this.o, this.o += n));
    } catch {
      throw bad("a string is not UTF-8");
    }
  }
}

/**
 * Parses a reply.
 *
 * @throws {SecAggError} `MALFORMED_MESSAGE`
 * @example
 * ```ts
 * import { decodeSecAggReply, encodeSecAggReply } from "./secagg_payload.ts";
 * const r = decodeSecAggReply(encodeSecAggReply({ round: 2, status: "done", included: ["a"], average: Float32Array.of(0.5) }));
 * console.log(r); // { round: 2, status: "done", included: [ "a" ], average: Float32Array(1) [ 0.5 ] }
 * ```
 */
export function decodeSecAggReply(b: Uint8Array): SecAggReply {
  const { round, code } = readHead(b, 1);
  const status = STATUSES[code];
  if (status === undefined) throw bad(`status ${code} is unknown`);
  if (status === "message") return { round, status, message: decodeSecAggMessage(b.subarray(7)) };
  const c = new Cursor(b);
  let reply: SecAggReply;
  if (status === "refused") reply = { round, status, code: c.str(), text: c.str() };
  else if (status === "done") {
    const n = c.u32();
    if (n > b.length) throw bad(`${n} names cannot fit`);
    const included = Array.from({ length: n }, () => c.str());
    const len = c.u32();
    c.need(4 * len);
    const average = Float32Array.from({ length: len }, (_, i) => c.v.getFloat32(c.o + 4 * i, true));
    c.o += 4 * len;
    reply = { round, status, included, average };
  } else reply = { round, status };
  if (c.o !== b.length) throw bad(`${b.length - c.o} trailing bytes`);
  return reply;
}
