/**
 * A recording proxy on loopback, for the soak test: the honest clinics'
 * couriers talk to it instead of the server, it forwards every request unchanged and keeps a
 * copy of what an on-path observer sees — each handshake message 1 and each sealed `/msg` body
 * with its session id and clinic header — so an adversary can replay real captured bytes.
 * @module
 */
import { CLINIC_HEADER } from "../../runtime/protocol/mod.ts";

/** One captured `/v1/session/:id/msg` request. */
export interface CapturedFrame {
  session: string;
  clinic: string;
  body: Uint8Array<ArrayBuffer>;
}

/** What the proxy saw, in arrival order. */
export interface Captured {
  handshakes: Uint8Array<ArrayBuffer>[];
  frames: CapturedFrame[];
}

/** A running proxy. */
export interface RecordingProxy {
  url: string;
  captured: Captured;
  stop(): Promise<void>;
}

/** Captures beyond this many of each kind are forwarded but not kept (the test stays bounded). */
const KEEP = 64;

/**
 * Starts a proxy on a free loopback port that forwards to `upstream` (e.g.
 * `http://127.0.0.1:8443`) and records handshakes and `/msg` bodies.
 *
 * @example
 * ```ts
 * import { startRecordingProxy } from "./recording_proxy.ts";
 * const p = startRecordingProxy("http://127.0.0.1:8443");
 * console.log(p.captured.handshakes.length); // 0
 * await p.stop();
 * ```
 */
export function startRecordingProxy(upstream: string): RecordingProxy {
  const captured: Captured = { handshakes: [], frames: [] };
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const body = req.method === "POST" ? new Uint8Array(await req.arrayBuffer()) : undefined;
    const headers = new Headers(req.headers);
    headers.delete("host");
    headers.delete("content-length");
    const res = await fetch(`${upstream}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body,
    });
    // Kept once the server has answered, so a replay never races the original to the server.
    record(captured, url.pathname, req.headers, body);
    return new Response(res.body, { status: res.status, headers: res.headers });
  });
  return { url: `http://127.0.0.1:${http.addr.port}`, captured, stop: () => http.shutdown() };
}

function record(
  c: Captured,
  path: string,
  headers: Headers,
  body: Uint8Array<ArrayBuffer> | undefined,
): void {
  if (!body) return;
  if (path === "/v1/handshake" && c.handshakes.length < KEEP) c.handshakes.push(body.slice());
  const m = /^\/v1\/session\/([^/]+)\/msg$/.exec(path);
  if (m && c.frames.length < KEEP) {
    c.frames.push({ session: m[1], clinic: headers.get(CLINIC_HEADER) ?? "", body: body.slice() });
  }
}
