/**
 * Allowlists of peer public keys (pure: parse from text, look up by key).
 *
 * File format (UTF-8 JSON): an array of entries
 * `[{"name": "clinic-a", "publicKey": "<64 hex digits>"}, ...]`; an entry may
 * also carry a free-text `"comment"`. Names and keys must be unique.
 *
 * @module
 */
import { equalBytes } from "@noble/ciphers/utils.js";
import { NoiseError } from "../errors.ts";
import { isLowOrderPoint } from "../noise/dh.ts";
import { keyToHex, parseHexKey } from "./hex_key.ts";
import { KEY_NAME_PATTERN } from "./key_name.ts";
import type { NamedPublicKey } from "./key_file.ts";

const ALLOWED_FIELDS = new Set(["name", "publicKey", "comment"]);

/**
 * A validated, immutable set of named peer keys.
 *
 * @example
 * ```ts
 * import { Allowlist } from "./allowlist.ts";
 * import { generateStaticKeyPair } from "./key_pair.ts";
 * const kp = generateStaticKeyPair();
 * const list = new Allowlist([{ name: "clinic-a", publicKey: kp.publicKey }]);
 * console.assert(list.lookup(kp.publicKey)?.name === "clinic-a");
 * ```
 */
export class Allowlist {
  readonly #entries: readonly NamedPublicKey[];

  /**
   * Validates the entries (names, 32-byte keys, no low-order points, no
   * duplicate names or keys) and copies them.
   *
   * @throws {NoiseError} `ALLOWLIST_INVALID` naming the offending entry.
   */
  constructor(entries: readonly NamedPublicKey[]) {
    if (!Array.isArray(entries)) {
      throw new NoiseError("ALLOWLIST_INVALID", "allowlist must be an array of entries");
    }
    const names = new Map<string, number>();
    const keys = new Map<string, number>();
    const out: NamedPublicKey[] = [];
    entries.forEach((e, i) => {
      const label = `allowlist entry ${i}` +
        (e && typeof e.name === "string" ? ` ("${e.name.slice(0, 64)}")` : "");
      if (e === null || typeof e !== "object") {
        throw new NoiseError("ALLOWLIST_INVALID", `${label}: expected an object`);
      }
      if (typeof e.name !== "string" || !KEY_NAME_PATTERN.test(e.name)) {
        throw new NoiseError(
          "ALLOWLIST_INVALID",
          `${label}: "name" must be 1-64 characters of [A-Za-z0-9._-], starting with a letter or digit`,
        );
      }
      if (!(e.publicKey instanceof Uint8Array) || e.publicKey.length !== 32) {
        throw new NoiseError("ALLOWLIST_INVALID", `${label}: "publicKey" must be 32 bytes`);
      }
      if (isLowOrderPoint(e.publicKey)) {
        throw new NoiseError("ALLOWLIST_INVALID", `${label}: "publicKey" is a low-order point`);
      }
      const prevName = names.get(e.name);
      if (prevName !== undefined) {
        throw new NoiseError(
          "ALLOWLIST_INVALID",
          `${label}: duplicate name, already used by entry ${prevName}`,
        );
      }
      const hex = keyToHex(e.publicKey);
      const prevKey = keys.get(hex);
      if (prevKey !== undefined) {
        throw new NoiseError(
          "ALLOWLIST_INVALID",
          `${label}: duplicate publicKey, already listed as entry ${prevKey}`,
        );
      }
      names.set(e.name, i);
      keys.set(hex, i);
      out.push(Object.freeze({ name: e.name, publicKey: e.publicKey.slice() }));
    });
    this.#entries = Object.freeze(out);
  }

  /**
   * Number of entries.
   *
   * @example
   * ```ts
   * import { Allowlist } from "./allowlist.ts";
   * console.assert(new Allowlist([]).size === 0);
   * ```
   */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * The entries (copies of the keys).
   *
   * @example
   * ```ts
   * import { Allowlist } from "./allowlist.ts";
   * console.assert(new Allowlist([]).entries.length === 0);
   * ```
   */
  get entries(): NamedPublicKey[] {
    return this.#entries.map((e) => ({ name: e.name, publicKey: e.publicKey.slice() }));
  }

  /**
   * Finds the entry holding `publicKey`. Every entry is compared with a
   * constant-time comparison and the loop never exits early, so timing does
   * not reveal which (or whether a) key matched.
   *
   * @example
   * ```ts
   * import { Allowlist } from "./allowlist.ts";
   * console.assert(new Allowlist([]).lookup(new Uint8Array(32)) === undefined);
   * ```
   */
  lookup(publicKey: Uint8Array): NamedPublicKey | undefined {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return undefined;
    let found: NamedPublicKey | undefined;
    for (const e of this.#entries) {
      const match = equalBytes(e.publicKey, publicKey);
      found = match ? e : found;
    }
    return found === undefined
      ? undefined
      : { name: found.name, publicKey: found.publicKey.slice() };
  }
}

/**
 * Parses and validates an allowlist file's text (see the module docs).
 *
 * @throws {NoiseError} `ALLOWLIST_INVALID` naming the file and, where it applies, the entry
 *   (index and name) and what is wrong with it.
 * @example
 * ```ts
 * import { parseAllowlist } from "./allowlist.ts";
 * try {
 *   parseAllowlist('[{"name": "a", "publicKey": "00"}]', "allow.json");
 * } catch (e) {
 *   console.assert((e as { code: string }).code === "ALLOWLIST_INVALID");
 * }
 * ```
 */
export function parseAllowlist(text: string, path = "allowlist"): Allowlist {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new NoiseError("ALLOWLIST_INVALID", `${path}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(doc)) {
    throw new NoiseError(
      "ALLOWLIST_INVALID",
      `${path}: expected a JSON array of {"name", "publicKey"} entries`,
    );
  }
  const entries: NamedPublicKey[] = doc.map((raw, i) => {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new NoiseError("ALLOWLIST_INVALID", `${path}: entry ${i}: expected an object`);
    }
    const e = raw as Record<string, unknown>;
    const label = `${path}: entry ${i}` +
      (typeof e.name === "string" ? ` ("${e.name.slice(0, 64)}")` : "");
    for (const k of Object.keys(e)) {
      if (!ALLOWED_FIELDS.has(k)) {
        throw new NoiseError(
          "ALLOWLIST_INVALID",
          `${label}: unknown field "${k.slice(0, 64)}" (expected name, publicKey, comment)`,
        );
      }
    }
    if (e.comment !== undefined && typeof e.comment !== "string") {
      throw new NoiseError("ALLOWLIST_INVALID", `${label}: "comment" must be a string`);
    }
    const key = parseHexKey(e.publicKey);
    if (typeof key === "string") {
      throw new NoiseError("ALLOWLIST_INVALID", `${label}: "publicKey": ${key}`);
    }
    return { name: e.name as string, publicKey: key };
  });
  try {
    return new Allowlist(entries);
  } catch (e) {
    if (e instanceof NoiseError) {
      throw new NoiseError(e.code, `${path}: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Serializes an allowlist back to its file format.
 *
 * @example
 * ```ts
 * import { Allowlist, parseAllowlist, serializeAllowlist } from "./allowlist.ts";
 * console.assert(parseAllowlist(serializeAllowlist(new Allowlist([]))).size === 0);
 * ```
 */
export function serializeAllowlist(list: Allowlist): string {
  return JSON.stringify(
    list.entries.map((e) => ({ name: e.name, publicKey: keyToHex(e.publicKey) })),
    null,
    2,
  ) + "\n";
}
