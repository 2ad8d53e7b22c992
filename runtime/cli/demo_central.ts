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
import { type CentralOptions, trainCentral } from "../train/central.ts";

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
): Promise<{ result: Awaited<ReturnType<typeof trainCentral>>; seconds: number }> {
  const wasm = reuse?.isWasm ? reuse.engine : await createEngine("wasm", { threads: 1 });
  const c0 = performance.now();
  try {
    const result = await trainCentral({ ...o, engine: wasm });
    return { result, seconds: (performance.now() - c0) / 1000 };
  } finally {
    if (wasm !== reuse?.engine) await wasm.dispose();
  }
}
