/** Test fixture: low-order points of Curve25519 and their non-canonical encodings. */
import { hexToBytes } from "@noble/hashes/utils.js";

/** From cr.yp.to/ecdh.html#validate and libsodium's blocklist. */
export const LOW_ORDER_POINTS: Uint8Array[] = [
  "0000000000000000000000000000000000000000000000000000000000000000", // 0, order 1... (u = 0)
  "0100000000000000000000000000000000000000000000000000000000000000", // u = 1, order 4
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", // order 8
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", // order 8
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p-1, order 2
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p (= 0)
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // p+1 (= 1)
].map(hexToBytes);
