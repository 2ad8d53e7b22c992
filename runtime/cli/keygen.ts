/**
 * `deno task keygen --out <dir> --name <name>`: generates a static X25519
 * key pair and writes `<dir>/<name>.key` (mode 0600) and `<dir>/<name>.pub`
 * (formats: `crypto/keys/key_file.ts`), then prints the public key's
 * fingerprint. Never overwrites an existing key. Exit status: 0 on success,
 * 1 on an error (one line on stderr), 2 on a usage error.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NoiseError } from "../../crypto/errors.ts";
import { fingerprint, generateStaticKeyPair, validateKeyName } from "../../crypto/keys/mod.ts";
import { writeKeyPairFiles } from "../keys/key_store.ts";
import { enterUserDir } from "./main.ts";

const USAGE = "usage: deno task keygen --out <dir> --name <name>";

/**
 * Runs the CLI with `args`; returns the exit status.
 *
 * @example
 * ```ts
 * import { main } from "./keygen.ts";
 * const dir = await Deno.makeTempDir();
 * const code = await main(["--out", dir, "--name", "clinic-a"], () => {}, () => {});
 * console.assert(code === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function main(
  args: readonly string[],
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  let values: { out?: string; name?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        out: { type: "string" },
        name: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    err(`keygen: ${(e as Error).message}; ${USAGE}`);
    return 2;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  if (!values.out || !values.name) {
    err(`keygen: --out and --name are required; ${USAGE}`);
    return 2;
  }
  try {
    if (!(await Deno.stat(values.out)).isDirectory) {
      err(`keygen: --out ${values.out}: not a directory (the key files go into one)`);
      return 2;
    }
  } catch { /* absent: created below */ }
  const keyPair = generateStaticKeyPair();
  try {
    validateKeyName(values.name);
    const paths = await writeKeyPairFiles(values.out, values.name, keyPair);
    out(`wrote ${paths.privateKeyPath} (mode 0600) and ${paths.publicKeyPath}`);
    out(`fingerprint ${fingerprint(keyPair.publicKey)}`);
    return 0;
  } catch (e) {
    const msg = e instanceof NoiseError || e instanceof Deno.errors.AlreadyExists
      ? (e as Error).message
      : `cannot write key files in ${values.out}: ${(e as Error).message}`;
    err(`keygen: ${msg}`);
    return 1;
  } finally {
    keyPair.secretKey.fill(0);
  }
}

if (import.meta.main) {
  // `--out keys` typed in /etc/splitgate means /etc/splitgate/keys, not a folder of the task's.
  enterUserDir();
  Deno.exit(await main(Deno.args));
}
