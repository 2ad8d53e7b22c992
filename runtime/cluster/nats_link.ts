/**
 * One connection to NATS with the JetStream, KV and object-store handles the scale-out uses,
 * and the creation of a study's stream, consumers, buckets and object store
 * (docs/design/scale_out.md, "Subjects, buckets, names").
 *
 * @example
 * ```ts ignore
 * import { connectNats, ensureStudyResources } from "./nats_link.ts";
 * import { studyNames } from "./study_names.ts";
 * const link = await connectNats("nats://127.0.0.1:4222", { name: "front-0" });
 * await ensureStudyResources(link, studyNames("heart"));
 * await link.close();
 * ```
 * @module
 */
import { connect, nanos, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { ClusterError } from "./cluster_error.ts";
import type { StudyNames } from "./study_names.ts";

/**
 * An open NATS connection and its JetStream, KV and object-store managers.
 *
 * @example
 * ```ts
 * import type { NatsLink } from "./nats_link.ts";
 * async function done(link: NatsLink) { await link.close(); }
 * ```
 */
export interface NatsLink {
  /** The core NATS connection (reply inboxes, plain publish). */
  nc: NatsConnection;
  /** JetStream: publish with a PubAck, pull consumers. */
  js: JetStreamClient;
  /** JetStream management: streams and consumers. */
  jsm: JetStreamManager;
  /** KV buckets (members, handshakes). */
  kvm: Kvm;
  /** Object stores (round partials, large payloads). */
  objm: Objm;
  /** Drains and closes the connection (idempotent). */
  close(): Promise<void>;
}

/** Trainer heartbeats live this long without a re-put (docs/design/scale_out.md: TTL 5 s). */
export const MEMBERS_TTL_MS = 5_000;
/** A pulled request not acked within this is redelivered (to the shard's next owner). */
export const ACK_WAIT_MS = 30_000;
/** Requests one shard's consumer lets out unacked: clinics step concurrently within a trainer. */
export const MAX_ACK_PENDING = 256;

/**
 * The environment variable holding the NATS token when `connectNats` is given none (the
 * Kubernetes manifest sets it from a Secret): a token on the command line would show in `ps`.
 */
export const NATS_TOKEN_ENV = "SPLITGATE_NATS_TOKEN";

/**
 * Connects to the NATS server at `url` (e.g. `nats://nats:4222`) and checks JetStream is on.
 * The client reconnects by itself after a server restart. Without `o.token`, the token is
 * `SPLITGATE_NATS_TOKEN` when that is set (and readable), else none.
 *
 * @throws {ClusterError} `NATS_UNREACHABLE` when no server answers or it refuses the
 *   credentials (the URL is named, the token never); `JETSTREAM_UNAVAILABLE` when the server
 *   has no JetStream.
 * @example
 * ```ts ignore
 * import { connectNats } from "./nats_link.ts";
 * const link = await connectNats("nats://127.0.0.1:4222", { token: "s3cret" });
 * ```
 */
export async function connectNats(
  url: string,
  o: { name?: string; token?: string } = {},
): Promise<NatsLink> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url,
      name: o.name,
      token: o.token ?? tokenFromEnv(),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    });
  } catch (e) {
    throw new ClusterError(
      "NATS_UNREACHABLE",
      `NATS at ${JSON.stringify(url)}: ${(e as Error).message}; ${
        /authori[sz]ation/i.test((e as Error).message)
          ? `the nats-server wants a token: set ${NATS_TOKEN_ENV} to the token it was started with`
          : "expected a reachable nats-server (with -js)"
      }`,
      { cause: e },
    );
  }
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
  } catch (e) {
    await nc.close().catch(() => {});
    throw new ClusterError(
      "JETSTREAM_UNAVAILABLE",
      `NATS at ${JSON.stringify(url)} has no JetStream (${
        (e as Error).message
      }); start nats-server with -js`,
      { cause: e },
    );
  }
  const js = jetstream(nc);
  let closed: Promise<void> | null = null;
  return {
    nc,
    js,
    jsm,
    kvm: new Kvm(js),
    objm: new Objm(js),
    close: () => closed ??= nc.drain().catch(() => nc.close()),
  };
}

