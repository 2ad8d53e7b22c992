/**
 * The clinic's raw-data side: the only code that touches patient records. It owns the records,
 * the clinic's segments (the front, and in U-shape the head with its loss), their optimizers,
 * the labels, the seeded batch order and the clinic's checkpoints; it hands out cut-layer
 * activations and takes back cut gradients. What it emits is exactly what may leave the
 * clinic: activations at the cut, the gradient at the head's input (U-shape), labels in
 * vanilla mode, and its own weights only as a sealed box to the next clinic.
 *
 * {@linkcode RawSide} is the API between the raw side and the courier (design: issue 5,
 * "The RawSide interface"). {@linkcode LocalRawSide} implements it in-process (tests, and the
 * body of the sandboxed process `raw_side_main.ts`); `raw_side_process.ts` proxies it to that
 * process.
 *
 * One training step, vanilla: `forward` → (server: loss, backward) → `backward(cutGrad)`.
 * U-shape: `forward` → (server middle forward) → `head(headInput)` → (server middle backward)
 * → `backward(cutGrad)`. Steps are named by `stepId` (`"<epoch>:<batch>"` by convention); a
 * retried `head` or `backward` for a step already applied returns the first result and never
 * runs the optimizer twice.
 *
 * Privacy defences (`config.defence`, `runtime/privacy/defence_config.ts`), applied here because
 * this is where the clinic computes:
 *
 * - `noise`: every activation that leaves — training *and* evaluation — is clipped per sample
 *   and noised (`noise_defence.ts`), so the server never sees a clean activation. The noise is
 *   drawn from a ChaCha20 stream keyed by a secret of this clinic (derived from its static key,
 *   or random per process without one; see `keyed_normals.ts`) over the context (step
 *   `epoch`/`batch` or eval `split`/`batch`, the seed, and a SHA-256 digest of the clean
 *   activation): a retried or rolled-back step with the same weights sends the identical
 *   tensor (so the server cannot average fresh draws of it), any other activation gets
 *   independent noise, and the server, which knows the seed, cannot regenerate it. The
 *   backward is straight-through: the returned gradient is applied at the clean activation.
 * - `nopeek`: before the front backward, α·d dCor(X, Z)/dZ is added to the cut gradient (X the
 *   front's first float input, Z the clean activation), computed by the NoPeek graph on the
 *   raw side's own engine (`nopeek_runner.ts`). Batches of one sample get no term (dCor needs
 *   two samples).
 * - `labelProtection` (U-shape only: the clinic holds the labels and computes the gradient at
 *   the head's input, which it equalises before sending). In vanilla mode the server computes
 *   the cut gradient, so the protection is the server's `labelProtection`; a clinic config
 *   asking for it in vanilla mode is refused rather than silently ignored.
 *
 * @example
 * ```ts
 * import { LocalRawSide } from "./raw_side.ts";
 * // const side = await LocalRawSide.create({ clinic: "a", data, model, cuts: cuts.default,
 * //   mode: "vanilla", loss: "bce", optimizer: { kind: "adam", lr: 1e-3 }, seed: 0, batchSize: 64, engine });
 * // const { activation, labels } = await side.forward("1:0", 1, 0);
 * // ... the server returns cutGrad ...
 * // await side.backward("1:0", cutGrad);
 * ```
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Model } from "../../models/graph/ir.ts";
import type { LossKind } from "../../models/grad/loss.ts";
import { sizeOf, type Tensor } from "../../models/tensor.ts";
import { type CompiledSegment, compileModel } from "../../models/train/compile.ts";
import { createOptimizer, type OptimizerConfig } from "../../models/train/optimizer.ts";
import { exportModel } from "../../models/train/export.ts";
import { writeModel } from "../../models/onnx/write_model.ts";
import type { KeyPair } from "../../crypto/noise/dh.ts";
import { open, seal } from "../../crypto/seal/sealed_box.ts";
import { readNpz, writeNpz } from "../data/npz.ts";
import { isStringArray } from "../data/npy.ts";
import type { Rng } from "../data/rng.ts";
import type { Batch, TensorDataset } from "../data/tensor_dataset.ts";
import type { Engine } from "../engine/mod.ts";
import { SegmentRunner } from "../train/segment_runner.ts";
import { type DefenceConfig, parseDefenceConfig } from "../privacy/defence_config.ts";
import { KeyedNormals } from "../privacy/keyed_normals.ts";
import { clipAndNoise } from "../privacy/noise_defence.ts";
import { applyInputNorm } from "../privacy/input_norm.ts";
import { protectCutGradient } from "../privacy/label_protection.ts";
import { NoPeekRunner } from "../privacy/nopeek_runner.ts";
import { writeFileAtomic } from "./atomic_file.ts";
import { augmentRng, batchIndices, stepsPerEpoch } from "./batch_order.ts";
import { RawSideError } from "./raw_side_error.ts";
import { applySegmentState, collectSegmentState, type SegmentSlot } from "./segment_state.ts";
import { firstNonFinite } from "../protocol/tensor_spec.ts";

/**
 * Split modes: `vanilla` (clinic front | server rest + loss; labels travel to the server) and
 * `ushaped` (clinic front | server middle | clinic head + loss; labels stay).
 *
 * @example
 * ```ts
 * import type { RawSideMode } from "./raw_side.ts";
 * const m: RawSideMode = "ushaped";
 * ```
 */
