/**
 * The messages of one secure-aggregation round (Bonawitz et al., CCS 2017, Fig. 4, semi-honest
 * server), as plain objects, and their byte encoding. Every message names the study and the
 * round; the server relays, the clinics check.
 *
 * ```
 * clinic → server   advertise   "I take part": name and static public key
 * server → clinic   roster      U1 (names, keys), threshold t, vector length, fixed-point params
 * clinic → server   shares      one sealed envelope per other clinic of U1 (its shares of b_u, s_uv)
 * server → clinic   relay       U2 (who sent shares) and the envelopes addressed to this clinic
 * clinic → server   masked      y_u = enc(x_u) + PRG(b_u) + Σ_v ±PRG(s_uv)   (Z_2^32 words)
 * server → clinic   unmask      U3 (whose masked input arrived) and U2 \ U3 (dropped)
 * clinic → server   reveal      shares of b_v for v ∈ U3, of s_uv for u ∈ U2 \ U3, v ∈ U3
 * ```
 *
 * Byte layout: u8 tag, u8 version 1, then the fields in the order of the type below. Strings
 * are u16 length + UTF-8, byte strings u32 length + bytes, lists u32 count + items, numbers u32
 * big-endian except `clipRange` (float64) and the masked words (u32 count + little-endian u32).
 *
 * @example
 * ```ts
 * import { decodeSecAggMessage, encodeSecAggMessage } from "./secagg_messages.ts";
 * const m = { type: "unmask", study: "s", round: 2, survivors: ["a", "b"], dropped: ["c"] } as const;
 * console.log(decodeSecAggMessage(encodeSecAggMessage(m))); // { type: "unmask", study: "s", round: 2, survivors: [ "a", "b" ], dropped: [ "c" ] }
 * ```
 * @module
 */
import type { FixedPointParams } from "./fixed_point.ts";
import { SecAggError } from "./secagg_error.ts";

/** Fields every message carries. */
interface RoundRef {
  readonly study: string;
  readonly round: number;
}

/**
 * One clinic's name and static X25519 public key.
 *
 * @example
 * ```ts
 * import type { RosterEntry } from "./secagg_messages.ts";
 * const e: RosterEntry = { name: "clinic-a", publicKey: new Uint8Array(32) };
 * ```
 */
export interface RosterEntry {
  readonly name: string;
  readonly publicKey: Uint8Array;
}

/**
 * A share this clinic reveals in the unmasking step: its share of b_of (`peer` absent) or of
 * s_{of,peer}.
 *
 * @example
 * ```ts
 * import type { RevealedShare } from "./secagg_messages.ts";
 * const r: RevealedShare = { of: "clinic-c", peer: "clinic-a", share: new Uint8Array(32) };
 * ```
 */
export interface RevealedShare {
  readonly of: string;
  readonly peer?: string;
  readonly share: Uint8Array;
}

/**
 * Every message of a round (see the module notes for who sends which).
 *
 * @example
 * ```ts
 * import type { SecAggMessage } from "./secagg_messages.ts";
 * const m: SecAggMessage = { type: "masked", study: "s", round: 0, from: "a", masked: new Uint32Array(3) };
 * ```
 */
export type SecAggMessage =
  | RoundRef & { readonly type: "advertise"; readonly from: string; readonly publicKey: Uint8Array }
  | RoundRef & {
    readonly type: "roster";
    readonly threshold: number;
    readonly vectorLength: number;
    readonly params: FixedPointParams;
    readonly clinics: readonly RosterEntry[];
  }
  | RoundRef & {
    readonly type: "shares";
    readonly from: string;
    readonly envelopes: readonly { readonly to: string; readonly blob: Uint8Array }[];
  }
  | RoundRef & {
    readonly type: "relay";
    readonly to: string;
    readonly senders: readonly string[];
    readonly envelopes: readonly { readonly from: string; readonly blob: Uint8Array }[];
  }
  | RoundRef & { readonly type: "masked"; readonly from: string; readonly masked: Uint32Array }
  | RoundRef & {
    readonly type: "unmask";
    readonly survivors: readonly string[];
    readonly dropped: readonly string[];
  }
  | RoundRef & {
    readonly type: "reveal";
    readonly from: string;
    readonly shares: readonly RevealedShare[];
  };

