/**
 * The demos' closing tables. `formatColumns` lays out any table (first column left-aligned,
 * the others right-aligned, a dashed rule under the header); every demo prints through it.
 * `printComparison` is the horizontal demos' comparison (`demo.ts`, `demo_schedules.ts`,
 * `demo_table.ts`): per-clinic and overall split test AUC and accuracy, bytes sent and
 * received, training throughput, and the central run; then wall times and the split − central
 * AUC gap. `vertical_demo.ts` builds its own rows and prints them with `formatColumns`.
 *
 * @example
 * ```ts
 * import { printComparison } from "./demo_report.ts";
 * // printComparison(results, central, { t0, splitSeconds: 12.3, centralSeconds: 4.5 });
 * ```
 * @module
 */
import { rocAuc } from "../train/metrics.ts";
import type { ClinicResult } from "../client/clinic.ts";

/**
 * What the comparison needs of the central run (`trainCentral`'s result fits). Without
 * `samplesPerSec` the throughput cell stays empty.
 *
 * @example
 * ```ts
 * import type { CentralSummary } from "./demo_report.ts";
 * const c: CentralSummary = { bestEpoch: 2, test: { auc: 0.9, accuracy: 0.8, samples: 624 } };
 * ```
 */
export interface CentralSummary {
  bestEpoch: number;
  test: { auc: number; accuracy: number; samples: number };
  samplesPerSec?: number;
}

/**
 * `n` bytes in MiB with one decimal, as the tables print traffic.
 *
 * @example
 * ```ts
 * import { mib } from "./demo_report.ts";
 * mib(3 * 2 ** 20); // "3.0 MiB"
 * ```
 */
export function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * The lines of a table: the header row, a rule of dashes, then the body rows; columns as wide
 * as their widest cell, joined by two spaces, the first padded on the right, the rest on the left.
 *
 * @example
 * ```ts
 * import { formatColumns } from "./demo_report.ts";
 * formatColumns([["", "AUC"], ["split", "0.9000"]]);
 * // ["          AUC", "-----  ------", "split  0.9000"]
 * ```
 */
export function formatColumns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r: readonly string[]) =>
    r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("  ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)];
}

/** Every clinic's test scores pooled: the overall split AUC, accuracy and row count. */
function pooledTest(
  results: readonly ClinicResult[],
): { auc: number; accuracy: number; rows: number } {
  const scores: number[] = [], ys: number[] = [];
  let correct = 0;
  for (const r of results) {
    const s = r.scores!.test!;
    scores.push(...s.scores);
    ys.push(...s.labels);
    s.scores.forEach((p, k) => (correct += Number((p >= 0.5) === (s.labels[k] === 1))));
  }
  return { auc: rocAuc(scores, ys), accuracy: correct / ys.length, rows: ys.length };
}

/** The comparison's rows: header, one per clinic, the pooled split row, the central row. */
function comparisonRows(
  results: readonly ClinicResult[],
  overall: { auc: number; accuracy: number; rows: number },
  central: CentralSummary | undefined,
): string[][] {
  const rows: string[][] = [[
    "",
    "test AUC",
    "test acc",
    "test rows",
    "sent",
    "received",
    "train samples/s",
  ]];
  for (const r of results) {
    const t = r.eval.test!;
    rows.push([
      r.clinic,
      t.auc.toFixed(4),
      t.accuracy.toFixed(4),
      String(t.samples),
      mib(r.bytesUp),
      mib(r.bytesDown),
      (r.samples / r.trainSeconds).toFixed(0),
    ]);
  }
  rows.push([
    "split (overall)",
    overall.auc.toFixed(4),
    overall.accuracy.toFixed(4),
    String(overall.rows),
    "",
    "",
    "",
  ]);
  if (central) {
    rows.push([
      `central (best epoch ${central.bestEpoch})`,
      central.test.auc.toFixed(4),
      central.test.accuracy.toFixed(4),
      String(central.test.samples),
      "",
      "",
      central.samplesPerSec === undefined ? "" : central.samplesPerSec.toFixed(0),
    ]);
  }
  return rows;
}

/**
 * Prints the comparison (see the module doc) and returns the overall split test AUC.
 *
 * @example
 * ```ts
 * import { printComparison } from "./demo_report.ts";
 * // const auc = printComparison(results, undefined, { t0: 0, splitSeconds: 1, centralSeconds: 0 });
 * ```
 */
export function printComparison(
  results: readonly ClinicResult[],
  central: CentralSummary | undefined,
  times: { t0: number; splitSeconds: number; centralSeconds: number },
): number {
  const overall = pooledTest(results);
  console.log("");
  for (const l of formatColumns(comparisonRows(results, overall, central))) console.log(l);
  console.log("");
  const wall = (performance.now() - times.t0) / 1000;
  console.log(
    `wall time ${wall.toFixed(1)} s (split training and evaluation ${
      times.splitSeconds.toFixed(1)
    } s` +
      (central ? `, central ${times.centralSeconds.toFixed(1)} s` : "") + ")",
  );
  if (central) {
    const gap = overall.auc - central.test.auc;
    console.log(`split − central test AUC: ${gap >= 0 ? "+" : ""}${gap.toFixed(4)}`);
  }
  return overall.auc;
}
