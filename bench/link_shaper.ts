/**
 * A clinic-grade link for benchmark runs only (never a production code path): a loopback TCP
 * proxy between a courier and the server that gives each direction a bandwidth, and the round
 * trip a delay with optional jitter. Each chunk that arrives is serialised onto the link at
 * the configured rate (after whatever is still queued in that direction), then delivered one
 * half round trip later (± jitter, never overtaking an earlier chunk), the way a bottleneck
 * link with a fixed propagation delay behaves.
 *
 * One shaper per clinic: each hospital has its own uplink.
 *
 * @example
 * ```ts
 * import { LinkShaper, parseLink } from "./link_shaper.ts";
 * const link = parseLink("20:40"); // 20 Mbit/s each way, 40 ms round trip
 * // const shaper = LinkShaper.start({ ...link, target: { hostname: "127.0.0.1", port: 8443 } });
 * // fetch(`http://127.0.0.1:${shaper.port}/health`); ...; await shaper.close();
 * console.log(link); // { upMbit: 20, downMbit: 20, rttMs: 40, jitterMs: 0 }
 * ```
 * @module
 */

/**
 * A link's shape.
 *
 * @example
 * ```ts
 * import type { LinkSpec } from "./link_shaper.ts";
 * const l: LinkSpec = { upMbit: 10, downMbit: 50, rttMs: 60, jitterMs: 5 };
 * ```
 */
export interface LinkSpec {
  /** Clinic → server bandwidth in Mbit/s (10^6 bit/s). */
  upMbit: number;
  /** Server → clinic bandwidth in Mbit/s. */
  downMbit: number;
  /** Round-trip delay in ms (half each way). */
  rttMs: number;
  /** Uniform jitter of each one-way delay in ms (±). */
  jitterMs: number;
}

/**
 * Parses `<Mbit/s>:<ms>[:<jitter ms>]` or `<up Mbit/s>/<down Mbit/s>:<ms>[:<jitter ms>]`.
 *
 * @throws {RangeError} naming the text and the expected form
 * @example
 * ```ts
 * import { parseLink } from "./link_shaper.ts";
 * console.log(parseLink("10/50:60:5")); // { upMbit: 10, downMbit: 50, rttMs: 60, jitterMs: 5 }
 * ```
 */
export function parseLink(text: string): LinkSpec {
  const m = /^(\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?:(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?$/.exec(
    text,
  );
  if (!m || Number(m[1]) <= 0 || (m[2] !== undefined && Number(m[2]) <= 0)) {
    throw new RangeError(
      `link ${
        JSON.stringify(text)
      }: expected <Mbit/s>:<ms>[:<jitter ms>] or <up>/<down>:<ms>[:<jitter ms>], bandwidths > 0`,
    );
  }
  const up = Number(m[1]);
  return {
    upMbit: up,
    downMbit: m[2] ? Number(m[2]) : up,
    rttMs: Number(m[3]),
    jitterMs: Number(m[4] ?? 0),
  };
}

/** One direction of a link: serialisation at `mbit`, then `delayMs` ± `jitterMs`. */
class Direction {
  #busyUntil = 0;
  #lastDelivery = 0;
  #chain: Promise<void> = Promise.resolve();
  bytes = 0;

  /** When the link finishes serialising what is queued (ms, `performance.now()` clock). */
  get queuedUntil(): number {
    return this.#busyUntil;
  }

  constructor(
    readonly mbit: number,
    readonly delayMs: number,
    readonly jitterMs: number,
    readonly rand: () => number,
  ) {}

  /** Schedules `chunk` for delivery through `write`, in order. */
  send(chunk: Uint8Array, write: (b: Uint8Array) => Promise<void>): Promise<void> {
    const now = performance.now();
    this.bytes += chunk.length;
    const onWire = (chunk.length * 8) / (this.mbit * 1000); // ms
    this.#busyUntil = Math.max(now, this.#busyUntil) + onWire;
    const jitter = this.jitterMs > 0 ? (this.rand() * 2 - 1) * this.jitterMs : 0;
    const at = Math.max(this.#busyUntil + Math.max(0, this.delayMs + jitter), this.#lastDelivery);
    this.#lastDelivery = at;
    const p = this.#chain.then(async () => {
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await write(chunk);
    });
    this.#chain = p.catch(() => {});
    return p;
  }
}

async function writeAll(conn: Deno.Conn, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.length;) off += await conn.write(b.subarray(off));
}

/** Pumps `from` into `to` through `dir` until `from` ends; then closes `to`'s write side. */
async function pump(from: Deno.Conn, to: Deno.Conn, dir: Direction): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  let last: Promise<void> = Promise.resolve();
  try {
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      last = dir.send(buf.slice(0, n), (b) => writeAll(to, b));
      // Backpressure: read no more than ~1 s of link time ahead of the wire.
      const ahead = dir.queuedUntil - performance.now();
      if (ahead > 1000) await new Promise((r) => setTimeout(r, ahead - 1000));
    }
    await last;
    await to.closeWrite().catch(() => {});
  } catch {
    try {
      to.close();
    } catch { /* already closed */ }
  }
}

/**
 * A running shaper: listens on a loopback port, forwards to `target`.
 *
 * @example
 * ```ts
 * import { LinkShaper } from "./link_shaper.ts";
 * const s = LinkShaper.start({ upMbit: 20, downMbit: 20, rttMs: 40, jitterMs: 0, target: { hostname: "127.0.0.1", port: 1 } });
 * console.log(s.port > 0); // true
 * await s.close();
 * ```
 */
export class LinkShaper {
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #loop: Promise<void>;
  /** Bytes carried clinic → server and server → clinic. */
  bytesUp = 0;
  bytesDown = 0;

  private constructor(
    readonly spec: LinkSpec & { target: { hostname: string; port: number }; seed?: number },
  ) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#loop = this.#accept();
  }

  /** Starts a shaper for `spec` in front of `spec.target`. */
  static start(
    spec: LinkSpec & { target: { hostname: string; port: number }; seed?: number },
  ): LinkShaper {
    return new LinkShaper(spec);
  }

  /** The loopback port to connect to instead of the target. */
  get port(): number {
    return (this.#listener.addr as Deno.NetAddr).port;
  }

  async #accept(): Promise<void> {
    let s = (this.spec.seed ?? 1) >>> 0 || 1;
    const rand = () => {
      s ^= s << 13, s ^= s >>> 17, s ^= s << 5;
      return (s >>> 0) / 2 ** 32;
    };
    for await (const client of this.#listener) {
      void (async () => {
        let server: Deno.Conn;
        try {
          server = await Deno.connect(this.spec.target);
        } catch {
          client.close();
          return;
        }
        this.#conns.add(client).add(server);
        const half = this.spec.rttMs / 2;
        const up = new Direction(this.spec.upMbit, half, this.spec.jitterMs, rand);
        const down = new Direction(this.spec.downMbit, half, this.spec.jitterMs, rand);
        await Promise.all([pump(client, server, up), pump(server, client, down)]);
        this.bytesUp += up.bytes;
        this.bytesDown += down.bytes;
        for (const c of [client, server]) {
          this.#conns.delete(c);
          try {
            c.close();
          } catch { /* closed */ }
        }
      })();
    }
  }

  /** Stops listening and drops every open connection. */
  async close(): Promise<void> {
    this.#listener.close();
    for (const c of this.#conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await this.#loop.catch(() => {});
  }
}
