/**
 * What travels on the request bus besides the payload: the `sg-*` headers, large payloads
 * moved through the object store, and the encoding of a reply (docs/design/scale_out.md,
 * "Requests"). Shared by {@linkcode RequestSender} (front side) and `ShardWorker` (trainer side).
 *
 * - request headers: `sg-clinic` (the handshake-authenticated clinic name), `sg-reply` (the
 *   sender's inbox), `sg-id` (a uuid, also the JetStream `Nats-Msg-Id`, so a repeated
 *   publish is stored once), `sg-blob` (`blob/<uuid>` when the payload is in the object store);
 * - reply headers: `sg-id`, `sg-status` (`200`, or the HTTP status of a refusal whose body is
 *   `{"error":{"code","message"}}`), `sg-blob` as above.
 *
 * @example
 * ```ts
 * import { decodeReply, H_STATUS } from "./bus_wire.ts";
 * const r = decodeReply("409", new TextEncoder().encode('{"error":{"code":"STEP_OUT_OF_ORDER","message":"m"}}'));
 * console.log(H_STATUS, r.status); // sg-status 409
 * ```
 * @module
 */
import type { ObjectStore } from "@nats-io/obj";
import { ClusterError } from "./cluster_error.ts";

/** Header: the clinic a request is from. */
export const H_CLINIC = "sg-clinic";
/** Header: the subject the reply goes to. */
export const H_REPLY = "sg-reply";
/** Header: the request id, echoed by the reply. */
export const H_ID = "sg-id";
/** Header: the reply's status (HTTP status code, `200` for success). */
export const H_STATUS = "sg-status";
/** Header: the object-store name of a payload too large to go inline. */
export const H_BLOB = "sg-blob";

/** Payloads above this go through the object store (docs/design/scale_out.md: 512 KiB). */
export const DEFAULT_INLINE_LIMIT = 512 * 1024;

/**
 * A request as a trainer's handler sees it.
 *
 * @example
 * ```ts
 * import type { BusRequest } from "./bus_wire.ts";
 * const r: BusRequest = { id: "u", clinic: "a", payload: new Uint8Array(), redelivered: false };
 * ```
 */
export interface BusRequest {
  /** The sender's request id (`sg-id`). */
  id: string;
  /** The clinic the front authenticated (`sg-clinic`). */
  clinic: string;
  /** The plaintext encoded request message. */
  payload: Uint8Array;
  /** Whether JetStream delivered it before (a trainer died or missed its ack). */
  redelivered: boolean;
}

/**
 * A trainer's answer: the encoded reply message, or a refusal with the HTTP status and the
 * protocol error a single server would send.
 *
 * @example
 * ```ts
 * import type { BusReply } from "./bus_wire.ts";
 * const ok: BusReply = { status: 200, payload: new Uint8Array([1]) };
 * const no: BusReply = { status: 409, error: { code: "STEP_OUT_OF_ORDER", message: "step 3 before 2" } };
 * ```
 */
export type BusReply =
  | { status: 200; payload: Uint8Array }
  | { status: number; error: { code: string; message: string } };

/**
 * The reply of status header `status` and body `body`.
 *
 * @throws {ClusterError} `BAD_BUS_MESSAGE` for a status that is not an HTTP code or a refusal
 *   whose body is not `{"error":{"code","message"}}`.
 * @example
 * ```ts
 * import { decodeReply } from "./bus_wire.ts";
 * console.log(decodeReply("200", new Uint8Array([7]))); // { status: 200, payload: Uint8Array(1) [ 7 ] }
 * ```
 */
export function decodeReply(status: string | undefined, body: Uint8Array): BusReply {
  const code = Number(status);
  if (status === undefined || !/^[1-5][0-9]{2}$/.test(status)) {
    throw new ClusterError(
      "BAD_BUS_MESSAGE",
      `reply ${H_STATUS} ${JSON.stringify(status ?? null)}: expected an HTTP status code`,
    );
  }
  if (code === 200) return { status: 200, payload: body };
  let error: unknown;
  try {
    error = (JSON.parse(new TextDecoder().decode(body)) as { error?: unknown })?.error;
  } catch {
    error = undefined;
  }
  const e = error as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code !== "string" || typeof e?.message !== "string") {
    throw new ClusterError(
      "BAD_BUS_MESSAGE",
      `reply of status ${code}: expected the body {"error":{"code":string,"message":string}}`,
    );
  }
  return { status: code, error: { code: e.code, message: e.message } };
}

/**
 * The body of a refusal: `{"error":{"code","message"}}`.
 *
 * @example
 * ```ts
 * import { encodeRefusal } from "./bus_wire.ts";
 * const b = encodeRefusal({ code: "X", message: "m" });
 * ```
 */
export function encodeRefusal(error: { code: string; message: string }): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ error }));
}

/**
 * Stores `data` in `store` as `blob/<uuid>` and returns that name.
 *
 * @example
 * ```ts ignore
 * import { putBlob } from "./bus_wire.ts";
 * const name = await putBlob(store, new Uint8Array(1 << 20)); // "blob/…"
 * ```
 */
export async function putBlob(store: ObjectStore, data: Uint8Array): Promise<string> {
  const name = `blob/${crypto.randomUUID()}`;
  await store.putBlob({ name }, data);
  return name;
}

/**
 * Reads the blob `name` from `store`.
 *
 * @throws {ClusterError} `BLOB_MISSING` when the store has no such object, or `name` is not
 *   `blob/<uuid>` (a header must never name a round partial).
 * @example
 * ```ts ignore
 * import { getBlob } from "./bus_wire.ts";
 * const data = await getBlob(store, "blob/0b1c…");
 * ```
 */
export async function getBlob(store: ObjectStore, name: string): Promise<Uint8Array> {
  if (!/^blob\/[0-9a-f-]{36}$/.test(name)) {
    throw new ClusterError(
      "BLOB_MISSING",
      `${H_BLOB} ${JSON.stringify(name.slice(0, 80))}: expected blob/<uuid>`,
    );
  }
  const data = await store.getBlob(name);
  if (data === null) {
    throw new ClusterError(
      "BLOB_MISSING",
      `${H_BLOB} ${name}: not in the object store (deleted or never stored)`,
    );
  }
  return plainBytes(data);
}

/**
 * `b` as a plain `Uint8Array` over the same memory: the Node transport hands out `Buffer`s,
 * which compare and serialise differently from the `Uint8Array`s the rest of splitgate uses.
 *
 * @example
 * ```ts
 * import { plainBytes } from "./bus_wire.ts";
 * console.log(plainBytes(new Uint8Array([1])).constructor.name); // Uint8Array
 * ```
 */
export function plainBytes(b: Uint8Array): Uint8Array {
  return b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