function tokenFromEnv(): string | undefined {
  try {
    const t = Deno.env.get(NATS_TOKEN_ENV);
    return t === "" ? undefined : t;
  } catch {
    return undefined; // no --allow-env for it
  }
}

/**
 * Creates what a study needs on JetStream, or leaves it as it is when it exists: the
 * work-queue stream of `n.subject(*)`, one durable pull consumer per shard (`filter_subject`
 * its shard's subject, explicit ack, `ack_wait` 30 s, `max_ack_pending` 256), the KV buckets
 * `members` (TTL 5 s) and `handshakes`, and the object store `rounds`. Safe to call from every
 * front and trainer at start, concurrently.
 *
 * @example
 * ```ts ignore
 * import { connectNats, ensureStudyResources } from "./nats_link.ts";
 * import { studyNames } from "./study_names.ts";
 * const link = await connectNats("nats://127.0.0.1:4222");
 * await ensureStudyResources(link, studyNames("heart", 4));
 * ```
 */
export async function ensureStudyResources(link: NatsLink, n: StudyNames): Promise<void> {
  await ensureStream(link.jsm, n);
  for (let k = 0; k < n.shards; k++) await ensureConsumer(link.jsm, n, k);
  // Kvm.create and Objm.create open a bucket that exists (the same config: no change).
  await link.kvm.create(n.members, { ttl: MEMBERS_TTL_MS, history: 1 });
  await link.kvm.create(n.handshakes, { history: 1 });
  await link.objm.create(n.rounds);
}

async function ensureStream(jsm: JetStreamManager, n: StudyNames): Promise<void> {
  const config = {
    name: n.stream,
    subjects: [n.subject(0).replace(/\.0$/, ".*")], // sg.<study>.step.*
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
  };
  await retryOnRace(async () => {
    if (await exists(() => jsm.streams.info(n.stream))) return;
    await jsm.streams.add(config);
  });
}

/**
 * Deletes and re-creates shard `k`'s durable consumer, so that the requests a dead trainer
 * had pulled but not acked are delivered again at once instead of after `ack_wait` (30 s): a
 * work-queue stream keeps every unacked message, and a new consumer starts from the first
 * one. Only the shard's new owner may do this, and only for a shard it takes over from a
 * trainer gone from the membership; delivery counts restart at 1, so those requests arrive
 * with `redelivered: false` (their retry keys still answer a repeat from the cached reply).
 *
 * @example
 * ```ts ignore
 * import { resetShardConsumer } from "./nats_link.ts";
 * await resetShardConsumer(link, names, 3);
 * ```
 */
export async function resetShardConsumer(link: NatsLink, n: StudyNames, k: number): Promise<void> {
  try {
    await link.jsm.consumers.delete(n.stream, n.consumer(k));
  } catch (e) {
    if (!/not found/i.test((e as Error).message)) throw e;
  }
  await ensureConsumer(link.jsm, n, k);
}

async function ensureConsumer(jsm: JetStreamManager, n: StudyNames, k: number): Promise<void> {
  const name = n.consumer(k);
  await retryOnRace(async () => {
    if (await exists(() => jsm.consumers.info(n.stream, name))) return;
    await jsm.consumers.add(n.stream, {
      durable_name: name,
      filter_subject: n.subject(k),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ACK_WAIT_MS),
      max_ack_pending: MAX_ACK_PENDING,
    });
  });
}

/** Whether `info` finds the stream or consumer (false on "not found", else rethrows). */
async function exists(info: () => Promise<unknown>): Promise<boolean> {
  try {
    await info();
    return true;
  } catch (e) {
    if (/not found/i.test((e as Error).message)) return false;
    throw e;
  }
}

/** Runs `f` again once when a concurrent creator won the race ("already in use"). */
async function retryOnRace(f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!/already in use|already exists/i.test((e as Error).message)) throw e;
    await f();
  }
}
