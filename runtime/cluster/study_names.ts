/**
 * The names one study uses on NATS: its JetStream stream, per-shard subjects and durable
 * consumers, and its KV buckets and object store (docs/design/scale_out.md, "Subjects,
 * buckets, names"), and which shard a clinic's requests go to.
 *
 * A study id (`STUDY_ID_PATTERN`: letters, digits, `.`, `_`, `-`) is used as one subject token
 * and in bucket names, which allow only `[A-Za-z0-9_-]`, so `.` becomes `_` there (the study
 * ids `a.b` and `a_b` therefore share their NATS names: keep them apart on one NATS server).
 *
 * @example
 * ```ts
 * import { shardOf, studyNames } from "./study_names.ts";
 * const n = studyNames("heart-1");
 * console.log(n.stream, n.subject(3), n.consumer(3), n.members); // SG_HEART_1 sg.heart-1.step.3 shard-3 heart-1-members
 * console.log(shardOf("clinic-a", n.shards) < 16); // true
 * ```
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { ClusterError } from "./cluster_error.ts";

/** Shards per study unless told otherwise (docs/design/scale_out.md: `S = 16`). */
export const DEFAULT_SHARDS = 16;

/** The largest shard count accepted (one durable consumer per shard). */
export const MAX_SHARDS = 1024;

/**
 * Every NATS name of one study.
 *
 * @example
 * ```ts
 * import { studyNames, type StudyNames } from "./study_names.ts";
 * const n: StudyNames = studyNames("s", 4);
 * console.log(n.shards, n.handshakes, n.rounds); // 4 s-handshakes s-rounds
 * ```
 */
export interface StudyNames {
  /** The study id as given. */
  study: string;
  /** How many shards (and durable consumers) the study's requests are spread over. */
  shards: number;
  /** The JetStream work-queue stream: `SG_<STUDY>` upper-cased, non-alphanumerics `_`. */
  stream: string;
  /** The subject of shard `shard`: `sg.<study>.step.<shard>`. */
  subject(shard: number): string;
  /** The durable pull consumer of shard `shard`: `shard-<shard>`. */
  consumer(shard: number): string;
  /** KV bucket of trainer heartbeats: `<study>-members`. */
  members: string;
  /** KV bucket of the last accepted handshake timestamp per clinic key: `<study>-handshakes`. */
  handshakes: string;
  /** Object store of round partials (checkpoints) and large payloads: `<study>-rounds`. */
  rounds: string;
}

const STUDY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The NATS names of `study`, its requests spread over `shards` shards.
 *
 * @throws {ClusterError} `BAD_STUDY_NAME` for an id outside `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`;
 *   `BAD_SHARD` for a shard count that is not an integer in 1..1024.
 * @example
 * ```ts
 * import { studyNames } from "./study_names.ts";
 * console.log(studyNames("demo.v2").subject(0)); // sg.demo_v2.step.0
 * ```
 */
export function studyNames(study: string, shards: number = DEFAULT_SHARDS): StudyNames {
  if (typeof study !== "string" || !STUDY_NAME.test(study)) {
    throw new ClusterError(
      "BAD_STUDY_NAME",
      `study ${
        JSON.stringify(study)
      }: expected 1-64 characters of [A-Za-z0-9._-], starting alphanumeric`,
    );
  }
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw new ClusterError(
      "BAD_SHARD",
      `shards ${shards}: expected an integer in 1..${MAX_SHARDS}`,
    );
  }
  // Subject tokens and bucket names: no `.` (a token separator, and not allowed in buckets).
  const token = study.replaceAll(".", "_");
  const check = (k: number) => {
    if (!Number.isInteger(k) || k < 0 || k >= shards) {
      throw new ClusterError("BAD_SHARD", `shard ${k}: expected an integer 0 ≤ shard < ${shards}`);
    }
    return k;
  };
  return {
    study,
    shards,
    stream: `SG_${study.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`,
    subject: (k) => `sg.${token}.step.${check(k)}`,
    consumer: (k) => `shard-${check(k)}`,
    members: `${token}-members`,
    handshakes: `${token}-handshakes`,
    rounds: `${token}-rounds`,
  };
}

/**
 * The shard of `clinic`: the first 4 bytes of `sha256(clinic)` (UTF-8), big-endian, mod
 * `shards` (docs/design/scale_out.md). Every front computes the same shard for a clinic.
 *
 * @throws {ClusterError} `BAD_SHARD` for a shard count that is not an integer in 1..1024.
 * @example
 * ```ts
 * import { shardOf } from "./study_names.ts";
 * console.log(shardOf("clinic-a", 1)); // 0
 * ```
 */
export function shardOf(clinic: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    throw new ClusterError(
      "BAD_SHARD",
      `shards ${shards}: expected an integer in 1..${MAX_SHARDS}`,
    );
  }
  const h = sha256(new TextEncoder().encode(clinic));
  const first = ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
  return first % shards;
}
