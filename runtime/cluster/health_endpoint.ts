/**
 * `GET /health` for a process that serves nothing else — a scale-out trainer, which clinics
 * reach only through JetStream — so Kubernetes can probe it (deploy/k8s/splitgate.yaml):
 * `200 {"ok":true}` while `healthy()` says so (e.g. its NATS link is open and it is in the
 * membership), `503 {"ok":false}` otherwise, `404` for any other path or method.
 *
 * @example
 * ```ts ignore
 * import { serveHealth } from "./health_endpoint.ts";
 * const h = serveHealth({ hostname: "0.0.0.0", port: 8443 }, () => !link.nc.isClosed());
 * await h.stop();
 * ```
 * @module
 */

/**
 * A running health endpoint.
 *
 * @example
 * ```ts
 * import type { HealthEndpoint } from "./health_endpoint.ts";
 * async function end(h: HealthEndpoint) { await h.stop(); }
 * ```
 */
export interface HealthEndpoint {
  /** The address it listens on (the port the kernel chose for port 0). */
  addr: { hostname: string; port: number };
  /** Stops listening (idempotent). */
  stop(): Promise<void>;
}

/**
 * Answers `GET /health` on `listen` from `healthy()` until stopped.
 *
 * @throws what `Deno.serve` throws for an address it cannot listen on.
 * @example
 * ```ts ignore
 * import { serveHealth } from "./health_endpoint.ts";
 * const h = serveHealth({ hostname: "127.0.0.1", port: 0 }, () => true);
 * console.log((await fetch(`http://127.0.0.1:${h.addr.port}/health`)).status); // 200
 * await h.stop();
 * ```
 */
export function serveHealth(
  listen: { hostname: string; port: number },
  healthy: () => boolean,
): HealthEndpoint {
  const server = Deno.serve(
    { hostname: listen.hostname, port: listen.port, onListen: () => {} },
    (req) => {
      const path = new URL(req.url).pathname;
      if (path !== "/health" || (req.method !== "GET" && req.method !== "HEAD")) {
        // A clinic pointed here by mistake gets a splitgate error it prints as such.
        return Response.json({
          error: { code: "NOT_A_FRONT", message: "this is a splitgate trainer, which serves only GET /health: clinics connect to a front" },
        }, { status: 404 });
      }
      let ok = false;
      try {
        ok = healthy();
      } catch {
        ok = false;
      }
      return Response.json({ ok }, { status: ok ? 200 : 503 });
    },
  );
  let stopped: Promise<void> | null = null;
  return {
    addr: { hostname: server.addr.hostname, port: server.addr.port },
    stop: () => stopped ??= server.shutdown(),
  };
}
