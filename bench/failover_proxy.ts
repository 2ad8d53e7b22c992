/**
 * The load balancer in front of the scale-out fronts, reduced to what the fault runs need
 * (tests/e2e/replicas_fault_test.ts, bench/replicas_fault.ts). Each clinic gets its own proxy (affinity: one clinic, one front) that connects
 * every new TCP connection to its preferred front, or to the next one in the list when that
 * one refuses (a killed front), as a Service moves a client whose pod is gone.
 * @module
 */

/** A listening proxy: its port on 127.0.0.1, and `close()`. */
export interface FailoverProxy {
  port: number;
  /** Connections that went to another front than the preferred one. */
  failovers: number;
  close(): Promise<void>;
}

async function pipe(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  try {
    await from.readable.pipeTo(to.writable);
  } catch { /* either side went away */ }
  try {
    to.close();
  } catch { /* closed */ }
}

/** Starts a proxy to `ports` (front ports on 127.0.0.1), trying `ports[first]` first. */
export function failoverProxy(ports: readonly number[], first: number): FailoverProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const proxy: FailoverProxy = {
    port: (listener.addr as Deno.NetAddr).port,
    failovers: 0,
    async close() {
      listener.close();
      for (const c of open) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      await accepting;
    },
  };
  const serve = async (conn: Deno.Conn) => {
    open.add(conn);
    for (let k = 0; k < ports.length; k++) {
      const i = (first + k) % ports.length;
      let up: Deno.Conn;
      try {
        up = await Deno.connect({ hostname: "127.0.0.1", port: ports[i] });
      } catch {
        continue;
      }
      if (k > 0) proxy.failovers++;
      open.add(up);
      await Promise.all([pipe(conn, up), pipe(up, conn)]);
      open.delete(up);
      break;
    }
    open.delete(conn);
    try {
      conn.close();
    } catch { /* closed */ }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) void serve(conn);
    } catch { /* closed */ }
  })();
  return proxy;
}
