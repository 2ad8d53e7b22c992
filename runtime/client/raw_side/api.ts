/**
 * The API between the clinic's raw-data side and its courier ({@linkcode RawSide}): the only
 * door to the records. What crosses it is exactly what may leave the clinic: activations at
 * the cut, the gradient at the head's input (U-shape), labels in vanilla mode, and the
 * clinic's own weights only as a sealed box to the next clinic.
 *
 * One training step, vanilla: `forward` → (server: loss, backward) → `backward(cutGrad)`.
 * U-shape: `forward` → (server middle forward) → `head(headInput)` → (server middle backward)
 * → `backward(cutGrad)`. Steps are named by `stepId` (`"<epoch>:<batch>"` by convention); a
 * retried `head` or `backward` for a step already applied returns the first result and never
 * runs the optimizer twice.
 *
 * Implementations: {@linkcode "./local_raw_side.ts".LocalRawSide} (in-process: tests, and the
 * body of the sandboxed process `main.ts`), {@linkcode "./stub.ts".RawSideStub} (the parent's
 * end of the pipe) and {@linkcode "./process.ts".RawSideProcess} (spawns and proxies it).
 *
 * @example
 * ```ts
 * import type { RawSide } from "./api.ts";
 * import type { Tensor } from "../../../models/tensor.ts";
 * // One vanilla step: the server turns the activation (and labels) into the cut gradient.
 * async function step(side: RawSide, server: (a: Tensor, y: Tensor) => Promise<Tensor>) {
 *   const { activation, labels } = await side.forward("1:0", 1, 0);
 *   await side.backward("1:0", await server(activation, labels!));
 * }
 * ```
 * @module
 */
import type { Tensor } from "../../../models/tensor.ts";
import type { DecoySchedule } from "../../privacy/decoy_schedule.ts";
import type { SecureFrontCall, SecureFrontResult } from "./secure_front.ts";

/**
 * Split modes: `vanilla` (clinic front | server rest + loss; labels travel to the server) and
 * `ushaped` (clinic front | server middle | clinic head + loss; labels stay).
 *
 * @example
 * ```ts
 * import type { RawSideMode } from "./api.ts";
 * const m: RawSideMode = "ushaped";
 * ```
 */
export type RawSideMode = "vanilla" | "ushaped";

/**
 * The clinic relayed weights are sealed to: its name and static public key.
 *
 * @example
 * ```ts
 * import type { WeightsRecipient } from "./api.ts";
 * const to: WeightsRecipient = { name: "clinic-b", publicKey: new Uint8Array(32) };
 * ```
 */
export interface WeightsRecipient {
  name: string;
  publicKey: Uint8Array;
}

/**
 * What a raw side tells the courier about itself (sizes only, no records).
 *
 * @example
 * ```ts
 * import type { RawSideInfo } from "./api.ts";
 * const i: RawSideInfo = { clinic: "a", trainSize: 100, valSize: 10, testSize: 20, mode: "vanilla",
 *   stepsPerEpoch: 2, inputNames: ["image"], batchSize: 64, evalBatchSize: 256 };
 * ```
 */
export interface RawSideInfo {
  clinic: string;
  trainSize: number;
  valSize: number;
  testSize: number;
  mode: RawSideMode;
  /** Training batches per epoch: `ceil(trainSize / batchSize)`. */
  stepsPerEpoch: number;
  inputNames: string[];
  /** Training batch size (the last batch of an epoch may be shorter). */
  batchSize: number;
  /** Rows per `evalForward` batch: batch `b` covers rows `[b·evalBatchSize, (b+1)·evalBatchSize)`. */
  evalBatchSize: number;
  /** With `defence.hijackGuard`: where the courier sends decoys (`runtime/privacy/decoy_schedule.ts`). */
  decoys?: DecoySchedule;
}

