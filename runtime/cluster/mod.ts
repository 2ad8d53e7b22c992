/**
 * Scale-out on NATS JetStream (docs/design/scale_out.md): the names of a study's stream,
 * consumers and buckets, the shard ring, trainer membership, the request bus between fronts
 * and trainers, the shared handshake replay guard, and a loopback nats-server for the demo and
 * the tests. Nothing here is used by a single server, which needs no NATS at all.
 *
 * @example
 * ```ts ignore
 * import { connectNats, ensureStudyResources, RequestSender, studyNames } from "./mod.ts";
 * const link = await connectNats("nats://127.0.0.1:4222");
 * const names = studyNames("heart");
 * await ensureStudyResources(link, names);
 * const reply = await new RequestSender(link, names).send("clinic-a", new Uint8Array([1]));
 * ```
 * @module
 */
export { CLUSTER_ERROR_CODES, ClusterError, type ClusterErrorCode } from "./cluster_error.ts";
export { DEFAULT_SHARDS, shardOf, type StudyNames, studyNames } from "./study_names.ts";
export { ownerOf, shardsOf } from "./shard_ring.ts";
export { type HealthEndpoint, serveHealth } from "./health_endpoint.ts";
export {
  ACK_WAIT_MS,
  connectNats,
  ensureStudyResources,
  MAX_ACK_PENDING,
  MEMBERS_TTL_MS,
  NATS_TOKEN_ENV,
  type NatsLink,
  resetShardConsumer,
} from "./nats_link.ts";
export { findNatsServer, type LocalNats, NATS_SERVER_ENV, startLocalNats } from "./local_nats.ts";
export { DEFAULT_HEARTBEAT_MS, Membership } from "./membership.ts";
export {
  type BusReply,
  type BusRequest,
  DEFAULT_BUS_TIMEOUT_MS,
  DEFAULT_INLINE_LIMIT,
  RequestSender,
  ShardWorker,
} from "./request_bus.ts";
export { KvHandshakeTimestamps } from "./kv_handshake_timestamps.ts";
export { runTrainer, type TrainerHandle } from "./trainer_main.ts";
export { clinicsOwned, DEFAULT_TRAINER_STUDY, Trainer, type TrainerOptions } from "./trainer.ts";
export { type AppliedStep, ReplicaTrainer, type ReplicaTrainerOptions } from "./replica_trainer.ts";
export { checkReplicaSchedule } from "./replica_schedule.ts";
export { ReplicaRounds, type ReplicaRoundsOptions } from "./replica_rounds.ts";
export { TrainerRound } from "./trainer_round.ts";
export { MemoryRoundStore, objectRoundStore, type RoundStore } from "./round_store.ts";
export { decodePartial, encodePartial, partialName, type PartialRecord, type RoundPartial } from "./round_partial.ts";
export { createFrontApp, type FrontBus, type FrontHandle } from "./front_app.ts";
export { type FrontOptions, runFront, type RunningFront } from "./front_main.ts";
export { busAnswer, busRefusal } from "./bus_answer.ts";
export { clusterStudyId, DEFAULT_CLUSTER_STUDY } from "./cluster_study.ts";
