/** Shared fixtures of the server tests: keys, a tiny CNN config, and a raw test clinic. */
import assert from "node:assert/strict";
import { initiatorHandshake, openChunked, type SecureChannel, sealChunked } from "../../../crypto/channel/mod.ts";
import { Allowlist } from "../../../crypto/keys/allowlist.ts";
import { generateStaticKeyPair, type KeyPair } from "../../../crypto/keys/key_pair.ts";
import { tensor, type Tensor } from "../../../models/tensor.ts";
import { createEngine, type Engine } from "../../../runtime/engine/mod.ts";
import {
  APP_FRAME_TYPE,
  CLINIC_HEADER,
  decodeMessage,
  encodeMessage,
  type Message,
  packFrames,
  PROTOCOL_CHANNEL_OPTIONS,
  type RequestMessage,
  SESSION_HEADER,
  unpackFrames,
} from "../../../runtime/protocol/mod.ts";
import { createServerApp, type ServerConfig, type ServerHandle } from "../../../runtime/server/mod.ts";
import type { SplitMode } from "../../../runtime/server/split_model.ts";

let enginePromise: Promise<Engine> | undefined;
/** One engine per test process (native: fast and free of wasm's process-wide settings). */
export function testEngine(): Promise<Engine> {
  return enginePromise ??= createEngine("native", { threads: 1 });
}

export const SERVER_KEYS: KeyPair = generateStaticKeyPair();
export const CLINIC_KEYS: Record<string, KeyPair> = {
  a: generateStaticKeyPair(),
  b: generateStaticKeyPair(),
  c: generateStaticKeyPair(),
};

export function allowlist(names: string[] = ["a", "b"]): Allowlist {
  return new Allowlist(names.map((name) => ({ name, publicKey: CLINIC_KEYS[name].publicKey })));
}

/**
 * Per-sample shape of the zoo CNN's default cut for 8×8 single-channel images: block 1
 * (16 channels) after its 2×2 pooling.
 */
export const CUT_DIMS = [16, 4, 4] as const;

/** A 8x8 single-channel CNN: cut [N, ...CUT_DIMS] (vanilla) or that | [N, 64] (U-shape). */
export function tinyConfig(mode: SplitMode, extra: Partial<ServerConfig> = {}): ServerConfig {
  return {
    mode,
    model: { zoo: "cnn", data: { image: { channels: 1, size: 8 } }, seed: 7 },
    loss: "bce",
    optimizer: { kind: "sgd", lr: 0.1 },
    limits: { maxBatch: 16, maxBodyBytes: 64 * 1024 },
    turnTimeoutMs: 1000,
    ...extra,
  };
}

export async function startServer(
  mode: SplitMode,
  extra: Partial<ServerConfig> = {},
  opts: { names?: string[]; now?: () => number; log?: string[] } = {},
): Promise<ServerHandle> {
  return await createServerApp(tinyConfig(mode, extra), {
    keyPair: SERVER_KEYS,
    allowlist: allowlist(opts.names),
    engine: await testEngine(),
    now: opts.now,
    log: (l) => opts.log?.push(l),
  });
}

/** Deterministic pseudo-random tensor. */
export function randomTensor(dims: number[], seed: number): Tensor<"float32"> {
  let s = seed >>> 0 || 1;
  const n = dims.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >>> 17, s ^= s << 5;
    d[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return tensor("float32", dims, d);
}

export function binaryLabels(n: number): Tensor<"float32"> {
  return tensor("float32", [n, 1], Float32Array.from({ length: n }, (_, i) => i % 2));
}

/** A clinic speaking the raw HTTP protocol to `app.request`, for bad-input tests. */
export class RawClinic {
  channel!: SecureChannel;
  session = "";
  constructor(readonly server: ServerHandle, readonly name: string) {}

  async connect(): Promise<this> {
    const hs = initiatorHandshake({
      staticKeyPair: CLINIC_KEYS[this.name],
      serverPublicKey: SERVER_KEYS.publicKey,
      channel: PROTOCOL_CHANNEL_OPTIONS,
    });
    const res = await this.server.app.request("/v1/handshake", { method: "POST", body: hs.message1 as Uint8Array<ArrayBuffer> });
    assert.equal(res.status, 200, await res.clone().text());
    this.channel = hs.finish(new Uint8Array(await res.arrayBuffer()));
    this.session = res.headers.get(SESSION_HEADER)!;
    assert.equal(res.headers.get(CLINIC_HEADER), this.name);
    return this;
  }

  /** Seals `msg` (or raw plaintext) into a request body. */
  body(msg: RequestMessage | Uint8Array): Uint8Array {
    const plain = msg instanceof Uint8Array ? msg : encodeMessage(msg);
    return packFrames(sealChunked(this.channel, APP_FRAME_TYPE, plain));
  }

  /** POSTs a body: bytes (with a content-length), or a stream (chunked, no length). */
  post(body: Uint8Array | ReadableStream<Uint8Array>, session = this.session, clinic = this.name): Promise<Response> {
    return Promise.resolve(this.server.app.request(`/v1/session/${session}/msg`, {
      method: "POST",
      body: body as Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>,
      headers: { [CLINIC_HEADER]: clinic },
    }));
  }

  async open(res: Response): Promise<Message> {
    assert.equal(res.status, 200, await res.clone().text());
    const frames = unpackFrames(new Uint8Array(await res.arrayBuffer()));
    return decodeMessage(openChunked(this.channel, frames).payload);
  }

  async send<M extends RequestMessage>(msg: M): Promise<Message> {
    return await this.open(await this.post(this.body(msg)));
  }
}

/** Asserts a JSON error response. */
export async function assertError(res: Response, status: number, code: string): Promise<{ code: string; message: string }> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const j = JSON.parse(text);
  assert.equal(j.error.code, code, text);
  assert.equal(typeof j.error.message, "string");
  return j.error;
}

/** A copy of every server parameter, for "weights did not change" checks. */
/** The server's weights once the last step's (deferred) update is in. */
export async function paramsSnapshot(server: ServerHandle): Promise<Map<string, Float32Array>> {
  await server.model.settle();
  return new Map([...server.model.runner.params].map(([k, v]) => [k, (v.data as Float32Array).slice()]));
}

export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (1e-6 + Math.abs(b[i])));
  assert.ok(worst <= tol, `${what}: max relative difference ${worst} > ${tol}`);
}
