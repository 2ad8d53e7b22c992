/**
 * The common reader of splitgate's JSON config files (server and clinic): parse, insist on
 * an object with known fields only, and typed getters whose errors name the field and what
 * was expected. Relative paths resolve against the config file's directory.
 *
 * @example
 * ```ts
 * import { readJsonConfig } from "./json_config.ts";
 * const cfg = readJsonConfig('{"listen": "127.0.0.1:8443"}', new Set(["listen"]), "/etc/splitgate");
 * console.log(cfg.str("listen")); // "127.0.0.1:8443"
 * ```
 * @module
 */
import { isAbsolute, join } from "node:path";
import type { WireDType } from "../codec/mod.ts";
import { QUANTIZE_MODES, type QuantizeMode } from "./quantize_mode.ts";

/** The wire codec of a config file's `codec` field. */
export interface CodecConfig {
  /** `float32` (exact), `float16` or `int8` (per-channel scale and zero point). */
  dtype: WireDType;
  /** Deflate level, 0 (none) to 9. */
  level: number;
  /** int8 only: quantise in the graphs or in the codec (`quantize_mode.ts`; default "graph" on the server, "codec" on a clinic). */
  quantize?: QuantizeMode;
}

/** Typed access to a parsed config object. */
export interface JsonConfig {
  /** The parsed object. */
  readonly c: Record<string, unknown>;
  /** Throws a TypeError naming `config.<key>`, what was expected and what was found. */
  fail(k: string, want: string): never;
  /** A non-empty string; `undefined` when absent and not required. */
  str(k: string, required?: boolean): string | undefined;
  /** An integer ≥ `min`, or `fallback` when absent. */
  int<F extends number | undefined>(k: string, min: number, fallback: F): number | F;
  /** `p` resolved against the config file's directory. */
  path(p: string): string;
  /** A wire codec `{"dtype", "level"}`; absent fields default to float32, level 0. */
  codec(k: string): CodecConfig;
}

/**
 * Parses `text` as a config object whose keys must all be in `fields`.
 *
 * @throws {TypeError} for invalid JSON, a non-object, or an unknown field (listing the known ones)
 * @example
 * ```ts
 * import { readJsonConfig } from "./json_config.ts";
 * try {
 *   readJsonConfig("[]", new Set(), ".");
 * } catch (e) {
 *   console.log((e as TypeError).message); // "config must be a JSON object"
 * }
 * ```
 */
export function readJsonConfig(text: string, fields: ReadonlySet<string>, baseDir: string): JsonConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new TypeError(`config is not valid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new TypeError("config must be a JSON object");
  const c = raw as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (!fields.has(k)) throw new TypeError(`config: unknown field ${JSON.stringify(k)} (expected one of ${[...fields].join(", ")})`);
  }
  const fail = (k: string, want: string): never => {
    throw new TypeError(`config.${k}: expected ${want}, got ${JSON.stringify(c[k]) ?? "nothing"}`);
  };
  return {
    c,
    fail,
    str(k, required = true) {
      const v = c[k];
      if (v === undefined && !required) return undefined;
      if (typeof v !== "string" || v.length === 0) fail(k, "a non-empty string");
      return v as string;
    },
    int(k, min, fallback) {
      const v = c[k];
      if (v === undefined) return fallback;
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) fail(k, `an integer >= ${min}`);
      return v as number;
    },
    path: (p) => (isAbsolute(p) ? p : join(baseDir, p)),
    codec(k) {
      const v = (c[k] ?? {}) as Record<string, unknown>;
      if (typeof v !== "object" || v === null || Array.isArray(v)) fail(k, "an object");
      const dtype = (v.dtype ?? "float32") as WireDType;
      if (!["float32", "float16", "int8"].includes(dtype)) fail(k, '{"dtype": "float32" | "float16" | "int8", "level": 0-9}');
      const level = v.level ?? 0;
      if (!Number.isInteger(level) || (level as number) < 0 || (level as number) > 9) fail(k, '{"level": an integer 0-9}');
      for (const f of Object.keys(v)) {
        if (f !== "dtype" && f !== "level" && f !== "quantize") fail(k, "only dtype and level, and quantize for int8");
      }
      if (v.quantize !== undefined && !QUANTIZE_MODES.includes(v.quantize as QuantizeMode)) {
        fail(k, '{"quantize": "graph" | "codec"}');
      }
      // quantize places the int8 quantiser: with another dtype it would be silently ignored.
      if (v.quantize !== undefined && dtype !== "int8") fail(k, '"quantize" only with {"dtype": "int8"}');
      return { dtype, level: level as number, ...(v.quantize !== undefined ? { quantize: v.quantize as QuantizeMode } : {}) };
    },
  };
}
