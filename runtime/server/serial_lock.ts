/**
 * A promise-chain lock: the tasks given to {@linkcode SerialLock.run} run one after the
 * other, in call order, each after the previous one settled (a failure does not break the
 * chain). The server runs every request that touches the model or the schedule under one,
 * so no request sees another's half-done changes.
 *
 * @example
 * ```ts
 * import { SerialLock } from "./serial_lock.ts";
 * const lock = new SerialLock();
 * const seen: number[] = [];
 * await Promise.all([1, 2, 3].map((i) => lock.run(async () => { seen.push(i); })));
 * console.log(seen); // [1, 2, 3]
 * ```
 * @module
 */

/**
 * Runs async tasks one at a time.
 *
 * @example
 * ```ts
 * import { SerialLock } from "./serial_lock.ts";
 * console.log(await new SerialLock().run(async () => 42)); // 42
 * ```
 */
export class SerialLock {
  #chain: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after every task given before it has settled; resolves to its result. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const r = this.#chain.then(fn);
    this.#chain = r.catch(() => {});
    return r;
  }
}
