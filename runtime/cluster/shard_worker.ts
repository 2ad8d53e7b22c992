/**
 * The trainer's side of the request bus: pulls the requests of the shards it owns from their
 * durable consumers, hands each to the trainer's handler, publishes the reply to the sender's
 * inbox and only then acks (docs/design/scale_out.md, "Requests"). A trainer that dies
 * between reply and ack leaves the request to be redelivered to the shard's next owner, whose
 * retry keys answer it from the cached reply: at-least-once delivery, applied once.
 *
 * Requests are handled concurrently (up to the consumer's `max_ack_pending`, 256 per shard):
 * a clinic sends its next request only after the reply to its last, so its own requests stay
 * in order, and merged batches need several clinics' requests in flight at once.
 *
 * @example
 * ```ts ignore
 * import { ShardWorker } from "./shard_worker.ts";
 * const worker = new ShardWorker(link, names, async (r) => ({ status: 200, payload: r.payload }));
 * worker.setShards([0, 3, 7]);
 * await worker.stop();
 * ```
 * @module
 */
import { headers } from "@nats-io/transport-node";
import type { ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import { ClusterError } from "./cluster_error.ts";
import { type NatsLink, resetShardConsumer } from "./nats_link.ts";
import type { StudyNames } from "./study_names.ts";
import {
  type BusReply,
  type BusRequest,
  DEFAULT_INLINE_LIMIT,
  encodeRefusal,
  getBlob,
  H_BLOB,
  H_CLINIC,
  H_ID,
  H_REPLY,
  H_STATUS,
  plainBytes,
  putBlob,
} from "./bus_wire.ts";

/** Messages one shard's pull keeps buffered (they are handed on at once, not queued). */
const PULL_BATCH = 64;
/** Wait before retrying a shard whose consumer could not be opened. */
const RETRY_MS = 1_000;

/** One owned shard's pull loop. */
interface ShardPull {
  /** Set when the shard is dropped: stop pulling. */
  stopped: boolean;
  /** The live pull, once open. */
  messages: ConsumerMessages | null;
  /** Settles when the loop has ended. */
  done: Promise<void>;
}

/**
 * Pulls and handles the requests of the shards it is given.
 *
 * @example
 * ```ts ignore
 * import { ShardWorker } from "./shard_worker.ts";
 * const w = new ShardWorker(link, names, handle, { log: console.error });
 * ```
 */
export class ShardWorker {
  readonly #link: NatsLink;
  readonly #names: StudyNames;
  readonly #handle: (r: BusRequest) => Promise<BusReply>;
  readonly #log: (line: string) => void;
  readonly #inlineLimit: number;
  readonly #pulls = new Map<number, ShardPull>();
  readonly #inFlight = new Set<Promise<void>>();
  #store: Promise<ObjectStore> | null = null;
  #stopped = false;

  /**
   * A worker that owns no shard yet; `handle` answers each request (a throw becomes a
   * `500 INTERNAL` refusal, logged).
   *
   * @param o.log receives one line per dropped message or failed pull (never payloads).
   * @param o.inlineLimit replies above this many bytes go through the object store (512 KiB).
   */
  constructor(
    link: NatsLink,
    n: StudyNames,
    handle: (r: BusRequest) => Promise<BusReply>,
    o: { log?: (line: string) => void; inlineLimit?: number } = {},
  ) {
    this.#link = link;
    this.#names = n;
    this.#handle = handle;
    this.#log = o.log ?? ((line) => console.error(line));
    this.#inlineLimit = o.inlineLimit ?? DEFAULT_INLINE_LIMIT;
  }

  /**
   * Makes `shards` the owned set: starts pulling the new ones, stops pulling the dropped ones
   * (requests already pulled from them are still answered and acked).
   *
   * @throws {ClusterError} `BAD_SHARD` for a shard outside the study's; `CLOSED` after `stop()`.
   */
  setShards(shards: readonly number[]): void {
    if (this.#stopped) throw new ClusterError("CLOSED", "ShardWorker.setShards after stop()");
    const want = new Set(shards);
    for (const k of want) this.#names.subject(k); // throws BAD_SHARD
    for (const [k, pull] of this.#pulls) {
      if (!want.has(k)) {
        this.#stopPull(pull);
        this.#pulls.delete(k);
      }
    }
    for (const k of want) if (!this.#pulls.has(k)) this.#pulls.set(k, this.#startPull(k));
  }

  /**
   * Takes over `shards` from a trainer that left the membership: re-creates their durable
   * consumers (`resetShardConsumer`) so its pulled-but-unacked requests come now rather than
   * after `ack_wait`, then owns them as `setShards` would (the shards owned already stay).
   * Call it only for shards that the ring moved to this trainer because their owner is gone.
   *
   * @throws {ClusterError} `BAD_SHARD`, `CLOSED` as `setShards`; what NATS throws.
   */
  async reclaim(shards: readonly number[]): Promise<void> {
    if (this.#stopped) throw new ClusterError("CLOSED", "ShardWorker.reclaim after stop()");
    for (const k of shards) this.#names.subject(k); // throws BAD_SHARD
    for (const k of shards) {
      const pull = this.#pulls.get(k);
      if (pull !== undefined) {
        this.#stopPull(pull);
        this.#pulls.delete(k);
        await pull.done;
      }
      await resetShardConsumer(this.#link, this.#names, k);
    }
    if (this.#stopped) return;
    this.setShards([...new Set([...this.#pulls.keys(), ...shards])]);
  }

  /** The shards owned now, ascending. */
  get shards(): number[] {
    return [...this.#pulls.keys()].sort((a, b) => a - b);
  }

  /** Stops pulling and waits until every request already pulled is answered and acked. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const pulls = [...this.#pulls.values()];
    this.#pulls.clear();
    for (const p of pulls) this.#stopPull(p);
    await Promise.all(pulls.map((p) => p.done));
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  #stopPull(pull: ShardPull): void {
    pull.stopped = true;
    pull.messages?.stop();
  }

  #startPull(k: number): ShardPull {
    const pull: ShardPull = { stopped: false, messages: null, done: Promise.resolve() };
    pull.done = (async () => {
      while (!pull.stopped) {
        try {
          const consumer = await this.#link.js.consumers.get(
            this.#names.stream,
            this.#names.consumer(k),
          );
          if (pull.stopped) return;
          pull.messages = await consumer.consume({ max_messages: PULL_BATCH });
          if (pull.stopped) pull.messages.stop();
          for await (const m of pull.messages) this.#track(this.#process(m));
        } catch (e) {
          if (pull.stopped) return;
          if (this.#link.nc.isClosed() || this.#link.nc.isDraining()) {
            this.#log(`shard ${k}: the NATS connection is closed; no longer pulling`);
            return;
          }
          this.#log(
            `shard ${k}: pull failed (${(e as Error).message}); retrying in ${RETRY_MS} ms`,
          );
          await new Promise((r) => setTimeout(r, RETRY_MS));
        }
      }
    })();
    return pull;
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    p.finally(() => this.#inFlight.delete(p));
  }

  /** One request: read → handle → reply → ack → delete its blob. Never throws. */
  async #process(m: JsMsg): Promise<void> {
    const h = m.headers;
    const id = h?.get(H_ID) ?? "", clinic = h?.get(H_CLINIC) ?? "", reply = h?.get(H_REPLY) ?? "";
    const blob = h?.get(H_BLOB) || undefined;
    if (id === "" || clinic === "" || reply === "") {
      const e = new ClusterError(
        "BAD_BUS_MESSAGE",
        `message ${m.seq} on ${m.subject}: missing ${H_ID}, ${H_CLINIC} or ${H_REPLY} header; dropped`,
      );
      this.#log(`${e.code}: ${e.message}`);
      m.ack();
      return;
    }
    let answer: BusReply;
    try {
      const payload = blob === undefined
        ? plainBytes(m.data)
        : await getBlob(await this.#objects(), blob);
      answer = await this.#handle({ id, clinic, payload, redelivered: m.info.deliveryCount > 1 });
    } catch (e) {
      const code = e instanceof ClusterError ? e.code : "INTERNAL";
      this.#log(
        `request ${id} of clinic ${JSON.stringify(clinic)}: ${code}: ${(e as Error).message}`,
      );
      answer = { status: 500, error: { code, message: "internal error" } };
    }
    try {
      await this.#reply(reply, id, answer);
      await m.ackAck();
    } catch (e) {
      // Unacked: JetStream redelivers it after ack_wait, and the retry key answers it then.
      this.#log(
        `request ${id}: reply or ack failed (${(e as Error).message}); left for redelivery`,
      );
      return;
    }
    // After the ack: a redelivery before it must still find the payload.
    if (blob !== undefined) await (await this.#objects()).delete(blob).catch(() => {});
  }

  async #reply(subject: string, id: string, answer: BusReply): Promise<void> {
    const h = headers();
    h.set(H_ID, id);
    h.set(H_STATUS, String(answer.status));
    let body = "payload" in answer ? answer.payload : encodeRefusal(answer.error);
    if (body.length > this.#inlineLimit) {
      h.set(H_BLOB, await putBlob(await this.#objects(), body));
      body = new Uint8Array(0);
    }
    this.#link.nc.publish(subject, body, { headers: h });
  }

  #objects(): Promise<ObjectStore> {
    this.#store ??= this.#link.objm.open(this.#names.rounds);
    return this.#store;
  }
}
