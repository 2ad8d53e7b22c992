/**
 * The parent's end of the raw-side pipe: a {@linkcode RawSide} whose calls become request
 * frames on one stream and whose results come back as reply frames on the other. Calls may
 * overlap; replies are matched by id. Errors come back as the same classes with the same codes
 * (`RawSideError`, `NoiseError`, `TypeError`, `RangeError`).
 *
 * @example
 * ```ts
 * import { RawSideStub } from "./stub.ts";
 * async function ready(child: Deno.ChildProcess) {
 *   const stub = new RawSideStub(child.stdout, child.stdin);
 *   return (await stub.ready).stepsPerEpoch;
 * }
 * ```
 * @module
 */
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Tensor } from "../../../models/tensor.ts";
import type { RawSide, RawSideInfo, WeightsRecipient } from "./api.ts";
import type { SecureFrontCall, SecureFrontResult } from "./secure_front.ts";
import { secureFrontReply, secureFrontRequest } from "./secure_front_wire.ts";
import { PhaseProfile } from "../../protocol/phase_profile.ts";
import { RawSideError } from "./error.ts";
import { errorFromHeader, type ErrorHeader } from "./error_header.ts";
import {
  bytesTensor,
  decodeFrame,
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FRAME_KIND,
  FrameReader,
  type WireMessage,
} from "./wire.ts";

/**
 * Options of {@linkcode RawSideStub}.
 *
 * @example
 * ```ts
 * import type { RawSideStubOptions } from "./stub.ts";
 * const seen: Uint8Array[] = [];
 * const o: RawSideStubOptions = { onBytes: (dir, b) => { if (dir === "fromRawSide") seen.push(b); } };
 * ```
 */
export interface RawSideStubOptions {
  /** Sees every byte chunk crossing the pipe, in both directions (audits, the canary test). */
  onBytes?: (direction: "toRawSide" | "fromRawSide", bytes: Uint8Array) => void;
  /** Largest frame accepted from the raw side (default 512 MiB). */
  maxFrameBytes?: number;
  /** Per-method timings of the pipe calls (frame encode/decode, round trip); default none. */
  profile?: PhaseProfile;
}

/**
 * A {@linkcode RawSide} over a stream pair.
 *
 * @example
 * ```ts
 * import { RawSideStub } from "./stub.ts";
 * import type { RawSide } from "./api.ts";
 * async function step(readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>) {
 *   const side: RawSide = new RawSideStub(readable, writable);
 *   await side.forward("1:0", 1, 0);
 * }
 * ```
 */
export class RawSideStub implements RawSide {
  /** Resolves with the raw side's info once it announced `ready`; rejects if the pipe ends first. */
  readonly ready: Promise<RawSideInfo>;
  /** Resolves when the pipe from the raw side has ended (cleanly or not). */
  readonly ended: Promise<void>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<
    number,
    { resolve: (m: WireMessage) => void; reject: (e: Error) => void }
  >();
  readonly #onBytes?: RawSideStubOptions["onBytes"];
  #nextId = 1;
  #closedWith?: Error;
  #writeChain: Promise<void> = Promise.resolve();
  readonly #prof: PhaseProfile;

