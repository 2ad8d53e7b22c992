/**
 * Key file formats (pure: strings in, strings out; the file-system side lives
 * in `runtime/keys/key_store.ts`).
 *
 * Private key file `<name>.key`, mode 0600, UTF-8 JSON:
 * ```json
 * {"type": "splitgate-x25519-private-key", "version": 1, "name": "clinic-a",
 *  "secretKey": "<64 hex digits>", "publicKey": "<64 hex digits>"}
 * ```
 * `publicKey` is redundant and checked against the one derived from
 * `secretKey`, which catches a corrupted or hand-edited file.
 *
 * Public key file `<name>.pub`, UTF-8 JSON, shaped as one allowlist entry so
 * an operator can paste it into an allowlist:
 * ```json
 * {"name": "clinic-a", "publicKey": "<64 hex digits>"}
 * ```
 *
 * @module
 */
import { NoiseError } from "../errors.ts";
import { isLowOrderPoint } from "../noise/dh.ts";
import { fingerprint } from "./fingerprint.ts";
import { keyToHex, parseHexKey } from "./hex_key.ts";
import { validateKeyName } from "./key_name.ts";
import { type KeyPair, keyPairFromSecretKey } from "./key_pair.ts";

/** The mode a private key file is written with: owner read/write only. */
export const PRIVATE_KEY_FILE_MODE = 0o600;
/** Value of the `type` field of a private key file. */
export const PRIVATE_KEY_FILE_TYPE = "splitgate-x25519-private-key";

/**
 * A named key pair, as stored in a private key file.
 *
 * @example
 * ```ts
 * import type { NamedKeyPair } from "./key_file.ts";
 * function name(k: NamedKeyPair) { return k.name; }
 * ```
 */
export interface NamedKeyPair {
  /** Key holder's name (validated by `validateKeyName`). */
  readonly name: string;
  /** The X25519 key pair. */
  readonly keyPair: KeyPair;
}

/**
 * A named public key, as stored in a public key file or an allowlist entry.
 *
 * @example
 * ```ts
 * import type { NamedPublicKey } from "./key_file.ts";
 * const k: NamedPublicKey = { name: "clinic-a", publicKey: new Uint8Array(32) };
 * ```
 */
export interface NamedPublicKey {
  /** Key holder's name. */
  readonly name: string;
  /** 32-byte X25519 public key. */
  readonly publicKey: Uint8Array;
}

/**
 * Refuses a private key file readable or writable by group or others.
 * `mode` is the file's `st_mode` (only the permission bits are looked at);
 * `null` means the platform has no POSIX modes (Windows), where the check is
 * left to the ACLs.
 *
 * @throws {NoiseError} `KEY_FILE_MODE` naming the file, its mode and the fix.
 * @example
 * ```ts
 * import { assertPrivateKeyMode } from "./key_file.ts";
 * assertPrivateKeyMode(0o100600, "clinic.key");
 * try { assertPrivateKeyMode(0o644, "clinic.key"); } catch (e) {
 *   console.assert((e as { code: string }).code === "KEY_FILE_MODE");
 * }
 * ```
 */
export function assertPrivateKeyMode(mode: number | null, path: string): void {
  if (mode === null) return;
  const perms = mode & 0o777;
  if ((perms & 0o077) !== 0) {
    throw new NoiseError(
      "KEY_FILE_MODE",
      `private key file ${path} has mode ${perms.toString(8).padStart(4, "0")}: it must not be ` +
        `accessible to group or others (expected 0600; run: chmod 600 ${path})`,
    );
  }
}

/**
 * Serializes a private key file (see the module docs for the format).
 *
 * @example
 * ```ts
 * import { parsePrivateKeyFile, serializePrivateKeyFile } from "./key_file.ts";
 * import { generateStaticKeyPair } from "./key_pair.ts";
 * const text = serializePrivateKeyFile("clinic-a", generateStaticKeyPair());
 * console.assert(parsePrivateKeyFile(text, "clinic-a.key").name === "clinic-a");
 * ```
 */
export function serializePrivateKeyFile(name: string, keyPair: KeyPair): string {
  validateKeyName(name);
  const derived = keyPairFromSecretKey(keyPair.secretKey);
  const publicKey = keyToHex(derived.publicKey);
  derived.secretKey.fill(0);
  return JSON.stringify(
    {
      type: PRIVATE_KEY_FILE_TYPE,
      version: 1,
      name,
      secretKey: keyToHex(keyPair.secretKey),
      publicKey,
    },
    null,
    2,
  ) + "\n";
}

function parseJsonObject(text: string, path: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // The parser's message may quote file content, which for a key file is secret.
    throw new NoiseError("KEY_FILE_INVALID", `key file ${path} is not valid JSON`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new NoiseError("KEY_FILE_INVALID", `key file ${path} must hold a JSON object`);
  }
  return doc as Record<string, unknown>;
}

