/**
 * The wire form of a PSI message: a list of ristretto255 elements, each its canonical
 * 32-byte encoding (RFC 9496 §4.3.2), concatenated. Decoding is strict: a length that is not
 * a multiple of 32, a non-canonical encoding or the identity element is refused (no honest
 * blinding of a hashed identifier produces the identity, and multiplying it reveals nothing
 * useful to match on).
 *
 * @example
 * ```ts
 * import { decodePoints, encodePoints } from "./point_list.ts";
 * import { hashIdentifier } from "./hash_to_group.ts";
 * const bytes = encodePoints([hashIdentifier("1")]);
 * console.log(bytes.length, decodePoints(bytes).length); // 32 1
 * ```
 * @module
 */
import { NoiseError } from "../errors.ts";
import { type GroupElement, RistrettoPoint } from "./hash_to_group.ts";

/** Bytes of one encoded element. */
export const POINT_BYTES = 32;

/**
 * Concatenates the canonical encodings of `points`.
 *
 * @example
 * ```ts
 * import { encodePoints } from "./point_list.ts";
 * import { RistrettoPoint } from "./hash_to_group.ts";
 * console.log(encodePoints([RistrettoPoint.BASE]).length); // 32
 * ```
 */
export function encodePoints(points: readonly GroupElement[]): Uint8Array {
  const out = new Uint8Array(points.length * POINT_BYTES);
  points.forEach((p, i) => out.set(p.toBytes(), i * POINT_BYTES));
  return out;
}

/**
 * Decodes a list written by {@linkcode encodePoints}.
 *
 * @param what names the message in errors (e.g. `"peer's blinded set"`)
 * @param expected the number of elements the protocol expects here, when it is known
 * @throws {NoiseError} `PSI_INVALID_MESSAGE`: bad length, count, encoding or an identity element.
 * @example
 * ```ts
 * import { decodePoints } from "./point_list.ts";
 * try { decodePoints(new Uint8Array(31), "set"); } catch (e) { console.log((e as Error).message); }
 * // set: 31 bytes is not a multiple of 32
 * ```
 */
export function decodePoints(
  bytes: Uint8Array,
  what = "point list",
  expected?: number,
): GroupElement[] {
  if (bytes.length % POINT_BYTES !== 0) {
    throw new NoiseError(
      "PSI_INVALID_MESSAGE",
      `${what}: ${bytes.length} bytes is not a multiple of ${POINT_BYTES}`,
    );
  }
  const n = bytes.length / POINT_BYTES;
  if (expected !== undefined && n !== expected) {
    throw new NoiseError("PSI_INVALID_MESSAGE", `${what}: ${n} elements, expected ${expected}`);
  }
  const out: GroupElement[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let p: GroupElement;
    try {
      p = RistrettoPoint.fromBytes(bytes.subarray(i * POINT_BYTES, (i + 1) * POINT_BYTES));
    } catch (e) {
      throw new NoiseError(
        "PSI_INVALID_MESSAGE",
        `${what}: element ${i} is not a canonical ristretto255 encoding`,
        { cause: e },
      );
    }
    if (p.is0()) {
      throw new NoiseError("PSI_INVALID_MESSAGE", `${what}: element ${i} is the identity`);
    }
    out[i] = p;
  }
  return out;
}
