/**
 * The HTTP face of a vertical study: a Noise IK handshake per party (the allowlist decides
 * who may join, as in horizontal training) and one route carrying sealed messages
 * (`runtime/protocol/vertical_wire.ts`) to {@linkcode VerticalServer} and to the PSI relay.
 *
 * - `POST /v1/vertical/handshake`: message 1 → message 2, header `x-splitgate-session`;
 * - `POST /v1/vertical/session/:id`: the sealed frames of one request (`body_frames.ts`) →
 *   the sealed frames of its reply. Requests of one session are answered in order.
 *
 * The PSI relay stores each party's message of a round until its peer fetches it; it sees
 * only blinded ristretto255 points (`crypto/psi`), never an identifier, and cannot match
 * them (it holds neither party's scalar). It serves exactly two parties.
 *
 * @example
 * ```ts
 * import { createVerticalApp } from "./vertical_app.ts";
 * // const { app } = createVerticalApp({ keyPair, allowlist, server: verticalServer, log: console.log });
 * // Deno.serve({ hostname: "127.0.0.1", port: 0 }, app.fetch);
 * ```
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  compareTai64n,
  openChunked,
  responderHandshake,
  sealChunked,
  type SecureChannel,
} from "../../crypto/channel/mod.ts";
import type { Allowlist, KeyPair } from "../../crypto/keys/mod.ts";
import type { Tensor } from "../../models/tensor.ts";
import type { BundleOptions } from "../codec/mod.ts";
import { packFrames, unpackFrames } from "../protocol/body_frames.ts";
import {
  APP_FRAME_TYPE,
  PROTOCOL_CHANNEL_OPTIONS,
  SESSION_HEADER,
} from "../protocol/channel_settings.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import {
  decodeVertical,
  encodeVertical,
  type VerticalHeader,
  type VerticalMessage,
} from "../protocol/vertical_wire.ts";
import type { VerticalServer } from "./vertical_step.ts";
import { VerticalEpochs } from "./vertical_epochs.ts";
import {
  peerAddressOf,
  VERTICAL_HANDSHAKE_RATE,
  VerticalHandshakeRate,
  type VerticalHandshakeRateOptions,
} from "./vertical_handshake_rate.ts";

/** Default wait of a `V_PSI_GET` for the peer's message (ms): parties may start minutes apart. */
const PSI_TIMEOUT_MS = 300_000;
import { HandshakeTimestamps } from "./handshake_timestamps.ts";

/** What the vertical app needs. */
export interface VerticalAppDeps {
  keyPair: KeyPair;
  allowlist: Allowlist;
  server: VerticalServer;
  /** Wire codec of the tensors the server sends (default float32). */
  codec?: BundleOptions;
  /** Last accepted handshake timestamps (default: a fresh in-memory table). */
  timestamps?: Promise<HandshakeTimestamps>;
  /** Largest request body (default 64 MiB). */
  maxBodyBytes?: number;
  log: (line: string) => void;
  /**
   * Called with every PSI message the relay stores (an audit hook: it shows what the server
   * holds, which is blinded points only).
   */
  onRelay?: (tag: string, round: number, from: string, points: Uint8Array) => void;
  /** Epoch checkpoints of the top (`vertical_epochs.ts`); none: no checkpoint, resume at 0. */
  checkpointDir?: string;
  /** Handshake rate limits (`vertical_handshake_rate.ts`; default the horizontal server's). */
  handshakeRate?: VerticalHandshakeRateOptions;
  /** How long a `V_PSI_GET` waits for the peer's message before `PSI_TIMEOUT` (ms, default 300000). */
  psiTimeoutMs?: number;
  /** The clock of the rate limits (ms; tests). */
  now?: () => number;
}

interface Session {
  party: string;
  channel: SecureChannel;
  /** Requests of one session run one after another. */
  queue: Promise<unknown>;
}

/** The PSI relay: one mailbox per (tag, round, sender). */
class PsiRelay {
  #boxes = new Map<string, { bytes?: Uint8Array; waiters: ((b: Uint8Array) => void)[] }>();