function checkName(doc: Record<string, unknown>, path: string): string {
  try {
    return validateKeyName(doc.name);
  } catch (e) {
    throw new NoiseError("KEY_FILE_INVALID", `key file ${path}: ${(e as Error).message}`);
  }
}

/**
 * Parses a private key file. `path` only labels error messages. The mode
 * check is separate ({@link assertPrivateKeyMode}) and done by the loader
 * before the contents are read.
 *
 * @throws {NoiseError} `KEY_FILE_INVALID` for bad JSON, wrong type/version, bad
 *   hex, or a public key that does not match the secret key.
 * @example
 * ```ts
 * import { parsePrivateKeyFile } from "./key_file.ts";
 * try { parsePrivateKeyFile("{}", "x.key"); } catch (e) {
 *   console.assert((e as { code: string }).code === "KEY_FILE_INVALID");
 * }
 * ```
 */
export function parsePrivateKeyFile(text: string, path: string): NamedKeyPair {
  const doc = parseJsonObject(text, path);
  if (doc.type !== PRIVATE_KEY_FILE_TYPE || doc.version !== 1) {
    throw new NoiseError(
      "KEY_FILE_INVALID",
      `key file ${path}: expected "type": "${PRIVATE_KEY_FILE_TYPE}" and "version": 1`,
    );
  }
  const name = checkName(doc, path);
  const secret = parseHexKey(doc.secretKey);
  if (typeof secret === "string") {
    // Never echo the value: it is (or resembles) a secret key.
    throw new NoiseError("KEY_FILE_INVALID", `key file ${path}: field "secretKey": ${secret}`);
  }
  const pub = parseHexKey(doc.publicKey);
  if (typeof pub === "string") {
    throw new NoiseError("KEY_FILE_INVALID", `key file ${path}: field "publicKey": ${pub}`);
  }
  const keyPair = keyPairFromSecretKey(secret);
  secret.fill(0);
  if (keyToHex(keyPair.publicKey) !== keyToHex(pub)) {
    keyPair.secretKey.fill(0);
    throw new NoiseError(
      "KEY_FILE_INVALID",
      `key file ${path}: "publicKey" does not match the secret key (file corrupted or edited?)`,
    );
  }
  return { name, keyPair };
}

/**
 * Serializes a public key file: one allowlist entry as JSON.
 *
 * @example
 * ```ts
 * import { serializePublicKeyFile } from "./key_file.ts";
 * console.assert(serializePublicKeyFile("srv", new Uint8Array(32).fill(9)).includes('"srv"'));
 * ```
 */
export function serializePublicKeyFile(name: string, publicKey: Uint8Array): string {
  validateKeyName(name);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new NoiseError("INVALID_KEY", "public key must be 32 bytes");
  }
  return JSON.stringify({ name, publicKey: keyToHex(publicKey) }, null, 2) + "\n";
}

/**
 * Parses a public key file, refusing low-order points (which would let any
 * peer force a known shared secret).
 *
 * @throws {NoiseError} `KEY_FILE_INVALID`.
 * @example
 * ```ts
 * import { parsePublicKeyFile, serializePublicKeyFile } from "./key_file.ts";
 * import { generateStaticKeyPair } from "./key_pair.ts";
 * const kp = generateStaticKeyPair();
 * const k = parsePublicKeyFile(serializePublicKeyFile("srv", kp.publicKey), "srv.pub");
 * console.assert(k.publicKey.join() === kp.publicKey.join());
 * ```
 */
export function parsePublicKeyFile(text: string, path: string): NamedPublicKey {
  const doc = parseJsonObject(text, path);
  // A private key file also holds a publicKey field; taking it would hide that the secret
  // was copied to where only the public half belongs (the secret is never echoed).
  if (doc.type === PRIVATE_KEY_FILE_TYPE || "secretKey" in doc) {
    throw new NoiseError(
      "KEY_FILE_INVALID",
      `key file ${path}: this is a private key file; give the public key file (the .pub that keygen ` +
        `writes beside it) here, and keep the private key on its own host`,
    );
  }
  const name = checkName(doc, path);
  const pub = parseHexKey(doc.publicKey);
  if (typeof pub === "string") {
    throw new NoiseError("KEY_FILE_INVALID", `key file ${path}: field "publicKey": ${pub}`);
  }
  if (isLowOrderPoint(pub)) {
    throw new NoiseError("KEY_FILE_INVALID", `key file ${path}: publicKey is a low-order point`);
  }
  return { name, publicKey: pub };
}

/**
 * One-line description of a public key for logs and CLIs: name and fingerprint.
 *
 * @example
 * ```ts
 * import { describePublicKey } from "./key_file.ts";
 * console.assert(describePublicKey("srv", new Uint8Array(32)).startsWith("srv "));
 * ```
 */
export function describePublicKey(name: string, publicKey: Uint8Array): string {
  return `${name} ${fingerprint(publicKey)}`;
}
