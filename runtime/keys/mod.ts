/**
 * Key files on disk: the I/O half of `crypto/keys/` (which stays pure). Private keys are
 * written with mode 0600 and refused when others can read them; allowlist files are edited
 * atomically (`allowlist_file.ts`).
 *
 * @example
 * ```ts
 * import { loadPrivateKeyFile, writeKeyPairFiles } from "./mod.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/mod.ts";
 * const dir = await Deno.makeTempDir();
 * const paths = await writeKeyPairFiles(dir, "clinic-a", generateStaticKeyPair());
 * console.log((await loadPrivateKeyFile(paths.privateKeyPath)).name); // "clinic-a"
 * await Deno.remove(dir, { recursive: true });
 * ```
 * @module
 */
export {
  editAllowlistFile,
  type MissingAllowlist,
  NEW_ALLOWLIST_MODE,
  readAllowlistFile,
} from "./allowlist_file.ts";
export {
  type KeyPairPaths,
  loadAllowlist,
  loadPrivateKeyFile,
  loadPublicKeyFile,
  MAX_KEY_FILE_SIZE,
  writeKeyPairFiles,
} from "./key_store.ts";
