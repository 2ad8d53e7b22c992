/**
 * One party of an ECDH private set intersection (DH-PSI, Meadows 1986; Huberman, Franklin
 * and Hogg 1999) over ristretto255 (RFC 9496), with identifiers hashed to the group by
 * RFC 9380 `hash_to_ristretto255` (`hash_to_group.ts`).
 *
 * Each party holds a secret scalar k (uniform mod ℓ, fresh per run). Two rounds, the same on
 * both sides, in any transport (relayed by the server in splitgate: it only ever sees
 * blinded points):
 *
 * 1. `blindedSet()`: send X = { H(id)^k } in a random order (padded with random elements to
 *    `padTo` when set, so the peer does not learn the exact set size);
 * 2. `evaluate(peerX)`: send back peerX^k, in the order received, and keep it;
 * 3. `finish(ownXk')`: the peer's evaluation of our set, H(id)^{k·k'}, in the order we sent.
 *    Our rows whose H(id)^{kk'} is in the kept peerX^k = H(id')^{k'k} are the intersection.
 *
 * Agreed order: both sides sort the matched rows by the bytes of H(id)^{kk'}, the same value
 * at both, so row r of party A and row r of party B are the same patient without either
 * side sending an identifier or an index.
 *
 * What a party receives: the peer's X (points H(id')^{k'}: without k', no identifier can be
 * tested against them, under the decisional Diffie–Hellman assumption), and its own set
 * double-blinded. It learns |peer set| (or `padTo`), the intersection size, and which of its
 * own rows match. With `reveal: "intersection"` (default) the result lists the matched
 * identifiers; with `reveal: "size"` it carries only the size and the aligned row indices
 * (for the raw side to read the rows), so nothing downstream handles identifiers.
 *
 * Misuse resistance: each step runs once and in order; any failure kills the party; the
 * scalar is dropped after `finish` (a bigint cannot be zeroed in place; it is unreferenced).
 *
 * @example
 * ```ts
 * import { PsiParty } from "./psi_party.ts";
 * const format = { pattern: "^[0-9]+$" };
 * const a = new PsiParty(["1", "2", "3"], { format }), b = new PsiParty(["2", "3", "4"], { format });
 * const xa = a.blindedSet(), xb = b.blindedSet();
 * const ya = b.evaluate(xa), yb = a.evaluate(xb); // each evaluates the other's set
 * const ra = a.finish(ya), rb = b.finish(yb);
 * console.log(ra.size, ra.identifiers!.join() === rb.identifiers!.join()); // 2 true (one order at both)
 * ```
 * @module
 */
import { bytesToNumberLE } from "@noble/curves/utils.js";
import { randomBytes as cryptoRandomBytes } from "@noble/hashes/utils.js";
import { NoiseError } from "../errors.ts";
import { GROUP_ORDER, hashIdentifier, PSI_DST } from "./hash_to_group.ts";
import { checkIdentifiers, type IdentifierFormat } from "./identifier_format.ts";
import { decodePoints, encodePoints, POINT_BYTES } from "./point_list.ts";

/** What a party's result reveals. */
export type PsiReveal = "intersection" | "size";

/** Options of a {@linkcode PsiParty}. */
export interface PsiOptions {
  /** The agreed identifier form; rows not of it are refused. */
  format: IdentifierFormat;
  /** `"intersection"` (default): matched identifiers in the result; `"size"`: only the size and row indices. */
  reveal?: PsiReveal;
  /** Pad the blinded set with random elements to this many (default: no padding). */
  padTo?: number;
  /** The RFC 9380 domain separation tag (default {@linkcode PSI_DST}); both parties must agree. */
  dst?: string;
  /** CSPRNG (default `crypto.getRandomValues`); tests inject a seeded one. */
  randomBytes?: (n: number) => Uint8Array;
}

/** The outcome at one party. */
export interface PsiResult {
  /** Number of identifiers both parties hold. */
  size: number;
  /** The party's own row indices of the intersection, in the agreed order. */
  rows: number[];
  /** The matched identifiers in the agreed order (only with `reveal: "intersection"`). */
  identifiers?: string[];
  /** Number of elements the peer sent (its set size, or its `padTo`). */
  peerSetSize: number;
}

type Stage = "new" | "blinded" | "evaluated" | "done" | "dead";

/**
 * A uniform nonzero scalar mod ℓ from 64 random bytes (the wide reduction of RFC 9496 §4.4,
 * bias < 2^-250).
 */
function randomScalar(rand: (n: number) => Uint8Array): bigint {
  for (;;) {
    const k = bytesToNumberLE(rand(64)) % GROUP_ORDER;
    if (k !== 0n) return k;
  }
}

