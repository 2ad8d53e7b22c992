/**
 * Arithmetic in GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11b),
 * FIPS-197 §4.2, the field of bytewise Shamir sharing (`shamir.ts`). Addition is XOR.
 *
 * Multiplication is the shift-and-add of FIPS-197 §4.2.1 (`xtime`) written without branches
 * or table look-ups on the operands, so its running time does not depend on secret bytes
 * (log/exp tables, as in many Shamir libraries, index memory by the secret).
 *
 * @example
 * ```ts
 * import { gfInv, gfMul } from "./gf256.ts";
 * console.log(gfMul(0x57, 0x83).toString(16), gfInv(0x53).toString(16)); // c1 ca
 * ```
 * @module
 */

/**
 * The product of two field elements (bytes), FIPS-197 §4.2: `{57} • {83} = {c1}`.
 *
 * @example
 * ```ts
 * import { gfMul } from "./gf256.ts";
 * console.log(gfMul(0x57, 0x13).toString(16)); // fe
 * ```
 */
export function gfMul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    p ^= -(b & 1) & a; // add a when the low bit of b is set, without a branch
    const carry = -((a >> 7) & 1) & 0x1b; // xtime: reduce by 0x11b when bit 7 shifts out
    a = ((a << 1) ^ carry) & 0xff;
    b >>= 1;
  }
  return p & 0xff;
}

/**
 * The multiplicative inverse a^254 (a^255 = 1 for a ≠ 0, Lagrange); 0 maps to 0, which the
 * callers never divide by (share indices are distinct and non-zero). FIPS-197 §4.2:
 * `{53}^-1 = {ca}`.
 *
 * @example
 * ```ts
 * import { gfInv, gfMul } from "./gf256.ts";
 * console.log(gfMul(0x53, gfInv(0x53))); // 1
 * ```
 */
export function gfInv(a: number): number {
  // 254 = 0b11111110: square-and-multiply with a fixed sequence of operations.
  let result = 1;
  let base = a & 0xff;
  for (let e = 254; e > 0; e >>= 1) {
    const m = gfMul(result, base);
    result = (e & 1) ? m : result;
    base = gfMul(base, base);
  }
  return result;
}
