/**
 * `deno task allowlist add <clinic.pub> | list | remove <name> [--allowlist <file>]`: edits
 * the allowlist a server (`"allowlist"`) or a clinic (`"peers"`) reads, so nobody writes its
 * JSON by hand. `add` takes the public key file `deno task keygen` wrote and prints
 * `added <name> <fingerprint>`; `list` prints `<name> <fingerprint>` per entry in file order;
 * `remove` prints `removed <name> <fingerprint>`. The fingerprint is the one keygen printed for
 * that key (`crypto/keys/fingerprint.ts`), for comparing with its owner out of band.
 *
 * Relative paths are taken from the folder the command was typed in (`INIT_CWD`, see
 * `user_dir.ts`), like `keygen --out`. Edits are atomic and never drop an entry
 * (`runtime/keys/allowlist_file.ts`). Exit status: 0 on success, 1 on an error, 2 on a usage
 * error; each error is one line on stderr, as `keygen` prints them.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { isAbsolute } from "node:path";
import { NoiseError } from "../../crypto/errors.ts";
import {
  addAllowlistEntry,
  type Allowlist,
  type AllowlistEntry,
  describePublicKey,
  removeAllowlistEntry,
} from "../../crypto/keys/mod.ts";
import { editAllowlistFile, readAllowlistFile } from "../keys/allowlist_file.ts";
import { loadPublicKeyFile } from "../keys/key_store.ts";
import { enterUserDir } from "./user_dir.ts";

/** The allowlist edited when `--allowlist` is not given, beside keygen's `--out keys`. */
export const DEFAULT_ALLOWLIST = "keys/allowlist.json";

const FILE_FLAG = `[--allowlist <file>]`;
const USAGE: Readonly<Record<Command | "main", string>> = {
  main: `usage: deno task allowlist add <clinic.pub> | list | remove <name> ${FILE_FLAG}`,
  add: `usage: deno task allowlist add <clinic.pub> ${FILE_FLAG}`,
  list: `usage: deno task allowlist list ${FILE_FLAG}`,
  remove: `usage: deno task allowlist remove <name> ${FILE_FLAG}`,
};
const FILE_HELP = [
  `  --allowlist <file>  the allowlist file (default ${DEFAULT_ALLOWLIST}); a relative path`,
  "                      is taken from the folder the command is typed in",
].join("\n");
const HELP: Readonly<Record<Command | "main", string>> = {
  main: [
    USAGE.main,
    "",
    "  add <clinic.pub>    add the peer of a public key file that keygen wrote",
    "  list                print each entry's name and key fingerprint, in file order",
    "  remove <name>       remove the entry with that name",
    FILE_HELP,
    "",
    "deno task allowlist <command> --help says more about each.",
  ].join("\n"),
  add: [
    USAGE.add,
    "",
    "Appends the {name, publicKey} of <clinic.pub> (the .pub file `deno task keygen` writes;",
    "never the .key) to the allowlist, creating the file if missing, and prints",
    '"added <name> <fingerprint>". Compare the fingerprint with the one the key\'s owner saw',
    "when running keygen before trusting it. A name or key already listed is refused.",
    "",
    FILE_HELP,
  ].join("\n"),
  list: [
    USAGE.list,
    "",
    'Prints "<name> <fingerprint>" for each entry, in file order.',
    "",
    FILE_HELP,
  ].join("\n"),
  remove: [
    USAGE.remove,
    "",
    'Removes the entry named <name> and prints "removed <name> <fingerprint>".',
    "",
    FILE_HELP,
  ].join("\n"),
};
const COMMANDS = ["add", "list", "remove"] as const;
type Command = (typeof COMMANDS)[number];
/** How many operands each command takes. */
const ARITY: Readonly<Record<Command, number>> = { add: 1, list: 0, remove: 1 };

/** A wrong command line, printed with the usage line of `command` (or the general one). */
class UsageError extends Error {
  constructor(message: string, readonly command?: Command) {
    super(message);
  }
}

type Parsed =
  | { help: true; command?: Command }
  | { help: false; command: Command; operand: string; file: string };

