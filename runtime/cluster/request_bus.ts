/**
 * The request bus between fronts and trainers on NATS JetStream (docs/design/scale_out.md,
 * "Requests"): {@linkcode RequestSender} on the front, {@linkcode ShardWorker} on the trainer,
 * and the {@linkcode BusRequest}/{@linkcode BusReply} they exchange. Each lives in its own
 * file; this module gathers them.
 *
 * @example
 * ```ts ignore
 * import { RequestSender, ShardWorker } from "./request_bus.ts";
 * const worker = new ShardWorker(link, names, async (r) => ({ status: 200, payload: r.payload }));
 * worker.setShards([...Array(names.shards).keys()]);
 * const reply = await new RequestSender(link, names).send("clinic-a", new Uint8Array([1]));
 * ```
 * @module
 */
export { type BusReply, type BusRequest, DEFAULT_INLINE_LIMIT } from "./bus_wire.ts";
export { DEFAULT_BUS_TIMEOUT_MS, RequestSender } from "./request_sender.ts";
export { ShardWorker } from "./shard_worker.ts";