  #box(key: string) {
    let b = this.#boxes.get(key);
    if (!b) this.#boxes.set(key, b = { waiters: [] });
    return b;
  }

  put(tag: string, round: number, from: string, bytes: Uint8Array): void {
    const b = this.#box(`${tag}/${round}/${from}`);
    if (b.bytes) {
      throw new ProtocolError(
        "BAD_MESSAGE",
        `PSI ${tag} round ${round}: ${from} already sent its message`,
      );
    }
    b.bytes = bytes;
    for (const w of b.waiters.splice(0)) w(bytes);
  }

  /**
   * The message of `from`, once it arrived; after `timeoutMs` without it, `PSI_TIMEOUT` (a
   * peer that never comes must not hold the asking party's request, and this server, forever).
   */
  get(tag: string, round: number, from: string, timeoutMs: number): Promise<Uint8Array> {
    const b = this.#box(`${tag}/${round}/${from}`);
    if (b.bytes) return Promise.resolve(b.bytes);
    return new Promise((resolve, reject) => {
      const waiter = (bytes: Uint8Array) => {
        clearTimeout(timer);
        resolve(bytes);
      };
      const timer = setTimeout(() => {
        b.waiters.splice(b.waiters.indexOf(waiter), 1);
        reject(
          new ProtocolError(
            "PSI_TIMEOUT",
            `PSI ${tag} round ${round}: no message from ${from} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      b.waiters.push(waiter);
    });
  }
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Builds the vertical study's Hono app.
 *
 * @example
 * ```ts
 * import { createVerticalApp } from "./vertical_app.ts";
 * console.log(typeof createVerticalApp); // "function"
 * ```
 */
export function createVerticalApp(d: VerticalAppDeps): { app: Hono } {
  const sessions = new Map<string, Session>();
  const relay = new PsiRelay();
  const timestamps = d.timestamps ?? HandshakeTimestamps.load(undefined);
  const parties = d.allowlist.entries.map((e) => e.name);
  const epochs = new VerticalEpochs(d.server, parties, d.checkpointDir, d.log);
  const rate = new VerticalHandshakeRate(
    d.handshakeRate ?? VERTICAL_HANDSHAKE_RATE,
    d.now ?? Date.now,
  );
  const app = new Hono();
  app.post("/v1/vertical/handshake", bodyLimit({ maxSize: 1024 }), async (c) => {
    const from = peerAddressOf(c.env);
    const busy = rate.byAddress(from);
    if (busy) {
      d.log(`vertical handshake refused: RATE_LIMITED, address ${from}`);
      return busy;
    }
    const body = new Uint8Array(await c.req.arrayBuffer());
    let hs;
    try {
      hs = responderHandshake({
        staticKeyPair: d.keyPair,
        lookupPeer: (k) => d.allowlist.lookup(k),
        channel: PROTOCOL_CHANNEL_OPTIONS,
      }, body);
    } catch (e) {
      d.log(`vertical handshake refused: ${(e as Error).message}`);
      return c.json({ code: "BAD_HANDSHAKE", message: "handshake refused" }, 403);
    }
    // A replayed message 1 (its encrypted TAI64N timestamp not newer than the last accepted
    // from that key) is refused, as on the horizontal route (WireGuard paper §5.1).
    const ts = await timestamps;
    const last = ts.last(hs.peerPublicKey);
    const stale = last !== undefined && compareTai64n(hs.timestamp, last) <= 0;
    // Per key, as the horizontal route: after the replay check, before the timestamp is kept.
    const keyBusy = stale ? null : rate.byKey(hex(hs.peerPublicKey), hs.peerName);
    if (keyBusy) {
      hs.channel.destroy();
      d.log(`vertical handshake refused: RATE_LIMITED, party ${hs.peerName}`);
      return keyBusy;
    }
    if (stale || !await ts.accept(hs.peerPublicKey, hs.timestamp)) {
      hs.channel.destroy();
      d.log(`vertical handshake refused: STALE_HANDSHAKE from ${hs.peerName}`);
      return c.json({
        code: "STALE_HANDSHAKE",
        message: "handshake message 1 is not newer than the last one accepted",
      }, 409);
    }
    const id = hex(hs.channel.sessionId);
    sessions.get(id)?.channel.destroy();
    sessions.set(id, { party: hs.peerName, channel: hs.channel, queue: Promise.resolve() });
    d.log(`party ${hs.peerName} connected (session ${id.slice(0, 8)})`);
    return c.body(hs.message2 as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/octet-stream",
      [SESSION_HEADER]: id,
    });
  });
  app.post(
    "/v1/vertical/session/:id",
    bodyLimit({ maxSize: d.maxBodyBytes ?? 64 * 2 ** 20 }),
    async (c) => {
      const s = sessions.get(c.req.param("id"));
      if (!s) {
        return c.json(
          { code: "UNKNOWN_SESSION", message: "no such session: handshake again" },
          404,
        );
      }
      const body = new Uint8Array(await c.req.arrayBuffer());
      // Open in arrival order (the channel's counters), answer in order.
      const run = s.queue.then(async () => {
        const req = decodeVertical(openChunked(s.channel, unpackFrames(body)).payload);
        let reply: Uint8Array;
        try {
          reply = await handle(d, relay, parties, s.party, req, epochs);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          reply = encodeVertical({ type: "V_ERROR", code: e.code, message: e.message });
        }
        return packFrames(sealChunked(s.channel, APP_FRAME_TYPE, reply));
      });
      s.queue = run.catch(() => {});
      try {
        return c.body((await run) as Uint8Array<ArrayBuffer>, 200, {
          "content-type": "application/octet-stream",
        });
      } catch (e) {
        d.log(`vertical session of ${s.party}: ${(e as Error).message}`);
        sessions.delete(c.req.param("id"));
        s.channel.destroy();
        return c.json({
          code: "CHANNEL_FAILED",
          message: "the session's channel failed: handshake again",
        }, 400);
      }
    },
  );
  return { app };
}

function need(m: VerticalMessage, name: string): Tensor {
  const t = m.tensors.get(name);
  if (!t) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `${m.header.type}: tensor ${JSON.stringify(name)} is missing`,
    );
  }
  return t;
}

function field<K extends keyof VerticalHeader>(
  m: VerticalMessage,
  k: K,
  type: "string" | "number",
): NonNullable<VerticalHeader[K]> {
  const v = m.header[k];
  const ok = type === "string" ? typeof v === "string" : typeof v === "number";
  if (!ok) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `${m.header.type}: field ${k} must be a ${type}, got ${JSON.stringify(v)}`,
    );
  }
  return v as NonNullable<VerticalHeader[K]>;
}

/** Answers one request of `party`. */
async function handle(
  d: VerticalAppDeps,
  relay: PsiRelay,
  parties: string[],
  party: string,
  m: VerticalMessage,
  epochs: VerticalEpochs,
): Promise<Uint8Array> {
  const codec = d.codec ?? {};
  switch (m.header.type) {
    case "V_PSI_PUT": {
      const t = need(m, "points");
      if (t.dtype !== "uint8") {
        throw new ProtocolError("WRONG_DTYPE", `V_PSI_PUT: points must be uint8, got ${t.dtype}`);
      }
      const tag = field(m, "tag", "string"), round = field(m, "round", "number");
      relay.put(tag, round, party, t.data as Uint8Array);
      d.onRelay?.(tag, round, party, t.data as Uint8Array);
      return encodeVertical({ type: "V_OK" });
    }
    case "V_PSI_GET": {
      const peer = parties.find((p) => p !== party);
      if (parties.length !== 2 || !peer) {
        throw new ProtocolError(
          "WRONG_MODE",
          `the PSI relay serves two parties, the allowlist has ${parties.length}`,
        );
      }
      const bytes = await relay.get(
        field(m, "tag", "string"),
        field(m, "round", "number"),
        peer,
        d.psiTimeoutMs ?? PSI_TIMEOUT_MS,
      );
      return encodeVertical({ type: "V_PSI" }, {
        points: { dtype: "uint8", dims: [bytes.length], data: bytes } as Tensor,
      });
    }
    case "V_FORWARD": {
      const r = await d.server.forward(
        party,
        field(m, "stepId", "string"),
        need(m, "activation"),
        m.tensors.get("labels"),
      );
      const out: Record<string, Tensor> = r.cutGrad
        ? { cutGrad: r.cutGrad }
        : { headInput: r.headInput! };
      return encodeVertical(
        { type: "V_FORWARD_RESULT", stepId: m.header.stepId, loss: r.loss },
        out,
        codec,
      );
    }
    case "V_HEAD_BACKWARD": {
      const g = await d.server.headBackward(
        party,
        field(m, "stepId", "string"),
        need(m, "gradHeadInput"),
      );
      return encodeVertical(
        { type: "V_FORWARD_RESULT", stepId: m.header.stepId },
        { cutGrad: g },
        codec,
      );
    }
    case "V_EVAL": {
      const r = await d.server.evaluate(
        party,
        field(m, "batchId", "string"),
        need(m, "activation"),
      );
      return encodeVertical({ type: "V_EVAL_RESULT" }, r.output ? { output: r.output } : {}, {
        dtype: "float32",
      });
    }
    case "V_RESUME":
      return encodeVertical({
        type: "V_OK",
        epoch: await epochs.resume(party, field(m, "epoch", "number")),
      });
    case "V_EPOCH_END":
      await epochs.epochEnd(party, field(m, "epoch", "number"));
      return encodeVertical({ type: "V_OK" });
    default:
      throw new ProtocolError("BAD_MESSAGE", `${m.header.type} is a reply, not a request`);
  }
}
