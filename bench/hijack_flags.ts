/**
 * The flags `bench:hijack` and `bench:hijack-gateway` share: seeds, honest epochs, attack
 * epochs, and the guard's `every`, `flips` and `window`.
 *
 * @example
 * ```ts
 * import { hijackFlags } from "./hijack_flags.ts";
 * const f = hijackFlags(["--seeds", "1,2"], "1,2,3");
 * console.log(f.seeds, f.guard.every); // [1, 2] 20
 * ```
 * @module
 */
import { parseArgs } from "node:util";

/** Reads the shared hijack-bench flags from `args`; `defaultSeeds` differs per bench. */
export function hijackFlags(args: string[], defaultSeeds: string): {
  seeds: number[];
  epochs: number;
  attackEpochs: number;
  guard: { every: number; flips: number; window: number };
} {
  const { values } = parseArgs({
    args,
    options: {
      seeds: { type: "string", default: defaultSeeds },
      epochs: { type: "string", default: "8" },
      "attack-epochs": { type: "string", default: "3" },
      every: { type: "string", default: "20" },
      flips: { type: "string", default: "8" },
      window: { type: "string", default: "3" },
    },
    strict: true,
  });
  return {
    seeds: values.seeds!.split(",").map(Number),
    epochs: Number(values.epochs),
    attackEpochs: Number(values["attack-epochs"]),
    guard: { every: Number(values.every), flips: Number(values.flips), window: Number(values.window) },
  };
}
