/**
 * `bench:clinics --replicas 1,2`: what the clinics of `bench/clinics.ts` train against when
 * the server is scaled out (docs/design/scale_out.md): a local nats-server with JetStream,
 * `r` trainers and `r` fronts, all in this process (as the bench's single server is), clinic i
 * talking to front i mod r. Beside the bench's figures it measures the messaging:
 * - bus round trip: at the fronts, from handing a STEP to the request bus to its reply
 *   (publish, JetStream storage, the trainer's pull, its handling, the reply on the inbox);
 * - handling: at the trainers, a STEP's handling (the server segment's step and the reply's
 *   encoding: the core's phase `server handle STEP`; its decoding, timed by the core under
 *   one name for every request type, is left in the overhead);
 * - held: at the trainers, from a STEP's arrival to its reply: the handling plus the wait for
 *   the request lock while other clinics' steps run (queueing, not messaging);
 * - messaging overhead per step: the mean round trip minus the mean held time.
 *
 * @example
 * ```ts
 * import { replicaServer } from "./clinics_replicas.ts";
 * // await runSetting(s, "splitfed", 4, shares, replicaServer(2, natsUrl));
 * ```
 * @module
 */
import { createFrontApp } from "../runtime/cluster/front_app.ts";
import { KvHandshakeTimestamps } from "../runtime/cluster/kv_handshake_timestamps.ts";
import { connectNats, ensureStudyResources, type NatsLink } from "../runtime/cluster/nats_link.ts";
import { type BusReply, RequestSender } from "../runtime/cluster/request_bus.ts";
import { studyNames } from "../runtime/cluster/study_names.ts";
import { clusterStudyId } from "../runtime/cluster/cluster_study.ts";
import { runTrainer } from "../runtime/cluster/trainer_main.ts";
import { HELD_STEP } from "../runtime/cluster/replica_trainer.ts";
import { MESSAGE_TYPES } from "../runtime/protocol/mod.ts";
import { PhaseProfile } from "../runtime/protocol/phase_profile.ts";
import type { BenchServer, StartServer } from "./clinics.ts";

/** The trainers' phase that is a STEP's handling. */
const HANDLE_STEP = "server handle STEP (step + encode)";

/** A sender that times the round trip of every STEP it sends. */
function timedSender(sender: RequestSender, trips: number[]): { send(clinic: string, payload: Uint8Array): Promise<BusReply> } {
  return {
    async send(clinic, payload) {
      const t0 = performance.now();
      const reply = await sender.send(clinic, payload);
      if (payload[0] === MESSAGE_TYPES.STEP) trips.push(performance.now() - t0);
      return reply;
    },
  };
}

/**
 * Starts `replicas` trainers and as many fronts on the NATS server at `natsUrl` (its study's
 * streams are made fresh by the caller: one NATS server per setting).
 *
 * @example
 * ```ts
 * import { replicaServer } from "./clinics_replicas.ts";
 * // const start = replicaServer(2, "nats://127.0.0.1:4222");
 * ```
 */
export function replicaServer(replicas: number, natsUrl: string): StartServer {
  return async (config, deps): Promise<BenchServer> => {
    const names = studyNames(clusterStudyId(config));
    const profile = new PhaseProfile(true);
    const trips: number[] = [];
    const stops: (() => Promise<void>)[] = [];
    const close = async () => {
      for (const stop of stops.reverse()) await stop().catch(() => {});
    };
    try {
      for (let i = 0; i < replicas; i++) {
        const t = await runTrainer(config, { ...deps, profile }, { natsUrl, id: `trainer-${i}`, log: () => {} });
        stops.push(() => t.stop());
      }
      const ports: number[] = [];
      for (let i = 0; i < replicas; i++) {
        const link: NatsLink = await connectNats(natsUrl, { name: `front-${i}` });
        stops.push(() => link.close());
        await ensureStudyResources(link, names);
        const timestamps = await KvHandshakeTimestamps.open(link, names);
        stops.push(() => Promise.resolve(timestamps.close()));
        const sender = new RequestSender(link, names);
        stops.push(() => sender.close());
        const front = createFrontApp(config, deps, { sender: timedSender(sender, trips), timestamps });
        const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, front.app.fetch);
        stops.push(async () => {
          await http.shutdown();
          front.close();
        });
        ports.push(http.addr.port);
      }
      const phase = (name: string) => profile.rows().find((r) => r.phase === name);
      return {
        ports,
        // The trainers' STEP handling over all replicas, per replica (the busy column).
        busyMs: () => (phase(HANDLE_STEP)?.totalMs ?? 0) / replicas,
        bus: () => ({
          busMs: trips.reduce((a, b) => a + b, 0) / trips.length,
          handleMs: phase(HANDLE_STEP)?.meanMs ?? NaN,
          heldMs: phase(HELD_STEP)?.meanMs ?? NaN,
        }),
        close,
      };
    } catch (e) {
      await close();
      throw e;
    }
  };
}
