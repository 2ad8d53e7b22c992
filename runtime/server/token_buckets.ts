/**
 * Token buckets by key (a clinic key, a peer address): each key may spend `burst` tokens at
 * once and gets one back every `refillMs`. The server spends one per handshake, so a flood
 * of message 1s from one clinic key or one address is refused with 429 `RATE_LIMITED` and a
 * `Retry-After`, while other keys go on.
 *
 * The table is bounded: past `maxKeys` keys, buckets that have refilled completely (a key
 * that has been quiet for `burst × refillMs`) are forgotten first, since a full bucket is
 * what a new key gets anyway; if none has, the one holding the most tokens is.
 *
 * @example
 * ```ts
 * import { TokenBuckets } from "./token_buckets.ts";
 * const b = new TokenBuckets({ burst: 2, refillMs: 1000 });
 * console.log(b.take("k", 0), b.take("k", 0), b.take("k", 0)); // 0 0 1000
 * console.log(b.take("k", 1000)); // 0
 * ```
 * @module
 */

/**
 * Options of {@linkcode TokenBuckets}.
 *
 * @example
 * ```ts
 * import type { TokenBucketOptions } from "./token_buckets.ts";
 * const o: TokenBucketOptions = { burst: 5, refillMs: 2000 };
 * ```
 */
export interface TokenBucketOptions {
  /** Tokens a quiet key holds (the largest burst), an integer >= 1. */
  burst: number;
  /** Milliseconds per token regained, > 0. */
  refillMs: number;
  /** Keys remembered at most (default 10,000). */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * The buckets.
 *
 * @example
 * ```ts
 * import { TokenBuckets } from "./token_buckets.ts";
 * const b = new TokenBuckets({ burst: 1, refillMs: 500 });
 * b.take("a", 0);
 * console.log(b.take("a", 100)); // 400
 * ```
 */
export class TokenBuckets {
  readonly #burst: number;
  readonly #refillMs: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();

  /** @throws {RangeError} for a burst that is not an integer >= 1 or a refill that is not > 0. */
  constructor(o: TokenBucketOptions) {
    if (!Number.isInteger(o.burst) || o.burst < 1) {
      throw new RangeError(`burst ${o.burst}: expected an integer >= 1`);
    }
    if (!(o.refillMs > 0) || !Number.isFinite(o.refillMs)) {
      throw new RangeError(`refillMs ${o.refillMs}: expected a number > 0`);
    }
    this.#burst = o.burst;
    this.#refillMs = o.refillMs;
    this.#maxKeys = o.maxKeys ?? 10_000;
  }

  /**
   * Spends one token of `key` at time `now` (ms): 0 when there was one, otherwise the
   * milliseconds until there will be (nothing spent).
   */
  take(key: string, now: number): number {
    const b = this.#refilled(key, now);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - b.tokens) * this.#refillMs);
  }

  #refilled(key: string, now: number): Bucket {
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.#maxKeys) this.#evict(now);
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(key, b);
      return b;
    }
    const gained = Math.max(0, now - b.at) / this.#refillMs;
    b.tokens = Math.min(this.#burst, b.tokens + gained);
    b.at = now;
    return b;
  }

  #evict(now: number): void {
    let fullest: string | undefined, most = -1;
    for (const [k, b] of this.#buckets) {
      const tokens = Math.min(this.#burst, b.tokens + Math.max(0, now - b.at) / this.#refillMs);
      if (tokens >= this.#burst) this.#buckets.delete(k);
      else if (tokens > most) [fullest, most] = [k, tokens];
    }
    // Still full: forget the least limited key, never an exhausted one first (forgetting a
    // bucket refills it, so spraying new keys must not reset the keys that are limited).
    if (this.#buckets.size >= this.#maxKeys && fullest !== undefined) this.#buckets.delete(fullest);
  }
}
