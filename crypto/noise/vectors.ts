/**
 * A runner for Noise test vectors in the cacophony JSON layout (pure: it
 * takes parsed JSON, does no I/O). Used by `deno task vectors` and the tests.
 *
 * @module
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { NoiseError } from "../errors.ts";
import type { CipherBackend } from "./cipher_functions.ts";
import { generateKeyPair, type KeyPair } from "./dh.ts";
import { HandshakeState } from "./handshake_state.ts";
import { parseProtocolName } from "./protocol_name.ts";

/**
 * The outcome of one vector: `ok`, `fail` (with the first mismatch) or
 * `skip` (pattern or primitive not implemented).
 *
 * @example
 * ```ts
 * import type { VectorResult } from "./vectors.ts";
 * const r: VectorResult = { protocolName: "Noise_NN_25519_ChaChaPoly_SHA256", status: "ok" };
 * ```
 */
export interface VectorResult {
  /** The vector's `protocol_name` (or a placeholder if it has none). */
  readonly protocolName: string;
  /** Outcome. */
  readonly status: "ok" | "fail" | "skip";
  /** Why it failed or was skipped. */
  readonly reason?: string;
}

/**
 * Totals over a list of {@link VectorResult}.
 *
 * @example
 * ```ts
 * import { summarize } from "./vectors.ts";
 * console.assert(summarize([]).passed === 0);
 * ```
 */
export interface VectorSummary {
  /** Number of `ok` results. */
  readonly passed: number;
  /** Number of `fail` results. */
  readonly failed: number;
  /** Number of `skip` results. */
  readonly skipped: number;
}

type Json = Record<string, unknown>;

class Mismatch extends Error {}

function hexField(v: Json, key: string): Uint8Array | undefined {
  const s = v[key];
  if (s === undefined) return undefined;
  if (typeof s !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(s)) {
    throw new Mismatch(`field ${key} is not a hex string`);
  }
  return hexToBytes(s);
}

function keyPairField(v: Json, key: string): KeyPair | undefined {
  const sk = hexField(v, key);
  return sk === undefined ? undefined : generateKeyPair(sk);
}

function psksField(v: Json, key: string): Uint8Array[] | undefined {
  const a = v[key];
  if (a === undefined) return undefined;
  if (!Array.isArray(a)) throw new Mismatch(`field ${key} is not an array`);
  return a.map((x, i) => {
    if (typeof x !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(x)) {
      throw new Mismatch(`${key}[${i}] is not a hex string`);
    }
    return hexToBytes(x);
  });
}

function expectEqual(what: string, got: Uint8Array, want: Uint8Array): void {
  if (got.length !== want.length || bytesToHex(got) !== bytesToHex(want)) {
    throw new Mismatch(`${what}: got ${bytesToHex(got)}, want ${bytesToHex(want)}`);
  }
}

/**
 * Runs one vector: replays every handshake and transport message in both
 * directions with the fixed ephemeral keys and compares every ciphertext,
 * every decrypted payload and the handshake hash byte for byte. `transport` picks the
 * implementation that seals the transport messages (default `"native"`, see
 * `HandshakeOptions.transport`), so the vectors check either.
 *
 * @example
 * ```ts
 * import { runVector } from "./vectors.ts";
 * const r = runVector({ protocol_name: "Noise_NN_448_AESGCM_SHA256", messages: [] });
 * console.assert(r.status === "skip");
 * ```
 */
