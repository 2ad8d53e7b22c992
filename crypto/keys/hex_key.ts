/**
 * Strict hex encoding of 32-byte keys, as used in key files and allowlists.
 *
 * @module
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";

/**
 * Encodes a key as lowercase hex.
 *
 * @example
 * ```ts
 * import { keyToHex } from "./hex_key.ts";
 * console.assert(keyToHex(Uint8Array.of(0xab, 1)) === "ab01");
 * ```
 */
export function keyToHex(key: Uint8Array): string {
  return bytesToHex(key);
}

/**
 * Decodes exactly `length` bytes of hex (either case), or returns an
 * explanation of what is wrong — callers wrap it into their own error so
 * the message can name the file or allowlist entry.
 *
 * @example
 * ```ts
 * import { parseHexKey } from "./hex_key.ts";
 * const r = parseHexKey("zz", 32);
 * console.assert(typeof r === "string");
 * console.assert(parseHexKey("00".repeat(32), 32) instanceof Uint8Array);
 * ```
 */
export function parseHexKey(text: unknown, length = 32): Uint8Array | string {
  if (typeof text !== "string") return `expected a hex string, got ${typeof text}`;
  if (!/^[0-9a-fA-F]*$/.test(text)) return "expected only hex digits [0-9a-f]";
  if (text.length !== length * 2) {
    return `expected ${length * 2} hex digits (${length} bytes), got ${text.length}`;
  }
  return hexToBytes(text.toLowerCase());
}
