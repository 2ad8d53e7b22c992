/**
 * Key files on disk: the I/O half of `crypto/keys` (which stays pure).
 *
 * Private key files are created with mode 0600 and never overwritten;
 * loading one that group or others can access is refused (`KEY_FILE_MODE`),
 * the way OpenSSH refuses an unprotected identity file. The mode is read
 * from the opened file handle (fstat), so it is the mode of the very file
 * whose bytes are then read.
 *
 * @module
 */
import {
  type Allowlist,
  assertPrivateKeyMode,
  type KeyPair,
  type NamedKeyPair,
  type NamedPublicKey,
  parseAllowlist,
  parsePrivateKeyFile,
  parsePublicKeyFile,
  PRIVATE_KEY_FILE_MODE,
  serializePrivateKeyFile,
  serializePublicKeyFile,
  validateKeyName,
} from "../../crypto/keys/mod.ts";
import { NoiseError } from "../../crypto/errors.ts";

/** Largest key or allowlist file read (1 MiB): these files are tiny; refuse surprises. */
export const MAX_KEY_FILE_SIZE = 1024 * 1024;

/**
 * Paths written by {@link writeKeyPairFiles}.
 *
 * @example
 * ```ts
 * import type { KeyPairPaths } from "./key_store.ts";
 * const p: KeyPairPaths = { privateKeyPath: "k/a.key", publicKeyPath: "k/a.pub" };
 * ```
 */
export interface KeyPairPaths {
  /** `<dir>/<name>.key` */
  readonly privateKeyPath: string;
  /** `<dir>/<name>.pub` */
  readonly publicKeyPath: string;
}

function join(dir: string, file: string): string {
  return dir.endsWith("/") || dir.endsWith("\\") ? dir + file : `${dir}/${file}`;
}

async function readSmallFile(file: Deno.FsFile, path: string): Promise<string> {
  const info = await file.stat();
  if (!info.isFile) throw new NoiseError("KEY_FILE_INVALID", `${path} is not a regular file`);
  if (info.size > MAX_KEY_FILE_SIZE) {
    throw new NoiseError(
      "KEY_FILE_INVALID",
      `${path} is ${info.size} bytes; key files are at most ${MAX_KEY_FILE_SIZE}`,
    );
  }
  const buf = new Uint8Array(info.size);
  let off = 0;
  while (off < buf.length) {
    const n = await file.read(buf.subarray(off));
    if (n === null) break;
    off += n;
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(buf.subarray(0, off));
  buf.fill(0);
  return text;
}

/**
 * Reads a key or allowlist file as UTF-8 text, refusing anything but a regular file of at
 * most {@link MAX_KEY_FILE_SIZE} bytes.
 *
 * @throws {NoiseError} `KEY_FILE_INVALID`; the file system's error (e.g. `Deno.errors.NotFound`).
 * @example
 * ```ts
 * import { readSmallTextFile } from "./key_store.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/allow.json`, "[]");
 * console.assert((await readSmallTextFile(`${dir}/allow.json`)) === "[]");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readSmallTextFile(path: string): Promise<string> {
  using file = await Deno.open(path, { read: true });
  return await readSmallFile(file, path);
}

/**
 * Writes `<dir>/<name>.key` (mode 0600, created exclusively) and
 * `<dir>/<name>.pub`. Creates `dir` (mode 0700) if missing. Refuses to
 * overwrite either file.
 *
 * @throws {Deno.errors.AlreadyExists} if either file exists.
 * @throws {NoiseError} `INVALID_NAME` for a name that is not a safe file name.
 * @example
 * ```ts
 * import { writeKeyPairFiles } from "./key_store.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/mod.ts";
 * const dir = await Deno.makeTempDir();
 * const p = await writeKeyPairFiles(dir, "clinic-a", generateStaticKeyPair());
 * console.assert(((await Deno.stat(p.privateKeyPath)).mode! & 0o777) === 0o600);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeKeyPairFiles(
  dir: string,
  name: string,
  keyPair: KeyPair,
): Promise<KeyPairPaths> {
  validateKeyName(name);
  const privateKeyPath = join(dir, `${name}.key`);
  const publicKeyPath = join(dir, `${name}.pub`);
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  for (const p of [privateKeyPath, publicKeyPath]) {
    try {
      await Deno.lstat(p);
      throw new Deno.errors.AlreadyExists(`${p} already exists; refusing to overwrite it`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  const secretText = serializePrivateKeyFile(name, keyPair);
  // createNew: O_EXCL, so a file appearing between the check and here is not clobbered.
  {
    using file = await Deno.open(privateKeyPath, {
      write: true,
      createNew: true,
      mode: PRIVATE_KEY_FILE_MODE,
    });
    // The umask can only remove bits, but be explicit in case the file system ignores mode.
    if (Deno.build.os !== "windows") await Deno.chmod(privateKeyPath, PRIVATE_KEY_FILE_MODE);
    const bytes = new TextEncoder().encode(secretText);
    let off = 0;
    while (off < bytes.length) off += await file.write(bytes.subarray(off));
    bytes.fill(0);
  }
  await Deno.writeTextFile(publicKeyPath, serializePublicKeyFile(name, keyPair.publicKey), {
    createNew: true,
    mode: 0o644,
  });
  return { privateKeyPath, publicKeyPath };
}

/**
 * Loads a private key file, refusing it (`KEY_FILE_MODE`) when group or
 * others have any access to it.
 *
 * @throws {NoiseError} `KEY_FILE_MODE`, `KEY_FILE_INVALID`.
 * @throws {Deno.errors.NotFound} if the file does not exist.
 * @example
 * ```ts
 * import { loadPrivateKeyFile, writeKeyPairFiles } from "./key_store.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/mod.ts";
 * const dir = await Deno.makeTempDir();
 * const p = await writeKeyPairFiles(dir, "srv", generateStaticKeyPair());
 * console.assert((await loadPrivateKeyFile(p.privateKeyPath)).name === "srv");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadPrivateKeyFile(path: string): Promise<NamedKeyPair> {
  using file = await Deno.open(path, { read: true });
  const info = await file.stat();
  assertPrivateKeyMode(info.mode, path);
  return parsePrivateKeyFile(await readSmallFile(file, path), path);
}

/**
 * Loads a public key file.
 *
 * @throws {NoiseError} `KEY_FILE_INVALID`.
 * @example
 * ```ts
 * import { loadPublicKeyFile, writeKeyPairFiles } from "./key_store.ts";
 * import { generateStaticKeyPair } from "../../crypto/keys/mod.ts";
 * const dir = await Deno.makeTempDir();
 * const p = await writeKeyPairFiles(dir, "srv", generateStaticKeyPair());
 * console.assert((await loadPublicKeyFile(p.publicKeyPath)).publicKey.length === 32);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadPublicKeyFile(path: string): Promise<NamedPublicKey> {
  return parsePublicKeyFile(await readSmallTextFile(path), path);
}

/**
 * Loads and validates an allowlist file.
 *
 * @throws {NoiseError} `ALLOWLIST_INVALID` naming the file and entry.
 * @example
 * ```ts
 * import { loadAllowlist } from "./key_store.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/allow.json`, "[]");
 * console.assert((await loadAllowlist(`${dir}/allow.json`)).size === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadAllowlist(path: string): Promise<Allowlist> {
  return parseAllowlist(await readSmallTextFile(path), path);
}
