/**
 * The 16-byte envelope around every message (layout in `wire_format.ts`):
 * magic, version, kind, padding scheme, the true body length, then the body
 * and zero padding. Opening it checks that the padding is exactly what the
 * declared scheme yields for the declared body length, and all zeros, so a
 * message has a single valid encoding and nothing can hide in the padding.
 *
 * @example
 * ```ts
 * import { openEnvelope, sealEnvelope } from "./envelope.ts";
 * const msg = sealEnvelope(1, new Uint8Array([7, 7, 7]), { mode: "multiple", bucket: 32 });
 * console.log(msg.length); // 32
 * openEnvelope(msg).body; // Uint8Array [7, 7, 7]
 * ```
 * @module
 */

import { ByteReader, ByteWriter } from "./byte_io.ts";
import { CodecError } from "./codec_error.ts";
import { MAX_BUCKET, MAX_MESSAGE_BYTES, paddedLength, type Padding } from "./padding.ts";
import { ENVELOPE_BYTES, KIND, MAGIC, PADDING_CODE, VERSION } from "./wire_format.ts";

/**
 * Wraps `body` in an envelope of message `kind`, padded by `padding`. A {@linkcode ByteWriter}
 * body is copied straight into the message (one copy of the body, not two). With `headroom`,
 * the returned buffer starts with that many zero bytes and the envelope follows them: a caller
 * that puts its own prefix before the envelope (a protocol message's type and header,
 * runtime/protocol/message_codec.ts) writes it there instead of copying the envelope again.
 *
 * @param headroom bytes left free before the envelope (default 0)
 * @throws {RangeError} when the padded message would exceed 2 GiB − 1, or for a negative or
 *   fractional `headroom`.
 *
 * @example
 * ```ts
 * import { sealEnvelope } from "./envelope.ts";
 * sealEnvelope(1, new Uint8Array(100), { mode: "pow2" }).length; // 128
 * ```
 */
export function sealEnvelope(
  kind: number,
  body: Uint8Array | ByteWriter,
  padding: Padding,
  headroom = 0,
): Uint8Array {
  if (!Number.isSafeInteger(headroom) || headroom < 0) {
    throw new RangeError(`headroom ${headroom}: expected a non-negative integer`);
  }
  const total = paddedLength(padding, ENVELOPE_BYTES + body.length);
  if (!Number.isFinite(total)) {
    throw new RangeError(
      `message of ${body.length} bytes is too large: the limit is ${MAX_MESSAGE_BYTES} bytes padded`,
    );
  }
  const head = new ByteWriter()
    .bytes(MAGIC)
    .u8(VERSION)
    .u8(kind)
    .u8(PADDING_CODE[padding.mode])
    .u8(0)
    .u32(padding.mode === "multiple" ? padding.bucket : 0)
    .u32(body.length)
    .finish();
  const out = new Uint8Array(headroom + total); // zero-filled: the padding
  out.set(head, headroom);
  if (body instanceof ByteWriter) body.copyTo(out, headroom + ENVELOPE_BYTES);
  else out.set(body, headroom + ENVELOPE_BYTES);
  return out;
}

const SCHEME_OF_CODE: ReadonlyMap<number, Padding["mode"]> = new Map(
  (Object.entries(PADDING_CODE) as [Padding["mode"], number][]).map(([m, c]) => [c, m]),
);

/**
 * Checks the envelope of `bytes` and returns its kind and a view of its body.
 *
 * @throws {TypeError} when `bytes` is not a Uint8Array.
 * @throws {CodecError} naming the envelope field found wrong.
 *
 * @example
 * ```ts
 * import { openEnvelope } from "./envelope.ts";
 * try {
 *   openEnvelope(new Uint8Array(4));
 * } catch (e) {
 *   console.log(String(e)); // CodecError: envelope: message has 4 bytes, ...
 * }
 * ```
 */
export function openEnvelope(bytes: Uint8Array): { kind: number; body: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `expected the encoded message as a Uint8Array, got ${Object.prototype.toString.call(bytes)}`,
    );
  }
  if (bytes.length < ENVELOPE_BYTES) {
    throw new CodecError(
      "TRUNCATED",
      "envelope",
      `message has ${bytes.length} bytes, the envelope alone needs ${ENVELOPE_BYTES}`,
    );
  }
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new CodecError(
      "TOO_LARGE",
      "envelope",
      `message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`,
    );
  }
  const r = new ByteReader(bytes);
  const magic = r.take(4, "magic");
  if (!magic.every((b, i) => b === MAGIC[i])) {
    throw new CodecError("MALFORMED", "magic", 'not a splitgate tensor message (expected "SGTC")');
  }
  const version = r.u8("version");
  if (version !== VERSION) {
    throw new CodecError(
      "UNSUPPORTED",
      "version",
      `version ${version} is not supported: expected ${VERSION}`,
    );
  }
  const kind = r.u8("kind");
  if (kind !== KIND.tensor && kind !== KIND.bundle) {
    throw new CodecError(
      "MALFORMED",
      "kind",
      `value ${kind} is unknown: expected ${KIND.tensor} or ${KIND.bundle}`,
    );
  }
  const schemeCode = r.u8("padding scheme");
  const mode = SCHEME_OF_CODE.get(schemeCode);
  if (mode === undefined) {
    throw new CodecError("UNSUPPORTED", "padding scheme", `code ${schemeCode} is unknown`);
  }
  const reserved = r.u8("reserved");
  if (reserved !== 0) throw new CodecError("MALFORMED", "reserved", `must be 0, got ${reserved}`);
  const param = r.u32("padding parameter");
  let padding: Padding;
  if (mode === "multiple") {
    if (param < 1 || param > MAX_BUCKET) {
      throw new CodecError(
        "MALFORMED",
        "padding parameter",
        `bucket ${param} outside [1, ${MAX_BUCKET}]`,
      );
    }
    padding = { mode, bucket: param };
  } else {
    if (param !== 0) {
      throw new CodecError("MALFORMED", "padding parameter", `must be 0 for ${mode}, got ${param}`);
    }
    padding = { mode };
  }
  const bodyLength = r.u32("body length");
  if (bodyLength > r.remaining) {
    throw new CodecError(
      "TRUNCATED",
      "body length",
      `${bodyLength} declared, ${r.remaining} bytes follow the envelope`,
    );
  }
  const expected = paddedLength(padding, ENVELOPE_BYTES + bodyLength);
  if (bytes.length !== expected) {
    throw new CodecError(
      "MALFORMED",
      "padding",
      `message has ${bytes.length} bytes, ${mode} padding of a ${bodyLength}-byte body gives ${expected}`,
    );
  }
  for (let i = ENVELOPE_BYTES + bodyLength; i < bytes.length; i++) {
    if (bytes[i] !== 0) {
      throw new CodecError("MALFORMED", "padding", `non-zero byte at offset ${i}`);
    }
  }
  return { kind, body: bytes.subarray(ENVELOPE_BYTES, ENVELOPE_BYTES + bodyLength) };
}
