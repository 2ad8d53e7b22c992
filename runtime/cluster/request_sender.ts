/**
 * The front's side of the request bus: publishes a clinic's request to JetStream on its
 * shard's subject and waits on its own inbox for the reply (docs/design/scale_out.md,
 * "Requests"). The PubAck means the request is stored: from then on a trainer handles it at
 * least once, even if this front dies.
 *
 * @example
 * ```ts ignore
 * import { RequestSender } from "./request_sender.ts";
 * const sender = new RequestSender(link, studyNames("heart"), { timeoutMs: 60_000 });
 * const reply = await sender.send("clinic-a", encodedRequest);
 * if (reply.status === 200) console.log(reply.payload.length);
 * await sender.close();
 * ```
 * @module
 */
import { createInbox, headers, type Msg, type Subscription } from "@nats-io/transport-node";
import type { ObjectStore } from "@nats-io/obj";
import { ClusterError } from "./cluster_error.ts";
import type { NatsLink } from "./nats_link.ts";
import { shardOf, type StudyNames } from "./study_names.ts";
import {
  type BusReply,
  decodeReply,
  DEFAULT_INLINE_LIMIT,
  getBlob,
  H_BLOB,
  H_CLINIC,
  H_ID,
  H_REPLY,
  H_STATUS,
  plainBytes,
  putBlob,
} from "./bus_wire.ts";

/**
 * How long a sender waits for a reply unless told: longer than `ack_wait` (30 s), so a
 * request pulled by a trainer that then died is redelivered to the next owner and answered
 * before the front gives up.
 */
export const DEFAULT_BUS_TIMEOUT_MS = 60_000;

interface Pending {
  resolve(r: BusReply): void;
  reject(e: unknown): void;
}

/**
 * Sends requests of a study's clinics to the trainers and returns their replies. One inbox
 * subscription serves every request of the sender; replies are matched by `sg-id`.
 *
 * @example
 * ```ts ignore
 * import { RequestSender } from "./request_sender.ts";
 * const sender = new RequestSender(link, names);
 * ```
 */
export class RequestSender {
  readonly #link: NatsLink;
  readonly #names: StudyNames;
  readonly #timeoutMs: number;
  readonly #inlineLimit: number;
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #pending = new Map<string, Pending>();
  #store: Promise<ObjectStore> | null = null;
  #closed = false;

  /**
   * Subscribes to a fresh inbox on `link` for the replies.
   *
   * @param o.timeoutMs how long `send` waits for a reply (default 60 000 ms);
   * @param o.inlineLimit the largest payload sent inline, bytes (default 524 288; larger ones
   *   go through the object store). Keep it under the server's `max_payload` (1 MiB by default).
   */
  constructor(
    link: NatsLink,
    n: StudyNames,
    o: { timeoutMs?: number; inlineLimit?: number } = {},
  ) {
    this.#link = link;
    this.#names = n;
    this.#timeoutMs = positive(o.timeoutMs ?? DEFAULT_BUS_TIMEOUT_MS, "timeoutMs");
    this.#inlineLimit = positive(o.inlineLimit ?? DEFAULT_INLINE_LIMIT, "inlineLimit");
    this.#inbox = createInbox();
    this.#sub = link.nc.subscribe(this.#inbox, {
      callback: (err, msg) => {
        if (err === null) this.#onReply(msg);
      },
    });
  }

  /**
   * Publishes `payload` from `clinic` and resolves with the trainer's reply.
   *
   * @throws {ClusterError} `BUS_TIMEOUT` (naming the clinic and the wait) when no reply comes
   *   in time — the request may still be handled later, and its retry key makes re-sending it
   *   safe; `PUBLISH_FAILED` when JetStream did not store it; `CLOSED` after `close()`.
   */
  async send(clinic: string, payload: Uint8Array): Promise<BusReply> {
    if (this.#closed) throw new ClusterError("CLOSED", "RequestSender.send after close()");
    if (/[\r\n]/.test(clinic) || clinic === "") {
      throw new ClusterError(
        "BAD_BUS_MESSAGE",
        `clinic ${JSON.stringify(clinic)}: expected a non-empty name without line breaks`,
      );
    }
    const id = crypto.randomUUID();
    const h = headers();
    h.set(H_CLINIC, clinic);
    h.set(H_REPLY, this.#inbox);
    h.set(H_ID, id);
    let body = payload;
    if (payload.length > this.#inlineLimit) {
      h.set(H_BLOB, await putBlob(await this.#objects(), payload));
      body = new Uint8Array(0);
    }
    const reply = this.#awaitReply(id, clinic);
    try {
      await this.#link.js.publish(this.#names.subject(shardOf(clinic, this.#names.shards)), body, {
        headers: h,
        msgID: id,
      });
    } catch (e) {
      const blob = h.get(H_BLOB);
      if (blob !== "") this.#objects().then((s) => s.delete(blob)).catch(() => {});
      this.#pending.get(id)?.reject(
        new ClusterError(
          "PUBLISH_FAILED",
          `request of clinic ${JSON.stringify(clinic)} not stored by JetStream: ${
            (e as Error).message
          }`,
          { cause: e },
        ),
      );
    }
    return await reply;
  }

  /** Stops listening; pending sends reject with `CLOSED` (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#sub.unsubscribe();
    for (const p of this.#pending.values()) {
      p.reject(new ClusterError("CLOSED", "RequestSender closed while waiting for a reply"));
    }
    this.#pending.clear();
    await Promise.resolve();
  }

  #awaitReply(id: string, clinic: string): Promise<BusReply> {
    return new Promise<BusReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new ClusterError(
            "BUS_TIMEOUT",
            `no reply for clinic ${
              JSON.stringify(clinic)
            } within ${this.#timeoutMs} ms (request ${id})`,
          ),
        );
      }, this.#timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#pending.delete(id);
      };
      this.#pending.set(id, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      });
    });
  }

  #onReply(msg: Msg): void {
    const id = msg.headers?.get(H_ID) ?? "";
    const status = msg.headers?.get(H_STATUS) || undefined;
    const blob = msg.headers?.get(H_BLOB) || undefined;
    const p = this.#pending.get(id);
    if (p === undefined) {
      // Late (after a timeout) or not ours: nobody will read its blob, so remove it.
      if (blob !== undefined) this.#objects().then((s) => s.delete(blob)).catch(() => {});
      return;
    }
    if (blob === undefined) {
      try {
        p.resolve(decodeReply(status, plainBytes(msg.data)));
      } catch (e) {
        p.reject(e);
      }
      return;
    }
    this.#objects().then(async (s) => {
      const data = await getBlob(s, blob);
      await s.delete(blob).catch(() => {});
      return decodeReply(status, data);
    }).then(p.resolve, p.reject);
  }

  #objects(): Promise<ObjectStore> {
    this.#store ??= this.#link.objm.open(this.#names.rounds);
    return this.#store;
  }
}

function positive(v: number, name: string): number {
  if (!Number.isFinite(v) || v <= 0) {
    throw new RangeError(`${name} ${v}: expected a positive number`);
  }
  return v;
}
