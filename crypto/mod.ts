/**
 * The `crypto/` room: who may talk, and sealing what they say. No I/O, no tensors.
 *
 * @example
 * ```ts
 * import { generateStaticKeyPair, fingerprint } from "./mod.ts";
 * console.log(fingerprint(generateStaticKeyPair().publicKey));
 * ```
 *
 * @module
 */
export * from "./errors.ts";
export * from "./noise/mod.ts";
export * from "./keys/mod.ts";
export * from "./channel/mod.ts";
export * from "./seal/mod.ts";
