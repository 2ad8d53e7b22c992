/**
 * Sealed boxes: anonymous public-key encryption to one recipient (X25519 + HKDF-SHA256 +
 * ChaCha20-Poly1305), used to relay a clinic's segment weights through the server to the next
 * clinic without the server being able to read them.
 *
 * @example
 * ```ts
 * import { open, seal } from "./mod.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const next = generateKeyPair();
 * const box = seal(next.publicKey, new Uint8Array([1, 2, 3]));
 * console.log(open(next, box)); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 * @module
 */
export { open, seal, SEALED_BOX_INFO, SEALED_BOX_OVERHEAD } from "./sealed_box.ts";
