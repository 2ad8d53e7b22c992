/**
 * The digest a clinic pins: `sha256:<64 hex>` of the published study's canonical JSON
 * (`canonical_json.ts`), and the comparison that names the first field two studies differ in.
 *
 * @example
 * ```ts
 * import { studyDigest } from "./study_digest.ts";
 * console.log(studyDigest({ id: "s" }).startsWith("sha256:")); // true
 * ```
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { canonicalJson } from "./canonical_json.ts";

/** A pinned digest: `sha256:` and 64 lower-case hex digits. */
export const STUDY_DIGEST_PATTERN: RegExp = /^sha256:[0-9a-f]{64}$/;

/**
 * `sha256:<hex>` of the canonical JSON of `study`.
 *
 * @example
 * ```ts
 * import { studyDigest } from "./study_digest.ts";
 * console.log(studyDigest({ b: 1, a: 2 }) === studyDigest({ a: 2, b: 1 })); // true
 * ```
 */
export function studyDigest(study: unknown): string {
  return `sha256:${bytesToHex(sha256(new TextEncoder().encode(canonicalJson(study))))}`;
}

/**
 * The first field (depth first, keys sorted) where `a` and `b` differ, with both values, or
 * null when they are equal: `schedule.epochs: 3 vs 4`.
 *
 * @example
 * ```ts
 * import { firstDifference } from "./study_digest.ts";
 * console.log(firstDifference({ schedule: { epochs: 3 } }, { schedule: { epochs: 4 } })); // schedule.epochs: 3 vs 4
 * ```
 */
export function firstDifference(a: unknown, b: unknown, path = ""): string | null {
  const isObj = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const d = firstDifference(a[k], b[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  const show = (v: unknown) => v === undefined ? "(absent)" : short(canonicalJson(v));
  return canonicalJson(a ?? null) === canonicalJson(b ?? null) &&
      (a === undefined) === (b === undefined)
    ? null
    : `${path || "(the study)"}: ${show(a)} vs ${show(b)}`;
}

/** A value's JSON cut to 80 characters (a vocabulary can be long). */
function short(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