/** A random permutation of 0..n-1 (Fisher–Yates over 32-bit draws from `rand`). */
function permutation(n: number, rand: (n: number) => Uint8Array): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const b = rand(4);
    const j = Number(((b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0) % (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/**
 * One side of the two-round ECDH-PSI (see the module documentation).
 *
 * @example
 * ```ts
 * import { PsiParty } from "./psi_party.ts";
 * const a = new PsiParty(["7"], { format: { pattern: "^[0-9]+$" }, reveal: "size" });
 * console.log(a.blindedSet().length); // 32
 * ```
 */
export class PsiParty {
  readonly #ids: readonly string[];
  readonly #reveal: PsiReveal;
  readonly #padTo: number;
  readonly #dst: string;
  readonly #rand: (n: number) => Uint8Array;
  #k: bigint | null;
  #stage: Stage = "new";
  /** sent[j] = own row index of the j-th element sent, or -1 for padding. */
  #sent: number[] = [];
  /** The peer's elements raised to k (hex of their encodings). */
  #peerDoubled: Set<string> | null = null;
  #peerSetSize = 0;

  /**
   * @throws {NoiseError} `PSI_INVALID_IDENTIFIER` (a row not of the agreed form, or a duplicate),
   *   `PSI_INVALID_STATE` (a `padTo` below the set size).
   */
  constructor(ids: readonly string[], options: PsiOptions) {
    checkIdentifiers(ids, options.format);
    const padTo = options.padTo ?? 0;
    if (!Number.isSafeInteger(padTo) || padTo < 0 || (padTo > 0 && padTo < ids.length)) {
      throw new NoiseError(
        "PSI_INVALID_STATE",
        `padTo ${padTo}: expected 0 (no padding) or an integer >= the set size ${ids.length}`,
      );
    }
    this.#ids = [...ids];
    this.#reveal = options.reveal ?? "intersection";
    this.#padTo = padTo;
    this.#dst = options.dst ?? PSI_DST;
    this.#rand = options.randomBytes ?? cryptoRandomBytes;
    this.#k = randomScalar(this.#rand);
  }

  /**
   * Round 1: the own set blinded, H(id)^k, in a random order (plus padding), encoded.
   *
   * @throws {NoiseError} `PSI_INVALID_STATE` when called twice or out of order.
   */
  blindedSet(): Uint8Array {
    this.#advance("new", "blinded", "blindedSet");
    const n = Math.max(this.#ids.length, this.#padTo);
    const order = permutation(n, this.#rand);
    this.#sent = order.map((j) => (j < this.#ids.length ? j : -1));
    const k = this.#k!;
    const points = this.#sent.map((row) =>
      // Padding: a hash of fresh random bytes under another tag, blinded like the rest.
      (row >= 0
        ? hashIdentifier(this.#ids[row], this.#dst)
        : hashIdentifier(hex(this.#rand(32)), `${this.#dst}pad`)).multiply(k)
    );
    return encodePoints(points);
  }

  /**
   * Round 2: the peer's blinded set raised to k, in the order received (to send back); the
   * result is also kept, to match against in {@linkcode PsiParty.finish}.
   *
   * @throws {NoiseError} `PSI_INVALID_MESSAGE` (a malformed set: the party is then dead),
   *   `PSI_INVALID_STATE`.
   */
  evaluate(peerBlinded: Uint8Array): Uint8Array {
    this.#advance("blinded", "evaluated", "evaluate");
    try {
      const doubled = decodePoints(peerBlinded, "peer's blinded set").map((p) =>
        p.multiply(this.#k!)
      );
      const bytes = encodePoints(doubled);
      this.#peerDoubled = new Set(
        doubled.map((_, i) => hex(bytes.subarray(i * POINT_BYTES, (i + 1) * POINT_BYTES))),
      );
      this.#peerSetSize = doubled.length;
      return bytes;
    } catch (e) {
      this.#die();
      throw e;
    }
  }

  /**
   * The peer's evaluation of our set (H(id)^{kk'} in the order we sent) → the intersection.
   *
   * @throws {NoiseError} `PSI_INVALID_MESSAGE` (wrong count or a bad element), `PSI_INVALID_STATE`.
   */
  finish(ownDoubled: Uint8Array): PsiResult {
    this.#advance("evaluated", "done", "finish");
    try {
      const n = this.#sent.length;
      if (ownDoubled.length !== n * POINT_BYTES) {
        throw new NoiseError(
          "PSI_INVALID_MESSAGE",
          `own set evaluated by the peer: ${ownDoubled.length} bytes, expected ${n} elements of ${POINT_BYTES}`,
        );
      }
      // Compared as encodings, without decoding: ristretto255 encodings are canonical (one per
      // element, RFC 9496 §4.3.2), and every kept value is a valid non-identity encoding, so a
      // malformed or identity element simply matches nothing.
      const matched: { row: number; key: string }[] = [];
      for (let j = 0; j < n; j++) {
        const row = this.#sent[j];
        const key = hex(ownDoubled.subarray(j * POINT_BYTES, (j + 1) * POINT_BYTES));
        if (row >= 0 && this.#peerDoubled!.has(key)) matched.push({ row, key });
      }
      // The agreed order: by the double-blinded value, which both parties hold.
      matched.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
      const rows = matched.map((m) => m.row);
      const result: PsiResult = { size: rows.length, rows, peerSetSize: this.#peerSetSize };
      if (this.#reveal === "intersection") result.identifiers = rows.map((r) => this.#ids[r]);
      this.#die(); // one run per scalar
      this.#stage = "done";
      return result;
    } catch (e) {
      this.#die();
      throw e;
    }
  }

  #advance(from: Stage, to: Stage, what: string): void {
    if (this.#stage !== from) {
      const was = this.#stage;
      this.#die();
      throw new NoiseError(
        "PSI_INVALID_STATE",
        `${what}: called in stage ${was}, expected ${from} (each step runs once, in order)`,
      );
    }
    this.#stage = to;
  }

  #die(): void {
    this.#k = null;
    this.#peerDoubled = null;
    this.#stage = "dead";
  }
}
