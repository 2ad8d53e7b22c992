/**
 * A scale-out front's answer to an opened request (docs/design/scale_out.md, "Requests"):
 * the plaintext message goes, unread, to the request bus on the clinic's shard
 * (`RequestSender.send`), and the trainer's reply comes back to be sealed by the session
 * route. A refusal from the trainer becomes the HTTP error the single server would have
 * answered (same status, code and message); a bus that does not answer becomes a 503 the
 * clinic retries (`runtime/client/server_connection.ts` retries any 5xx, handshaking again
 * and re-sending the same request, which its retry key makes safe).
 *
 * The front decodes nothing: the body limit bounds what it forwards, and the trainer decodes
 * within the model's limits and checks, as the single server does.
 *
 * @example
 * ```ts
 * import { busAnswer } from "./bus_answer.ts";
 * import { TrafficCounters } from "../server/clinic_traffic.ts";
 * const answer = busAnswer({
 *   sender: { send: (_clinic, payload) => Promise.resolve({ status: 200 as const, payload }) },
 *   traffic: new TrafficCounters(),
 *   now: () => Date.now(),
 * });
 * console.log((await answer("clinic-a", new Uint8Array([1]))).length); // 1
 * ```
 * @module
 */
import type { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { TrafficBook } from "../server/clinic_traffic.ts";
import { httpError } from "../server/http_error.ts";
import type { ServerCore } from "../server/server_core.ts";
import { ClusterError } from "./cluster_error.ts";
import type { BusReply } from "./request_bus.ts";

/**
 * What a front's answer needs.
 *
 * @example
 * ```ts
 * import type { BusAnswerDeps } from "./bus_answer.ts";
 * function counters(d: BusAnswerDeps) { return d.traffic; }
 * ```
 */
export interface BusAnswerDeps {
  /** The request bus (`RequestSender`): stores the request, waits for its reply. */
  sender: { send(clinic: string, payload: Uint8Array): Promise<BusReply> };
  /** The front's traffic counters per clinic. */
  traffic: TrafficBook;
  now: () => number;
}

/** A reply that is not a 200. */
type Refusal = Exclude<BusReply, { status: 200 }>;

/**
 * The HTTP error of a trainer's refusal (its status, code and message), or of a bus that
 * failed: 503 with the `ClusterError`'s code (`BUS_TIMEOUT`, `NATS_UNREACHABLE`, `CLOSED`),
 * which the clinic retries.
 *
 * @example
 * ```ts
 * import { busRefusal } from "./bus_answer.ts";
 * const e = busRefusal({ status: 409, error: { code: "STEP_OUT_OF_ORDER", message: "step 3 after 1" } });
 * console.log(e.status); // 409
 * ```
 */
export function busRefusal(r: Refusal | ClusterError): HTTPException {
  if (r instanceof ClusterError) return httpError(503, r.code, `request bus: ${r.message}; retry`);
  // A trainer replies with the statuses of runtime/server/http_error.ts; anything else (a
  // 200 without a payload included) is a trainer bug, which the clinic should see as a
  // server error (and retry), not a refusal.
  const status = Number.isInteger(r.status) && r.status >= 400 && r.status <= 599 ? r.status : 502;
  return httpError(status as ContentfulStatusCode, r.error.code, r.error.message);
}

/**
 * A front's answer to an opened request, in the shape of the server core's
 * (`ServerCore.answer`), which the session route calls: the route's checks first (`precheck`:
 * the session is still the clinic's live one, the frame an application one), then the bus.
 *
 * @example
 * ```ts
 * import { busAnswer } from "./bus_answer.ts";
 * // sessionRoutes({ ..., answer: busAnswer({ sender, traffic, now }) })
 * ```
 */
export function busAnswer(d: BusAnswerDeps): ServerCore["answer"] {
  return async (clinic, payload, o = {}) => {
    o.precheck?.();
    const t = d.traffic.clinic(clinic);
    t.bytesIn += o.bytes ?? payload.length;
    t.lastSeen = d.now();
    let reply: BusReply;
    try {
      reply = await d.sender.send(clinic, payload);
    } catch (e) {
      if (e instanceof ClusterError) throw busRefusal(e);
      throw e;
    }
    if (reply.status === 200 && "payload" in reply && reply.payload instanceof Uint8Array) return reply.payload;
    throw busRefusal(reply as Refusal);
  };
}