/**
 * Runs the CLI with `args`; returns the exit status.
 *
 * @example
 * ```ts
 * import { main } from "./allowlist.ts";
 * const dir = await Deno.makeTempDir();
 * const lines: string[] = [];
 * const code = await main(["list", "--allowlist", `${dir}/none.json`], () => {}, (l) => lines.push(l));
 * console.assert(code === 1 && lines[0].includes("no such file"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function main(
  args: readonly string[],
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseCommandLine(args);
  } catch (e) {
    err(`allowlist: ${(e as Error).message}; ${USAGE[(e as UsageError).command ?? "main"]}`);
    return 2;
  }
  if (parsed.help) {
    out(HELP[parsed.command ?? "main"]);
    return 0;
  }
  const { command, operand, file } = parsed;
  try {
    if (command === "add") out(await add(file, operand));
    else if (command === "remove") out(await remove(file, operand));
    else for (const line of await list(file)) out(line);
    return 0;
  } catch (e) {
    err(`allowlist: ${explain(e, command, file, operand)}`);
    return 1;
  }
}

function parseCommandLine(args: readonly string[]): Parsed {
  let values: { allowlist?: string; help?: boolean }, positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      options: { allowlist: { type: "string" }, help: { type: "boolean", short: "h" } },
      strict: true,
      allowPositionals: true,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const [name, ...operands] = positionals;
  if (name === undefined) {
    if (values.help) return { help: true };
    throw new UsageError("a command is required (add, list or remove)");
  }
  if (!(COMMANDS as readonly string[]).includes(name)) {
    throw new UsageError(`unknown command ${JSON.stringify(name)} (expected add, list or remove)`);
  }
  const command = name as Command;
  if (values.help) return { help: true, command };
  if (operands.length !== ARITY[command]) {
    const want = ARITY[command] === 0 ? "no argument" : "one argument";
    throw new UsageError(`${command} takes ${want}, got ${operands.length}`, command);
  }
  if (values.allowlist === "") throw new UsageError("--allowlist needs a file name", command);
  const file = values.allowlist ?? DEFAULT_ALLOWLIST;
  return { help: false, command, operand: operands[0] ?? "", file };
}

async function add(file: string, pubPath: string): Promise<string> {
  const peer = await loadPublicKeyFile(pubPath).catch((e) => {
    throw e instanceof Deno.errors.NotFound ? new MissingFile(pubPath) : e;
  });
  await editAllowlistFile(
    file,
    "create",
    (list) => inFile(file, () => addAllowlistEntry(list, peer)),
  );
  return `added ${describePublicKey(peer.name, peer.publicKey)}`;
}

async function remove(file: string, name: string): Promise<string> {
  let removed: AllowlistEntry | undefined;
  await editAllowlistFile(file, "refuse", (list) =>
    inFile(file, () => {
      const r = removeAllowlistEntry(list, name);
      removed = r.removed;
      return r.list;
    }));
  return `removed ${describePublicKey(removed!.name, removed!.publicKey)}`;
}

/** Runs `fn`, prefixing the file name to the message of a NoiseError it throws. */
function inFile<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof NoiseError ? new NoiseError(e.code, `${file}: ${e.message}`) : e;
  }
}

async function list(file: string): Promise<string[]> {
  const allowlist: Allowlist | null = await readAllowlistFile(file);
  if (allowlist === null) throw new Deno.errors.NotFound(file);
  return allowlist.entries.map((e) => describePublicKey(e.name, e.publicKey));
}

/** A missing input file (the `.pub` of `add`), told apart from a missing allowlist. */
class MissingFile extends Error {}

function explain(e: unknown, command: Command, file: string, operand: string): string {
  const where = (p: string) => isAbsolute(p) ? p : `${p} (in ${Deno.cwd()})`;
  if (e instanceof MissingFile) return `${where(e.message)}: no such file`;
  if (e instanceof Deno.errors.NotFound) {
    return `${where(file)}: no such file; \`deno task allowlist add <clinic.pub>\` creates it` +
      (command === "remove" ? ` (nothing to remove ${JSON.stringify(operand)} from)` : "");
  }
  if (e instanceof NoiseError) return e.message;
  const verb = command === "list" ? "read" : "update";
  return `cannot ${verb} ${where(file)}: ${(e as Error).message}`;
}

if (import.meta.main) {
  // Here, not in main(): a caller of main() keeps its own working directory.
  try {
    enterUserDir();
  } catch (e) {
    console.error(`allowlist: ${(e as Error).message}`);
    Deno.exit(1);
  }
  Deno.exit(await main(Deno.args));
}