export type RawSideMode = "vanilla" | "ushaped";

/**
 * What a raw side tells the courier about itself (sizes only, no records).
 *
 * @example
 * ```ts
 * import type { RawSideInfo } from "./raw_side.ts";
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
}

/**
 * The raw-data side's API (issue 5 design). All tensors crossing it are `models/tensor.ts`
 * tensors.
 *
 * @example
 * ```ts
 * import type { RawSide } from "./raw_side.ts";
 * async function oneStep(side: RawSide, server: (a: unknown) => Promise<never>) {
 *   const f = await side.forward("1:0", 1, 0);
 *   // await side.backward("1:0", await server(f));
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
   */
  forward(
    stepId: string,
    epoch: number,
    batch: number,
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
  /** Seals this clinic's segment weights (+ optimizer state) to `recipientPublicKey`. */
  exportWeights(recipientPublicKey: Uint8Array): Promise<Uint8Array>;
  /** Opens weights sealed to this clinic and loads them. */
  importWeights(sealed: Uint8Array): Promise<void>;
  /**
   * Assembles the full trained model (this clinic's segments and the server's segment, given
   * as `.npz` bytes of its parameters and buffers) into one standard ONNX file in the
   * checkpoint directory, when the clinic's policy allows it; returns its file name there.
   */
  exportModel(serverWeights: Uint8Array): Promise<{ file: string; bytes: number }>;
  /** Releases the engine sessions; later calls fail with `CLOSED`. */
  close(): Promise<void>;
}

/**
 * Configuration of a {@linkcode LocalRawSide}.
 *
 * @example
 * ```ts
 * import type { LocalRawSideConfig } from "./raw_side.ts";
 * // const c: LocalRawSideConfig = { clinic: "a", data, model, cuts, mode: "vanilla", loss: "bce",
 * //   optimizer: { kind: "sgd", lr: 0.05 }, seed: 0, batchSize: 64, engine };
 * ```
 */
export interface LocalRawSideConfig {
  /** This clinic's name (key name; used in checkpoint file names). */
  clinic: string;
  /** This clinic's records, already partitioned by the caller. */
  data: { train: TensorDataset; val: TensorDataset; test: TensorDataset };
  /** The whole model; the clinic runs segment 0 and, in U-shape, the last segment. */
  model: Model;
  /** Cut tensors: one for vanilla, two for U-shape. */
  cuts: readonly string[];
  mode: RawSideMode;
  loss: LossKind;
  optimizer: OptimizerConfig;
  /** Seed of the batch order and augmentation (and of `compileModel`). */
  seed: number;
  batchSize: number;
  /** Rows per evaluation batch (default 256). */
  evalBatchSize?: number;
  /** The engine the segments run on (wasm in the sandbox); the caller disposes it. */
  engine: Engine;
  /** Directory of this clinic's checkpoints (needed by `checkpoint`/`restore`). */
  checkpointDir?: string;
  /** This clinic's static key pair (needed by `importWeights`). */
  keyPair?: KeyPair;
  /** Applied to each training batch (e.g. random image shift) with that batch's own generator. */
  augment?: (batch: Batch, rng: Rng) => Batch;
  /** The clinic's policy: whether `exportModel` may assemble the full model (default false). */
  allowExport?: boolean;
  /** Privacy defences at the cut (default none); checked with `parseDefenceConfig`. */
  defence?: DefenceConfig;
}

/** Forward passes kept while waiting for their backward: more are evicted, oldest first. */
const MAX_PENDING = 16;
/** Applied steps whose forward reply is still kept. */
const RECENT_REPLIES = 4;
/** Applied step ids remembered for idempotence. */
const MAX_DONE = 4096;
/** Format tag of the checkpoint sidecar. */
const CHECKPOINT_FORMAT = "splitgate-clinic-checkpoint/v1";
const utf8 = new TextEncoder();

interface PendingStep {
  epoch: number;
  batch: number;
  saved: Record<string, Tensor>;
  target: Tensor;
  /** The clean activation (before the noise defence): NoPeek's Z, and the gradient's shape. */
  activation: Tensor;
  /** NoPeek's X (the raw batch), kept only when NoPeek is on. */
  x?: Tensor;
  reply: { activation: Tensor; labels?: Tensor };
  head?: { loss: number; gradHeadInput: Tensor };
}

