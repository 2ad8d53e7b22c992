/**
 * Secure aggregation of the clinics' shared weights (Bonawitz et al., "Practical Secure
 * Aggregation for Privacy-Preserving Machine Learning", CCS 2017), semi-honest server: the
 * server learns the sample-weighted average of the surviving clinics' weights and their total
 * sample count, never one clinic's weights. See docs/design/secure_aggregation.md.
 *
 * - `pairwise_seed.ts`: s_{u,v} = HKDF-SHA256(X25519(static keys), study ‖ round ‖ pair);
 * - `mask_prg.ts`: the ChaCha20 keystream as a vector of uint32 masks;
 * - `fixed_point.ts`: float32 weights → Z_2^32 (clip range, scale, sample weights), the
 *   decode of the sum, its error bound and the overflow refusal;
 * - `gf256.ts`, `shamir.ts`: t-of-n Shamir sharing, bytewise over GF(2^8);
 * - `share_envelope.ts`: shares sealed clinic to clinic (sealed envelopes, Noise K);
 * - `secagg_roster.ts`: threshold rule and canonical order;
 * - `secagg_messages.ts`: the round's messages and their bytes;
 * - `secagg_client.ts`, `secagg_server.ts`: the two state machines;
 * - `secagg_error.ts`: `SecAggError` and its codes.
 *
 * @example
 * ```ts
 * import { combineShares, DEFAULT_FIXED_POINT, maxClinics, splitSecret } from "./mod.ts";
 * const s = splitSecret(Uint8Array.of(42), 3, [1, 2, 3, 4]);
 * console.log(combineShares([s[3], s[1], s[0]], 3)[0], maxClinics(DEFAULT_FIXED_POINT)); // 42 63
 * ```
 * @module
 */
export {
  isSecAggError,
  SECAGG_ERROR_CODES,
  SecAggError,
  type SecAggErrorCode,
} from "./secagg_error.ts";
export { pairContext, pairwiseSeed, type PairwiseSeedInput, SEED_LENGTH } from "./pairwise_seed.ts";
export { applyMask, expandMask, MAX_MASK_WORDS } from "./mask_prg.ts";
export {
  checkFixedPoint,
  decodeSum,
  DEFAULT_FIXED_POINT,
  encodeWeighted,
  errorBound,
  type FixedPointParams,
  maxClinics,
} from "./fixed_point.ts";
export { gfInv, gfMul } from "./gf256.ts";
export {
  checkShareIndices,
  combineShares,
  cryptoRandomBytes,
  MAX_SHARE_INDEX,
  type RandomBytes,
  type Share,
  splitSecret,
} from "./shamir.ts";
export {
  openShares,
  type OpenSharesInput,
  sealShares,
  type SealSharesInput,
  secaggRun,
} from "./share_envelope.ts";
export { checkSortedNames, checkThreshold, defaultThreshold, maskSign } from "./secagg_roster.ts";
export {
  decodeSecAggMessage,
  encodeSecAggMessage,
  type RevealedShare,
  type RosterEntry,
  type SecAggMessage,
  type SecAggMessageOf,
} from "./secagg_messages.ts";
export { SecAggClient, type SecAggClientOptions } from "./secagg_client.ts";
export { type SecAggResult, SecAggServer, type SecAggServerOptions } from "./secagg_server.ts";
