/**
 * Serves a {@linkcode RawSide} over a byte-stream pair with the frames of `wire.ts`:
 * the loop of the sandboxed raw-data process (stdin in, stdout out). Calls run one at a time in
 * arrival order (the raw side is a sequential state machine); every failure becomes an error
 * frame carrying the error's class, code and message, and the loop goes on.
 *
 * @example
 * ```ts
 * import { serveRawSide } from "./service.ts";
 * import type { RawSide } from "./api.ts";
 * // The loop of the sandboxed process: stdin in, stdout out.
 * async function serve(side: RawSide) { await serveRawSide(side, Deno.stdin.readable, Deno.stdout.writable); }
 * ```
 * @module
 */
import type { Tensor } from "../../../models/tensor.ts";
import { hexToBytes } from "@noble/hashes/utils.js";
import type { RawSide } from "./api.ts";
import { RawSideError } from "./error.ts";
import { answerSecureFront, secureFrontCall } from "./secure_front_wire.ts";
import { PhaseProfile } from "../../protocol/phase_profile.ts";
import { errorHeader } from "./error_header.ts";
import {
  bytesTensor,
  decodeFrame,
  encodeFrame,
  type FrameEncoding,
  FRAME_KIND,
  FrameReader,
  type WireMessage,
} from "./wire.ts";

function need(m: WireMessage, name: string): Tensor {
  const t = m.tensors.get(name);
  if (!t) {
    throw new RawSideError("BAD_TENSOR", `${m.method}: tensor ${JSON.stringify(name)} is missing`);
  }
  return t;
}

function bytesOf(m: WireMessage, name: string): Uint8Array {
  const t = need(m, name);
  if (t.dtype !== "uint8" || t.dims.length !== 1) {
    throw new RawSideError("BAD_TENSOR", `${m.method}: ${name} must be uint8 [n]`);
  }
  return t.data as Uint8Array;
}

/** The `mix` of an `importWeights` call: a number in (0, 1]. */
function mixOf(v: unknown): number {
  if (typeof v !== "number" || !(v > 0 && v <= 1)) {
    throw new RawSideError("PROTOCOL", `importWeights mix ${JSON.stringify(v)}: expected a number in (0, 1]`);
  }
  return v;
}

/** The peers map of an `importWeights` call: `{name: 64 hex digits}` in its header. */
function peersOf(m: WireMessage, peers: unknown): Map<string, Uint8Array> {
  if (peers === null || typeof peers !== "object" || Array.isArray(peers)) {
    throw new RawSideError("PROTOCOL", `${m.method}: header.peers must be an object of hex keys by name`);
  }
  const out = new Map<string, Uint8Array>();
  for (const [name, hex] of Object.entries(peers as Record<string, unknown>)) {
    if (typeof hex !== "string" || !/^[0-9a-f]{64}$/.test(hex)) {
      throw new RawSideError("PROTOCOL", `${m.method}: header.peers.${name} must be 64 hex digits`);
    }
    out.set(name, hexToBytes(hex));
  }
  return out;
}

type Reply = { header?: unknown; tensors?: Record<string, Tensor> };

/** Replies whose tensors the courier relays to the server (in the wire codec, when given). */
const CUT_REPLIES = new Set(["forward", "head", "evalForward"]);

async function dispatch(side: RawSide, m: WireMessage): Promise<Reply> {
  const h = (m.header ?? {}) as Record<string, unknown>;
  if (typeof h !== "object" || Array.isArray(h)) {
    throw new RawSideError("PROTOCOL", `${m.method}: header must be a JSON object`);
  }
  switch (m.method) {
    case "info":
      return { header: await side.info() };
    case "forward": {
      const r = await side.forward(h.stepId as string, h.epoch as number, h.batch as number, h.decoy === true);
      return {
        tensors: r.labels
          ? { activation: r.activation, labels: r.labels }
          : { activation: r.activation },
      };
    }
    case "head": {
      const r = await side.head(h.stepId as string, need(m, "headInput"));
      return { header: { loss: r.loss }, tensors: { gradHeadInput: r.gradHeadInput } };
    }
    case "backward":
      await side.backward(h.stepId as string, need(m, "cutGrad"));
      return {};
    case "evalForward": {
      const r = await side.evalForward(h.split as "val" | "test", h.batch as number);
      return { tensors: { activation: r.activation, labels: r.labels } };
    }
    case "evalHead":
      return { tensors: { logits: await side.evalHead(need(m, "headInput")) } };
    case "checkpoint":
      await side.checkpoint(h.epoch as number);
      return {};
    case "restore":
      return { header: { restored: await side.restore() } };
    case "exportWeights": {
      const to = { name: h.to as string, publicKey: bytesOf(m, "recipientPublicKey") };
      const sealed = await side.exportWeights(to, { run: bytesOf(m, "run"), epoch: h.epoch as number });
      return { tensors: { sealed: bytesTensor(sealed) } };
    }
    case "importWeights":
      return {
        header: await side.importWeights(bytesOf(m, "sealed"), {
          run: bytesOf(m, "run"),
          peers: peersOf(m, h.peers),
          ...(h.mix === undefined ? {} : { mix: mixOf(h.mix) }),
        }),
      };
    case "exportModel":
      return { header: await side.exportModel(bytesOf(m, "serverWeights")) };
    case "secureFront":
      return answerSecureFront(await side.secureFront(secureFrontCall(m)));
    case "close":
      await side.close();
      return {};
    default:
      throw new RawSideError("PROTOCOL", `unknown method ${JSON.stringify(m.method)}`);
  }
}

