/**
 * The split harness's malicious-server mode for real clinic gateways: the in-process server of
 * `split_harness.ts` with its `ServerModel.step` replaced by the audit's FSHA attacker
 * (`runtime/privacy/fsha_attacker.ts`), which answers every `STEP` with the gradient that pulls
 * the clinic's features toward its pilot's, whatever the labels. Everything else (handshake,
 * turns, codec, checkpoints) is the production server's. Test-only: the replacement happens on
 * a test's own server handle, so nothing here is reachable from `deno task server`.
 * @module
 */
import { type Tensor, tensor } from "../../models/tensor.ts";
import type { ServerHandle } from "../../runtime/server/mod.ts";
import { FshaAttacker } from "../../runtime/privacy/fsha_attacker.ts";
import { learnableImages, SIZE } from "./split_harness.ts";

/**
 * Turns `handle`'s server into an FSHA attacker whose auxiliary data is `aux` (default: 64
 * learnable 8×8 images; public data the server could hold). Returns the attacker.
 */
export function hijackServer(handle: ServerHandle, seed: number, aux?: Tensor): FshaAttacker {
  const fsha = new FshaAttacker(aux ?? learnableAux(64, seed), { seed });
  handle.model.step = async (activation, labels) => {
    const r = await fsha.step(activation, labels);
    return { loss: r.loss, cutGrad: r.cutGrad };
  };
  return fsha;
}

function learnableAux(m: number, seed: number): Tensor {
  const { images } = learnableImages(m, seed + 1000);
  return tensor("float32", [m, 1, SIZE, SIZE], Float32Array.from(images, (v) => v / 255));
}
