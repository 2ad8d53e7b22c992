/**
 * Starts a scale-out front (`deno task server --role front`; docs/design/scale_out.md):
 * connects to NATS, makes sure the study's stream, consumers, buckets and object store exist
 * (idempotent: every front and trainer does it), and builds the front's app on a
 * `RequestSender` and the study's shared handshake timestamps. The caller serves `app`.
 *
 * @example
 * ```ts
 * import { runFront } from "./front_main.ts";
 * // const front = await runFront(config, { keyPair, allowlist }, { natsUrl: "nats://127.0.0.1:4222", log: console.log });
 * // Deno.serve({ port: 8443 }, front.app.fetch); ... await front.stop();
 * ```
 * @module
 */
import type { ServerConfig, ServerDeps } from "../server/server_config.ts";
import { clusterStudyId } from "./cluster_study.ts";
import { createFrontApp, type FrontHandle } from "./front_app.ts";
import { KvHandshakeTimestamps } from "./kv_handshake_timestamps.ts";
import { connectNats, ensureStudyResources, type NatsLink } from "./nats_link.ts";
import { RequestSender } from "./request_bus.ts";
import { studyNames } from "./study_names.ts";

/**
 * How a front reaches NATS.
 *
 * @example
 * ```ts
 * import type { FrontOptions } from "./front_main.ts";
 * const o: FrontOptions = { natsUrl: "nats://127.0.0.1:4222", log: console.log };
 * ```
 */
export interface FrontOptions {
  /** The NATS server (`--nats`, or `SPLITGATE_NATS_URL`). */
  natsUrl: string;
  log: (line: string) => void;
  /** Milliseconds a request waits for its trainer's reply before a 503 `BUS_TIMEOUT` (default the sender's). */
  busTimeoutMs?: number;
  /** The front's name on NATS (default `front`). */
  name?: string;
}

/**
 * A running front: its app (to serve) and `stop()`.
 *
 * @example
 * ```ts
 * import type { RunningFront } from "./front_main.ts";
 * async function end(f: RunningFront) { await f.stop(); }
 * ```
 */
export interface RunningFront extends FrontHandle {
  /** The study whose requests it forwards. */
  study: string;
  /** Closes the sessions, the sender and the NATS connection. */
  stop(): Promise<void>;
}

/**
 * Connects the front to NATS and builds its app.
 *
 * @throws {ClusterError} `NATS_UNREACHABLE` (no NATS at `o.natsUrl`), `JETSTREAM_UNAVAILABLE`,
 *   `BAD_STUDY_NAME`; {RangeError} for limits that cannot work
 * @example
 * ```ts
 * import { runFront } from "./front_main.ts";
 * // const front = await runFront(config, deps, { natsUrl, log });
 * ```
 */
export async function runFront(config: ServerConfig, deps: ServerDeps, o: FrontOptions): Promise<RunningFront> {
  const names = studyNames(clusterStudyId(config));
  const link = await connectNats(o.natsUrl, { name: o.name ?? "front" });
  try {
    await ensureStudyResources(link, names);
    const timestamps = await KvHandshakeTimestamps.open(link, names);
    const sender = new RequestSender(link, names, o.busTimeoutMs === undefined ? {} : { timeoutMs: o.busTimeoutMs });
    const front = createFrontApp(config, { ...deps, log: deps.log ?? o.log }, { sender, timestamps, reachable: followConnection(link, o.log) });
    return {
      ...front,
      study: names.study,
      async stop() {
        front.close();
        timestamps.close();
        await sender.close();
        await link.close();
      },
    };
  } catch (e) {
    await link.close().catch(() => {});
    throw e;
  }
}

/**
 * Follows the NATS connection's status (the client reconnects by itself): whether it is up
 * now, with a log line when it goes down and when it is back.
 */
function followConnection(link: NatsLink, log: (line: string) => void): () => boolean {
  let up = true;
  void (async () => {
    for await (const s of link.nc.status()) {
      if (s.type === "disconnect" && up) {
        up = false;
        log("front: NATS connection lost; /health answers 503 until it is back");
      } else if (s.type === "reconnect" && !up) {
        up = true;
        log("front: NATS connection back");
      }
    }
  })().catch(() => {});
  return () => up && !link.nc.isClosed();
}
