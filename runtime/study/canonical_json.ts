/**
 * Canonical JSON of a study definition, the bytes its digest is taken over: object keys
 * sorted by UTF-16 code unit order at every depth (as RFC 8785, JSON Canonicalization
 * Scheme, §3.2.3), no whitespace, strings and numbers as `JSON.stringify` writes them
 * (RFC 8785 §3.2.2 uses the same ECMAScript number serialisation). Array order is kept:
 * a vocabulary's order is part of its meaning.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./canonical_json.ts";
 * console.log(canonicalJson({ b: [2, 1], a: { d: 1, c: "x" } })); // {"a":{"c":"x","d":1},"b":[2,1]}
 * ```
 * @module
 */

/**
 * The canonical JSON text of `value` (a JSON value: no `undefined`, function, NaN or ±Infinity).
 *
 * @throws {TypeError} naming the path of a value JSON cannot hold
 * @example
 * ```ts
 * import { canonicalJson } from "./canonical_json.ts";
 * try { canonicalJson({ lr: NaN }); } catch (e) { console.log((e as Error).message); } // study.lr: NaN is not a JSON value
 * ```
 */
export function canonicalJson(value: unknown, path = "study"): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} is not a JSON value`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v, i) => canonicalJson(v, `${path}[${i}]`)).join(",")}]`;
  }
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    const o = value as Record<string, unknown>;
    return `{${
      keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k], `${path}.${k}`)}`).join(",")
    }}`;
  }
  throw new TypeError(`${path}: a ${typeof value} is not a JSON value`);
}
