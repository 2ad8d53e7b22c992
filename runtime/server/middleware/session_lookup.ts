/**
 * Finds the live session named by the route's `:id` and hands it to the route as
 * `c.var.session`: an unknown (or retired) session is 404 `UNKNOWN_SESSION`, a request
 * whose `x-splitgate-clinic` header names another clinic 403 `SESSION_MISMATCH`.
 *
 * The header check is a cheap early refusal of a request aimed at another clinic's session;
 * the real protection is the channel's AEAD (a forged header still fails with `BAD_TAG`).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { sessionLookup, type SessionEnv } from "./session_lookup.ts";
 * import { SessionTable } from "../session_table.ts";
 * import { toHttpError } from "../http_error.ts";
 * const app = new Hono<SessionEnv>().onError((e) => toHttpError(e).getResponse())
 *   .post("/:id/msg", sessionLookup(new SessionTable()), (c) => c.text(c.var.session.clinic));
 * console.log((await app.request("/00ff/msg", { method: "POST" })).status); // 404
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { CLINIC_HEADER } from "../../protocol/mod.ts";
import { httpError } from "../http_error.ts";
import type { Session, SessionTable } from "../session_table.ts";

/**
 * Hono environment of a route behind {@linkcode sessionLookup}.
 *
 * @example
 * ```ts
 * import type { SessionEnv } from "./session_lookup.ts";
 * import type { Context } from "hono";
 * function clinic(c: Context<SessionEnv>) { return c.var.session.clinic; }
 * ```
 */
export type SessionEnv = { Variables: { session: Session; sessionId: string } };

/**
 * The middleware over `sessions`.
 *
 * @example
 * ```ts
 * import { sessionLookup } from "./session_lookup.ts";
 * import { SessionTable } from "../session_table.ts";
 * const lookup = sessionLookup(new SessionTable());
 * ```
 */
export const sessionLookup = (sessions: SessionTable): MiddlewareHandler<SessionEnv> =>
  async function sessionLookup(c, next) {
    const id = c.req.param("id") ?? "";
    const session = sessions.get(id);
    if (!session) throw httpError(404, "UNKNOWN_SESSION", "no such session; handshake again");
    const claimed = c.req.header(CLINIC_HEADER);
    if (claimed !== undefined && claimed !== session.clinic) {
      throw httpError(403, "SESSION_MISMATCH", "this session belongs to another clinic");
    }
    c.set("session", session);
    c.set("sessionId", id);
    await next();
  };
