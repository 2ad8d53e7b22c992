/**
 * The split harness's malicious-server mode for real clinic gateways: the in-process server of
 * `split_harness.ts` with its `ServerModel.step` replaced by the audit's FSHA attacker
 * (`runtime/privacy/fsha_attacker.ts`), which answers every `STEP` with the gradient that pulls
 * the clinic's features toward its pilot's, whatever the labels. Everything else (handshake,
 * turns, codec, checkpoints) is the production server's. Test-only: the replacement happens on
 * a test's own server handle, so nothing here is reachable from `deno task server`.
 * @module
 */
import { tensor } from "../../models/tensor.ts";
import type { ServerHandle } from "../../runtime/server/mod.ts";
import { FshaAttacker } from "../../runtime/privacy/fsha_attacker.ts";
import { learnableImages, SIZE } from "./split_harness.ts";

/**
 * Turns `handle`'s server into an FSHA attacker whose auxiliary data is `m` learnable images
 * (public data the server could hold). Returns the attacker (for its discriminator's accuracy).
 */
export function hijackServer(handle: ServerHandle, seed: number, m = 64): FshaAttacker {
  const { images } = learnableImages(m, seed + 1000);
  const aux = tensor("float32", [m, 1, SIZE, SIZE], Float32Array.from(images, (v) => v / 255));
  const fsha = new FshaAttacker(aux, { seed });
  handle.model.step = async (activation, labels) => {
    const r = await fsha.step(activation, labels);
    return { loss: r.loss, cutGrad: r.cutGrad };
  };
  return fsha;
}
