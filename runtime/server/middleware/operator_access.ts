/**
 * Who may read the operators' views (`GET /metrics`, `GET /dashboard` and its event
 * stream): the server's own host always; another host only with the bearer token of the
 * config's `metricsTokenFile` (`Authorization: Bearer <token>`, RFC 6750 §2.1), and never
 * without one configured. These views name the participating hospitals and their progress,
 * which is itself worth keeping to the operators (as `GET /v1/status`).
 *
 * A refusal is 401 `METRICS_TOKEN_REQUIRED` (no or malformed `Authorization`, with
 * `WWW-Authenticate: Bearer`), 403 `METRICS_BAD_TOKEN` (a wrong token) or 403
 * `METRICS_LOOPBACK_ONLY` (another host and no token configured). A request made in process
 * (`app.request`, tests) has no peer address and is let through, as by `loopbackOnly`.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { operatorAccess } from "./operator_access.ts";
 * import { toHttpError } from "../http_error.ts";
 * const app = new Hono().onError((e) => toHttpError(e).getResponse())
 *   .get("/metrics", operatorAccess({ token: "s3cret-token-of-32-characters-xx" }), (c) => c.text("ok"));
 * const from = (hostname: string, auth?: string) =>
 *   app.fetch(new Request("http://s/metrics", { headers: auth ? { authorization: auth } : {} }), { remoteAddr: { hostname } });
 * console.log((await from("127.0.0.1")).status, (await from("10.0.0.7")).status); // 200 401
 * console.log((await from("10.0.0.7", "Bearer s3cret-token-of-32-characters-xx")).status); // 200
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { isLoopback } from "./loopback_only.ts";

/** Shortest token accepted: 16 bytes of entropy as hex is 32 characters. */
export const MIN_TOKEN_LENGTH = 32;

/**
 * Options of {@linkcode operatorAccess}.
 *
 * @example
 * ```ts
 * import type { OperatorAccessOptions } from "./operator_access.ts";
 * const loopbackOnly: OperatorAccessOptions = {};
 * ```
 */
export interface OperatorAccessOptions {
  /** The bearer token other hosts must present (none: loopback only). */
  token?: string;
}

/**
 * Reads a token file: the first line, trimmed.
 *
 * @throws {RangeError} naming the file when the token is shorter than {@linkcode MIN_TOKEN_LENGTH}
 *   or holds characters outside RFC 6750's token68 (`A-Z a-z 0-9 - . _ ~ + /`, then `=`).
 * @example
 * ```ts
 * import { parseTokenFile } from "./operator_access.ts";
 * try { parseTokenFile("short\n", "metrics.token"); } catch (e) { console.log((e as RangeError).message); }
 * // metricsTokenFile metrics.token: expected a token of at least 32 characters of A-Z a-z 0-9 - . _ ~ + / (e.g. openssl rand -hex 32), found 5 characters
 * ```
 */
export function parseTokenFile(text: string, path: string): string {
  const token = text.split(/\r?\n/)[0].trim();
  if (token.length < MIN_TOKEN_LENGTH || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    throw new RangeError(
      `metricsTokenFile ${path}: expected a token of at least ${MIN_TOKEN_LENGTH} characters of ` +
        `A-Z a-z 0-9 - . _ ~ + / (e.g. openssl rand -hex 32), found ${token.length} characters`,
    );
  }
  return token;
}

/** Compares in time independent of where the strings differ (a timing side channel would leak the token). */
function sameSecret(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** A JSON refusal; 401 carries the challenge RFC 6750 §3 asks for. */
function refuse(status: 401 | 403, code: string, message: string): HTTPException {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="splitgate"';
  const res = new Response(JSON.stringify({ error: { code, message } }), { status, headers });
  return new HTTPException(status, { res, message });
}

/**
 * The middleware.
 *
 * @example
 * ```ts
 * import { operatorAccess } from "./operator_access.ts";
 * const guard = operatorAccess({}); // loopback only
 * ```
 */
export const operatorAccess = (o: OperatorAccessOptions): MiddlewareHandler =>
  async function operatorAccess(c, next) {
    const from = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname;
    if (from === undefined || isLoopback(from)) return await next();
    const what = `${c.req.method} ${c.req.path}`;
    if (o.token === undefined) {
      throw refuse(403, "METRICS_LOOPBACK_ONLY", `${what} answers the server's own host only (set metricsTokenFile to allow others with a bearer token); asked from ${from}`);
    }
    const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(c.req.header("authorization") ?? "");
    if (!m) {
      throw refuse(401, "METRICS_TOKEN_REQUIRED", `${what} from ${from}: expected the header Authorization: Bearer <the token of metricsTokenFile>`);
    }
    // The message never echoes the token presented.
    if (!sameSecret(m[1], o.token)) throw refuse(403, "METRICS_BAD_TOKEN", `${what} from ${from}: the bearer token is not the one of metricsTokenFile`);
    await next();
  };
