/**
 * The clinic's checkpoint format: in the clinic's checkpoint directory,
 *
 * ```
 * <clinic>.epoch-<e>.npz        params, buffers and optimizer state (segment_state.ts names)
 * <clinic>.checkpoint.json      {"format": "splitgate-clinic-checkpoint/v1", "clinic", "mode",
 *                                "epoch", "weights": "<clinic>.epoch-<e>.npz", "sha256": hex,
 *                                "relay": {"seq": n, "accepted": {"<sender>": {"epoch", "seq"}}}}
 * ```
 *
 * `relay` (absent in checkpoints written before it existed: read as nothing accepted) is the
 * clinic's relay ledger (`weight_relay.ts`): the last sealing counter it used, and the last
 * relayed weights it accepted from each sender, so a restarted clinic still refuses older
 * weights (no rollback across restarts; docs/design/security_model.md).
 *
 * Each file is written atomically (`atomic_file.ts`), weights first: the sidecar is the commit
 * point, so a crash between the two leaves the previous checkpoint in force. Older weight
 * files of the clinic are removed afterwards (later ones, left by a clinic that went back, are moved
 * to `superseded/`). Reading checks every sidecar field and the
 * weights' SHA-256 before anything is applied.
 *
 * @example
 * ```ts
 * import { restoreClinicCheckpoint, saveClinicCheckpoint } from "./clinic_checkpoint.ts";
 * import type { SegmentSlot } from "../segment_state.ts";
 * async function roundTrip(slots: SegmentSlot[]) {
 *   const where = { dir: "ckpt", clinic: "clinic-a", mode: "vanilla" as const };
 *   await saveClinicCheckpoint(where, 3, slots);
 *   console.log((await restoreClinicCheckpoint(where, slots))?.epoch); // 3
 * }
 * ```
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { readNpz, writeNpz } from "../../data/npz.ts";
import { writeFileAtomic } from "../../fs/atomic_file.ts";
import { applySegmentState, collectSegmentState, type SegmentSlot } from "../segment_state.ts";
import type { RawSideMode } from "./api.ts";
import { RawSideError } from "./error.ts";
import type { RelayLedger, RelayRecord } from "./weight_relay.ts";

/** Format tag of the checkpoint sidecar. */
const CHECKPOINT_FORMAT = "splitgate-clinic-checkpoint/v1";
const utf8 = new TextEncoder();

/**
 * Whose checkpoints, and where: the clinic's name and mode are written into the sidecar and
 * checked when it is read.
 *
 * @example
 * ```ts
 * import type { CheckpointPlace } from "./clinic_checkpoint.ts";
 * const p: CheckpointPlace = { dir: "run/ckpt-a", clinic: "clinic-a", mode: "ushaped" };
 * ```
 */
export interface CheckpointPlace {
  /** The checkpoint directory (undefined: not configured). */
  dir: string | undefined;
  clinic: string;
  mode: RawSideMode;
}

/**
 * The checkpoint directory without a trailing slash, refusing a clinic that has none.
 *
 * @throws {RawSideError} `NO_CHECKPOINT_DIR`
 * @example
 * ```ts
 * import { checkpointDir } from "./clinic_checkpoint.ts";
 * console.log(checkpointDir({ dir: "ck/", clinic: "a", mode: "vanilla" })); // "ck"
 * ```
 */
export function checkpointDir(place: CheckpointPlace): string {
  if (!place.dir) {
    throw new RawSideError(
      "NO_CHECKPOINT_DIR",
      `clinic ${JSON.stringify(place.clinic)} has no checkpoint directory configured`,
    );
  }
  return place.dir.endsWith("/") ? place.dir.slice(0, -1) : place.dir;
}

function sidecarPath(place: CheckpointPlace): string {
  return `${checkpointDir(place)}/${place.clinic}.checkpoint.json`;
}

/**
 * Writes the state of `slots` as the checkpoint of `epoch` (see the module notes).
 *
 * @throws {RawSideError} `NO_CHECKPOINT_DIR`
 * @example
 * ```ts
 * import { saveClinicCheckpoint } from "./clinic_checkpoint.ts";
 * import type { SegmentSlot } from "../segment_state.ts";
 * async function save(slots: SegmentSlot[]) {
 *   await saveClinicCheckpoint({ dir: "ckpt", clinic: "clinic-a", mode: "vanilla" }, 0, slots);
 * }
 * ```
 */
export async function saveClinicCheckpoint(
  place: CheckpointPlace,
  epoch: number,
  slots: readonly SegmentSlot[],
  relay: RelayLedger = { seq: 0, accepted: new Map() },
): Promise<void> {
  const dir = checkpointDir(place);
  const weights = `${place.clinic}.epoch-${epoch}.npz`;
  const bytes = writeNpz(collectSegmentState(slots));
  await writeFileAtomic(`${dir}/${weights}`, bytes);
  const sidecar = {
    format: CHECKPOINT_FORMAT,
    clinic: place.clinic,
    mode: place.mode,
    epoch,
    weights,
    sha256: bytesToHex(sha256(bytes)),
    relay: { seq: relay.seq, accepted: Object.fromEntries(relay.accepted) },
  };
  await writeFileAtomic(sidecarPath(place), utf8.encode(JSON.stringify(sidecar, null, 2) + "\n"));
  const prefix = `${place.clinic}.epoch-`;
  for await (const entry of Deno.readDir(dir)) {
    if (
      entry.isFile && entry.name.startsWith(prefix) && entry.name.endsWith(".npz") &&
      entry.name !== weights
    ) {
      const later = Number(entry.name.slice(prefix.length, -".npz".length)) > epoch;
      // An older epoch is superseded. A later one means this clinic went back (a server
      // restored from an older checkpoint, or a study started afresh under the same id): its
      // weights may be all that is left of a finished run, so they are kept aside, not deleted.
      if (later) await keepAside(dir, entry.name);
      else await Deno.remove(`${dir}/${entry.name}`).catch(() => {});
    }
  }
}

