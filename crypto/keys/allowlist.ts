/**
 * Allowlists of peer public keys (pure: parse from text, look up by key, add
 * and remove entries; the file side is `runtime/keys/allowlist_file.ts`).
 *
 * File format (UTF-8 JSON): an array of entries
 * `[{"name": "clinic-a", "publicKey": "<64 hex digits>"}, ...]`; an entry may
 * also carry a free-text `"comment"`, which is kept through an edit. Names and
 * keys must be unique.
 *
 * @module
 */
import { equalBytes } from "@noble/ciphers/utils.js";
import { NoiseError } from "../errors.ts";
import { isLowOrderPoint } from "../noise/dh.ts";
import { fingerprint } from "./fingerprint.ts";
import { keyToHex, parseHexKey } from "./hex_key.ts";
import { KEY_NAME_PATTERN } from "./key_name.ts";
import type { NamedPublicKey } from "./key_file.ts";

const ALLOWED_FIELDS = new Set(["name", "publicKey", "comment"]);
/** How many names an "unknown name" error lists before it says "and N more". */
const NAMES_SHOWN = 20;

/**
 * One allowlist entry: a named key, and the free-text comment the file may give it.
 *
 * @example
 * ```ts
 * import type { AllowlistEntry } from "./allowlist.ts";
 * const e: AllowlistEntry = { name: "clinic-a", publicKey: new Uint8Array(32), comment: "east wing" };
 * ```
 */
export interface AllowlistEntry extends NamedPublicKey {
  /** Free text for people (who, where, since when); never interpreted. */
  readonly comment?: string;
}

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
  readonly #entries: readonly AllowlistEntry[];

  /**
   * Validates the entries (names, 32-byte keys, no low-order points, no
   * duplicate names or keys, comments that are strings) and copies them.
   *
   * @throws {NoiseError} `ALLOWLIST_INVALID` naming the offending entry.
   */
  constructor(entries: readonly AllowlistEntry[]) {
    if (!Array.isArray(entries)) {
      throw new NoiseError("ALLOWLIST_INVALID", "allowlist must be an array of entries");
    }
    const names = new Map<string, number>();
    const keys = new Map<string, number>();
    const out: AllowlistEntry[] = [];
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
      if (e.comment !== undefined && typeof e.comment !== "string") {
        throw new NoiseError("ALLOWLIST_INVALID", `${label}: "comment" must be a string`);
      }
      names.set(e.name, i);
      keys.set(hex, i);
      out.push(Object.freeze(copyEntry(e)));
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
   * The entries in file order (copies of the keys; `comment` only where the entry has one).
   *
   * @example
   * ```ts
   * import { Allowlist } from "./allowlist.ts";
   * console.assert(new Allowlist([]).entries.length === 0);
   * ```
   */
  get entries(): AllowlistEntry[] {
    return this.#entries.map(copyEntry);
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
  const entries: AllowlistEntry[] = doc.map((raw, i) => {
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
    const entry = { name: e.name as string, publicKey: key };
    return e.comment === undefined ? entry : { ...entry, comment: e.comment as string };
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
    list.entries.map((e) => {
      const out = { name: e.name, publicKey: keyToHex(e.publicKey) };
      return e.comment === undefined ? out : { ...out, comment: e.comment };
    }),
    null,
    2,
  ) + "\n";
}

/**
 * A new allowlist with `entry` appended (the list itself is immutable). Refuses a name or
 * a key that is already listed, naming the entry that holds it: a clinic that got a new
 * key is removed first, so that replacing a key is always a deliberate step.
 *
 * @throws {NoiseError} `ALLOWLIST_DUPLICATE` naming the existing entry (index, name,
 *   fingerprint); `ALLOWLIST_INVALID` for a bad name or key.
 * @example
 * ```ts
 * import { addAllowlistEntry, Allowlist } from "./allowlist.ts";
 * import { generateStaticKeyPair } from "./key_pair.ts";
 * const a = { name: "clinic-a", publicKey: generateStaticKeyPair().publicKey };
 * const list = addAllowlistEntry(new Allowlist([]), a);
 * console.assert(list.size === 1);
 * try { addAllowlistEntry(list, a); } catch (e) {
 *   console.assert((e as { code: string }).code === "ALLOWLIST_DUPLICATE");
 * }
 * ```
 */
export function addAllowlistEntry(list: Allowlist, entry: AllowlistEntry): Allowlist {
  if (typeof entry?.name !== "string" || !KEY_NAME_PATTERN.test(entry.name)) {
    throw new NoiseError(
      "ALLOWLIST_INVALID",
      `cannot add ${JSON.stringify(entry?.name)}: a name must be 1-64 characters of ` +
        `[A-Za-z0-9._-], starting with a letter or digit`,
    );
  }
  const entries = list.entries;
  const byName = entries.findIndex((e) => e.name === entry.name);
  if (byName >= 0) {
    throw new NoiseError(
      "ALLOWLIST_DUPLICATE",
      `the name "${entry.name}" is already listed (entry ${byName}, key ` +
        `${fingerprint(entries[byName].publicKey)}); remove it first to give it a new key`,
    );
  }
  const validKey = entry.publicKey instanceof Uint8Array && entry.publicKey.length === 32;
  // Public keys: equalBytes for uniformity with lookup, not because timing matters here.
  const byKey = validKey ? entries.findIndex((e) => equalBytes(e.publicKey, entry.publicKey)) : -1;
  if (byKey >= 0) {
    throw new NoiseError(
      "ALLOWLIST_DUPLICATE",
      `the key of "${entry.name}" (${fingerprint(entry.publicKey)}) is already listed as ` +
        `"${entries[byKey].name}" (entry ${byKey}); one key belongs to one peer`,
    );
  }
  return new Allowlist([...entries, entry]);
}

/**
 * A new allowlist without the entry named `name`, and that entry.
 *
 * @throws {NoiseError} `ALLOWLIST_UNKNOWN_NAME` naming `name` and listing the known names.
 * @example
 * ```ts
 * import { addAllowlistEntry, Allowlist, removeAllowlistEntry } from "./allowlist.ts";
 * import { generateStaticKeyPair } from "./key_pair.ts";
 * const a = { name: "clinic-a", publicKey: generateStaticKeyPair().publicKey };
 * const { list, removed } = removeAllowlistEntry(addAllowlistEntry(new Allowlist([]), a), "clinic-a");
 * console.assert(list.size === 0 && removed.name === "clinic-a");
 * ```
 */
export function removeAllowlistEntry(
  list: Allowlist,
  name: string,
): { list: Allowlist; removed: AllowlistEntry } {
  const entries = list.entries;
  const i = entries.findIndex((e) => e.name === name);
  if (i < 0) {
    throw new NoiseError(
      "ALLOWLIST_UNKNOWN_NAME",
      `no entry is named ${JSON.stringify(name)}; ${knownNames(entries)}`,
    );
  }
  return { list: new Allowlist(entries.filter((_, j) => j !== i)), removed: entries[i] };
}

function knownNames(entries: readonly AllowlistEntry[]): string {
  if (entries.length === 0) return "the allowlist is empty";
  const shown = entries.slice(0, NAMES_SHOWN).map((e) => e.name).join(", ");
  const more = entries.length - NAMES_SHOWN;
  return `known names: ${shown}${more > 0 ? ` and ${more} more` : ""}`;
}

function copyEntry(e: AllowlistEntry): AllowlistEntry {
  const out = { name: e.name, publicKey: e.publicKey.slice() };
  return e.comment === undefined ? out : { ...out, comment: e.comment };
}
