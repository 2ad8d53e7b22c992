/**
 * Static keys, key files, fingerprints and allowlists — pure functions; file
 * I/O lives in `runtime/keys/key_store.ts`.
 *
 * @example
 * ```ts
 * import { fingerprint, generateStaticKeyPair } from "./mod.ts";
 * const { publicKey } = generateStaticKeyPair();
 * console.log(fingerprint(publicKey).length); // 19, e.g. "3f2a:91c0:5b7e:0d44"
 * ```
 *
 * @module
 */
export {
  addAllowlistEntry,
  Allowlist,
  type AllowlistEntry,
  parseAllowlist,
  removeAllowlistEntry,
  serializeAllowlist,
} from "./allowlist.ts";
export { fingerprint } from "./fingerprint.ts";
export { keyToHex, parseHexKey } from "./hex_key.ts";
export {
  assertPrivateKeyMode,
  describePublicKey,
  type NamedKeyPair,
  type NamedPublicKey,
  parsePrivateKeyFile,
  parsePublicKeyFile,
  PRIVATE_KEY_FILE_MODE,
  PRIVATE_KEY_FILE_TYPE,
  serializePrivateKeyFile,
  serializePublicKeyFile,
} from "./key_file.ts";
export { KEY_NAME_PATTERN, validateKeyName } from "./key_name.ts";
export { generateStaticKeyPair, type KeyPair, keyPairFromSecretKey } from "./key_pair.ts";
