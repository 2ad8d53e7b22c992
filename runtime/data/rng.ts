/**
 * A seeded, reproducible random source for data splits, clinic partitions and
 * batch order. The bits come from pure-rand's xoroshiro128+ (the generator
 * fast-check uses); this file adds the distributions splitgate needs:
 * uniform floats and integers, Fisher–Yates shuffles, standard normals
 * (Marsaglia polar method), Gamma (Marsaglia & Tsang 2000) and Dirichlet.
 *
 * Not for cryptography: keys and nonces come from @noble / WebCrypto.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const rng = new Rng(42);
 * rng.float(); // in [0, 1)
 * rng.dirichlet([0.5, 0.5, 0.5]); // sums to 1
 * ```
 * @module
 */

import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";

type Generator = ReturnType<typeof xoroshiro128plus>;

/**
 * A seeded pseudo-random generator. The same seed always yields the same
 * sequence, on every platform.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const a = new Rng(7), b = new Rng(7);
 * console.log(a.int(100) === b.int(100)); // true
 * ```
 */
export class Rng {
  #gen: Generator;
  #spareNormal: number | undefined;

  /**
   * @param seed any safe integer (it is reduced to 32 bits, as pure-rand does)
   * @throws {TypeError} when `seed` is not a safe integer
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new TypeError(`seed must be a safe integer, got ${seed}`);
    }
    this.#gen = xoroshiro128plus(seed | 0);
  }

  /**
   * A uniform float in [0, 1) with 53 random bits.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * new Rng(1).float();
   * ```
   */
  float(): number {
    return uniformFloat64(this.#gen);
  }

  /**
   * A uniform integer in [0, n), without modulo bias.
   *
   * @throws {RangeError} when `n` is not a positive safe integer
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * new Rng(1).int(6); // 0..5
   * ```
   */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new RangeError(`int(n) needs an integer n >= 1, got ${n}`);
    }
    return uniformInt(this.#gen, 0, n - 1);
  }

  /**
   * Shuffles `array` in place (Fisher–Yates / Durstenfeld) and returns it.
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * new Rng(3).shuffle([1, 2, 3, 4]);
   * ```
   */
  shuffle<T extends { length: number; [i: number]: any }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = uniformInt(this.#gen, 0, i);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }

  /**
   * A standard normal variate (Marsaglia polar method; the second value of each
   * pair is kept for the next call).
   *
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * new Rng(5).normal();
   * ```
   */
  normal(): number {
    if (this.#spareNormal !== undefined) {
      const z = this.#spareNormal;
      this.#spareNormal = undefined;
      return z;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.float() - 1;
      v = 2 * this.float() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.#spareNormal = v * f;
    return u * f;
  }

  /**
   * A Gamma(shape, 1) variate, by Marsaglia & Tsang, "A simple method for
   * generating gamma variables", ACM TOMS 26(3), 2000. For shape < 1 it uses
   * their boost: Gamma(a) = Gamma(a + 1) · U^(1/a) (same paper, §6).
   *
   * @throws {RangeError} when `shape` is not a finite number > 0
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * new Rng(9).gamma(0.5);
   * ```
   */
  gamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) {
      throw new RangeError(`gamma shape must be a finite number > 0, got ${shape}`);
    }
    if (shape < 1) {
      // 1 - float() is in (0, 1], so the power is never 0^(1/a) from a 0 draw.
      return this.gamma(shape + 1) * Math.pow(1 - this.float(), 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.float();
      // Squeeze test first, then the exact log test (paper, step 5/6).
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /**
   * A draw from the Dirichlet distribution Dir(alpha): independent
   * Gamma(alpha_i, 1) variates normalised to sum 1.
   *
   * @throws {RangeError} when `alpha` is empty or has an entry that is not > 0
   * @example
   * ```ts
   * import { Rng } from "./rng.ts";
   * new Rng(2).dirichlet([0.1, 0.1, 0.1, 0.1]); // usually one large share
   * ```
   */
  dirichlet(alpha: readonly number[]): number[] {
    if (alpha.length === 0) {
      throw new RangeError("dirichlet needs at least one concentration parameter");
    }
    for (;;) {
      const g = alpha.map((a) => this.gamma(a));
      const sum = g.reduce((s, x) => s + x, 0);
      // With tiny alphas every Gamma draw can underflow to 0; draw again.
      if (sum > 0 && Number.isFinite(sum)) return g.map((x) => x / sum);
    }
  }
}
