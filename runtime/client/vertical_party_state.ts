/**
 * A vertical party's checkpoints and resume (docs/design/vertical.md, "Checkpoints and
 * resume"), in the raw-data process: the front's (and the U-shaped label party's head's)
 * parameters and optimizer state, and the epochs' metrics, in `<stateDir>/epoch-<N>/vertical_party.npz`
 * (`runtime/server/vertical_checkpoint.ts`). Nothing of it leaves the process: the server is
 * told epoch numbers only (`V_RESUME`, `V_EPOCH_END`).
 *
 * @example
 * ```ts
 * import { VERTICAL_PARTY_FILE } from "./vertical_party_state.ts";
 * console.log(VERTICAL_PARTY_FILE); // "vertical_party.npz"
 * ```
 * @module
 */
import type { SegmentSlot } from "../train/segment_state.ts";
import { latestEpoch, loadEpoch, saveEpoch } from "../server/vertical_checkpoint.ts";
import type { VerticalRequester } from "./vertical_pipe.ts";

/** The party's checkpoint file in each `epoch-<N>` folder of its state folder. */
export const VERTICAL_PARTY_FILE = "vertical_party.npz";

/**
 * Agrees the resume epoch with the server (`V_RESUME`: every party's last checkpoint, the
 * smallest wins) and loads this party's checkpoint of it into `slots`.
 *
 * @param stateDir the party's state folder (none: nothing checkpointed, it reports 0)
 * @returns the agreed epoch and the checkpoint's records of the epochs up to it
 * @throws {RangeError} when the agreed epoch's checkpoint is not in `stateDir`
 * @example
 * ```ts
 * import { resumeParty } from "./vertical_party_state.ts";
 * // const { epoch, records } = await resumeParty(conn, "state", slots);
 * ```
 */
export async function resumeParty<R>(
  conn: VerticalRequester,
  stateDir: string | undefined,
  slots: readonly SegmentSlot[],
): Promise<{ epoch: number; records: R[] }> {
  const mine = stateDir ? await latestEpoch(stateDir, VERTICAL_PARTY_FILE) : 0;
  const epoch = (await conn.request({ type: "V_RESUME", epoch: mine })).header.epoch ?? 0;
  if (epoch === 0) return { epoch: 0, records: [] };
  if (!stateDir || epoch > mine) {
    throw new RangeError(`resume at epoch ${epoch}: this party's last checkpoint is epoch ${mine}`);
  }
  const meta = await loadEpoch(stateDir, epoch, VERTICAL_PARTY_FILE, slots);
  return { epoch, records: (meta.records ?? []) as R[] };
}

/**
 * Ends epoch `epoch`: waits for the server's checkpoint of it (`V_EPOCH_END`), then writes this
 * party's (so the server's is never behind).
 *
 * @example
 * ```ts
 * import { endEpoch } from "./vertical_party_state.ts";
 * // await endEpoch(conn, "state", 3, slots, records);
 * ```
 */
export async function endEpoch<R>(
  conn: VerticalRequester,
  stateDir: string | undefined,
  epoch: number,
  slots: readonly SegmentSlot[],
  records: readonly R[],
): Promise<void> {
  await conn.request({ type: "V_EPOCH_END", epoch });
  if (stateDir) await saveEpoch(stateDir, epoch, VERTICAL_PARTY_FILE, slots, { records });
}
