/**
 * A table schema's scaling statistics computed across clinics by secure summation: each
 * clinic turns its rows into the summable statistics of the draft schema (`schema_fit.ts`:
 * counts, sums, sums of squares, category counts) and masks them pairwise with the other
 * allowlisted clinics' keys (`crypto/secure_sum.ts`); whoever adds the masked shares (the
 * server) learns only the totals, from which the pooled means and standard deviations follow.
 * The draft (column types, sorted category lists, label classes) is what the operator
 * declares: secure summation adds up counts and sums, it cannot discover category names
 * without revealing them.
 *
 * @example
 * ```ts
 * import { schemaFromShares, schemaShare } from "./schema_secure_sum.ts";
 * // clinic: const share = schemaShare(table, draft, trainRows, { name, secretKey }, allowlisted, context);
 * // server: const schema = schemaFromShares(draft, [shareA, shareB]);
 * ```
 * @module
 */
import {
  fromFixedPoint,
  maskedShare,
  type SecureSumParty,
  type SecureSumPeer,
  sumShares,
  toFixedPoint,
} from "../../crypto/secure_sum.ts";
import type { CsvTable } from "./csv.ts";
import type { TableSchema } from "./data_schema.ts";
import { applyStatistics, tableStatistics } from "./schema_fit.ts";

/**
 * One clinic's masked statistics of `draft` over its `rows` (default all).
 *
 * @example
 * ```ts
 * import { schemaShare } from "./schema_secure_sum.ts";
 * // schemaShare(table, draft, undefined, { name: "clinic-a", secretKey }, parties, context)
 * ```
 */
export function schemaShare(
  table: CsvTable,
  draft: TableSchema,
  rows: ArrayLike<number> | undefined,
  self: SecureSumParty,
  parties: readonly SecureSumPeer[],
  context: Uint8Array,
): bigint[] {
  return maskedShare(toFixedPoint(tableStatistics(table, draft, rows)), self, parties, context);
}

/**
 * The schema with pooled scaling statistics, from every clinic's {@linkcode schemaShare}; also
 * the summed statistics (for the data check's pooled counts).
 *
 * @throws {RangeError} for shares of the wrong length
 * @example
 * ```ts
 * import { schemaFromShares } from "./schema_secure_sum.ts";
 * // const { schema } = schemaFromShares(draft, shares);
 * ```
 */
export function schemaFromShares(
  draft: TableSchema,
  shares: readonly (readonly bigint[])[],
): { schema: TableSchema; sums: number[] } {
  const sums = fromFixedPoint(sumShares(shares));
  return { schema: applyStatistics(draft, sums), sums };
}
