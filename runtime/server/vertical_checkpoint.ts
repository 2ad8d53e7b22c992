/**
 * Epoch checkpoints of a vertical study, at the server and at each party (docs/design/vertical.md,
 * "Checkpoints and resume"): `<dir>/epoch-<N>/<file>`, in the server checkpoint's format
 * (`runtime/server/checkpoint.ts`: one `.npz`, a JSON meta member, written atomically with
 * `runtime/fs/atomic_file.ts`) holding the segments' parameters, buffers and optimizer state
 * (`segment_state.ts`). The last two epochs are kept: a party writes its epoch N only after
 * the server wrote its own, so on a restart every party holds N or N − 1 and the server both.
 *
 * @example
 * ```ts
 * import { latestEpoch } from "./vertical_checkpoint.ts";
 * console.log(await latestEpoch(await Deno.makeTempDir(), "vertical_party.npz")); // 0
 * ```
 * @module
 */
import { join } from "node:path";
import { readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import { applySegmentState, collectSegmentState, type SegmentSlot } from "../train/segment_state.ts";

const EPOCH_DIR = /^epoch-([1-9][0-9]*)$/;

/**
 * The epochs checkpointed in `dir` (those whose folder holds `file`), ascending.
 *
 * @example
 * ```ts
 * import { checkpointedEpochs } from "./vertical_checkpoint.ts";
 * console.log(await checkpointedEpochs("/nonexistent", "x.npz")); // []
 * ```
 */
export async function checkpointedEpochs(dir: string, file: string): Promise<number[]> {
  const out: number[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = EPOCH_DIR.exec(e.name);
      if (!m || !e.isDirectory) continue;
      try {
        await Deno.stat(join(dir, e.name, file));
        out.push(Number(m[1]));
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort((a, b) => a - b);
}

/**
 * The last epoch checkpointed in `dir`, 0 for none.
 *
 * @example
 * ```ts
 * import { latestEpoch } from "./vertical_checkpoint.ts";
 * const done = await latestEpoch("state", "vertical_party.npz");
 * ```
 */
export async function latestEpoch(dir: string, file: string): Promise<number> {
  return (await checkpointedEpochs(dir, file)).at(-1) ?? 0;
}

/**
 * Writes epoch `epoch`'s checkpoint of `slots` with `meta`, then removes the epochs before
 * `epoch − 1`.
 *
 * @example
 * ```ts
 * import { saveEpoch } from "./vertical_checkpoint.ts";
 * // await saveEpoch("state", 3, "vertical_party.npz", [{ role: "front", runner, optimizer }], { epochs });
 * ```
 */
export async function saveEpoch(
  dir: string,
  epoch: number,
  file: string,
  slots: readonly SegmentSlot[],
  meta: Record<string, unknown>,
): Promise<void> {
  await writeCheckpoint(join(dir, `epoch-${epoch}`), {
    meta: { ...meta, epoch },
    tensors: collectSegmentState(slots),
  }, file);
  for (const old of await checkpointedEpochs(dir, file)) {
    if (old < epoch - 1) await Deno.remove(join(dir, `epoch-${old}`), { recursive: true });
  }
}

/**
 * Loads epoch `epoch`'s checkpoint into `slots` and returns its meta.
 *
 * @throws {RangeError} when `dir` holds no checkpoint of that epoch, or one that does not fit
 *   the slots (naming the first tensor); {@link TypeError} for a file that is no checkpoint
 * @example
 * ```ts
 * import { loadEpoch } from "./vertical_checkpoint.ts";
 * // const meta = await loadEpoch("state", 2, "vertical_party.npz", slots);
 * ```
 */
export async function loadEpoch(
  dir: string,
  epoch: number,
  file: string,
  slots: readonly SegmentSlot[],
): Promise<Record<string, unknown>> {
  const where = join(dir, `epoch-${epoch}`);
  const c = await readCheckpoint(where, file);
  if (!c) {
    throw new RangeError(
      `${join(where, file)}: no checkpoint of epoch ${epoch} (held: ${
        (await checkpointedEpochs(dir, file)).join(", ") || "none"
      })`,
    );
  }
  applySegmentState(slots, c.tensors, `checkpoint ${join(where, file)}`, (m) => new RangeError(m));
  return c.meta;
}
