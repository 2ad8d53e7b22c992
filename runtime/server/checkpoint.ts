/**
 * The server's checkpoint: one `.npz` holding the server segment's parameters, buffers and
 * optimizer state, the relayed sealed weights, each clinic's last cached reply, and a JSON
 * `meta` member (schedule, step ids, relay sequence). Written atomically — a temp file in
 * the same directory, fsync, rename (POSIX rename(2) replaces the target atomically) — so
 * a crash leaves either the old or the new checkpoint, never a torn one.
 *
 * @example
 * ```ts
 * import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
 * const dir = await Deno.makeTempDir();
 * await writeCheckpoint(dir, { meta: { epoch: 1 }, tensors: new Map() });
 * console.log((await readCheckpoint(dir))?.meta); // { epoch: 1 }
 * ```
 * @module
 */
import { join } from "node:path";
import { writeFileAtomic } from "../fs/atomic_file.ts";
import { tensor, type Tensor } from "../../models/tensor.ts";
import { readNpz, writeNpz } from "../data/npz.ts";
import { isStringArray } from "../data/npy.ts";
import { describeNonFinite, firstNonFiniteTensor } from "./finite_state.ts";

/** File name of the server checkpoint inside the checkpoint directory. */
export const CHECKPOINT_FILE = "server_checkpoint.npz";
const META = "__meta__";

/**
 * Checkpoint contents.
 *
 * @example
 * ```ts
 * import type { CheckpointData } from "./checkpoint.ts";
 * const c: CheckpointData = { meta: { version: 1 }, tensors: new Map() };
 * ```
 */
export interface CheckpointData {
  /** JSON-serialisable bookkeeping. */
  meta: Record<string, unknown>;
  /** Named tensors. */
  tensors: Map<string, Tensor>;
}

/**
 * Writes `data` to `<dir>/server_checkpoint.npz` (or `<dir>/<file>`: the vertical
 * checkpoints, `vertical_checkpoint.ts`) atomically (temp file + fsync + rename).
 *
 * @example
 * ```ts
 * import { writeCheckpoint } from "./checkpoint.ts";
 * await writeCheckpoint(await Deno.makeTempDir(), { meta: {}, tensors: new Map() });
 * ```
 */
export async function writeCheckpoint(
  dir: string,
  data: CheckpointData,
  file: string = CHECKPOINT_FILE,
): Promise<string> {
  const bytes = encodeCheckpoint(data);
  await Deno.mkdir(dir, { recursive: true });
  const target = join(dir, file);
  await writeFileAtomic(target, bytes);
  return target;
}

/**
 * Reads the checkpoint in `dir`, or null when there is none. Every float array must be
 * finite: the CRC of each member proves the bytes are those written, not that what was
 * written was sound (a poisoned step's infinite BatchNorm variance was
 * checkpointed and resumed without complaint). A refused file is left in place, for the
 * operator to inspect or replace.
 *
 * @throws {TypeError} for a file that is not a server checkpoint, or one holding a NaN or
 *   ±Infinity (naming the array and the element).
 * @example
 * ```ts
 * import { readCheckpoint } from "./checkpoint.ts";
 * console.log(await readCheckpoint(await Deno.makeTempDir())); // null
 * ```
 */
export async function readCheckpoint(
  dir: string,
  file: string = CHECKPOINT_FILE,
): Promise<CheckpointData | null> {
  const path = join(dir, file);
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  return decodeCheckpoint(bytes, path);
}

/**
 * Checkpoint data as the bytes of an `.npz` (the `meta` as a JSON member): what
 * {@linkcode writeCheckpoint} writes, and what the scale-out's round partials hold
 * (`runtime/cluster/round_partial.ts`).
 *
 * @throws {TypeError} when a tensor is named `__meta__`
 * @example
 * ```ts
 * import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
 * const bytes = encodeCheckpoint({ meta: { round: 2 }, tensors: new Map() });
 * console.log(decodeCheckpoint(bytes, "memory").meta); // { round: 2 }
 * ```
 */
export function encodeCheckpoint(data: CheckpointData): Uint8Array {
  if (data.tensors.has(META)) throw new TypeError(`tensor name ${META} is reserved`);
  const json = new TextEncoder().encode(JSON.stringify(data.meta));
  const arrays = new Map(data.tensors);
  arrays.set(META, tensor("uint8", [json.length], json));
  return writeNpz(arrays, { level: 1 });
}

/**
 * Reads checkpoint data from the bytes of an `.npz` (`where` names them in errors), with the
 * checks of {@linkcode readCheckpoint}: a meta object, tensors only, every float finite.
 *
 * @throws {TypeError} naming `where` and what is wrong
 * @example
 * ```ts
 * import { decodeCheckpoint } from "./checkpoint.ts";
 * try { decodeCheckpoint(new Uint8Array(4), "round/0/t1-0"); } catch (e) { console.log((e as Error).name); } // TypeError
 * ```
 */
export function decodeCheckpoint(bytes: Uint8Array, where: string): CheckpointData {
  const arrays = readNpz(bytes, where);
  const meta = arrays.get(META);
  if (!meta || isStringArray(meta) || meta.dtype !== "uint8") throw new TypeError(`${where}: not a server checkpoint (no meta)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(meta.data as Uint8Array));
  } catch {
    throw new TypeError(`${where}: checkpoint meta is not JSON`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new TypeError(`${where}: checkpoint meta must be an object`);
  }
  const tensors = new Map<string, Tensor>();
  for (const [k, v] of arrays) {
    if (k === META) continue;
    if (isStringArray(v)) throw new TypeError(`${where}: member ${k} holds strings, expected a tensor`);
    tensors.set(k, v);
  }
  const bad = firstNonFiniteTensor(tensors);
  if (bad) {
    throw new TypeError(
      `${where}: array ${describeNonFinite(bad)}: a checkpoint must hold finite values; refusing to resume from it ` +
        `(the file is left in place: restore an earlier copy, or move it away to start afresh)`,
    );
  }
  return { meta: parsed as Record<string, unknown>, tensors };
}
