/**
 * The demos' central baseline: the same model, seed, epochs, batch size and optimizer trained
 * in one place on the pooled data, on the wasm engine (the clinics' engine), timed.
 *
 * @example
 * ```ts
 * import { trainDemoCentral } from "./demo_central.ts";
 * // const { result, seconds } = await trainDemoCentral({ model, data, epochs: 3, batchSize: 64, optimizer, seed: 0 });
 * ```
 * @module
 */
import { createEngine, type Engine } from "../engine/mod.ts";
import { type CentralOptions, type CentralResult, trainCentral } from "../train/central.ts";
import type { ClinicResult } from "../client/clinic.ts";
import { printComparison } from "./demo_report.ts";

/**
 * Trains centrally with `o` on wasm — `reuse` when it is already a wasm engine (the caller
 * keeps and disposes it), else a fresh one disposed here — and returns the result and seconds.
 *
 * @example
 * ```ts
 * import { trainDemoCentral } from "./demo_central.ts";
 * // const c = await trainDemoCentral(opts, serverEngine, engineName === "wasm");
 * ```
 */
export async function trainDemoCentral(
  o: Omit<CentralOptions, "engine">,
  reuse?: { engine: Engine; isWasm: boolean },
): Promise<{ result: CentralResult; seconds: number }> {
  const wasm = reuse?.isWasm ? reuse.engine : await createEngine("wasm", { threads: 1 });
  const c0 = performance.now();
  try {
    const result = await trainCentral({ ...o, engine: wasm });
    return { result, seconds: (performance.now() - c0) / 1000 };
  } finally {
    if (wasm !== reuse?.engine) await wasm.dispose();
  }
}

/**
 * The demos' closing step: the central run (when `central` is given) on the server's engine
 * where it can be reused, then that engine disposed (whether or not the run succeeded), then
 * the comparison of `split` with it printed (`demo_report.ts`).
 *
 * @example
 * ```ts
 * import { compareWithCentral } from "./demo_central.ts";
 * // await compareWithCentral(split, server.engine, o.central ? () => imageCentral(o, true, reuse) : undefined, t0);
 * ```
 */
export async function compareWithCentral(
  split: { results: readonly ClinicResult[]; seconds: number },
  serverEngine: Engine,
  central: (() => Promise<{ result: CentralResult; seconds: number }>) | undefined,
  t0: number,
): Promise<void> {
  let c: { result: CentralResult; seconds: number } | undefined;
  try {
    if (central) c = await central();
  } finally {
    await serverEngine.dispose();
  }
  printComparison(split.results, c?.result, {
    t0,
    splitSeconds: split.seconds,
    centralSeconds: c?.seconds ?? 0,
  });
}
