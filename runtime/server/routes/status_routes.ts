/**
 * `GET /status` (mounted under `/v1`): the {@linkcode ServerStatus} as JSON, behind the
 * access rule given (`loopbackOnly(config.statusFrom)`).
 *
 * @example
 * ```ts
 * import { statusRoutes } from "./status_routes.ts";
 * import { loopbackOnly } from "../middleware/loopback_only.ts";
 * const app = statusRoutes(() => ({ clinics: [], epoch: 0, step: 0, turn: null, finished: true, samplesPerSec: 0 }), loopbackOnly("loopback"));
 * console.log(await (await app.request("/status")).json()); // { clinics: [], epoch: 0, step: 0, turn: null, finished: true, samplesPerSec: 0 }
 * ```
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { ServerStatus } from "../server_status.ts";

/**
 * The status router.
 *
 * @example
 * ```ts
 * import { statusRoutes } from "./status_routes.ts";
 * import { loopbackOnly } from "../middleware/loopback_only.ts";
 * // app.route("/v1", statusRoutes(() => serverStatus(state, sessions, now()), loopbackOnly("loopback")));
 * ```
 */
export function statusRoutes(status: () => ServerStatus, guard: MiddlewareHandler): Hono {
  const app = new Hono();
  app.get("/status", guard, (c) => c.json(status()));
  return app;
}
