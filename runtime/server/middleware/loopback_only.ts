/**
 * Answers a route only to the server's own host, unless the policy is `"anywhere"`
 * (config `statusFrom`): `GET /v1/status` names the participating clinics, and which
 * hospitals take part is itself worth keeping to the operators.
 *
 * The peer address comes from `c.env.remoteAddr` (Deno.serve's connection info); a request
 * made in process (`app.request`, tests) has none and is let through.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { loopbackOnly } from "./loopback_only.ts";
 * import { toHttpError } from "../http_error.ts";
 * const app = new Hono().onError((e) => toHttpError(e).getResponse())
 *   .get("/v1/status", loopbackOnly("loopback"), (c) => c.text("ok"));
 * const from = (hostname: string) => app.fetch(new Request("http://s/v1/status"), { remoteAddr: { hostname } });
 * console.log((await from("127.0.0.1")).status, (await from("10.0.0.7")).status); // 200 403
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { httpError } from "../http_error.ts";

/**
 * Whether `host` is a loopback address (127.0.0.0/8, ::1, or 127.x mapped into IPv6).
 *
 * @example
 * ```ts
 * import { isLoopback } from "./loopback_only.ts";
 * console.log(isLoopback("127.9.9.9"), isLoopback("[::1]"), isLoopback("::ffff:10.0.0.7")); // true true false
 * ```
 */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h.startsWith("127.") || h === "::1" || h.startsWith("::ffff:127.");
}

/**
 * The middleware: with `"loopback"`, a request from another host gets 403
 * `STATUS_LOOPBACK_ONLY` naming the asker; `"anywhere"` lets every request through.
 *
 * @example
 * ```ts
 * import { loopbackOnly } from "./loopback_only.ts";
 * const open = loopbackOnly("anywhere");
 * ```
 */
export const loopbackOnly = (policy: "loopback" | "anywhere"): MiddlewareHandler =>
  async function loopbackOnly(c, next) {
    // c.env is Deno.serve's connection info; an in-process request (tests) has none.
    const from = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname;
    if (policy === "loopback" && from !== undefined && !isLoopback(from)) {
      throw httpError(
        403,
        "STATUS_LOOPBACK_ONLY",
        `${c.req.method} ${c.req.path} answers the server's own host only (config statusFrom); asked from ${from}`,
      );
    }
    await next();
  };