interface DoneStep {
  epoch: number;
  batch: number;
  head?: { loss: number; gradHeadInput: Tensor };
}

/**
 * Associated data of relayed weights: binds the format and the split mode, so a blob is never
 * read as weights of another layout.
 */
function weightsAad(mode: RawSideMode): Uint8Array {
  return utf8.encode(`splitgate/clinic-weights/v1;mode=${mode}`);
}

function checkTensor(
  t: unknown,
  what: string,
  dims: readonly (number | null)[] | undefined,
  rows?: number,
): asserts t is Tensor<"float32"> {
  const x = t as Tensor | undefined;
  if (
    !x || typeof x !== "object" || x.dtype !== "float32" || !(x.data instanceof Float32Array) ||
    !Array.isArray(x.dims)
  ) {
    throw new RawSideError(
      "BAD_TENSOR",
      `${what} must be a float32 tensor, got ${
        x && typeof x === "object" ? String(x.dtype) : typeof x
      }`,
    );
  }
  const ok = (!dims ||
    (x.dims.length === dims.length && dims.every((d, i) => d === null || d === x.dims[i]))) &&
    (rows === undefined || x.dims[0] === rows) &&
    x.dims.every((d) => Number.isSafeInteger(d) && d >= 0) &&
    x.data.length === sizeOf(x.dims);
  if (!ok) {
    const want = dims
      ? `[${dims.map((d, i) => i === 0 && rows !== undefined ? rows : d ?? "N")}]`
      : `${rows ?? "N"} rows`;
    throw new RawSideError(
      "BAD_TENSOR",
      `${what} has shape [${x.dims}] (${x.data.length} values); expected ${want}`,
    );
  }
  // What comes from the server reaches this clinic's weights through its optimizer step:
  // one NaN or infinity would spoil them for good.
  const bad = firstNonFinite(x.data);
  if (bad >= 0) throw new RawSideError("BAD_TENSOR", `${what}: element ${bad} is ${x.data[bad]}; expected finite values`);
}

function checkStepId(stepId: unknown): asserts stepId is string {
  if (typeof stepId !== "string" || stepId.length === 0 || stepId.length > 128) {
    throw new RawSideError(
      "UNKNOWN_STEP",
      `step id must be a string of 1 to 128 characters, got ${JSON.stringify(stepId)}`,
    );
  }
}

function checkIndex(v: unknown, what: string): asserts v is number {
  if (!Number.isSafeInteger(v) || (v as number) < 0) {
    throw new RawSideError(
      "OUT_OF_RANGE",
      `${what} must be an integer >= 0, got ${JSON.stringify(v)}`,
    );
  }
}

/** Static dims of a segment's input (null for symbolic ones such as the batch; undefined: no shape). */
function staticDims(seg: CompiledSegment, input: number): (number | null)[] | undefined {
  return seg.inputs[input].shape?.map((d) => (typeof d === "number" && d >= 0 ? d : null));
}

/**
 * The in-process raw-data side. Create with {@linkcode LocalRawSide.create}.
 *
 * @example
 * ```ts
 * import { LocalRawSide } from "./raw_side.ts";
 * // const side = await LocalRawSide.create(config);
 * // console.log((await side.info()).stepsPerEpoch);
 * // await side.close();
 * ```
 */
export class LocalRawSide implements RawSide {
  readonly #c: LocalRawSideConfig;
  readonly #front: SegmentSlot;
  readonly #head?: SegmentSlot;
  readonly #cutName: string;
  readonly #headInputName?: string;
  readonly #inputNames: string[];
  readonly #evalBatchSize: number;
  /** Parameter and buffer names of the segment(s) the server runs (what `exportModel` needs from it). */
  readonly #serverNames: ReadonlySet<string>;
  readonly #pending = new Map<string, PendingStep>();
  readonly #done = new Map<string, DoneStep>();
  /** Forward replies of the last few applied steps, for a courier that retries a whole step. */
  readonly #recentReplies = new Map<string, { activation: Tensor; labels?: Tensor }>();
  readonly #defence: DefenceConfig;
  /** Key of the noise streams (never leaves this object). */
  readonly #noiseSecret?: Uint8Array;
  /** NoPeek on the front's engine, and the name of its X input. */
  readonly #nopeek?: { runner: NoPeekRunner; x: string; weight: number };
  #closed = false;

