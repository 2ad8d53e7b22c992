/**
 * A study as the server publishes it and a clinic receives it: the id, the digest and the
 * canonical JSON text (`canonical_json.ts`) the digest is taken over. A clinic recomputes the
 * digest from the text, so a definition and a digest that disagree are refused.
 *
 * @example
 * ```ts
 * import { publishStudy } from "./published_study.ts";
 * const p = publishStudy({ id: "s1", schedule: { epochs: 1 } });
 * console.log(p.id, p.text); // s1 {"id":"s1","schedule":{"epochs":1}}
 * ```
 * @module
 */
import { canonicalJson } from "./canonical_json.ts";
import { studyDigest } from "./study_digest.ts";

/**
 * A published study.
 *
 * @example
 * ```ts
 * import type { PublishedStudy } from "./published_study.ts";
 * function pin(p: PublishedStudy) { return p.digest; }
 * ```
 */
export interface PublishedStudy {
  id: string;
  /** `sha256:<hex>` of `text`. */
  digest: string;
  /** The definition's canonical JSON. */
  text: string;
  /** The definition (`JSON.parse(text)`). */
  definition: Record<string, unknown>;
}

/**
 * Publishes a definition (a study file's JSON object, with `id`).
 *
 * @throws {TypeError} for a definition without a string `id` or holding a non-JSON value
 * @example
 * ```ts
 * import { publishStudy } from "./published_study.ts";
 * console.log(publishStudy({ id: "a" }).digest.length); // 71
 * ```
 */
export function publishStudy(definition: Record<string, unknown>): PublishedStudy {
  if (typeof definition.id !== "string") throw new TypeError("study.id: expected a string");
  const text = canonicalJson(definition);
  return { id: definition.id, digest: studyDigest(definition), text, definition: JSON.parse(text) };
}

/**
 * Reads a study received from a server (`STUDY_RESULT`): parses the text and checks that the
 * digest and the id are those of the text.
 *
 * @throws {TypeError} naming what disagrees
 * @example
 * ```ts
 * import { publishStudy, receiveStudy } from "./published_study.ts";
 * const p = publishStudy({ id: "a" });
 * console.log(receiveStudy(p.id, p.digest, new TextEncoder().encode(p.text)).id); // a
 * ```
 */
export function receiveStudy(id: string, digest: string, bytes: Uint8Array): PublishedStudy {
  let definition: unknown;
  try {
    definition = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new TypeError(`the server's study definition is not JSON (${(e as Error).message})`);
  }
  if (definition === null || typeof definition !== "object" || Array.isArray(definition)) {
    throw new TypeError("the server's study definition is not a JSON object");
  }
  const p = publishStudy(definition as Record<string, unknown>);
  if (p.digest !== digest) {
    throw new TypeError(
      `the server's study definition has digest ${p.digest}, but the server says ${digest}`,
    );
  }
  if (p.id !== id) {
    throw new TypeError(`the server's study definition has id ${p.id}, but the server says ${id}`);
  }
  return p;
}