/**
 * The raw-data side's API. All tensors crossing it are `models/tensor.ts`
 * tensors.
 *
 * @example
 * ```ts
 * import type { RawSide } from "./api.ts";
 * import type { Tensor } from "../../../models/tensor.ts";
 * async function oneStep(side: RawSide, server: (a: Tensor) => Promise<Tensor>) {
 *   const f = await side.forward("1:0", 1, 0);
 *   await side.backward("1:0", await server(f.activation));
 * }
 * ```
 */
export interface RawSide {
  /** Sizes and mode. */
  info(): Promise<RawSideInfo>;
  /**
   * Front forward on batch `batch` of epoch `epoch` (seeded batch order, see
   * `batch_order.ts`). Keeps what the backward needs, keyed by `stepId`. Vanilla: returns the
   * labels too (they travel to the server). Repeating a pending step returns the same tensors.
   * With `decoy` (hijack guard): the decoy of that batch's regular step, sent as one more step;
   * its `backward` scores the gradient and never applies it (`hijack_watch.ts`).
   */
  forward(
    stepId: string,
    epoch: number,
    batch: number,
    decoy?: boolean,
  ): Promise<{ activation: Tensor; labels?: Tensor }>;
  /**
   * U-shape only: head step on the server's head input for `stepId`: loss, head backward, head
   * optimizer step; returns the gradient at the head input (to send back) and the loss.
   * Idempotent per `stepId`.
   */
  head(stepId: string, headInput: Tensor): Promise<{ loss: number; gradHeadInput: Tensor }>;
  /** Front backward with the cut gradient, then the front optimizer step. Idempotent per `stepId`. */
  backward(stepId: string, cutGrad: Tensor): Promise<void>;
  /** Evaluation: cut activations of batch `batch` of split `split` (no state change). */
  evalForward(
    split: "val" | "test",
    batch: number,
  ): Promise<{ activation: Tensor; labels: Tensor }>;
  /** U-shape only: logits of the head for a head input (no state change). */
  evalHead(headInput: Tensor): Promise<Tensor>;
  /** Epoch checkpoint of the clinic's segments (atomic). */
  checkpoint(epoch: number): Promise<void>;
  /** Restores the latest checkpoint, if any. */
  restore(): Promise<{ epoch: number } | null>;
  /**
   * Seals this clinic's segment weights (+ optimizer state) from its static key to `to`, for
   * run `binding.run` and round `binding.epoch`, with the next value of its sealing counter
   * (`weight_relay.ts`; the envelope: `crypto/seal/sealed_envelope.ts`).
   */
  exportWeights(to: WeightsRecipient, binding: { run: Uint8Array; epoch: number }): Promise<Uint8Array>;
  /**
   * Opens weights sealed to this clinic by one of `from.peers` for run `from.run`, refuses
   * them unless newer than the last accepted from that sender, loads them and records them
   * (saved with the next checkpoint). Returns who sealed them, at which round and sequence.
   * With `from.mix` = w in (0, 1) the segments become (1 − w)·own + w·relayed instead
   * (`runtime/train/state_average.ts`): the parallel schedules' running weighted average of
   * the fronts (`runtime/client/front_average.ts`); default 1, the relayed weights replace.
   */
  importWeights(
    sealed: Uint8Array,
    from: { run: Uint8Array; peers: ReadonlyMap<string, Uint8Array>; mix?: number },
  ): Promise<{ sender: string; epoch: number; seq: number }>;
  /**
   * Secure aggregation of the front (`frontAggregation: "secagg"`): one step of this clinic's
   * `SecAggClient`, which runs here, next to the static key and the front
   * (`secure_front.ts`); the courier carries the messages it answers to the server.
   */
  secureFront(call: SecureFrontCall): Promise<SecureFrontResult>;
  /**
   * Assembles the full trained model (this clinic's segments and the server's segment, given
   * as `.npz` bytes of its parameters and buffers) into one standard ONNX file in the
   * checkpoint directory, when the clinic's policy allows it; returns its file name there.
   */
  exportModel(serverWeights: Uint8Array): Promise<{ file: string; bytes: number }>;
  /** Releases the engine sessions; later calls fail with `CLOSED`. */
  close(): Promise<void>;
}
