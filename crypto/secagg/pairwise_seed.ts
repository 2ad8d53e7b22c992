/**
 * Pairwise mask seeds (Bonawitz et al., CCS 2017, §4: s_{u,v} = KA.agree(s_u, s_v)): X25519
 * between the two clinics' static keys (the keys of the allowlist, crypto/keys/), then
 * HKDF-SHA256 (RFC 5869) to a 32-byte full-entropy seed. The HKDF `info` binds the study id,
 * the round number and the pair in canonical order, so that
 *
 * - both clinics of a pair derive the same seed (the pair is sorted, not "me, you");
 * - every round has fresh, independent seeds from the same static keys: revealing the seed of
 *   a dropped clinic in round r (the unmasking step does) tells nothing about round r + 1, nor
 *   about the static key, which never leaves the clinic;
 * - a seed of one study never serves another.
 *
 * Layout of `info` (all lengths one or two bytes, big-endian, so no two contexts collide):
 *
 * ```
 * "splitgate/secagg/pair/v1" || u16 |study| || study || u32 round
 *   || u8 |a| || a || u8 |b| || b          (a < b, the two key names by code unit order)
 * ```
 *
 * The salt is empty (RFC 5869 §2.2: HashLen zero bytes); the X25519 output is uniform enough
 * for the extract step, and the context carries the domain separation.
 *
 * @example
 * ```ts
 * import { pairwiseSeed } from "./pairwise_seed.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const a = generateKeyPair(), b = generateKeyPair();
 * const ab = pairwiseSeed({ own: a, ownName: "clinic-a", peerName: "clinic-b", peerKey: b.publicKey, study: "s", round: 1 });
 * const ba = pairwiseSeed({ own: b, ownName: "clinic-b", peerName: "clinic-a", peerKey: a.publicKey, study: "s", round: 1 });
 * console.log(ab.length, ab.every((x, i) => x === ba[i])); // 32 true
 * ```
 * @module
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { dh, type KeyPair } from "../noise/dh.ts";
import { SecAggError } from "./secagg_error.ts";

/** Bytes in a mask seed (a ChaCha20 key). */
export const SEED_LENGTH = 32;
const DOMAIN = new TextEncoder().encode("splitgate/secagg/pair/v1");
const utf8 = new TextEncoder();

/**
 * The HKDF `info` of one pair in one round of one study (see the module notes for the layout).
 *
 * @throws {SecAggError} `INVALID_PARAMS` for a round outside u32, a study id over 65535 bytes,
 *   a name over 255 bytes, or a pair of one name twice
 * @example
 * ```ts
 * import { pairContext } from "./pairwise_seed.ts";
 * const x = pairContext("s", 1, "b", "a"), y = pairContext("s", 1, "a", "b");
 * console.log(x.length, x.every((v, i) => v === y[i])); // 35 true
 * ```
 */
export function pairContext(study: string, round: number, u: string, v: string): Uint8Array {
  if (!Number.isInteger(round) || round < 0 || round > 0xffff_ffff) {
    throw new SecAggError("INVALID_PARAMS", `round ${round} is not an integer in [0, 2^32 - 1]`);
  }
  if (u === v) throw new SecAggError("INVALID_PARAMS", `a pair needs two clinics, got ${u} twice`);
  const [a, b] = (u < v ? [u, v] : [v, u]).map((n) => utf8.encode(n));
  const s = utf8.encode(study);
  if (s.length > 0xffff) {
    throw new SecAggError("INVALID_PARAMS", `study id is ${s.length} bytes; at most 65535`);
  }
  if (a.length > 255 || b.length > 255) {
    throw new SecAggError("INVALID_PARAMS", "a clinic name is over 255 bytes");
  }
  const out = new Uint8Array(DOMAIN.length + 2 + s.length + 4 + 1 + a.length + 1 + b.length);
  const view = new DataView(out.buffer);
  let o = 0;
  out.set(DOMAIN, o), o += DOMAIN.length;
  view.setUint16(o, s.length), o += 2;
  out.set(s, o), o += s.length;
  view.setUint32(o, round), o += 4;
  out[o++] = a.length, out.set(a, o), o += a.length;
  out[o++] = b.length, out.set(b, o);
  return out;
}

/**
 * What {@link pairwiseSeed} needs: this clinic's static key pair and name, the peer's name and
 * static public key (from this clinic's allowlist, never from the server), the study and round.
 *
 * @example
 * ```ts
 * import type { PairwiseSeedInput } from "./pairwise_seed.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const i: PairwiseSeedInput = { own: generateKeyPair(), ownName: "a", peerName: "b",
 *   peerKey: generateKeyPair().publicKey, study: "s", round: 0 };
 * ```
 */
export interface PairwiseSeedInput {
  own: KeyPair;
  ownName: string;
  peerName: string;
  peerKey: Uint8Array;
  study: string;
  round: number;
}

/**
 * The 32-byte pairwise seed s_{u,v} of one round: HKDF-SHA256(ikm = X25519(own, peer),
 * salt = empty, info = {@link pairContext}). The shared X25519 secret is wiped after use.
 *
 * @throws {NoiseError} `LOW_ORDER_POINT` / `INVALID_KEY` for a bad peer key;
 *   {SecAggError} `INVALID_PARAMS` (see {@link pairContext})
 * @example
 * ```ts
 * import { pairwiseSeed } from "./pairwise_seed.ts";
 * import { generateKeyPair } from "../noise/dh.ts";
 * const a = generateKeyPair(), b = generateKeyPair();
 * const r1 = pairwiseSeed({ own: a, ownName: "a", peerName: "b", peerKey: b.publicKey, study: "s", round: 1 });
 * const r2 = pairwiseSeed({ own: a, ownName: "a", peerName: "b", peerKey: b.publicKey, study: "s", round: 2 });
 * console.log(r1.some((x, i) => x !== r2[i])); // true
 * ```
 */
export function pairwiseSeed(i: PairwiseSeedInput): Uint8Array {
  const info = pairContext(i.study, i.round, i.ownName, i.peerName);
  const shared = dh(i.own, i.peerKey);
  try {
    return hkdf(sha256, shared, undefined, info, SEED_LENGTH);
  } finally {
    shared.fill(0);
  }
}
