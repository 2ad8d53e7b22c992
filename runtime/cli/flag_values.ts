/**
 * Checked values of the CLIs' common flags (`train.ts`, `demo.ts`, `demo_table.ts`): each
 * refuses a bad value with a {@linkcode UsageError} naming the flag, the value and what was
 * expected, so `runMain` prints that line and the usage.
 *
 * @example
 * ```ts
 * import { positiveInt } from "./flag_values.ts";
 * positiveInt("--epochs", "3", 1); // 3
 * ```
 * @module
 */
import { UsageError } from "./main.ts";

/**
 * `v` as an integer >= 1, or `fallback` when the flag was not given.
 *
 * @example
 * ```ts
 * import { positiveInt } from "./flag_values.ts";
 * positiveInt("--batch", undefined, 64); // 64
 * ```
 */
export function positiveInt(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`${flag} ${v}: expected a positive integer`);
  }
  return n;
}

/**
 * `v` as a finite number > 0, or `fallback` when the flag was not given.
 *
 * @example
 * ```ts
 * import { positiveNumber } from "./flag_values.ts";
 * positiveNumber("--lr", "0.01", 1e-3); // 0.01
 * ```
 */
export function positiveNumber(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new UsageError(`${flag} ${v}: expected a positive number`);
  }
  return n;
}

/**
 * `--seed`: a safe integer >= 0.
 *
 * @example
 * ```ts
 * import { seedFlag } from "./flag_values.ts";
 * seedFlag("7"); // 7
 * ```
 */
export function seedFlag(v: string | undefined): number {
  const seed = Number(v);
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new UsageError(`--seed ${v}: expected an integer >= 0`);
  }
  return seed;
}

/**
 * `--mode`: vanilla or ushaped.
 *
 * @example
 * ```ts
 * import { modeFlag } from "./flag_values.ts";
 * modeFlag("ushaped"); // "ushaped"
 * ```
 */
export function modeFlag(v: string | undefined): "vanilla" | "ushaped" {
  if (v !== "vanilla" && v !== "ushaped") {
    throw new UsageError(`--mode ${v}: expected vanilla or ushaped`);
  }
  return v;
}

/**
 * `--codec dtype[:level]`: the wire codec of the cut traffic (float32 is exact; int8 sends a
 * quarter of the bytes), optionally deflated at `level` 0-9 (default 0, none).
 *
 * @example
 * ```ts
 * import { codecFlag } from "./flag_values.ts";
 * codecFlag("int8:6"); // { dtype: "int8", level: 6 }
 * ```
 */
export function codecFlag(
  v: string | undefined,
): { dtype: "float32" | "float16" | "int8"; level: number } {
  const m = /^(float32|float16|int8)(?::([0-9]))?$/.exec(v ?? "");
  if (!m) {
    throw new UsageError(
      `--codec ${v}: expected float32, float16 or int8, optionally :level (deflate 0-9)`,
    );
  }
  return { dtype: m[1] as "float32" | "float16" | "int8", level: Number(m[2] ?? 0) };
}