/**
 * The message of one type.
 *
 * @example
 * ```ts
 * import type { SecAggMessageOf } from "./secagg_messages.ts";
 * const m: SecAggMessageOf<"advertise"> = { type: "advertise", study: "s", round: 0, from: "a", publicKey: new Uint8Array(32) };
 * ```
 */
export type SecAggMessageOf<T extends SecAggMessage["type"]> = Extract<SecAggMessage, { type: T }>;

const TAGS = ["advertise", "roster", "shares", "relay", "masked", "unmask", "reveal"] as const;
const VERSION = 1;
const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder("utf-8", { fatal: true });

class Writer {
  #parts: Uint8Array[] = [];
  u8(v: number) {
    this.#parts.push(Uint8Array.of(v));
  }
  u32(v: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v);
    this.#parts.push(b);
  }
  f64(v: number) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v);
    this.#parts.push(b);
  }
  str(s: string) {
    const b = utf8.encode(s);
    if (b.length > 0xffff) {
      throw new SecAggError("MALFORMED_MESSAGE", `string of ${b.length} bytes`);
    }
    this.#parts.push(Uint8Array.of(b.length >> 8, b.length & 0xff), b);
  }
  bytes(b: Uint8Array) {
    this.u32(b.length);
    this.#parts.push(b);
  }
  list<T>(items: readonly T[], each: (t: T) => void) {
    this.u32(items.length);
    items.forEach(each);
  }
  words(w: Uint32Array) {
    this.u32(w.length);
    const b = new Uint8Array(w.length * 4), v = new DataView(b.buffer);
    for (let i = 0; i < w.length; i++) v.setUint32(4 * i, w[i], true);
    this.#parts.push(b);
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.#parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of this.#parts) out.set(p, o), o += p.length;
    return out;
  }
}