/**
 * Announces `ready` (with `side.info()`), then answers request frames from `input` on `output`
 * until `close` or the end of `input`; closes the side at the end. `profile` (default: off)
 * collects per-method times of frame decode, compute, frame encode and pipe write. `codec`
 * (the clinic's wire codec; default none: float32 exact) encodes the cut tensors of the
 * `forward`, `head` and `evalForward` replies, which the courier relays as they are.
 *
 * @throws {RawSideError} `PROTOCOL` when `input` breaks off inside a frame
 * @example
 * ```ts
 * import { serveRawSide } from "./service.ts";
 * import { RawSideStub } from "./stub.ts";
 * import type { RawSide } from "./api.ts";
 * // In-process: a stub on one end of two streams, the side served on the other.
 * async function pair(localSide: RawSide) {
 *   const toSide = new TransformStream<Uint8Array, Uint8Array>(), fromSide = new TransformStream<Uint8Array, Uint8Array>();
 *   const served = serveRawSide(localSide, toSide.readable, fromSide.writable);
 *   const stub = new RawSideStub(fromSide.readable, toSide.writable);
 *   console.log((await stub.ready).clinic);
 *   await stub.close();
 *   await served;
 * }
 * ```
 */
export async function serveRawSide(
  side: RawSide,
  input: ReadableStream<Uint8Array>,
  output: WritableStream<Uint8Array>,
  profile: PhaseProfile = new PhaseProfile(false),
  codec?: FrameEncoding["codec"],
): Promise<void> {
  const writer = output.getWriter();
  const reader = new FrameReader(input);
  const send = async (m: WireMessage) => {
    // The cut tensors go out in the clinic's wire codec, for the courier to relay as they are.
    // reuseRecords: an activation quantised in the graph goes as the int8 record it came with.
    const enc = codec && m.kind === FRAME_KIND.reply && CUT_REPLIES.has(m.method) ? { codec, reuseRecords: true } : {};
    const frame = profile.time(`raw encode ${m.method}`, () => encodeFrame(m, enc));
    await profile.timeAsync(`raw write ${m.method}`, () => writer.write(frame));
  };
  try {
    await send({
      id: 0,
      kind: FRAME_KIND.ready,
      method: "ready",
      header: await side.info(),
      tensors: new Map(),
    });
    for (;;) {
      const body = await reader.next();
      if (body === null) break;
      let m: WireMessage;
      try {
        // int8Views: an int8 cut gradient keeps its codes for a backward graph that takes them.
        m = profile.time("raw decode", () => decodeFrame(body, undefined, false, true));
      } catch (e) {
        // The id is the first field; answer it if it could be read, so the caller is not left waiting.
        const id = body.length >= 4 ? new DataView(body.buffer, body.byteOffset).getUint32(0) : 0;
        await send({
          id,
          kind: FRAME_KIND.error,
          method: "?",
          header: errorHeader(e),
          tensors: new Map(),
        });
        continue;
      }
      if (m.kind !== FRAME_KIND.request) {
        await send({
          id: m.id,
          kind: FRAME_KIND.error,
          method: m.method,
          header: errorHeader(
            new RawSideError("PROTOCOL", `expected a request frame, got kind ${m.kind}`),
          ),
          tensors: new Map(),
        });
        continue;
      }
      try {
        const r = await profile.timeAsync(`raw compute ${m.method}`, () => dispatch(side, m));
        await send({
          id: m.id,
          kind: FRAME_KIND.reply,
          method: m.method,
          header: r.header ?? {},
          tensors: new Map(Object.entries(r.tensors ?? {})),
        });
      } catch (e) {
        await send({
          id: m.id,
          kind: FRAME_KIND.error,
          method: m.method,
          header: errorHeader(e),
          tensors: new Map(),
        });
      }
      if (m.method === "close") break;
    }
  } finally {
    await side.close().catch(() => {});
    await reader.cancel();
    await writer.close().catch(() => {});
  }
}