/** Moves `name` into `dir/superseded/`, suffixed with the time, so nothing is overwritten. */
async function keepAside(dir: string, name: string): Promise<void> {
  await Deno.mkdir(`${dir}/superseded`, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  await Deno.rename(`${dir}/${name}`, `${dir}/superseded/${name.replace(/\.npz$/, "")}.${stamp}.npz`);
}

/**
 * Checks a parsed sidecar field by field; returns the epoch and the weights file name.
 * Every refusal names the sidecar, the field, what it holds and what was expected.
 */
function checkSidecar(
  place: CheckpointPlace,
  path: string,
  text: string,
): { epoch: number; weights: string; sha256: unknown; relay: RelayLedger } {
  const bad = (msg: string) => new RawSideError("CHECKPOINT_INVALID", `${path}: ${msg}`);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(text);
  } catch {
    throw bad("not valid JSON");
  }
  if (meta?.format !== CHECKPOINT_FORMAT) {
    throw bad(`format is ${JSON.stringify(meta?.format)}; expected ${CHECKPOINT_FORMAT}`);
  }
  if (meta.clinic !== place.clinic || meta.mode !== place.mode) {
    throw bad(
      `checkpoint of clinic ${JSON.stringify(meta.clinic)} mode ${meta.mode}; this is ${
        JSON.stringify(place.clinic)
      } mode ${place.mode}`,
    );
  }
  const epoch = meta.epoch;
  if (!Number.isSafeInteger(epoch) || (epoch as number) < 0) {
    throw bad(`epoch ${JSON.stringify(epoch)} is not an integer >= 0`);
  }
  if (
    typeof meta.weights !== "string" || meta.weights.includes("/") ||
    !meta.weights.endsWith(".npz")
  ) {
    throw bad(
      `weights ${JSON.stringify(meta.weights)} is not a file name in the checkpoint directory`,
    );
  }
  return { epoch: epoch as number, weights: meta.weights, sha256: meta.sha256, relay: checkRelay(meta.relay, bad) };
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Checks the sidecar's relay ledger (absent: nothing sealed or accepted yet). */
function checkRelay(relay: unknown, bad: (msg: string) => RawSideError): RelayLedger {
  if (relay === undefined) return { seq: 0, accepted: new Map() };
  const r = relay as { seq?: unknown; accepted?: unknown };
  if (relay === null || typeof relay !== "object" || !isCount(r.seq)) {
    throw bad(`relay.seq ${JSON.stringify(r?.seq)} is not an integer >= 0`);
  }
  if (r.accepted === null || typeof r.accepted !== "object" || Array.isArray(r.accepted)) {
    throw bad("relay.accepted is not an object of {epoch, seq} by sender");
  }
  const accepted = new Map<string, RelayRecord>();
  for (const [who, v] of Object.entries(r.accepted as Record<string, unknown>)) {
    const rec = v as { epoch?: unknown; seq?: unknown };
    if (rec === null || typeof rec !== "object" || !isCount(rec.epoch) || !isCount(rec.seq)) {
      throw bad(`relay.accepted.${who} ${JSON.stringify(v)} is not {epoch, seq} of integers >= 0`);
    }
    accepted.set(who, { epoch: rec.epoch, seq: rec.seq });
  }
  return { seq: r.seq, accepted };
}

/**
 * Loads the checkpoint in force into `slots`; returns its epoch and relay ledger, or null
 * when the clinic has none yet.
 *
 * @throws {RawSideError} `NO_CHECKPOINT_DIR`; `CHECKPOINT_INVALID` for a sidecar that does not
 *   check or weights that do not match its SHA-256; `WEIGHTS_INVALID` for weights that do not
 *   fit the model
 * @example
 * ```ts
 * import { restoreClinicCheckpoint } from "./clinic_checkpoint.ts";
 * import type { SegmentSlot } from "../segment_state.ts";
 * async function resume(slots: SegmentSlot[]) {
 *   const r = await restoreClinicCheckpoint({ dir: "ckpt", clinic: "clinic-a", mode: "vanilla" }, slots);
 *   return r?.epoch ?? 0;
 * }
 * ```
 */
export async function restoreClinicCheckpoint(
  place: CheckpointPlace,
  slots: readonly SegmentSlot[],
): Promise<{ epoch: number; relay: RelayLedger } | null> {
  const dir = checkpointDir(place), path = sidecarPath(place);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  const meta = checkSidecar(place, path, text);
  const bytes = await Deno.readFile(`${dir}/${meta.weights}`);
  if (bytesToHex(sha256(bytes)) !== meta.sha256) {
    throw new RawSideError("CHECKPOINT_INVALID", `${path}: ${meta.weights} does not match its SHA-256 (torn or altered)`);
  }
  applySegmentState(slots, readNpz(bytes, meta.weights), `checkpoint ${meta.weights}`);
  return { epoch: meta.epoch, relay: meta.relay };
}
