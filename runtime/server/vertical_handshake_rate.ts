/**
 * Rate limits of the vertical handshake route (`vertical_app.ts`), with the horizontal
 * route's token buckets (`token_buckets.ts`, `routes/handshake_routes.ts`) and its defaults:
 * per peer address (checked before any cryptography, so a flood of message 1s costs the
 * server one map lookup each) and per party key (checked once message 1 opened). A refusal is
 * 429 `RATE_LIMITED` with `Retry-After` in whole seconds (RFC 9110 §10.2.3).
 *
 * @example
 * ```ts
 * import { VerticalHandshakeRate } from "./vertical_handshake_rate.ts";
 * const rate = new VerticalHandshakeRate({ perKey: { burst: 1, refillMs: 1000 }, perAddress: { burst: 5, refillMs: 50 } }, () => 0);
 * console.log(rate.byKey("k"), rate.byKey("k")?.status); // null 429
 * ```
 * @module
 */
import { type TokenBucketOptions, TokenBuckets } from "./token_buckets.ts";

/**
 * The two limits (the `handshakeRate` of a vertical app).
 *
 * @example
 * ```ts
 * import type { VerticalHandshakeRateOptions } from "./vertical_handshake_rate.ts";
 * const o: VerticalHandshakeRateOptions = { perKey: { burst: 10, refillMs: 2000 }, perAddress: { burst: 100, refillMs: 50 } };
 * ```
 */
export interface VerticalHandshakeRateOptions {
  /** Handshakes per party key. */
  perKey: TokenBucketOptions;
  /** Handshakes per peer address. */
  perAddress: TokenBucketOptions;
}

/**
 * The horizontal server's defaults (`server_config.ts`: `handshakeBurst` 10, `handshakeRefillMs`
 * 2000, `addressHandshakeBurst` 100, `addressHandshakeRefillMs` 50).
 *
 * @example
 * ```ts
 * import { VERTICAL_HANDSHAKE_RATE } from "./vertical_handshake_rate.ts";
 * console.log(VERTICAL_HANDSHAKE_RATE.perKey.burst); // 10
 * ```
 */
export const VERTICAL_HANDSHAKE_RATE: VerticalHandshakeRateOptions = {
  perKey: { burst: 10, refillMs: 2_000 },
  perAddress: { burst: 100, refillMs: 50 },
};

/**
 * The buckets of one vertical app.
 *
 * @example
 * ```ts
 * import { VERTICAL_HANDSHAKE_RATE, VerticalHandshakeRate } from "./vertical_handshake_rate.ts";
 * const rate = new VerticalHandshakeRate(VERTICAL_HANDSHAKE_RATE, Date.now);
 * console.log(rate.byAddress("127.0.0.1")); // null
 * ```
 */
export class VerticalHandshakeRate {
  readonly #address: TokenBuckets;
  readonly #key: TokenBuckets;

  /** @throws {RangeError} for a burst or refill the buckets refuse */
  constructor(o: VerticalHandshakeRateOptions, readonly now: () => number) {
    this.#address = new TokenBuckets(o.perAddress);
    this.#key = new TokenBuckets(o.perKey);
  }

  /** Spends a token of `address`: null, or the 429 reply when it has none. */
  byAddress(address: string): Response | null {
    return refusal(this.#address.take(address, this.now()), `address ${address}`);
  }

  /** Spends a token of party key `key` (hex): null, or the 429 reply when it has none. */
  byKey(key: string, party = key): Response | null {
    return refusal(this.#key.take(key, this.now()), `party ${party}`);
  }
}

function refusal(waitMs: number, who: string): Response | null {
  if (waitMs <= 0) return null;
  return Response.json(
    { code: "RATE_LIMITED", message: `too many handshakes from ${who}; retry in ${waitMs} ms` },
    { status: 429, headers: { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) } },
  );
}

/**
 * The peer's address of a Hono request on `Deno.serve` (its connection info in `c.env`);
 * `"in-process"` for a request with none (tests).
 *
 * @example
 * ```ts
 * import { peerAddressOf } from "./vertical_handshake_rate.ts";
 * console.log(peerAddressOf(undefined)); // "in-process"
 * ```
 */
export function peerAddressOf(env: unknown): string {
  return (env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname ??
    "in-process";
}
