/**
 * The one error class of the scale-out pieces (runtime/cluster/): every way talking to NATS
 * JetStream can fail maps to a {@linkcode ClusterError} with a machine-readable `code`, so a
 * front can answer a clinic (and a trainer can log) without parsing error strings
 * (docs/design/scale_out.md).
 *
 * @example
 * ```ts
 * import { ClusterError } from "./cluster_error.ts";
 * try {
 *   throw new ClusterError("BUS_TIMEOUT", "no reply for clinic \"a\" within 100 ms");
 * } catch (e) {
 *   if (e instanceof ClusterError) console.log(e.code); // BUS_TIMEOUT
 * }
 * ```
 * @module
 */

/**
 * Why a cluster operation failed; the list is the type and a runtime check at once.
 *
 * - `NATS_MISSING`: the `nats-server` binary is not installed (`apt-get install nats-server`).
 * - `NATS_START_FAILED`: a local nats-server did not come up (its log tail is in the message).
 * - `NATS_UNREACHABLE`: no NATS server answered at the URL (or it refused the credentials).
 * - `JETSTREAM_UNAVAILABLE`: the server answers but has no JetStream (start it with `-js`).
 * - `BAD_STUDY_NAME`: a study id that cannot name subjects and buckets.
 * - `BAD_SHARD`: a shard number outside `0 ≤ k < shards`, or a bad shard count.
 * - `BAD_MEMBER_ID`: a trainer id that cannot be a KV key.
 * - `BUS_TIMEOUT`: a request was stored but no trainer replied in time.
 * - `BAD_BUS_MESSAGE`: a bus message with missing or garbled `sg-*` headers.
 * - `BLOB_MISSING`: a payload's object-store blob was not found.
 * - `PUBLISH_FAILED`: JetStream did not store a request (no PubAck).
 * - `CLOSED`: the sender or worker was used after `close()`/`stop()`.
 * - `BAD_SCHEDULE`: a trainer started with a schedule replicas cannot run (they need
 *   `splitfed` with relayed or private fronts).
 *
 * @example
 * ```ts
 * import { CLUSTER_ERROR_CODES } from "./cluster_error.ts";
 * console.log(CLUSTER_ERROR_CODES.includes("BUS_TIMEOUT")); // true
 * ```
 */
export const CLUSTER_ERROR_CODES = [
  "NATS_MISSING",
  "NATS_START_FAILED",
  "NATS_UNREACHABLE",
  "JETSTREAM_UNAVAILABLE",
  "BAD_STUDY_NAME",
  "BAD_SHARD",
  "BUS_TIMEOUT",
  "BAD_BUS_MESSAGE",
  "BAD_MEMBER_ID",
  "BLOB_MISSING",
  "PUBLISH_FAILED",
  "CLOSED",
  "BAD_SCHEDULE",
] as const;

/**
 * One of {@linkcode CLUSTER_ERROR_CODES}.
 *
 * @example
 * ```ts
 * import type { ClusterErrorCode } from "./cluster_error.ts";
 * const c: ClusterErrorCode = "NATS_UNREACHABLE";
 * ```
 */
export type ClusterErrorCode = (typeof CLUSTER_ERROR_CODES)[number];

/**
 * A failure of the NATS scale-out plumbing, with a code and a message naming the value at
 * fault and what was expected.
 *
 * @example
 * ```ts
 * import { ClusterError } from "./cluster_error.ts";
 * const e = new ClusterError("BAD_SHARD", "shard 17: expected 0 ≤ shard < 16");
 * console.log(e.name, e.code, e.message); // ClusterError BAD_SHARD shard 17: expected 0 ≤ shard < 16
 * ```
 */
export class ClusterError extends Error {
  /** Machine-readable reason. */
  readonly code: ClusterErrorCode;

  /** Makes an error with `code` and a message naming the value and the expectation. */
  constructor(code: ClusterErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClusterError";
    this.code = code;
  }
}