export function runVector(
  vector: unknown,
  options: { transport?: CipherBackend } = {},
): VectorResult {
  if (vector === null || typeof vector !== "object" || Array.isArray(vector)) {
    return { protocolName: "(not an object)", status: "fail", reason: "vector is not an object" };
  }
  const v = vector as Json;
  const protocolName = typeof v.protocol_name === "string" ? v.protocol_name : "(no name)";
  try {
    parseProtocolName(protocolName);
  } catch (e) {
    if (e instanceof NoiseError && e.code === "UNSUPPORTED_PROTOCOL") {
      return { protocolName, status: "skip", reason: e.message };
    }
    throw e;
  }
  try {
    const init = new HandshakeState({
      protocolName,
      initiator: true,
      prologue: hexField(v, "init_prologue"),
      staticKeyPair: keyPairField(v, "init_static"),
      ephemeralKeyPair: keyPairField(v, "init_ephemeral"),
      remoteStaticKey: hexField(v, "init_remote_static"),
      psks: psksField(v, "init_psks"),
      transport: options.transport,
    });
    const resp = new HandshakeState({
      protocolName,
      initiator: false,
      prologue: hexField(v, "resp_prologue"),
      staticKeyPair: keyPairField(v, "resp_static"),
      ephemeralKeyPair: keyPairField(v, "resp_ephemeral"),
      remoteStaticKey: hexField(v, "resp_remote_static"),
      psks: psksField(v, "resp_psks"),
      transport: options.transport,
    });
    const messages = v.messages;
    if (!Array.isArray(messages)) throw new Mismatch("field messages is not an array");
    const oneWay = init.protocol.pattern.oneWay;
    const handshakeLength = init.protocol.pattern.messages.length;
    if (messages.length < handshakeLength) {
      throw new Mismatch(`${messages.length} messages, but the handshake needs ${handshakeLength}`);
    }
    const empty = new Uint8Array(0);
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as Json;
      if (m === null || typeof m !== "object") throw new Mismatch(`message ${i} is not an object`);
      const payload = hexField(m, "payload");
      const ciphertext = hexField(m, "ciphertext");
      if (payload === undefined || ciphertext === undefined) {
        throw new Mismatch(`message ${i} lacks payload or ciphertext`);
      }
      const initiatorSends = oneWay || i % 2 === 0;
      const [sender, receiver] = initiatorSends ? [init, resp] : [resp, init];
      if (i < handshakeLength) {
        expectEqual(`message ${i} ciphertext`, sender.writeMessage(payload), ciphertext);
        expectEqual(`message ${i} payload`, receiver.readMessage(ciphertext), payload);
        if (i === handshakeLength - 1) {
          const want = hexField(v, "handshake_hash");
          if (want !== undefined) {
            expectEqual("initiator handshake hash", init.split().handshakeHash, want);
            expectEqual("responder handshake hash", resp.split().handshakeHash, want);
          }
        }
      } else {
        const send = sender.split().send;
        const receive = receiver.split().receive;
        if (send === null || receive === null) {
          throw new Mismatch(`message ${i}: no transport cipher in this direction`);
        }
        expectEqual(`message ${i} ciphertext`, send.encryptWithAd(empty, payload), ciphertext);
        expectEqual(`message ${i} payload`, receive.decryptWithAd(empty, ciphertext), payload);
      }
    }
    if (!init.isComplete || !resp.isComplete) throw new Mismatch("handshake did not complete");
    return { protocolName, status: "ok" };
  } catch (e) {
    // Any error is a failed vector (a malformed vector file must not crash the whole run).
    const reason = e instanceof NoiseError
      ? `${e.code}: ${e.message}`
      : e instanceof Mismatch
      ? e.message
      : `${(e as Error)?.name ?? "Error"}: ${(e as Error)?.message ?? String(e)}`;
    return { protocolName, status: "fail", reason };
  }
}

/**
 * Runs every vector of a parsed test-vector file (`{vectors: [...]}` or a bare array), with
 * the transport implementation of `options` (see {@link runVector}).
 *
 * @throws {TypeError} when the document has no vector list.
 * @example
 * ```ts
 * import { runVectors } from "./vectors.ts";
 * console.assert(runVectors({ vectors: [] }).length === 0);
 * ```
 */
export function runVectors(
  document: unknown,
  options: { transport?: CipherBackend } = {},
): VectorResult[] {
  const list = Array.isArray(document)
    ? document
    : (document !== null && typeof document === "object" &&
        Array.isArray((document as Json).vectors))
    ? (document as Json).vectors as unknown[]
    : null;
  if (list === null) {
    throw new TypeError('test-vector file must be {"vectors": [...]} or an array of vectors');
  }
  return list.map((v) => runVector(v, options));
}

/**
 * Counts passed, failed and skipped results.
 *
 * @example
 * ```ts
 * import { summarize } from "./vectors.ts";
 * const s = summarize([{ protocolName: "x", status: "skip" }]);
 * console.assert(s.skipped === 1 && s.failed === 0);
 * ```
 */
export function summarize(results: readonly VectorResult[]): VectorSummary {
  let passed = 0, failed = 0, skipped = 0;
  for (const r of results) {
    if (r.status === "ok") passed++;
    else if (r.status === "fail") failed++;
    else skipped++;
  }
  return { passed, failed, skipped };
}
