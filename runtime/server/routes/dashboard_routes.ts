/**
 * `GET /dashboard` (the page, `runtime/server/dashboard/dashboard_page.ts`),
 * `GET /dashboard/events` (its live updates as Server-Sent Events: one `data:` line of a
 * {@linkcode DashboardSnapshot} as JSON at once, then every `intervalMs`; WHATWG HTML §9.2
 * "Server-sent events") and `GET /dashboard/state.json` (one snapshot), all behind the
 * operators' access rule.
 *
 * @example
 * ```ts
 * import { dashboardRoutes } from "./dashboard_routes.ts";
 * import { operatorAccess } from "../middleware/operator_access.ts";
 * const app = dashboardRoutes({ snapshot: () => ({ at: 0 }) as never, guard: operatorAccess({}) });
 * const res = await app.request("/dashboard");
 * console.log(res.status, res.headers.get("content-type")); // 200 text/html; charset=utf-8
 * ```
 * @module
 */
import { Hono, type MiddlewareHandler } from "hono";
import { streamSSE } from "hono/streaming";
import { dashboardHtml } from "../dashboard/dashboard_page.ts";
import type { DashboardSnapshot } from "../dashboard/dashboard_snapshot.ts";

/**
 * What the dashboard routes need.
 *
 * @example
 * ```ts
 * import type { DashboardRouteDeps } from "./dashboard_routes.ts";
 * function every(d: DashboardRouteDeps) { return d.intervalMs ?? 1000; }
 * ```
 */
export interface DashboardRouteDeps {
  snapshot: () => DashboardSnapshot;
  guard: MiddlewareHandler;
  /** Time between live updates, ms (default 1000). */
  intervalMs?: number;
  /**
   * Ends every open event stream when aborted: a graceful HTTP shutdown waits for open
   * responses, and an event stream never ends by itself.
   */
  signal?: AbortSignal;
}

/**
 * The dashboard router (mounted at the root).
 *
 * @example
 * ```ts
 * import { dashboardRoutes } from "./dashboard_routes.ts";
 * // app.route("/", dashboardRoutes({ snapshot, guard: operatorAccess({ token }) }));
 * ```
 */
export function dashboardRoutes(d: DashboardRouteDeps): Hono {
  const app = new Hono();
  const html = dashboardHtml();
  const every = d.intervalMs ?? 1000;
  app.get("/dashboard", d.guard, (c) =>
    c.html(html, 200, {
      // Everything is inline; nothing may be loaded from elsewhere.
      "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
      "cache-control": "no-store",
    }));
  app.get("/dashboard/state.json", d.guard, (c) => c.json(d.snapshot()));
  app.get("/dashboard/events", d.guard, (c) =>
    streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      const ended = new Promise<void>((resolve) => {
        if (d.signal?.aborted) resolve();
        d.signal?.addEventListener("abort", () => resolve(), { once: true });
      });
      while (open && !d.signal?.aborted) {
        await stream.writeSSE({ data: JSON.stringify(d.snapshot()), retry: 2000 });
        await Promise.race([stream.sleep(every), ended]);
      }
    }));
  return app;
}