class Reader {
  #o = 0;
  #v: DataView;
  constructor(readonly b: Uint8Array) {
    this.#v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  #need(n: number, field: string) {
    if (this.#o + n > this.b.length) {
      throw new SecAggError(
        "MALFORMED_MESSAGE",
        `${field}: needs ${n} bytes, ${this.b.length - this.#o} left`,
      );
    }
  }
  u8(field: string): number {
    this.#need(1, field);
    return this.b[this.#o++];
  }
  u32(field: string): number {
    this.#need(4, field);
    const v = this.#v.getUint32(this.#o);
    this.#o += 4;
    return v;
  }
  f64(field: string): number {
    this.#need(8, field);
    const v = this.#v.getFloat64(this.#o);
    this.#o += 8;
    return v;
  }
  str(field: string): string {
    this.#need(2, field);
    const n = this.#v.getUint16(this.#o);
    this.#o += 2;
    this.#need(n, field);
    try {
      return utf8Strict.decode(this.b.subarray(this.#o, this.#o += n));
    } catch {
      throw new SecAggError("MALFORMED_MESSAGE", `${field}: not UTF-8`);
    }
  }
  bytes(field: string): Uint8Array {
    const n = this.u32(field);
    this.#need(n, field);
    return this.b.slice(this.#o, this.#o += n);
  }
  list<T>(field: string, each: (i: number) => T): T[] {
    const n = this.u32(`${field} count`);
    if (n > this.b.length - this.#o) {
      throw new SecAggError("MALFORMED_MESSAGE", `${field}: count ${n} exceeds the bytes left`);
    }
    return Array.from({ length: n }, (_, i) => each(i));
  }
  words(field: string): Uint32Array {
    const n = this.u32(`${field} count`);
    this.#need(4 * n, field);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#v.getUint32(this.#o + 4 * i, true);
    this.#o += 4 * n;
    return out;
  }
  end() {
    if (this.#o !== this.b.length) {
      throw new SecAggError("MALFORMED_MESSAGE", `${this.b.length - this.#o} trailing bytes`);
    }
  }
}

function writeBody(w: Writer, m: SecAggMessage): void {
  switch (m.type) {
    case "advertise":
      return w.str(m.from), w.bytes(m.publicKey);
    case "roster":
      w.u32(m.threshold), w.u32(m.vectorLength);
      w.f64(m.params.clipRange), w.u32(m.params.scaleBits), w.u32(m.params.maxSamples);
      return w.list(m.clinics, (c) => (w.str(c.name), w.bytes(c.publicKey)));
    case "shares":
      return w.str(m.from), w.list(m.envelopes, (e) => (w.str(e.to), w.bytes(e.blob)));
    case "relay":
      w.str(m.to), w.list(m.senders, (s) => w.str(s));
      return w.list(m.envelopes, (e) => (w.str(e.from), w.bytes(e.blob)));
    case "masked":
      return w.str(m.from), w.words(m.masked);
    case "unmask":
      return w.list(m.survivors, (s) => w.str(s)), w.list(m.dropped, (s) => w.str(s));
    case "reveal":
      w.str(m.from);
      return w.list(m.shares, (s) => (w.str(s.of), w.str(s.peer ?? ""), w.bytes(s.share)));
  }
}

/**
 * The bytes of a message.
 *
 * @throws {SecAggError} `MALFORMED_MESSAGE` for an unknown type or a string over 65535 bytes
 * @example
 * ```ts
 * import { encodeSecAggMessage } from "./secagg_messages.ts";
 * console.log(encodeSecAggMessage({ type: "masked", study: "s", round: 1, from: "a", masked: Uint32Array.of(7) }).length); // 20
 * ```
 */
export function encodeSecAggMessage(m: SecAggMessage): Uint8Array {
  const tag = TAGS.indexOf(m.type);
  if (tag < 0) {
    throw new SecAggError("MALFORMED_MESSAGE", `unknown message type ${JSON.stringify(m.type)}`);
  }
  const w = new Writer();
  w.u8(tag), w.u8(VERSION), w.str(m.study), w.u32(m.round);
  writeBody(w, m);
  return w.finish();
}

function readBody(r: Reader, type: SecAggMessage["type"], ref: RoundRef): SecAggMessage {
  switch (type) {
    case "advertise":
      return { type, ...ref, from: r.str("from"), publicKey: r.bytes("publicKey") };
    case "roster": {
      const threshold = r.u32("threshold"), vectorLength = r.u32("vectorLength");
      const params = {
        clipRange: r.f64("clipRange"),
        scaleBits: r.u32("scaleBits"),
        maxSamples: r.u32("maxSamples"),
      };
      const clinics = r.list(
        "clinics",
        () => ({ name: r.str("name"), publicKey: r.bytes("publicKey") }),
      );
      return { type, ...ref, threshold, vectorLength, params, clinics };
    }
    case "shares": {
      const from = r.str("from");
      return {
        type,
        ...ref,
        from,
        envelopes: r.list("envelopes", () => ({ to: r.str("to"), blob: r.bytes("blob") })),
      };
    }
    case "relay": {
      const to = r.str("to"), senders = r.list("senders", () => r.str("sender"));
      const envelopes = r.list("envelopes", () => ({ from: r.str("from"), blob: r.bytes("blob") }));
      return { type, ...ref, to, senders, envelopes };
    }
    case "masked":
      return { type, ...ref, from: r.str("from"), masked: r.words("masked") };
    case "unmask":
      return {
        type,
        ...ref,
        survivors: r.list("survivors", () => r.str("survivor")),
        dropped: r.list("dropped", () => r.str("dropped")),
      };
    case "reveal": {
      const from = r.str("from");
      const shares = r.list("shares", () => {
        const of = r.str("of"), peer = r.str("peer"), share = r.bytes("share");
        return peer === "" ? { of, share } : { of, peer, share };
      });
      return { type, ...ref, from, shares };
    }
  }
}

/**
 * Parses the bytes of a message, refusing an unknown tag or version, a field that runs past
 * the end, and trailing bytes.
 *
 * @throws {SecAggError} `MALFORMED_MESSAGE` naming the field
 * @example
 * ```ts
 * import { decodeSecAggMessage } from "./secagg_messages.ts";
 * try {
 *   decodeSecAggMessage(Uint8Array.of(9, 1));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // MALFORMED_MESSAGE
 * }
 * ```
 */
export function decodeSecAggMessage(bytes: Uint8Array): SecAggMessage {
  const r = new Reader(bytes);
  const tag = r.u8("type"), version = r.u8("version");
  const type = TAGS[tag];
  if (type === undefined) {
    throw new SecAggError("MALFORMED_MESSAGE", `message type tag ${tag} is unknown`);
  }
  if (version !== VERSION) {
    throw new SecAggError("MALFORMED_MESSAGE", `message version ${version}; expected ${VERSION}`);
  }
  const ref = { study: r.str("study"), round: r.u32("round") };
  const m = readBody(r, type, ref);
  r.end();
  return m;
}
