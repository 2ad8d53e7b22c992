/**
 * Raw DEFLATE (RFC 1951) for payloads, via fflate, with an inflater that can
 * never be made to allocate more than it was told to expect.
 *
 * A decompression bomb is a few kilobytes that inflate to gigabytes; DEFLATE
 * allows a ratio of about 1032:1 (RFC 1951 §3.2.5: a 258-byte match costs as
 * little as 2 bits). The declared (and limit-checked) raw length is the only
 * size the receiver trusts: the stored bytes are fed to fflate's streaming
 * `Inflate` in slices, produced chunks are counted (and kept only while they
 * fit the declared length), and the first byte beyond it stops decoding with a
 * `BOMB` error. The output buffer is allocated only once the stream has ended
 * at exactly the declared length, so a 40-byte message declaring a large
 * payload cannot make us reserve that payload's memory. A slice is {@linkcode INFLATE_SLICE} bytes, or more for large
 * payloads but never more than the output still expected / 1032, so one slice
 * can inflate to at most max(4 MiB, what is still expected): a bomb makes us
 * produce at most about twice the declared length plus 4 MiB before it is
 * stopped — in memory and in work.
 *
 * @example
 * ```ts
 * import { deflatePayload, inflateBounded } from "./deflate.ts";
 * const raw = new Uint8Array(1000);
 * const stored = deflatePayload(raw, 6);
 * inflateBounded(stored, 1000).length; // 1000
 * ```
 * @module
 */

import { deflateSync, Inflate } from "fflate";
import { CodecError } from "./codec_error.ts";

/** Smallest slice of compressed bytes fed to the inflater per step. */
export const INFLATE_SLICE = 16384;
/** Largest output/input ratio of DEFLATE (258 bytes from 2 bits, rounded up). */
const MAX_RATIO = 1032;

type Level = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/** Payloads below this size are always tried whole (a probe would cost as much). */
export const PROBE_MIN_BYTES = 256 * 1024;
/** Bytes in each of the probe's samples. */
const PROBE_SLICE = 16 * 1024;
/** Samples spread over the payload. */
const PROBE_SLICES = 4;
/** A payload whose samples deflate to more than this fraction goes uncompressed. */
export const PROBE_MAX_RATIO = 0.9;

/**
 * Whether DEFLATE is worth running on `raw` at `level`: for a payload of at least
 * {@linkcode PROBE_MIN_BYTES}, deflates 4 samples of 16 KiB spread over it and answers false
 * when they shrink by less than 10 % (e.g. float32 activations and gradients, which cost
 * ~100 ms to deflate and inflate per 800 KB for a 2 % saving). Smaller payloads: always true.
 * Only the choice of `compression` = none changes, which every decoder reads (the format
 * already sends incompressible payloads uncompressed).
 *
 * @example
 * ```ts
 * import { worthDeflating } from "./deflate.ts";
 * console.log(worthDeflating(new Uint8Array(1 << 20), 6)); // true: zeros compress
 * const noise = crypto.getRandomValues(new Uint8Array(1 << 16));
 * const big = new Uint8Array(1 << 20).map((_, i) => noise[i & 0xffff] ^ (i >>> 16));
 * console.log(worthDeflating(big, 6)); // false
 * ```
 */
export function worthDeflating(raw: Uint8Array, level: number): boolean {
  if (raw.length < PROBE_MIN_BYTES) return true;
  const sample = new Uint8Array(PROBE_SLICE * PROBE_SLICES);
  const stride = Math.floor((raw.length - PROBE_SLICE) / (PROBE_SLICES - 1));
  for (let k = 0; k < PROBE_SLICES; k++) {
    sample.set(raw.subarray(k * stride, k * stride + PROBE_SLICE), k * PROBE_SLICE);
  }
  return deflatePayload(sample, level).length <= PROBE_MAX_RATIO * sample.length;
}

/**
 * Compresses `raw` as raw DEFLATE at `level` (1 fastest … 9 smallest).
 *
 * @example
 * ```ts
 * import { deflatePayload } from "./deflate.ts";
 * deflatePayload(new Uint8Array(4096), 1).length < 64; // true
 * ```
 */
export function deflatePayload(raw: Uint8Array, level: number): Uint8Array {
  return deflateSync(raw, { level: level as Level });
}

/**
 * Inflates raw DEFLATE `stored`, which must produce exactly `expected` bytes.
 *
 * @throws {CodecError} `BOMB` when it would produce more, `TRUNCATED` when the
 * stream ends early or produces fewer, `MALFORMED` when it is not valid DEFLATE.
 *
 * @example
 * ```ts
 * import { inflateBounded } from "./deflate.ts";
 * import { deflateSync } from "fflate";
 * try {
 *   inflateBounded(deflateSync(new Uint8Array(10)), 5);
 * } catch (e) {
 *   console.log((e as { code?: string }).code); // "BOMB"
 * }
 * ```
 */
export function inflateBounded(
  stored: Uint8Array,
  expected: number,
  field = "payload",
): Uint8Array {
  if (stored.length === 0) {
    throw new CodecError(
      "TRUNCATED",
      field,
      "compressed payload is empty: expected a DEFLATE stream",
    );
  }
  const chunks: Uint8Array[] = [];
  let produced = 0;
  const inflater = new Inflate((chunk) => {
    if (chunk.length > expected - produced) {
      throw new CodecError(
        "BOMB",
        field,
        `inflates to more than the declared ${expected} bytes`,
      );
    }
    if (chunk.length > 0) chunks.push(chunk);
    produced += chunk.length;
  });
  try {
    for (let o = 0; o < stored.length;) {
      const slice = Math.max(INFLATE_SLICE, Math.ceil((expected - produced) / MAX_RATIO));
      const end = Math.min(o + slice, stored.length);
      inflater.push(stored.subarray(o, end), end === stored.length);
      o = end;
    }
  } catch (e) {
    if (e instanceof CodecError) throw e;
    // fflate's own errors: "unexpected EOF" means the stream was cut short.
    const message = e instanceof Error ? e.message : String(e);
    const code = message === "unexpected EOF" ? "TRUNCATED" : "MALFORMED";
    throw new CodecError(code, field, `invalid DEFLATE data (${message})`, { cause: e });
  }
  if (produced !== expected) {
    throw new CodecError("TRUNCATED", field, `inflates to ${produced} bytes, declared ${expected}`);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(expected);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
