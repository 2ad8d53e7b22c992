/**
 * `GET /metrics`: the server's metrics in Prometheus text exposition format
 * (`runtime/server/metrics/prometheus_text.ts`), behind the operators' access rule
 * (`operatorAccess`: the server's own host, or a bearer token from `metricsTokenFile`).
 *
 * @example
 * ```ts
 * import { metricsRoutes } from "./metrics_routes.ts";
 * import { operatorAccess } from "../middleware/operator_access.ts";
 * const app = metricsRoutes(() => "splitgate_round 0\n", operatorAccess({}));
 * const res = await app.request("/metrics");
 * console.log(res.headers.get("content-type"), await res.text()); // text/plain; version=0.0.4; charset=utf-8 splitgate_round 0
 * ```
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";

/** The content type of the text format, version 0.0.4 (what Prometheus asks for and accepts). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * The metrics router.
 *
 * @example
 * ```ts
 * import { metricsRoutes } from "./metrics_routes.ts";
 * import { operatorAccess } from "../middleware/operator_access.ts";
 * // app.route("/", metricsRoutes(() => prometheusText({ status: status(), metrics, engine, mode }), operatorAccess({ token })));
 * ```
 */
export function metricsRoutes(text: () => string, guard: MiddlewareHandler): Hono {
  const app = new Hono();
  app.get("/metrics", guard, (c) => c.body(text(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" }));
  return app;
}
