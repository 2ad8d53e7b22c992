/**
 * The server batch of `serverBatch: "merge"` (parallel schedule; docs/design/parallel_schedules.md):
 * cut batches that arrive within a short window are concatenated into one server batch, run
 * through one forward/backward, and each sender gets its own rows of the result back — the
 * server-side batching of parallel split learning (PSL/GPSL, arXiv 2407.15738 §III), which is
 * what keeps a GPU busy. The window closes when the rows reach `maxRows`, when every clinic
 * still stepping has a batch in it (waiting longer gains nothing), or `maxDelayMs` after its
 * first batch, whichever comes first.
 *
 * Generic and clock-injected, so it is tested without a model: `run` gets the window's items
 * in arrival order and returns one result per item, in the same order.
 *
 * @example
 * ```ts
 * import { MergeWindow } from "./merge_window.ts";
 * const w = new MergeWindow<number, number>({
 *   maxRows: 8, maxDelayMs: 5, rowsOf: (n) => n, waiting: () => 2,
 *   run: async (items) => items.map((n) => n * 10),
 * });
 * console.log(await Promise.all([w.submit(3), w.submit(4)])); // [30, 40]
 * ```
 * @module
 */

/**
 * Settings of a {@linkcode MergeWindow}.
 *
 * @example
 * ```ts
 * import type { MergeWindowOptions } from "./merge_window.ts";
 * const o: MergeWindowOptions<string, number> = { maxRows: 1024, maxDelayMs: 10, rowsOf: (s) => s.length,
 *   waiting: () => 4, run: async (xs) => xs.map((x) => x.length) };
 * ```
 */
export interface MergeWindowOptions<I, O> {
  /** Rows at which the window closes at once (the server batch's bound). */
  maxRows: number;
  /** Milliseconds after its first item at which the window closes anyway. */
  maxDelayMs: number;
  /** Rows of one item. */
  rowsOf: (item: I) => number;
  /** How many senders may still send (the window closes once that many items are in). */
  waiting: () => number;
  /** Runs one merged batch: one result per item, in order. */
  run: (items: I[]) => Promise<O[]>;
  /** Timer (default `setTimeout`), injectable for tests. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

interface Entry<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

/**
 * Collects items into merged batches.
 *
 * @example
 * ```ts
 * import { MergeWindow } from "./merge_window.ts";
 * const w = new MergeWindow<number, number>({ maxRows: 2, maxDelayMs: 1000, rowsOf: (n) => n, waiting: () => 9,
 *   run: async (items) => items });
 * console.log(await w.submit(2)); // 2 (closed at maxRows)
 * ```
 */
export class MergeWindow<I, O> {
  readonly #o: MergeWindowOptions<I, O>;
  #open: Entry<I, O>[] = [];
  #rows = 0;
  #timer: unknown = null;
  /** Merged batches run so far and the items in them (for the bench and the log). */
  batches = 0;
  items = 0;

  constructor(o: MergeWindowOptions<I, O>) {
    if (!(Number.isInteger(o.maxRows) && o.maxRows >= 1)) {
      throw new RangeError(`merge maxRows ${o.maxRows}: expected an integer >= 1`);
    }
    if (!(Number.isFinite(o.maxDelayMs) && o.maxDelayMs >= 0)) {
      throw new RangeError(
        `merge maxDelayMs ${o.maxDelayMs}: expected a number of milliseconds >= 0`,
      );
    }
    this.#o = o;
  }

  /** Adds `item` to the open window; resolves to its own result once the window has run. */
  submit(item: I): Promise<O> {
    const p = new Promise<O>((resolve, reject) => this.#open.push({ item, resolve, reject }));
    this.#rows += this.#o.rowsOf(item);
    if (this.#rows >= this.#o.maxRows || this.#open.length >= this.#o.waiting()) {
      this.#close();
    } else if (this.#timer === null) {
      this.#timer = (this.#o.setTimer ?? setTimeout)(() => this.#close(), this.#o.maxDelayMs);
    }
    return p;
  }

  #close(): void {
    if (this.#timer !== null) {
      (this.#o.clearTimer ?? ((h) => clearTimeout(h as number)))(this.#timer);
    }
    this.#timer = null;
    const batch = this.#open;
    this.#open = [];
    this.#rows = 0;
    if (batch.length === 0) return;
    this.batches++;
    this.items += batch.length;
    void this.#o.run(batch.map((e) => e.item)).then(
      (out) => {
        if (out.length !== batch.length) {
          throw new RangeError(
            `merged run returned ${out.length} results for ${batch.length} items`,
          );
        }
        batch.forEach((e, i) => e.resolve(out[i]));
      },
    ).catch((err) => batch.forEach((e) => e.reject(err)));
  }
}
