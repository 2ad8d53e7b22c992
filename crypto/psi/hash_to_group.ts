/**
 * Patient identifiers hashed onto ristretto255, the group of the private set intersection.
 *
 * `hashIdentifier` is `hash_to_ristretto255` of RFC 9380 Appendix B (expand_message_xmd with
 * SHA-512 to 64 uniform bytes, then the one-way map of RFC 9496 §4.3.4, which applies the
 * Elligator map twice and adds): a random oracle onto the prime-order group, so no one knows
 * the discrete log of H(id) and blinding with a secret scalar hides the identifier. The domain
 * separation tag is splitgate's own, so these points are useless in any other protocol.
 *
 * @example
 * ```ts
 * import { hashIdentifier, PSI_DST } from "./hash_to_group.ts";
 * console.log(hashIdentifier("8222157").toBytes().length, PSI_DST); // 32 "splitgate-psi-v1-ristretto255_XMD:SHA-512_R255MAP_RO_"
 * ```
 * @module
 */
import { ristretto255, ristretto255_hasher } from "@noble/curves/ed25519.js";

/** The RFC 9380 domain separation tag of splitgate's PSI (suite ristretto255_XMD:SHA-512_R255MAP_RO_). */
export const PSI_DST = "splitgate-psi-v1-ristretto255_XMD:SHA-512_R255MAP_RO_";

/** A ristretto255 group element (RFC 9496). */
export type GroupElement = InstanceType<typeof ristretto255.Point>;

/** The ristretto255 point class (decode, encode, multiply). */
export const RistrettoPoint: typeof ristretto255.Point = ristretto255.Point;

/** Order ℓ of the ristretto255 group (RFC 9496 §4). */
export const GROUP_ORDER: bigint = ristretto255.Point.Fn.ORDER;

const utf8 = new TextEncoder();

/**
 * H(id): the identifier's UTF-8 bytes hashed onto ristretto255 (RFC 9380 `hash_to_curve` with
 * the suite ristretto255_XMD:SHA-512_R255MAP_RO_, tag {@linkcode PSI_DST} unless `dst` is given).
 *
 * @example
 * ```ts
 * import { hashIdentifier } from "./hash_to_group.ts";
 * console.log(hashIdentifier("a").equals(hashIdentifier("a")), hashIdentifier("a").equals(hashIdentifier("b"))); // true false
 * ```
 */
export function hashIdentifier(id: string, dst: string = PSI_DST): GroupElement {
  return ristretto255_hasher.hashToCurve(utf8.encode(id), { DST: dst }) as GroupElement;
}

/**
 * The RFC 9496 §4.3.4 element derivation from 64 uniform bytes (the step after
 * expand_message_xmd), exposed so its Appendix A.3 test vectors can pin it.
 *
 * @example
 * ```ts
 * import { deriveElement } from "./hash_to_group.ts";
 * console.log(deriveElement(new Uint8Array(64)).toBytes().every((b) => b === 0)); // true
 * ```
 */
export function deriveElement(uniform64: Uint8Array): GroupElement {
  return ristretto255_hasher.deriveToCurve!(uniform64) as GroupElement;
}