  private constructor(
    c: LocalRawSideConfig,
    front: SegmentSlot,
    head: SegmentSlot | undefined,
    serverNames: ReadonlySet<string>,
    defence: DefenceConfig,
  ) {
    this.#c = c;
    this.#defence = defence;
    if (defence.noise) {
      // A secret the server cannot know (it knows the seed): from the clinic's static key, so a
      // restarted clinic replays the same noise, else random for this process's life.
      this.#noiseSecret = c.keyPair
        ? hkdf(sha256, c.keyPair.secretKey, undefined, utf8.encode("splitgate/cut-noise-secret/v1"), 32)
        : crypto.getRandomValues(new Uint8Array(32));
    }
    const frontSeg = front.runner.segment;
    if (defence.nopeek && defence.nopeek.weight > 0) {
      const x = frontSeg.inputs.find((v) => v.dtype === "float32")!;
      this.#nopeek = {
        runner: new NoPeekRunner(
          front.runner.engine,
          x.shape ?? ["N"],
          frontSeg.outputs[0].shape ?? ["N"],
          undefined,
          defence.nopeek.estimator,
        ),
        x: x.name,
        weight: defence.nopeek.weight,
      };
    }
    this.#serverNames = serverNames;
    this.#front = front;
    this.#head = head;
    this.#cutName = front.runner.segment.outputs[0].name;
    this.#headInputName = head?.runner.segment.inputs[0].name;
    this.#inputNames = front.runner.segment.inputs.map((i) => i.name);
    this.#evalBatchSize = c.evalBatchSize ?? 256;
  }

  /**
   * Compiles the model and binds the clinic's segments to the engine.
   *
   * @throws {RawSideError} `CONFIG_INVALID` for a cut count that does not fit the mode, data
   *   without the model's inputs, or a bad batch size or seed
   * @example
   * ```ts
   * import { LocalRawSide } from "./raw_side.ts";
   * // const side = await LocalRawSide.create({ ...config, mode: "ushaped", cuts: cuts.ushaped });
   * ```
   */
  static async create(config: LocalRawSideConfig): Promise<LocalRawSide> {
    const bad = (msg: string) =>
      new RawSideError("CONFIG_INVALID", `clinic ${JSON.stringify(config.clinic)}: ${msg}`);
    if (config.mode !== "vanilla" && config.mode !== "ushaped") {
      throw bad(`mode must be "vanilla" or "ushaped", got ${JSON.stringify(config.mode)}`);
    }
    const wantCuts = config.mode === "vanilla" ? 1 : 2;
    if (config.cuts.length !== wantCuts) {
      throw bad(`mode ${config.mode} needs ${wantCuts} cut(s), got ${config.cuts.length}`);
    }
    if (!Number.isSafeInteger(config.batchSize) || config.batchSize < 1) {
      throw bad(`batchSize must be an integer >= 1, got ${config.batchSize}`);
    }
    if (
      config.evalBatchSize !== undefined &&
      (!Number.isSafeInteger(config.evalBatchSize) || config.evalBatchSize < 1)
    ) {
      throw bad(`evalBatchSize must be an integer >= 1, got ${config.evalBatchSize}`);
    }
    if (!Number.isSafeInteger(config.seed)) {
      throw bad(`seed must be a safe integer, got ${config.seed}`);
    }
    if (config.data.train.size < 1) throw bad("the training split is empty");
    let defence: DefenceConfig;
    try {
      defence = parseDefenceConfig(config.defence);
    } catch (e) {
      throw bad((e as Error).message);
    }
    if (config.mode === "vanilla" && defence.labelProtection === "norm-equalise") {
      throw bad(
        `defence.labelProtection "norm-equalise" needs mode ushaped: in vanilla mode the server computes the cut gradient, so set labelProtection in the server's config`,
      );
    }
    let model = config.model;
    try {
      model = applyInputNorm(config.model, defence);
    } catch (e) {
      throw bad((e as Error).message);
    }
    const segments = compileModel(model, {
      loss: config.loss,
      cuts: config.cuts,
      seed: config.seed,
    });
    const frontSeg = segments[0];
    if (defence.nopeek && defence.nopeek.weight > 0 && !frontSeg.inputs.some((v) => v.dtype === "float32")) {
      throw bad("defence.nopeek needs a float input of the first segment to correlate with; it has none");
    }
    for (const split of ["train", "val", "test"] as const) {
      for (const i of frontSeg.inputs) {
        if (!(i.name in config.data[split].inputs)) {
          throw bad(
            `the ${split} split has no input ${JSON.stringify(i.name)} (it has ${
              Object.keys(config.data[split].inputs).join(", ")
            })`,
          );
        }
      }
    }
    const front: SegmentSlot = {
      role: "front",
      runner: await SegmentRunner.create(config.engine, frontSeg),
      optimizer: createOptimizer(config.optimizer),
    };
    const head: SegmentSlot | undefined = config.mode === "ushaped"
      ? {
        role: "head",
        runner: await SegmentRunner.create(config.engine, segments[segments.length - 1]),
        optimizer: createOptimizer(config.optimizer),
      }
      : undefined;
    const serverNames = new Set<string>();
    for (const seg of segments.slice(1, config.mode === "ushaped" ? -1 : undefined)) {
      for (const k of [...seg.params.keys(), ...seg.buffers.keys()]) serverNames.add(k);
    }
    // The model as this clinic runs it (with its input defence), so that an export predicts
    // as the trained clinic did.
    return new LocalRawSide({ ...config, model }, front, head, serverNames, defence);
  }

  /**
   * Loads the clinic segments' sessions now (forward, backward, inference; the head's step),
   * so the first training step of a turn does not pay for building them — the same warm-up
   * central training gets.
   *
   * @example
   * ```ts
   * import type { LocalRawSide } from "./raw_side.ts";
   * async function ready(side: LocalRawSide) { await side.warm(); }
   * ```
   */
  async warm(): Promise<void> {
    for (const slot of this.#slots()) await slot.runner.warm();
  }

  /**
   * What leaves for clean activation `z`: `z` itself, or clipped and noised from the keyed
   * stream of `context` and `z`'s digest (see the module notes).
   */
  #sendable(z: Tensor, context: string): Tensor {
    const noise = this.#defence.noise;
    if (!noise) return z;
    const bytes = new Uint8Array(z.data.buffer, z.data.byteOffset, z.data.byteLength);
    const digest = bytesToHex(sha256(bytes));
    const rng = new KeyedNormals(this.#noiseSecret!, `${context}/${this.#c.seed}/${digest}`);
    return clipAndNoise(z, noise, rng);
  }

  #slots(): SegmentSlot[] {
    return this.#head ? [this.#front, this.#head] : [this.#front];
  }

  #open(): void {
    if (this.#closed) {
      throw new RawSideError(
        "CLOSED",
        `raw side of clinic ${JSON.stringify(this.#c.clinic)} is closed`,
      );
    }
  }

  #needHead(method: string): SegmentSlot {
    if (!this.#head) {
      throw new RawSideError(
        "WRONG_MODE",
        `${method}() needs mode ushaped; clinic ${JSON.stringify(this.#c.clinic)} runs vanilla`,
      );
    }
    return this.#head;
  }

  /** {@inheritDoc RawSide.info} */
  // deno-lint-ignore require-await
  async info(): Promise<RawSideInfo> {
    const { clinic, data, mode, batchSize } = this.#c;
    return {
      clinic,
      trainSize: data.train.size,
      valSize: data.val.size,
      testSize: data.test.size,
      mode,
      stepsPerEpoch: stepsPerEpoch(data.train.size, batchSize),
      inputNames: [...this.#inputNames],
      batchSize,
      evalBatchSize: this.#evalBatchSize,
    };
  }

  /** {@inheritDoc RawSide.forward} */
  async forward(
    stepId: string,
    epoch: number,
    batch: number,
  ): Promise<{ activation: Tensor; labels?: Tensor }> {
    this.#open();
    checkStepId(stepId);
    checkIndex(epoch, "epoch");
    checkIndex(batch, "batch");
    const known = this.#pending.get(stepId) ?? this.#done.get(stepId);
    if (known) {
      if (known.epoch !== epoch || known.batch !== batch) {
        throw new RawSideError(
          "STEP_MISMATCH",
          `step ${
            JSON.stringify(stepId)
          } was epoch ${known.epoch} batch ${known.batch}, now asked for epoch ${epoch} batch ${batch}`,
        );
      }
      // A retried forward must not run the front again (BatchNorm statistics would move twice).
      const reply = "reply" in known
        ? (known as PendingStep).reply
        : this.#recentReplies.get(stepId);
      if (reply) return reply;
      throw new RawSideError(
        "UNKNOWN_STEP",
        `step ${JSON.stringify(stepId)} is applied and its activation no longer kept`,
      );
    }
    const { data, batchSize, seed, augment } = this.#c;
    let idx: Uint32Array;
    try {
      idx = batchIndices(seed, epoch, data.train.size, batchSize, batch);
    } catch (e) {
      throw new RawSideError("OUT_OF_RANGE", (e as Error).message);
    }
    let b = data.train.take(idx);
    if (augment) b = augment(b, augmentRng(seed, epoch, batch));
    const inputs: Record<string, Tensor> = {};
    for (const n of this.#inputNames) inputs[n] = b.inputs[n];
    const f = await this.#front.runner.forward(inputs);
    const clean = f.outputs[this.#cutName];
    const activation = this.#sendable(clean, `train/${epoch}/${batch}`);
    const reply = this.#c.mode === "vanilla" ? { activation, labels: b.target } : { activation };
    this.#pending.set(stepId, {
      epoch,
      batch,
      saved: f.saved,
      target: b.target,
      activation: clean,
      x: this.#nopeek ? inputs[this.#nopeek.x] : undefined,
      reply,
    });
    while (this.#pending.size > MAX_PENDING) {
      this.#pending.delete(this.#pending.keys().next().value!);
    }
    return reply;
  }

  /** {@inheritDoc RawSide.head} */
  async head(stepId: string, headInput: Tensor): Promise<{ loss: number; gradHeadInput: Tensor }> {
    this.#open();
    const head = this.#needHead("head");
    checkStepId(stepId);
    const entry = this.#pending.get(stepId);
    if (!entry) {
      const done = this.#done.get(stepId);
      if (done?.head) return done.head;
      throw new RawSideError(
        "UNKNOWN_STEP",
        `no forward pass is waiting for step ${JSON.stringify(stepId)}`,
      );
    }
    if (entry.head) return entry.head; // retried: the head optimizer already stepped
    checkTensor(headInput, "head input", staticDims(head.runner.segment, 0), entry.target.dims[0]);
    const r = await head.runner.step({ [this.#headInputName!]: headInput }, entry.target);
    head.optimizer.step(head.runner.params, r.paramGrads);
    const g = r.inputGrads[this.#headInputName!];
    if (!g) {
      throw new RawSideError("REMOTE", "the head's step graph has no input gradient");
    }
    // The clinic holds the labels in U-shape: this is the gradient the norm attack would read.
    const gradHeadInput = protectCutGradient(g, this.#defence.labelProtection);
    entry.head = { loss: r.loss, gradHeadInput };
    return entry.head;
  }

  /** {@inheritDoc RawSide.backward} */
  async backward(stepId: string, cutGrad: Tensor): Promise<void> {
    this.#open();
    checkStepId(stepId);
    if (this.#done.has(stepId)) return; // retried: never apply the optimizer twice
    const entry = this.#pending.get(stepId);
    if (!entry) {
      throw new RawSideError(
        "UNKNOWN_STEP",
        `no forward pass is waiting for step ${JSON.stringify(stepId)}`,
      );
    }
    if (this.#head && !entry.head) {
      throw new RawSideError(
        "OUT_OF_ORDER",
        `step ${JSON.stringify(stepId)}: head() must run before backward() in U-shape`,
      );
    }
    checkTensor(cutGrad, "cut gradient", entry.activation.dims);
    const g = await this.#withNoPeek(entry, cutGrad);
    const b = await this.#front.runner.backward(entry.saved, { [this.#cutName]: g });
    this.#front.optimizer.step(this.#front.runner.params, b.paramGrads);
    this.#pending.delete(stepId);
    this.#done.set(stepId, { epoch: entry.epoch, batch: entry.batch, head: entry.head });
    while (this.#done.size > MAX_DONE) this.#done.delete(this.#done.keys().next().value!);
    this.#recentReplies.set(stepId, entry.reply);
    while (this.#recentReplies.size > RECENT_REPLIES) {
      this.#recentReplies.delete(this.#recentReplies.keys().next().value!);
    }
  }

  /** The cut gradient plus α·d dCor(X, Z)/dZ when NoPeek is on (NoPeek, Vepakomma et al. 2020, eq. 1). */
  async #withNoPeek(entry: PendingStep, cutGrad: Tensor<"float32">): Promise<Tensor> {
    const np = this.#nopeek;
    if (!np || !entry.x || entry.activation.dims[0] < np.runner.minRows) return cutGrad;
    const { grad } = await np.runner.run(entry.x, entry.activation);
    const a = cutGrad.data, d = grad.data as Float32Array;
    if (d.length !== a.length) {
      throw new RawSideError("REMOTE", `NoPeek gradient has ${d.length} values; the cut gradient ${a.length}`);
    }
    const out = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = a[i] + np.weight * d[i];
    return { dtype: "float32", dims: [...cutGrad.dims], data: out };
  }

  /** {@inheritDoc RawSide.evalForward} */
  async evalForward(
    split: "val" | "test",
    batch: number,
  ): Promise<{ activation: Tensor; labels: Tensor }> {
    this.#open();
    if (split !== "val" && split !== "test") {
      throw new RawSideError(
        "OUT_OF_RANGE",
        `split must be "val" or "test", got ${JSON.stringify(split)}`,
      );
    }
    checkIndex(batch, "batch");
    const ds = this.#c.data[split];
    const n = this.#evalBatchSize, start = batch * n;
    if (start >= ds.size) {
      throw new RawSideError(
        "OUT_OF_RANGE",
        `${split} batch ${batch} is out of range: ${split} has ${
          Math.ceil(ds.size / n)
        } batch(es) of ${n}`,
      );
    }
    const idx = Array.from({ length: Math.min(n, ds.size - start) }, (_, k) => start + k);
    const b = ds.take(idx);
    const inputs: Record<string, Tensor> = {};
    for (const name of this.#inputNames) inputs[name] = b.inputs[name];
    const out = await this.#front.runner.infer(inputs);
    // Evaluation too: the server must never see a clean activation when noise is on.
    return { activation: this.#sendable(out[this.#cutName], `${split}/${batch}`), labels: b.target };
  }

  /** {@inheritDoc RawSide.evalHead} */
  async evalHead(headInput: Tensor): Promise<Tensor> {
    this.#open();
    const head = this.#needHead("evalHead");
    checkTensor(headInput, "head input", staticDims(head.runner.segment, 0));
    const out = await head.runner.infer({ [this.#headInputName!]: headInput });
    return out[head.runner.segment.outputs[0].name];
  }

  #checkpointPaths(epoch?: number): { dir: string; sidecar: string; weights: string } {
    const dir = this.#c.checkpointDir;
    if (!dir) {
      throw new RawSideError(
        "NO_CHECKPOINT_DIR",
        `clinic ${JSON.stringify(this.#c.clinic)} has no checkpoint directory configured`,
      );
    }
    const d = dir.endsWith("/") ? dir.slice(0, -1) : dir;
    return {
      dir: d,
      sidecar: `${d}/${this.#c.clinic}.checkpoint.json`,
      weights: `${this.#c.clinic}.epoch-${epoch ?? 0}.npz`,
    };
  }

  /**
   * {@inheritDoc RawSide.checkpoint}
   *
   * Writes `<clinic>.epoch-<e>.npz` (params, buffers, optimizer state) and then the sidecar
   * `<clinic>.checkpoint.json` naming it, each atomically; the sidecar is the commit point, so
   * a crash between the two leaves the previous checkpoint in force. Older weight files of this
   * clinic are removed afterwards.
   */
  async checkpoint(epoch: number): Promise<void> {
    this.#open();
    checkIndex(epoch, "epoch");
    const p = this.#checkpointPaths(epoch);
    const bytes = writeNpz(collectSegmentState(this.#slots()));
    await writeFileAtomic(`${p.dir}/${p.weights}`, bytes);
    const sidecar = {
      format: CHECKPOINT_FORMAT,
      clinic: this.#c.clinic,
      mode: this.#c.mode,
      epoch,
      weights: p.weights,
      sha256: bytesToHex(sha256(bytes)),
    };
    await writeFileAtomic(p.sidecar, utf8.encode(JSON.stringify(sidecar, null, 2) + "\n"));
    const prefix = `${this.#c.clinic}.epoch-`;
    for await (const entry of Deno.readDir(p.dir)) {
      if (
        entry.isFile && entry.name.startsWith(prefix) && entry.name.endsWith(".npz") &&
        entry.name !== p.weights
      ) {
        await Deno.remove(`${p.dir}/${entry.name}`).catch(() => {});
      }
    }
  }

  /** {@inheritDoc RawSide.restore} */
  async restore(): Promise<{ epoch: number } | null> {
    this.#open();
    const p = this.#checkpointPaths();
    let text: string;
    try {
      text = await Deno.readTextFile(p.sidecar);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    const bad = (msg: string) => new RawSideError("CHECKPOINT_INVALID", `${p.sidecar}: ${msg}`);
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(text);
    } catch {
      throw bad("not valid JSON");
    }
    if (meta?.format !== CHECKPOINT_FORMAT) {
      throw bad(`format is ${JSON.stringify(meta?.format)}; expected ${CHECKPOINT_FORMAT}`);
    }
    if (meta.clinic !== this.#c.clinic || meta.mode !== this.#c.mode) {
      throw bad(
        `checkpoint of clinic ${JSON.stringify(meta.clinic)} mode ${meta.mode}; this is ${
          JSON.stringify(this.#c.clinic)
        } mode ${this.#c.mode}`,
      );
    }
    const epoch = meta.epoch;
    if (!Number.isSafeInteger(epoch) || (epoch as number) < 0) {
      throw bad(`epoch ${JSON.stringify(epoch)} is not an integer >= 0`);
    }
    if (
      typeof meta.weights !== "string" || meta.weights.includes("/") ||
      !meta.weights.endsWith(".npz")
    ) {
      throw bad(
        `weights ${JSON.stringify(meta.weights)} is not a file name in the checkpoint directory`,
      );
    }
    const bytes = await Deno.readFile(`${p.dir}/${meta.weights}`);
    if (bytesToHex(sha256(bytes)) !== meta.sha256) {
      throw bad(`${meta.weights} does not match its SHA-256 (torn or altered)`);
    }
    applySegmentState(this.#slots(), readNpz(bytes, meta.weights), `checkpoint ${meta.weights}`);
    this.#pending.clear();
    this.#done.clear();
    this.#recentReplies.clear();
    return { epoch: epoch as number };
  }

  /** {@inheritDoc RawSide.exportWeights} */
  // deno-lint-ignore require-await
  async exportWeights(recipientPublicKey: Uint8Array): Promise<Uint8Array> {
    this.#open();
    const bytes = writeNpz(collectSegmentState(this.#slots()), { level: 1 });
    try {
      return seal(recipientPublicKey, bytes, weightsAad(this.#c.mode));
    } finally {
      bytes.fill(0);
    }
  }

  /** {@inheritDoc RawSide.importWeights} */
  // deno-lint-ignore require-await
  async importWeights(sealed: Uint8Array): Promise<void> {
    this.#open();
    const kp = this.#c.keyPair;
    if (!kp) {
      throw new RawSideError(
        "NO_KEY",
        `clinic ${JSON.stringify(this.#c.clinic)} has no key pair to open relayed weights`,
      );
    }
    const bytes = open(kp, sealed, weightsAad(this.#c.mode));
    let state;
    try {
      state = readNpz(bytes, "relayed weights", { maxBytes: 1 << 30 });
    } catch (e) {
      throw new RawSideError("WEIGHTS_INVALID", `relayed weights: ${(e as Error).message}`);
    }
    applySegmentState(this.#slots(), state, "relayed weights");
  }

  /**
   * {@inheritDoc RawSide.exportModel}
   *
   * The server's weights must name exactly the initializers of the server's segment (no
   * clinic weight can be overridden, none may be missing); `exportModel` checks their dtypes
   * and shapes. The file is `<checkpointDir>/<clinic>.export.onnx`, written atomically: the
   * checkpoint directory is the only place this process may write.
   */
  async exportModel(serverWeights: Uint8Array): Promise<{ file: string; bytes: number }> {
    this.#open();
    if (this.#c.allowExport !== true) {
      throw new RawSideError(
        "EXPORT_FORBIDDEN",
        `clinic ${JSON.stringify(this.#c.clinic)}: policy.allowExport is false; the full model is not assembled`,
      );
    }
    const p = this.#checkpointPaths();
    if (!(serverWeights instanceof Uint8Array)) {
      throw new RawSideError("WEIGHTS_INVALID", "server weights must be .npz bytes");
    }
    let arrays;
    try {
      arrays = readNpz(serverWeights, "server weights", { maxBytes: 1 << 30 });
    } catch (e) {
      throw new RawSideError("WEIGHTS_INVALID", `server weights: ${(e as Error).message}`);
    }
    const weights = this.weights();
    for (const [name, t] of arrays) {
      if (!this.#serverNames.has(name)) {
        throw new RawSideError(
          "WEIGHTS_INVALID",
          `server weights: ${JSON.stringify(name.slice(0, 80))} is not a parameter or buffer of the server's segment`,
        );
      }
      if (isStringArray(t) || t.dtype !== "float32") {
        throw new RawSideError("WEIGHTS_INVALID", `server weights: ${JSON.stringify(name)} is not a float32 tensor`);
      }
      weights.set(name, t as Tensor);
    }
    const missing = [...this.#serverNames].filter((n) => !arrays.has(n));
    if (missing.length > 0) {
      throw new RawSideError("WEIGHTS_INVALID", `server weights lack ${missing.slice(0, 5).join(", ")}`);
    }
    let bytes: Uint8Array;
    try {
      bytes = writeModel(exportModel(this.#c.model, weights));
    } catch (e) {
      throw new RawSideError("WEIGHTS_INVALID", `server weights: ${(e as Error).message}`);
    }
    const file = `${this.#c.clinic}.export.onnx`;
    await writeFileAtomic(`${p.dir}/${file}`, bytes);
    return { file, bytes: bytes.length };
  }

  /**
   * A copy of the clinic segments' parameters and buffers by initializer name (for reports,
   * tests and a policy-permitted full-model export; never sent anywhere by the raw side).
   *
   * @example
   * ```ts
   * import { LocalRawSide } from "./raw_side.ts";
   * // const w = side.weights(); w.get("block1.conv.weight")
   * ```
   */
  weights(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const { runner } of this.#slots()) {
      for (const m of [runner.params, runner.buffers]) {
        for (const [k, v] of m) {
          out.set(k, { dtype: v.dtype, dims: [...v.dims], data: v.data.slice() } as Tensor);
        }
      }
    }
    return out;
  }

  /** {@inheritDoc RawSide.close} */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending.clear();
    for (const { runner } of this.#slots()) await runner.release();
    await this.#nopeek?.runner.release();
  }
}
