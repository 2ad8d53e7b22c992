/**
 * A clinic's check of the server's study before its first step: the definition the server
 * publishes (`STUDY`) must hash to the digest this clinic pins in its config (`study`:
 * `"sha256:<hex>"`) and to the study its state folder holds (`study.json`, stored on its first
 * run), and agree with what this clinic's own config says of the same fields. A first run
 * with neither a pin nor a stored study is refused unless the operator trusts the server's
 * study on first use (`--trust-study`). Every refusal is one line with the code
 * `STUDY_MISMATCH` (or `CONFIG_MISMATCH` for this clinic's own config), naming the field.
 *
 * @example
 * ```ts
 * import { checkServerStudy } from "./study_gate.ts";
 * console.log(checkServerStudy({ type: "STUDY_RESULT", id: "", digest: "" }, {})); // null (the server runs no study file)
 * ```
 * @module
 */
import type { StudyResultMessage } from "../protocol/mod.ts";
import { canonicalJson } from "../study/canonical_json.ts";
import { type PublishedStudy, receiveStudy } from "../study/published_study.ts";
import { firstDifference } from "../study/study_digest.ts";
import { checkStudyData } from "../study/check_study_data.ts";
import { ClinicError } from "./clinic_error.ts";

/**
 * What a clinic checks the server's study against.
 *
 * @example
 * ```ts
 * import type { StudyGate } from "./study_gate.ts";
 * const g: StudyGate = { pin: "sha256:" + "0".repeat(64), local: { mode: "vanilla", loss: "bce" } };
 * ```
 */
export interface StudyGate {
  /** The clinic config's `study`: `sha256:<64 hex>`. */
  pin?: string;
  /** The study this clinic's state folder holds (its definition when small enough to pass on). */
  stored?: { id: string; digest: string; definition?: Record<string, unknown> };
  /** `--trust-study`: accept the server's study on a run with neither a pin nor a stored study. */
  trustFirstUse?: boolean;
  /** This clinic's own config, for the fields a study also sets. */
  local?: {
    mode?: string;
    loss?: string;
    turnsPerEpoch?: number;
    defence?: unknown;
    dataSchema?: unknown;
  };
}

const mismatch = (message: string) => new ClinicError("STUDY_MISMATCH", message);

/**
 * Checks the server's `STUDY_RESULT` against `gate`; returns the accepted study, or null
 * when the server runs no study file and this clinic expects none.
 *
 * @throws {ClinicError} `STUDY_MISMATCH` naming the field or digest that differs;
 *   `CONFIG_MISMATCH` when this clinic's config contradicts the study
 * @example
 * ```ts
 * import { checkServerStudy } from "./study_gate.ts";
 * try {
 *   checkServerStudy({ type: "STUDY_RESULT", id: "", digest: "" }, { pin: "sha256:" + "a".repeat(64) });
 * } catch (e) {
 *   console.log((e as Error).message); // the server runs no study definition, but config.study pins sha256:aaaa…
 * }
 * ```
 */
export function checkServerStudy(
  reply: StudyResultMessage,
  gate: StudyGate,
): PublishedStudy | null {
  if (reply.id === "") {
    if (gate.pin) {
      throw mismatch(`the server runs no study definition, but config.study pins ${gate.pin}`);
    }
    if (gate.stored) {
      throw mismatch(
        `the server runs no study definition, but this clinic's state folder holds study ${gate.stored.id}`,
      );
    }
    return null;
  }
  let p: PublishedStudy;
  try {
    p = receiveStudy(reply.id, reply.digest, reply.definition ?? new Uint8Array());
  } catch (e) {
    throw mismatch((e as Error).message);
  }
  const { stored, pin } = gate;
  if (stored && stored.id !== p.id) {
    throw mismatch(
      `this clinic's state folder holds study ${stored.id}; the server runs study ${p.id}: start this clinic with ` +
        `--new-study to keep that state under studies/${stored.id}/ and join ${p.id}`,
    );
  }
  if (stored && stored.digest !== p.digest) {
    const diff = stored.definition ? firstDifference(stored.definition, p.definition) : null;
    throw mismatch(
      `study ${p.id} changed since this clinic joined it: ` +
        (diff ? `${diff} (joined vs now)` : `digest ${stored.digest} then, ${p.digest} now`) +
        "; refusing before the first step",
    );
  }
  if (pin && pin !== p.digest) {
    throw mismatch(
      `config.study pins ${pin}, but the server's study ${p.id} has digest ${p.digest}`,
    );
  }
  if (!pin && !stored && !gate.trustFirstUse) {
    throw mismatch(
      `the server runs study ${p.id} (${p.digest}) and this clinic pins none: set "study": "${p.digest}" in its config ` +
        "once the definition is checked (the server operator's study file gives the same digest), or start with --trust-study to trust it on this first run",
    );
  }
  checkLocal(p.definition, gate.local ?? {});
  return p;
}

/** Refuses a clinic config that says otherwise than the study, naming the field. */
function checkLocal(d: Record<string, unknown>, local: NonNullable<StudyGate["local"]>): void {
  if (d.data !== undefined && local.dataSchema !== undefined) {
    // Both parsed, so a default written out on one side only is no difference.
    const diff = firstDifference(checkStudyData(d.data), local.dataSchema);
    if (diff) {
      throw new ClinicError(
        "CONFIG_MISMATCH",
        `study.data and this clinic's config.dataSchema differ: ${diff} (study vs config); ` +
          "leave dataSchema out of the clinic config to take the study's",
      );
    }
  }
  const schedule = (d.schedule ?? {}) as Record<string, unknown>;
  const defences = (d.defences ?? {}) as Record<string, unknown>;
  const pairs: [string, unknown, string, unknown][] = [
    ["mode", d.mode, "mode", local.mode],
    ["loss", d.loss, "loss", local.loss],
    ["schedule.turnsPerEpoch", schedule.turnsPerEpoch ?? 1, "turnsPerEpoch", local.turnsPerEpoch],
    // A study without clinic defences leaves each clinic's own.
    ["defences.clinic", defences.clinic, "defence", local.defence],
  ];
  for (const [field, want, own, got] of pairs) {
    if (got === undefined || (field === "defences.clinic" && want === undefined)) continue;
    if (canonicalJson(want ?? null) !== canonicalJson(got)) {
      throw new ClinicError(
        "CONFIG_MISMATCH",
        `study.${field} is ${canonicalJson(want ?? null)}; this clinic's config.${own} says ${
          canonicalJson(got)
        }`,
      );
    }
  }
}
