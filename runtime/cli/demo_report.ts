/**
 * The demos' closing comparison table: per-clinic and overall split test AUC and accuracy,
 * bytes sent and received, training throughput, and the central run; then wall times and the
 * split − central AUC gap. The same table as the image demo's (`demo.ts`).
 *
 * @example
 * ```ts
 * import { printComparison } from "./demo_report.ts";
 * // printComparison(results, central, { t0, splitSeconds: 12.3, centralSeconds: 4.5 });
 * ```
 * @module
 */
import { rocAuc } from "../train/metrics.ts";
import type { trainCentral } from "../train/central.ts";
import type { ClinicResult } from "../client/clinic.ts";

function mib(n: number): string {
  return `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/**
 * Prints the table (see the module doc) and returns the overall split test AUC.
 *
 * @example
 * ```ts
 * import { printComparison } from "./demo_report.ts";
 * // const auc = printComparison(results, undefined, { t0: 0, splitSeconds: 1, centralSeconds: 0 });
 * ```
 */
export function printComparison(
  results: readonly ClinicResult[],
  central: Awaited<ReturnType<typeof trainCentral>> | undefined,
  times: { t0: number; splitSeconds: number; centralSeconds: number },
): number {
  const scores: number[] = [], ys: number[] = [];
  let correct = 0;
  for (const r of results) {
    const s = r.scores!.test!;
    scores.push(...s.scores);
    ys.push(...s.labels);
    s.scores.forEach((p, k) => (correct += Number((p >= 0.5) === (s.labels[k] === 1))));
  }
  const overallAuc = rocAuc(scores, ys), overallAcc = correct / ys.length;
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
    overallAuc.toFixed(4),
    overallAcc.toFixed(4),
    String(ys.length),
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
      central.samplesPerSec.toFixed(0),
    ]);
  }
  const widths = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    r.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join("  ");
  console.log("");
  console.log(line(rows[0]));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows.slice(1)) console.log(line(r));
  console.log("");
  const wall = (performance.now() - times.t0) / 1000;
  console.log(
    `wall time ${wall.toFixed(1)} s (split training and evaluation ${
      times.splitSeconds.toFixed(1)
    } s` +
      (central ? `, central ${times.centralSeconds.toFixed(1)} s` : "") + ")",
  );
  if (central) {
    const gap = overallAuc - central.test.auc;
    console.log(`split − central test AUC: ${gap >= 0 ? "+" : ""}${gap.toFixed(4)}`);
  }
  return overallAuc;
}