  /**
   * @param fromRawSide the raw side's output (child stdout)
   * @param toRawSide the raw side's input (child stdin)
   */
  constructor(
    fromRawSide: ReadableStream<Uint8Array>,
    toRawSide: WritableStream<Uint8Array>,
    opts: RawSideStubOptions = {},
  ) {
    this.#writer = toRawSide.getWriter();
    this.#onBytes = opts.onBytes;
    const prof = this.#prof = opts.profile ?? new PhaseProfile(false);
    let readyResolve!: (i: RawSideInfo) => void, readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => {}); // observed by callers that care; avoid an unhandled rejection
    const reader = new FrameReader(
      fromRawSide,
      opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      opts.onBytes ? (b) => opts.onBytes!("fromRawSide", b) : undefined,
    );
    this.ended = (async () => {
      let failure: Error = new RawSideError("CLOSED", "the raw side's output ended");
      try {
        for (;;) {
          const body = await reader.next();
          if (body === null) break;
          const t0 = prof.enabled ? performance.now() : 0;
          // Tensors keep their records: the cut activation goes on to the server as it came
          // (an int8 one as a view: never dequantised here).
          const m = decodeFrame(body, undefined, true, true);
          if (prof.enabled) prof.add(`stub decode ${m.method}`, performance.now() - t0);
          if (m.kind === FRAME_KIND.ready) {
            readyResolve(m.header as RawSideInfo);
            continue;
          }
          const p = this.#pending.get(m.id);
          if (!p) throw new RawSideError("PROTOCOL", `reply for unknown request id ${m.id}`);
          this.#pending.delete(m.id);
          if (m.kind === FRAME_KIND.reply) p.resolve(m);
          else if (m.kind === FRAME_KIND.error) p.reject(errorFromHeader(m.header as ErrorHeader));
          else p.reject(new RawSideError("PROTOCOL", `unexpected frame kind ${m.kind}`));
        }
      } catch (e) {
        failure = e instanceof RawSideError
          ? e
          : new RawSideError("PROTOCOL", (e as Error).message, { cause: e });
        await reader.cancel();
      }
      this.#fail(failure);
      readyReject(failure);
    })();
  }

  #fail(e: Error): void {
    this.#closedWith ??= e;
    for (const p of this.#pending.values()) p.reject(e);
    this.#pending.clear();
  }

  /**
   * Fails every waiting and future call with `error` (e.g. the process exited).
   *
   * @example
   * ```ts
   * import { RawSideStub } from "./stub.ts";
   * import { RawSideError } from "./error.ts";
   * function exited(stub: RawSideStub) {
   *   stub.abort(new RawSideError("CLOSED", "raw-side process exited with code 1"));
   * }
   * ```
   */
  abort(error: Error): void {
    this.#fail(error);
  }

  #call(
    method: string,
    header: unknown = {},
    tensors: Record<string, Tensor> = {},
  ): Promise<WireMessage> {
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    const id = this.#nextId++;
    let frame: Uint8Array;
    const t0 = this.#prof.enabled ? performance.now() : 0;
    try {
      // A tensor from the server (the cut gradient) goes on in the record it came in.
      frame = encodeFrame({
        id,
        kind: FRAME_KIND.request,
        method,
        header,
        tensors: new Map(Object.entries(tensors)),
      }, { reuseRecords: true });
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#prof.enabled) this.#prof.add(`stub encode ${method}`, performance.now() - t0);
    let reply = new Promise<WireMessage>((resolve, reject) =>
      this.#pending.set(id, { resolve, reject })
    );
    if (this.#prof.enabled) {
      reply = reply.then((m) => {
        this.#prof.add(`stub rpc ${method} (round trip)`, performance.now() - t0);
        return m;
      });
    }
    this.#onBytes?.("toRawSide", frame);
    this.#writeChain = this.#writeChain.then(() => this.#writer.write(frame)).catch((e) => {
      this.#fail(
        new RawSideError("CLOSED", `cannot write to the raw side: ${(e as Error).message}`),
      );
    });
    return reply;
  }

  /** {@inheritDoc RawSide.info} */
  async info(): Promise<RawSideInfo> {
    return (await this.#call("info")).header as RawSideInfo;
  }

  /** {@inheritDoc RawSide.forward} */
  async forward(
    stepId: string,
    epoch: number,
    batch: number,
    decoy?: boolean,
  ): Promise<{ activation: Tensor; labels?: Tensor }> {
    const r = await this.#call("forward", decoy ? { stepId, epoch, batch, decoy } : { stepId, epoch, batch });
    const activation = r.tensors.get("activation");
    if (!activation) throw new RawSideError("PROTOCOL", "forward reply has no activation");
    const labels = r.tensors.get("labels");
    return labels ? { activation, labels } : { activation };
  }

  /** {@inheritDoc RawSide.head} */
  async head(stepId: string, headInput: Tensor): Promise<{ loss: number; gradHeadInput: Tensor }> {
    const r = await this.#call("head", { stepId }, { headInput });
    const g = r.tensors.get("gradHeadInput");
    const loss = (r.header as { loss?: unknown }).loss;
    if (!g || typeof loss !== "number") {
      throw new RawSideError("PROTOCOL", "head reply lacks loss or gradHeadInput");
    }
    return { loss, gradHeadInput: g };
  }

  /** {@inheritDoc RawSide.backward} */
  async backward(stepId: string, cutGrad: Tensor): Promise<void> {
    await this.#call("backward", { stepId }, { cutGrad });
  }

  /** {@inheritDoc RawSide.evalForward} */
  async evalForward(
    split: "val" | "test",
    batch: number,
  ): Promise<{ activation: Tensor; labels: Tensor }> {
    const r = await this.#call("evalForward", { split, batch });
    const activation = r.tensors.get("activation"), labels = r.tensors.get("labels");
    if (!activation || !labels) {
      throw new RawSideError("PROTOCOL", "evalForward reply lacks activation or labels");
    }
    return { activation, labels };
  }

  /** {@inheritDoc RawSide.evalHead} */
  async evalHead(headInput: Tensor): Promise<Tensor> {
    const logits = (await this.#call("evalHead", {}, { headInput })).tensors.get("logits");
    if (!logits) throw new RawSideError("PROTOCOL", "evalHead reply has no logits");
    return logits;
  }

  /** {@inheritDoc RawSide.checkpoint} */
  async checkpoint(epoch: number): Promise<void> {
    await this.#call("checkpoint", { epoch });
  }

  /** {@inheritDoc RawSide.restore} */
  async restore(): Promise<{ epoch: number } | null> {
    const r = (await this.#call("restore")).header as { restored?: { epoch: number } | null };
    return r.restored ?? null;
  }

  /** {@inheritDoc RawSide.exportWeights} */
  async exportWeights(to: WeightsRecipient, binding: { run: Uint8Array; epoch: number }): Promise<Uint8Array> {
    const sealed = (await this.#call("exportWeights", { to: to.name, epoch: binding.epoch }, {
      recipientPublicKey: bytesTensor(to.publicKey),
      run: bytesTensor(binding.run),
    })).tensors.get("sealed");
    if (!sealed || sealed.dtype !== "uint8") {
      throw new RawSideError("PROTOCOL", "exportWeights reply has no sealed bytes");
    }
    return sealed.data as Uint8Array;
  }

  /** {@inheritDoc RawSide.importWeights} */
  async importWeights(
    sealed: Uint8Array,
    from: { run: Uint8Array; peers: ReadonlyMap<string, Uint8Array>; mix?: number },
  ): Promise<{ sender: string; epoch: number; seq: number }> {
    const peers = Object.fromEntries([...from.peers].map(([name, key]) => [name, bytesToHex(key)]));
    const h = (await this.#call("importWeights", from.mix === undefined ? { peers } : { peers, mix: from.mix }, {
      sealed: bytesTensor(sealed),
      run: bytesTensor(from.run),
    })).header as { sender?: unknown; epoch?: unknown; seq?: unknown };
    if (typeof h.sender !== "string" || !Number.isSafeInteger(h.epoch) || !Number.isSafeInteger(h.seq)) {
      throw new RawSideError("PROTOCOL", "importWeights reply lacks sender, epoch or seq");
    }
    return { sender: h.sender, epoch: h.epoch as number, seq: h.seq as number };
  }

  /** {@inheritDoc RawSide.exportModel} */
  async exportModel(serverWeights: Uint8Array): Promise<{ file: string; bytes: number }> {
    const h = (await this.#call("exportModel", {}, { serverWeights: bytesTensor(serverWeights) })).header as {
      file?: unknown;
      bytes?: unknown;
    };
    if (typeof h.file !== "string" || typeof h.bytes !== "number") {
      throw new RawSideError("PROTOCOL", "exportModel reply lacks file or bytes");
    }
    return { file: h.file, bytes: h.bytes };
  }

  /** {@inheritDoc RawSide.secureFront} */
  async secureFront(call: SecureFrontCall): Promise<SecureFrontResult> {
    const r = secureFrontRequest(call);
    return secureFrontReply(await this.#call("secureFront", r.header, r.tensors));
  }

  /** Asks the raw side to close and end its loop; then closes the pipe towards it. */
  async close(): Promise<void> {
    if (!this.#closedWith) {
      try {
        await this.#call("close");
      } catch {
        // already gone: nothing to close
      }
      this.#fail(new RawSideError("CLOSED", "the raw side is closed"));
    }
    await this.#writeChain;
    await this.#writer.close().catch(() => {});
  }
}
