/**
 * A request body limit that does not buffer: a declared `content-length` over the limit is
 * refused at once, and otherwise the body is replaced by a stream that counts the bytes as
 * the route reads them and fails with 413 `BODY_TOO_LARGE` on the piece that passes the
 * limit — before that piece reaches the route, so nothing past the limit is opened — and
 * stops reading the client's body there.
 *
 * Hono's own `bodyLimit` (hono 4.13) buffers a chunked body whole before the route runs,
 * which would undo the server's streaming (each sealed frame opened as it arrives); this is
 * the shape of its earlier version, which wrapped `c.req.raw` in a counting
 * `ReadableStream` (honojs/hono `src/middleware/body-limit/index.ts` at 05a22b3b).
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { streamingBodyLimit } from "./streaming_body_limit.ts";
 * import { toHttpError } from "../http_error.ts";
 * const app = new Hono().onError((e) => toHttpError(e).getResponse())
 *   .post("/", streamingBodyLimit(1024), async (c) => c.text(String((await c.req.arrayBuffer()).byteLength)));
 * const chunked = (n: number) => new ReadableStream({ start(c) { c.enqueue(new Uint8Array(n)); c.close(); } });
 * console.log((await app.request("/", { method: "POST", body: chunked(1000) })).status); // 200
 * console.log((await app.request("/", { method: "POST", body: chunked(2000) })).status); // 413
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { HTTPException } from "hono/http-exception";
import { httpError } from "../http_error.ts";

/** The refusal of a body over `max` bytes. */
function tooLarge(max: number): HTTPException {
  return httpError(413, "BODY_TOO_LARGE", `request body exceeds ${max} bytes`);
}

/**
 * `source`, failing with 413 instead of passing on the piece that takes the total over
 * `max` bytes (and cancelling `source` then). Pulls only when read (high-water mark 0),
 * so no byte is read ahead of the route.
 *
 * @example
 * ```ts
 * import { countingStream } from "./streaming_body_limit.ts";
 * const src = new ReadableStream({ start(c) { c.enqueue(new Uint8Array(8)); c.enqueue(new Uint8Array(8)); c.close(); } });
 * const r = countingStream(src, 10).getReader();
 * console.log((await r.read()).value?.length); // 8
 * await r.read().catch((e) => console.log(e.status)); // 413
 * ```
 */
export function countingStream(source: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let total = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      total += value.length;
      if (total > max) {
        // The rest of a refused body is not read.
        await reader.cancel().catch(() => {});
        controller.error(tooLarge(max));
        return;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * The middleware: refuses a body longer than `maxBytes` (413 `BODY_TOO_LARGE`) by its
 * declared length, or as it streams.
 *
 * @example
 * ```ts
 * import { streamingBodyLimit } from "./streaming_body_limit.ts";
 * const limit = streamingBodyLimit(64 * 1024 * 1024);
 * ```
 */
export const streamingBodyLimit = (maxBytes: number): MiddlewareHandler =>
  async function streamingBodyLimit(c, next) {
    const declared = c.req.header("content-length");
    if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
    const body = c.req.raw.body;
    if (body) {
      // Built from the parts, not from `c.req.raw`: copying a request reads its `signal`, and
      // Deno.serve then warns on every request about its legacy abort behaviour.
      const { method, headers, url } = c.req.raw;
      c.req.raw = new Request(url, { method, headers, body: countingStream(body, maxBytes) });
    }
    await next();
  };
