/**
 * Preloaded by `deno task test`: pins fast-check's seed when `FC_SEED` is set (CI sets it),
 * so a CI run is reproducible; without it every run draws new cases. A failure prints its
 * seed and path either way, for replay.
 * @module
 */
import fc from "fast-check";

let seed: string | undefined;
try {
  seed = Deno.env.get("FC_SEED");
} catch {
  seed = undefined; // no --allow-env: keep fast-check's random seed
}
if (seed !== undefined && seed !== "") {
  const n = Number(seed);
  if (!Number.isSafeInteger(n)) throw new TypeError(`FC_SEED must be an integer, got ${JSON.stringify(seed)}`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: n });
}
